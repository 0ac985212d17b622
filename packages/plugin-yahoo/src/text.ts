/**
 * Text in YMSG values. Key 97 = 1 says the message is UTF-8; without it clients sent their system code page,
 * so text that is not valid UTF-8 is read as Windows-1252 (a superset of Latin-1).
 */
import { encodeUtf8, utf8 } from '@imspect/sdk';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
/** Windows-1252 0x80..0x9F (Node's decoder for that label is plain Latin-1); undefined bytes stay as they are. */
const CP1252_HIGH =
  '\u20ac\x81\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\x8d\u017d\x8f\x90\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\x9d\u017e\u0178';

function decodeWindows1252(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += byte >= 0x80 && byte <= 0x9f ? CP1252_HIGH[byte - 0x80]! : String.fromCharCode(byte);
  return text;
}

export function decodeText(bytes: Uint8Array, utf8Flag: boolean): string {
  if (utf8Flag) return utf8(bytes);
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return decodeWindows1252(bytes);
  }
}

/** Ids are ASCII in practice; anything else is read as UTF-8, replacement characters for broken bytes. */
export function decodeId(bytes: Uint8Array): string {
  return utf8(bytes);
}

/** The longest prefix of `text` whose UTF-8 encoding fits in `budget` bytes, never cutting a character. */
export function fitUtf8(text: string, budget: number): Uint8Array {
  const full = encodeUtf8(text);
  if (full.length <= budget) return full;
  let end = Math.max(0, budget);
  while (end > 0 && (full[end]! & 0xc0) === 0x80) end--;
  return full.subarray(0, end);
}
