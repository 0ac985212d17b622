/**
 * The MIME-style header blocks of MSNP payloads (`MSG`, MSNMSLP bodies, MSNP21 `SDG` blocks):
 * `Name: value\r\n` lines, an empty line, then the body.
 */
import { utf8 } from '@imspect/sdk';

export interface HeaderBlock {
  /** Header names lower-cased; the first occurrence wins. */
  headers: Map<string, string>;
  /** Offset of the body in the bytes parsed (just after the empty line), or the end when there is none. */
  bodyOffset: number;
  /** True when an empty line ended the headers. */
  complete: boolean;
}

const CR = 0x0d;
const LF = 0x0a;

/** Parses headers from `start`; lines may end in CRLF or LF. */
export function parseHeaders(bytes: Uint8Array, start = 0): HeaderBlock {
  const headers = new Map<string, string>();
  let offset = start;
  while (offset < bytes.byteLength) {
    let end = bytes.indexOf(LF, offset);
    if (end < 0) end = bytes.byteLength;
    const contentEnd = end > offset && bytes[end - 1] === CR ? end - 1 : end;
    const next = Math.min(end + 1, bytes.byteLength);
    if (contentEnd === offset) return { headers, bodyOffset: next, complete: end < bytes.byteLength };
    const line = utf8(bytes.subarray(offset, contentEnd));
    const colon = line.indexOf(':');
    if (colon > 0) {
      const name = line.slice(0, colon).trim().toLowerCase();
      if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
    }
    offset = next;
  }
  return { headers, bodyOffset: bytes.byteLength, complete: false };
}

/** `text/plain; charset=UTF-8` -> `text/plain`. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/** The value of one parameter of a header (`charset` of a Content-Type). */
export function headerParam(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  for (const part of value.split(';').slice(1)) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim().toLowerCase() === name)
      return part
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, '$1');
  }
  return undefined;
}

/** Decodes a body in its declared charset (UTF-8 unless it says otherwise). */
export function decodeBody(body: Uint8Array, contentType: string | undefined): string {
  const charset = headerParam(contentType, 'charset')?.toLowerCase();
  if (charset === undefined || charset === 'utf-8' || charset === 'utf8') return utf8(body);
  try {
    return new TextDecoder(charset).decode(body);
  } catch {
    return utf8(body);
  }
}
