/** The text helpers: CP1250 both ways, HTML reduced to text and text put back into a message's HTML. */
import { describe, expect, it } from 'vitest';
import { decodeCp1250, encodeCp1250 } from '../src/cp1250.js';
import { htmlToText, replaceHtmlText, textToHtml } from '../src/html.js';
import { cp1250 } from './helpers.js';

describe('CP1250', () => {
  it('decodes and encodes the Polish letters, the euro sign and typographic quotes', () => {
    const text = 'Zażółć gęślą jaźń ZAŻÓŁĆ GĘŚLĄ JAŹŃ';
    expect(decodeCp1250(cp1250(text))).toBe(text);
    expect(Buffer.from(encodeCp1250(text)).equals(cp1250(text))).toBe(true);
    expect(Buffer.from(encodeCp1250('€ „x” – …')).toString('hex')).toBe('8020847894209620' + '85');
    expect(decodeCp1250(Uint8Array.of(0x80, 0x84, 0x94))).toBe('€„”');
  });

  it('writes ? for what the code page lacks and a space for NUL (a terminator on the wire)', () => {
    expect(Buffer.from(encodeCp1250('a😀b\u4e2dc\0d')).toString('latin1')).toBe('a?b?c d');
  });
});

describe('HTML', () => {
  it('reduces HTML to the text a reader sees: tags dropped, line breaks kept, entities decoded, images left out', () => {
    expect(htmlToText('<span style="color:#000000; ">Hello <b>bold</b> &amp; &lt;tags&gt; &quot;q&quot; &#261;&#x119;</span>')).toBe('Hello bold & <tags> "q" ąę');
    expect(htmlToText('line 1<br>line 2<br/>line 3<p>para</p>')).toBe('line 1\nline 2\nline 3\npara');
    expect(htmlToText('see <img name="0123456789abcdef">this')).toBe('see this');
    expect(htmlToText('&bogus; &#0; &#xFFFFFFF;')).toBe('&bogus; &#0; &#xFFFFFFF;');
  });

  it("escapes text for HTML and keeps the sender's outer tags around new text", () => {
    expect(textToHtml('a < b & "c"\nnext')).toBe('a &lt; b &amp; &quot;c&quot;<br>next');
    const html = '<span style="color:#123456; font-family:\'MS Shell Dlg 2\'; "><b>secret</b> <img name="x"> plan</span>';
    expect(replaceHtmlText(html, '****** plan')).toBe('<span style="color:#123456; font-family:\'MS Shell Dlg 2\'; ">****** plan</span>');
    expect(replaceHtmlText('plain', 'new <text>')).toBe('new &lt;text&gt;');
    expect(replaceHtmlText('', 'x')).toBe('x');
    // What the plugin writes reads back as the text it was given.
    for (const text of ['a&b', '<i>not markup</i>', 'two\nlines', 'ąę 😀']) expect(htmlToText(replaceHtmlText(html, text))).toBe(text);
  });
});
