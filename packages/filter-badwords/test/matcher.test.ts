import { describe, expect, it } from 'vitest';
import { WordMatcher, fold } from '../src/matcher.js';
import { parseWordList } from '../src/word-list.js';

/** Reference: every occurrence by brute force over folded text (no İ in these inputs, so offsets match). */
function bruteForce(words: string[], text: string, mode: 'word' | 'substring'): { count: number; masked: boolean[] } {
  const t = fold(text);
  const found: Array<[number, number]> = [];
  const wordChar = (ch: string | undefined) => ch !== undefined && /[\p{L}\p{N}\p{M}_]/u.test(ch) && !/\p{Script=Han}/u.test(ch);
  for (const raw of new Set(words.map(fold))) {
    const w = raw;
    for (let i = t.indexOf(w); i >= 0; i = t.indexOf(w, i + 1)) {
      const end = i + w.length;
      if (mode === 'word' && ((wordChar(t[i - 1]) && wordChar(t[i])) || (wordChar(t[end]) && wordChar(t[end - 1])))) continue;
      found.push([i, end]);
    }
  }
  const masked = Array.from({ length: text.length }, () => false);
  for (const [s, e] of found) for (let i = s; i < e; i++) masked[i] = true;
  const count = found.filter(([s, e]) => !found.some(([s2, e2]) => (s2 !== s || e2 !== e) && s2 <= s && e2 >= e)).length;
  return { count, masked };
}

describe('WordMatcher', () => {
  it('masks words case-insensitively, character by character', () => {
    const m = new WordMatcher(['darn', 'heck']);
    const r = m.mask('Oh DARN it, what the Heck!', '*');
    expect(r.text).toBe('Oh **** it, what the ****!');
    expect(r.count).toBe(2);
  });

  it('matches whole words only by default: bad never matches inside badge', () => {
    const m = new WordMatcher(['bad']);
    expect(m.mask('a badge is not bad', '#').text).toBe('a badge is not ###');
    expect(new WordMatcher(['bad'], 'substring').mask('a badge is not bad', '#').text).toBe('a ###ge is not ###');
  });

  it('matches words in scripts without spaces anywhere, and in any script', () => {
    const m = new WordMatcher(['坏蛋', 'ПЛОХО', 'κακός']);
    const r = m.mask('你好坏蛋吗 это плохо ΚΑΚΌΣ', '*');
    expect(r.text).toBe('你好**吗 это ***** *****');
    expect(r.count).toBe(3);
  });

  it('treats regular expression metacharacters as plain characters', () => {
    const m = new WordMatcher(['a.b', '(x)', '.*', 'c++', '[z]', '\\d', '$^']);
    expect(m.mask('axb a.b (x) x .* c++ [z] \\d $^ ok', '-').text).toBe('axb --- --- x -- --- --- -- -- ok');
    expect(m.scan('nothing here at all').count).toBe(0);
  });

  it('masks overlapping words as their union and counts occurrences not inside a longer one', () => {
    const m = new WordMatcher(['abc', 'bcd', 'ab', 'abcdef'], 'substring');
    const r = m.mask('xabcdy', '*');
    expect(r.text).toBe('x****y');
    expect(r.count).toBe(2); // abc and bcd; ab lies inside abc
    expect(m.mask('abcdef', '*')).toMatchObject({ text: '******', count: 1 });
    const ass = new WordMatcher(['ass'], 'substring');
    expect(ass.mask('assassin', '*')).toMatchObject({ text: '******in', count: 2 });
  });

  it('replaces a character outside the BMP by one replacement character', () => {
    const m = new WordMatcher(['😀x']);
    expect(m.mask('a 😀x b', '*').text).toBe('a ** b');
  });

  it('keeps offsets right when lower case changes the length (İ)', () => {
    const m = new WordMatcher(['kötü'], 'substring');
    expect(m.mask('İİ kötü İ KÖTÜ', '*').text).toBe('İİ **** İ ****');
    const i = new WordMatcher(['i̇stanbul']);
    expect(i.mask('İSTANBUL!', '*').text).toBe('********!');
  });

  it('agrees with a brute-force search on random texts', () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const alphabet = ['a', 'b', 'A', 'B', ' ', '.', '坏'];
    const pick = (n: number) => Array.from({ length: n }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
    for (let round = 0; round < 300; round++) {
      const words = Array.from({ length: 1 + Math.floor(rand() * 5) }, () => pick(1 + Math.floor(rand() * 3)).trim()).filter((w) => w.length > 0);
      const text = pick(Math.floor(rand() * 40));
      for (const mode of ['substring', 'word'] as const) {
        const expected = bruteForce(words, text, mode);
        const got = new WordMatcher(words, mode).mask(text, '\u0000');
        const maskedAt = [...got.text].map((c) => c === '\u0000');
        expect({ words, text, mode, count: got.count, masked: maskedAt }).toEqual({ words, text, mode, count: expected.count, masked: expected.masked });
      }
    }
  });

  it('handles a 100,000-word list and a 1 MB message', () => {
    const words = Array.from({ length: 100_000 }, (_, i) => `w${i.toString(36)}x`);
    const m = new WordMatcher(words);
    expect(m.size).toBe(100_000);
    const filler = 'lorem ipsum dolor sit amet '.repeat(40_000); // ~1 MB
    const text = `${filler}W1X and ${filler}wzzzzx w2bhx`;
    const r = m.mask(text, '*');
    expect(r.count).toBe(2); // w1x and w2bhx; wzzzzx is not in the list (zzzz > 100,000 in base 36)
    expect(r.text.endsWith('*** and ' + filler + 'wzzzzx *****')).toBe(true);
    // A pathological list (a, aa, aaa, ...) on a long run of a: still one pass.
    const nested = new WordMatcher(
      Array.from({ length: 500 }, (_, i) => 'a'.repeat(i + 1)),
      'substring',
    );
    const run = nested.scan('a'.repeat(1_000_000));
    expect(run.count).toBe(1_000_000 - 499); // every 500-a run; none lies inside another
    expect(run.ranges).toEqual([{ start: 0, end: 1_000_000 }]);
  });
});

describe('parseWordList', () => {
  it('reads one word per line, skipping blanks and # comments, in any script', () => {
    expect(parseWordList('\ufeff# bad words\ndarn\r\n\n  heck  \n坏蛋\n# end\nbad phrase here\ndarn\n')).toEqual(['darn', 'heck', '坏蛋', 'bad phrase here']);
  });

  it('rejects text that is not UTF-8, naming the line', () => {
    expect(() => parseWordList('ok\nbad\u0000word\n')).toThrow('line 2: not UTF-8 text');
    expect(() => parseWordList('ok\n\ufffd\n')).toThrow('line 2');
  });
});
