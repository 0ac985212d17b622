/**
 * The HTML part of Gadu-Gadu 8.0+ messages: reduced to the text a reader sees (tags dropped, `<br>` and block
 * ends as line breaks, entities decoded), and text escaped back into HTML for rewritten and injected messages.
 */
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,6});/gi, (whole, name: string) => {
    if (name[0] === '#') {
      const code = name[1] === 'x' || name[1] === 'X' ? Number.parseInt(name.slice(2), 16) : Number.parseInt(name.slice(1), 10);
      return code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff) ? String.fromCodePoint(code) : whole;
    }
    return NAMED[name.toLowerCase()] ?? whole;
  });
}

/** The text of an HTML fragment. */
export function htmlToText(html: string): string {
  const text = html
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/?(p|div)\b[^>]*>/gi, '\n')
    .replace(/<img\b[^>]*>/gi, '')
    .replace(/<[^>]*>/g, '')
    .replace(/\n{2,}/g, '\n');
  // The line breaks a paragraph's own tags make at the very start and end are not part of the text.
  return decodeEntities(text).replace(/^\n/, '').replace(/\n$/, '');
}

/** Text as HTML: markup characters escaped, line breaks as `<br>`. */
export function textToHtml(text: string): string {
  return text
    .replace(/\0/g, ' ')
    .replace(/[&<>"]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&quot;'))
    .replace(/\r?\n/g, '<br>');
}

/**
 * The HTML of a rewritten message: the original's opening tags before its first text and closing tags after its
 * last (the sender's font and colour), around the new text. Images and inner formatting are dropped: they
 * belonged to the old text.
 */
export function replaceHtmlText(html: string, text: string): string {
  const lead = /^(\s*<[^>]*>)*/.exec(html)?.[0] ?? '';
  const tail = /(<\/[^>]*>\s*)*$/.exec(html.slice(lead.length))?.[0] ?? '';
  // Opening tags (not images or breaks), outermost first; as many are kept as the end closes.
  const opening = (lead.match(/<[^>]*>/g) ?? []).filter((tag) => !/^<(img|br)\b/i.test(tag) && !tag.startsWith('</'));
  const closing = tail.match(/<\/[^>]*>/g) ?? [];
  return `${opening.slice(0, closing.length).join('')}${textToHtml(text)}${closing.join('')}`;
}
