/**
 * Turns an arbitrary id (user, peer, channel, protocol name) into one safe path segment, and back.
 *
 * The encoding is percent-encoding of the UTF-8 (WTF-8 for lone surrogates) bytes of the characters that
 * are unsafe in a file name, everything else kept as is so that Unicode names stay readable:
 *
 * - `%`, `/`, `\`, the characters Windows forbids (`< > : " | ? *`);
 * - control characters (C0, DEL, C1), invisible format characters (`\p{Cf}`: bidi overrides, zero-width
 *   characters) and the line / paragraph separators;
 * - a leading `.` (so `.` and `..` cannot occur) and a trailing `.` or space (Windows strips them);
 * - the first character of a name Windows reserves (`CON`, `NUL`, `COM1`, `lpt3.txt`, ...);
 * - lone UTF-16 surrogates, as their 3-byte generalised UTF-8 form (`%ED%A0%80`).
 *
 * The empty id becomes `%` (a `%` that starts no escape). A segment longer than {@link MAX_SEGMENT_BYTES}
 * bytes is cut at a character boundary and ends in `%~` plus 40 hex digits of the SHA-256 of the whole
 * encoded id: `%~` never occurs in an untruncated segment, so a short id can never be crafted to land in a
 * long id's folder, and two long ids only share a folder if SHA-256 collides.
 *
 * The encoding is part of the on-disk format: changing it would split every user's archive in two.
 */
import { createHash } from 'node:crypto';

/** Longest segment written, in UTF-8 bytes (file systems allow 255; this leaves room for the hash). */
export const MAX_SEGMENT_BYTES = 200;

/** Marks a truncated segment; never produced by the encoding itself. */
export const TRUNCATION_MARK = '%~';

const HASH_HEX_DIGITS = 40;

/** Encodes the empty id. */
export const EMPTY_SEGMENT = '%';

const ALWAYS_ESCAPED = new Set(['%', '/', '\\', '<', '>', ':', '"', '|', '?', '*']);
const INVISIBLE = /^[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]$/u;
const WINDOWS_RESERVED = /^(?:con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(?:\.|$)/i;

export interface EncodedSegment {
  /** The path segment to use. */
  name: string;
  /** The whole encoding before truncation: `decodeSegment(full)` gives back the id. */
  full: string;
  /** True when `name` was cut to {@link MAX_SEGMENT_BYTES} and carries a hash. */
  truncated: boolean;
}

function hex2(byte: number): string {
  return '%' + byte.toString(16).toUpperCase().padStart(2, '0');
}

/** UTF-8 bytes of one code point; lone surrogates get the 3-byte form UTF-8 would give them (WTF-8). */
function codePointBytes(cp: number): number[] {
  if (cp < 0x80) return [cp];
  if (cp < 0x800) return [0xc0 | (cp >> 6), 0x80 | (cp & 0x3f)];
  if (cp < 0x10000) return [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
  return [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
}

function escapeChar(ch: string): string {
  return codePointBytes(ch.codePointAt(0)!).map(hex2).join('');
}

function mustEscape(ch: string, index: number, last: boolean): boolean {
  const cp = ch.codePointAt(0)!;
  if (cp >= 0xd800 && cp <= 0xdfff) return true; // lone surrogate (a pair arrives as one code point)
  if (ALWAYS_ESCAPED.has(ch) || INVISIBLE.test(ch)) return true;
  if (index === 0 && ch === '.') return true;
  if (last && (ch === '.' || ch === ' ')) return true;
  return false;
}

/** The encoding as a list of tokens, one per code point, so that truncation never splits a character. */
function encodeTokens(id: string): string[] {
  const chars = Array.from(id);
  const reserved = WINDOWS_RESERVED.test(id);
  return chars.map((ch, i) => (mustEscape(ch, i, i === chars.length - 1) || (i === 0 && reserved) ? escapeChar(ch) : ch));
}

export function encodeSegment(id: string): EncodedSegment {
  if (id.length === 0) return { name: EMPTY_SEGMENT, full: EMPTY_SEGMENT, truncated: false };
  const tokens = encodeTokens(id);
  const full = tokens.join('');
  if (Buffer.byteLength(full, 'utf8') <= MAX_SEGMENT_BYTES) return { name: full, full, truncated: false };
  const hash = createHash('sha256').update(full, 'utf8').digest('hex').slice(0, HASH_HEX_DIGITS);
  const budget = MAX_SEGMENT_BYTES - TRUNCATION_MARK.length - HASH_HEX_DIGITS;
  let prefix = '';
  let bytes = 0;
  for (const token of tokens) {
    const size = Buffer.byteLength(token, 'utf8');
    if (bytes + size > budget) break;
    prefix += token;
    bytes += size;
  }
  // The name ends in hex digits, so a space or dot at the end of the prefix is harmless.
  return { name: prefix + TRUNCATION_MARK + hash, full, truncated: true };
}

/** Decodes generalised UTF-8 (accepts encoded surrogates, which give lone UTF-16 code units). */
function decodeWtf8(bytes: readonly number[], segment: string): string {
  let out = '';
  let i = 0;
  const bad = (): never => {
    throw new Error(`not a valid encoded segment (bad UTF-8): ${JSON.stringify(segment)}`);
  };
  const cont = (k: number): number => {
    const b = bytes[i + k];
    if (b === undefined || (b & 0xc0) !== 0x80) bad();
    return b! & 0x3f;
  };
  while (i < bytes.length) {
    const b = bytes[i]!;
    let cp: number;
    let n: number;
    if (b < 0x80) [cp, n] = [b, 1];
    else if (b >= 0xc2 && b < 0xe0) [cp, n] = [((b & 0x1f) << 6) | cont(1), 2];
    else if (b >= 0xe0 && b < 0xf0) [cp, n] = [((b & 0x0f) << 12) | (cont(1) << 6) | cont(2), 3];
    else if (b >= 0xf0 && b < 0xf5) [cp, n] = [((b & 0x07) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3), 4];
    else return bad();
    if ((n === 3 && cp < 0x800) || (n === 4 && (cp < 0x10000 || cp > 0x10ffff))) bad();
    out += String.fromCodePoint(cp);
    i += n;
  }
  return out;
}

/**
 * The id a segment was made from. Throws for a truncated segment (the folder's `.id` file holds the full
 * encoding: decode that instead) and for text that the encoding cannot have produced.
 */
export function decodeSegment(segment: string): string {
  if (segment === EMPTY_SEGMENT) return '';
  if (segment.includes(TRUNCATION_MARK)) {
    throw new Error(`truncated segment: decode the full encoding kept in the folder's .id file instead`);
  }
  const bytes: number[] = [];
  for (let i = 0; i < segment.length; ) {
    if (segment[i] === '%') {
      const hex = segment.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new Error(`not a valid encoded segment: ${JSON.stringify(segment)}`);
      bytes.push(parseInt(hex, 16));
      i += 3;
    } else {
      const cp = segment.codePointAt(i)!;
      bytes.push(...codePointBytes(cp));
      i += cp > 0xffff ? 2 : 1;
    }
  }
  return decodeWtf8(bytes, segment);
}
