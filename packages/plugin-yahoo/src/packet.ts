/**
 * YMSG packets: the 20-byte header and the key/value body. Decoding keeps byte offsets into the packet so a
 * value can be replaced without touching anything else; encoding builds a packet from a header and pairs.
 *
 * Header: "YMSG", version (u16 BE, or one byte followed by 0), vendor id u16, body length u16 BE, service u16 BE,
 * status u32 BE, session id u32 BE. Body: ASCII decimal key, C0 80, value, C0 80, repeated.
 */
import { encodeUtf8 } from '@imspect/sdk';

export const HEADER_BYTES = 20;
/** The body length is a u16: no packet is longer. */
export const MAX_BODY_BYTES = 0xffff;
export const MAX_PACKET_BYTES = HEADER_BYTES + MAX_BODY_BYTES;
export const MAGIC = Uint8Array.of(0x59, 0x4d, 0x53, 0x47); // "YMSG"
const SEP0 = 0xc0;
const SEP1 = 0x80;

export const Service = {
  LOGON: 0x01,
  LOGOFF: 0x02,
  MESSAGE: 0x06,
  PING: 0x12,
  CONF_INVITE: 0x18,
  CONF_LOGON: 0x19,
  CONF_DECLINE: 0x1a,
  CONF_LOGOFF: 0x1b,
  CONF_ADDINVITE: 0x1c,
  CONF_MSG: 0x1d,
  FILETRANSFER: 0x46,
  NOTIFY: 0x4b,
  VERIFY: 0x4c,
  P2PFILEXFER: 0x4d,
  PEERTOPEER: 0x4f,
  WEBCAM: 0x50,
  AUTHRESP: 0x54,
  LIST: 0x55,
  AUTH: 0x57,
  ADDBUDDY: 0x83,
  REMBUDDY: 0x84,
  FILETRANS_15: 0xdc,
} as const;

export interface YmsgHeader {
  /** Protocol version, whichever of the two header layouts carried it. */
  version: number;
  vendor: number;
  bodyLength: number;
  service: number;
  status: number;
  sessionId: number;
}

/** One key/value pair: the key as its decimal number (NaN when not decimal) and where the value sits. */
export interface YmsgPair {
  key: number;
  /** Offsets of the value in the body. */
  start: number;
  end: number;
}

export interface YmsgBody {
  pairs: YmsgPair[];
  /** Set when the body is not a clean run of `key C0 80 value C0 80`; the pairs found are still returned. */
  error?: string;
}

export function startsWithMagic(bytes: Uint8Array, at = 0): boolean {
  return bytes[at] === 0x59 && bytes[at + 1] === 0x4d && bytes[at + 2] === 0x53 && bytes[at + 3] === 0x47;
}

/** Reads the header from the first 20 bytes of `bytes` (the caller checked the magic and the length). */
export function decodeHeader(bytes: Uint8Array): YmsgHeader {
  const u16 = (at: number) => (bytes[at]! << 8) | bytes[at + 1]!;
  const u32 = (at: number) => ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
  const rawVersion = u16(4);
  // Clients of some versions write the version in the first byte only ("YMSG" 0A 00): accept both layouts.
  const version = (rawVersion & 0xff) === 0 && rawVersion !== 0 ? rawVersion >> 8 : rawVersion;
  return { version, vendor: u16(6), bodyLength: u16(8), service: u16(10), status: u32(12), sessionId: u32(16) };
}

/**
 * Splits a body into pairs. Lenient like the clients are: a body that does not end with a separator keeps its
 * last value (to the end of the body); a key without a value gets an empty one; an error says what was wrong.
 */
export function decodeBody(body: Uint8Array): YmsgBody {
  const pairs: YmsgPair[] = [];
  let error: string | undefined;
  let at = 0;
  while (at < body.length) {
    const keyEnd = findSeparator(body, at);
    if (keyEnd < 0) {
      error = `key without separator at body offset ${at}`;
      break;
    }
    const key = decimal(body, at, keyEnd);
    if (Number.isNaN(key)) error ??= `key that is not a decimal number at body offset ${at}`;
    const valueStart = keyEnd + 2;
    const valueEnd = findSeparator(body, valueStart);
    if (valueEnd < 0) {
      error ??= `value without closing separator at body offset ${valueStart}`;
      pairs.push({ key, start: Math.min(valueStart, body.length), end: body.length });
      break;
    }
    pairs.push({ key, start: valueStart, end: valueEnd });
    at = valueEnd + 2;
  }
  return error === undefined ? { pairs } : { pairs, error };
}

function findSeparator(bytes: Uint8Array, from: number): number {
  for (let i = from; i + 1 < bytes.length; i++) if (bytes[i] === SEP0 && bytes[i + 1] === SEP1) return i;
  return -1;
}

function decimal(bytes: Uint8Array, start: number, end: number): number {
  if (end === start || end - start > 9) return Number.NaN;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = bytes[i]! - 0x30;
    if (d < 0 || d > 9) return Number.NaN;
    n = n * 10 + d;
  }
  return n;
}

/** A pair to encode: key and value bytes. */
export type PairBytes = readonly [key: number, value: Uint8Array];

/** Builds a packet. The body must fit the u16 length (the caller keeps it within {@link MAX_BODY_BYTES}). */
export function encodePacket(header: { versionBytes: Uint8Array; service: number; status: number; sessionId: number }, pairs: readonly PairBytes[]): Uint8Array {
  const keys = pairs.map(([key]) => encodeUtf8(String(key)));
  let bodyLength = 0;
  pairs.forEach(([, value], i) => (bodyLength += keys[i]!.length + 2 + value.length + 2));
  if (bodyLength > MAX_BODY_BYTES) throw new RangeError(`YMSG body of ${bodyLength} bytes exceeds ${MAX_BODY_BYTES}`);
  const out = new Uint8Array(HEADER_BYTES + bodyLength);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  out.set(header.versionBytes.subarray(0, 4), 4);
  view.setUint16(8, bodyLength);
  view.setUint16(10, header.service);
  view.setUint32(12, header.status >>> 0);
  view.setUint32(16, header.sessionId >>> 0);
  let at = HEADER_BYTES;
  pairs.forEach(([, value], i) => {
    out.set(keys[i]!, at);
    at += keys[i]!.length;
    out[at++] = SEP0;
    out[at++] = SEP1;
    out.set(value, at);
    at += value.length;
    out[at++] = SEP0;
    out[at++] = SEP1;
  });
  return out;
}
