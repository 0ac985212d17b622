/**
 * IRC has no charset negotiation: text is UTF-8 today and often Latin-1 on older networks. Each field is
 * decoded on its own: UTF-8 when its bytes are valid UTF-8, else as Latin-1 the way Windows clients meant it
 * (windows-1252: 0x80 is the euro sign, 0x93/0x94 curly quotes; the five bytes it leaves undefined map to
 * the C1 control with the same number). The table is explicit: Node's own `latin1` decoder changed meaning
 * between versions.
 */
import { Buffer } from 'node:buffer';
import { encodeUtf8 } from '@imspect/sdk';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export type TextEncoding = 'utf-8' | 'latin1';

export interface DecodedText {
  text: string;
  encoding: TextEncoding;
}

/** windows-1252 characters for bytes 0x80..0x9F. */
const CP1252_HIGH = [
  0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008d, 0x017d, 0x008f, 0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022,
  0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178,
];

/** Character code -> byte, the inverse of {@link decodeLatin1}. */
const LATIN1_BYTES = new Map<number, number>();
for (let byte = 0; byte < 256; byte++) LATIN1_BYTES.set(byte >= 0x80 && byte < 0xa0 ? CP1252_HIGH[byte - 0x80]! : byte, byte);

/**
 * Node's own string makers, called on a range of any Uint8Array: no view, no Buffer object per call. Both
 * exist on every supported Node version; the fallbacks keep this correct should they ever go away.
 */
type SliceFn = (this: Uint8Array, start: number, end: number) => string;
const nodeLatin1Slice = (Buffer.prototype as unknown as { latin1Slice?: SliceFn }).latin1Slice;
const nodeUtf8Slice = (Buffer.prototype as unknown as { utf8Slice?: SliceFn }).utf8Slice;

/** Bytes `start..end` as one character per byte. */
export function latin1Range(bytes: Uint8Array, start: number, end: number): string {
  if (start >= end) return '';
  if (nodeLatin1Slice !== undefined) return nodeLatin1Slice.call(bytes, start, end);
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('latin1');
}

/** Offset of the first byte >= 0x80 in `start..end`, or `end`. */
function asciiEnd(bytes: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end && bytes[i]! < 0x80) i++;
  return i;
}

/** True when `start..end` is well-formed UTF-8 (what a fatal TextDecoder accepts), checked from `from`. */
function isUtf8Range(bytes: Uint8Array, from: number, end: number): boolean {
  let i = from;
  while (i < end) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      else if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      else if (b === 0xf4) hi = 0x8f;
    } else return false;
    if (i + need >= end) return false; // truncated
    const c1 = bytes[i + 1]!;
    if (c1 < lo || c1 > hi) return false;
    for (let k = 2; k <= need; k++) {
      const c = bytes[i + k]!;
      if (c < 0x80 || c > 0xbf) return false;
    }
    i += need + 1;
  }
  return true;
}

/** True when every byte of `start..end` is below 0x80. */
export function isAsciiRange(bytes: Uint8Array, start: number, end: number): boolean {
  return asciiEnd(bytes, start, end) === end;
}

/** Decodes one field. Pure ASCII counts as UTF-8. */
export function decodeText(bytes: Uint8Array): DecodedText {
  return decodeTextRange(bytes, 0, bytes.byteLength);
}

/** Decodes bytes `start..end` of `bytes` as {@link decodeText} decodes that range on its own. */
export function decodeTextRange(bytes: Uint8Array, start: number, end: number): DecodedText {
  if (start >= end) return { text: '', encoding: 'utf-8' };
  if (nodeUtf8Slice !== undefined) {
    // Node's decoder replaces what is not UTF-8 with U+FFFD: without one in its output, the bytes were valid
    // (ASCII included) and the text is what a fatal TextDecoder returns, less the byte order mark it drops.
    const text = nodeUtf8Slice.call(bytes, start, end);
    if (!text.includes('\ufffd')) return { text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, encoding: 'utf-8' };
    if (!isUtf8Range(bytes, start, end)) return { text: decodeLatin1(bytes.subarray(start, end)), encoding: 'latin1' };
    // Valid UTF-8 that spells U+FFFD itself: fall through to the reference decoder.
  }
  const view = bytes.subarray(start, end);
  try {
    return { text: strictUtf8.decode(view), encoding: 'utf-8' };
  } catch {
    return { text: decodeLatin1(view), encoding: 'latin1' };
  }
}

/** windows-1252 text of the bytes. */
export function decodeLatin1(bytes: Uint8Array): string {
  return latin1String(bytes).replace(/[\x80-\x9f]/g, (c) => String.fromCharCode(CP1252_HIGH[c.charCodeAt(0) - 0x80]!));
}

/** One character per byte, code = byte value: structure (spaces, colons) can be found by index = byte offset. */
export function latin1String(bytes: Uint8Array): string {
  return latin1Range(bytes, 0, bytes.byteLength);
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
      if (byte === undefined) return encodeUtf8(text);
      out[i] = byte;
    }
    return out;
  }
  return encodeUtf8(text);
}
