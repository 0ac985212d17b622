/**
 * IRC has no charset negotiation: text is UTF-8 today and often Latin-1 on older networks. Each field is
 * decoded on its own: UTF-8 when its bytes are valid UTF-8, else as Latin-1 the way Windows clients meant it
 * (windows-1252: 0x80 is the euro sign, 0x93/0x94 curly quotes; the five bytes it leaves undefined map to
 * the C1 control with the same number). The table is explicit: Node's own `latin1` decoder changed meaning
 * between versions.
 */
import { Buffer } from 'node:buffer';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

export type TextEncoding = 'utf-8' | 'latin1';

export interface DecodedText {
  text: string;
  encoding: TextEncoding;
}

/** windows-1252 characters for bytes 0x80..0x9F. */
const CP1252_HIGH = [
  0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008d, 0x017d, 0x008f,
  0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178,
];

/** Character code -> byte, the inverse of {@link decodeLatin1}. */
const LATIN1_BYTES = new Map<number, number>();
for (let byte = 0; byte < 256; byte++) LATIN1_BYTES.set(byte >= 0x80 && byte < 0xa0 ? CP1252_HIGH[byte - 0x80]! : byte, byte);

function isAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0x80) return false;
  return true;
}

/** Decodes one field. Pure ASCII counts as UTF-8. */
export function decodeText(bytes: Uint8Array): DecodedText {
  if (isAscii(bytes)) return { text: latin1String(bytes), encoding: 'utf-8' };
  try {
    return { text: strictUtf8.decode(bytes), encoding: 'utf-8' };
  } catch {
    return { text: decodeLatin1(bytes), encoding: 'latin1' };
  }
}

/** windows-1252 text of the bytes. */
export function decodeLatin1(bytes: Uint8Array): string {
  return latin1String(bytes).replace(/[\x80-\x9f]/g, (c) => String.fromCharCode(CP1252_HIGH[c.charCodeAt(0) - 0x80]!));
}

/** One character per byte, code = byte value: structure (spaces, colons) can be found by index = byte offset. */
export function latin1String(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/**
 * Encodes text the way the field it replaces was encoded: Latin-1 (windows-1252) when the original was and
 * every character fits, else UTF-8.
 */
export function encodeText(text: string, encoding: TextEncoding): Uint8Array {
  if (encoding === 'latin1') {
    const out = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) {
      const byte = LATIN1_BYTES.get(text.charCodeAt(i));
      if (byte === undefined) return utf8Encoder.encode(text);
      out[i] = byte;
    }
    return out;
  }
  return utf8Encoder.encode(text);
}

export function encodeUtf8(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const part of parts) size += part.byteLength;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
