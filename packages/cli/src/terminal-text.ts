/**
 * Text from the archive (message text, ids, status descriptions) comes from whoever chatted: printed to a terminal
 * as it is, an escape sequence in it could recolour, move or retitle the auditor's terminal, a bidi override
 * could reorder what the line seems to say, and a line break could fake a second result. Such characters are
 * shown as `\u{...}` escapes instead; everything else, other scripts and emoji included, is printed as it is.
 */

// C0 controls (tabs too), DEL, C1 controls, the bidi embeddings, overrides
// and isolates, the line and paragraph separators, zero-width space, and the byte-order mark.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/gu;

/**
 * `text` on one line (line breaks shown as ` ⏎ `), with every other character that could act on a terminal or
 * reorder the line replaced by a visible escape.
 */
export function terminalSafe(text: string): string {
  return text.replace(/[\r\n]+/g, ' ⏎ ').replace(UNSAFE, (char) => `\\u{${char.codePointAt(0)!.toString(16)}}`);
}
