/**
 * The word list file: one word (or phrase) per line, in any script; blank lines and lines starting with `#`
 * are ignored; surrounding white space is not part of the word. UTF-8, with or without a byte order mark.
 */
export function parseWordList(text: string): string[] {
  const words = new Set<string>();
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lines = body.split(/\r?\n|\r/);
  for (let n = 0; n < lines.length; n++) {
    const word = lines[n]!.trim();
    // A binary file or a file in another encoding is a mistake, not a list of odd words.
    if (word.includes('\0') || word.includes('\ufffd')) throw new Error(`line ${n + 1}: not UTF-8 text`);
    if (word.length === 0 || word.startsWith('#')) continue;
    words.add(word);
  }
  return [...words];
}
