/**
 * SNAC, the payload of FLAP channel 2: family (u16), subtype (u16), flags (u16), request id (u32), then the
 * data. With flag 0x8000 the data starts with a length-prefixed block (the family version) to skip.
 */
import { FLAP_HEADER_BYTES } from './flap.js';
import { concat, u16, u32 } from './tlv.js';

export const SNAC_HEADER_BYTES = 10;

export interface Snac {
  family: number;
  subtype: number;
  flags: number;
  requestId: number;
  /** Offset of the SNAC header in the FLAP. */
  start: number;
  /** Offset of the data (after any version block) in the FLAP, and its end. */
  dataStart: number;
  end: number;
}

export type SnacResult = { snac: Snac } | { error: string };

/** Reads the SNAC in a channel-2 FLAP (`raw` is the whole FLAP). */
export function readSnac(raw: Uint8Array): SnacResult {
  const start = FLAP_HEADER_BYTES;
  const end = raw.byteLength;
  if (end - start < SNAC_HEADER_BYTES) return { error: `SNAC of ${end - start} bytes is shorter than its 10-byte header` };
  const b = raw;
  const family = (b[start]! << 8) | b[start + 1]!;
  const subtype = (b[start + 2]! << 8) | b[start + 3]!;
  const flags = (b[start + 4]! << 8) | b[start + 5]!;
  const requestId = ((b[start + 6]! << 24) | (b[start + 7]! << 16) | (b[start + 8]! << 8) | b[start + 9]!) >>> 0;
  let dataStart = start + SNAC_HEADER_BYTES;
  if (flags & 0x8000) {
    if (end - dataStart < 2) return { error: `SNAC ${hex(family)}/${hex(subtype)} announces a version block it does not carry` };
    const blockLength = (b[dataStart]! << 8) | b[dataStart + 1]!;
    if (dataStart + 2 + blockLength > end) return { error: `SNAC ${hex(family)}/${hex(subtype)}: version block runs past the FLAP` };
    dataStart += 2 + blockLength;
  }
  return { snac: { family, subtype, flags, requestId, start, dataStart, end } };
}

/** A SNAC's bytes (header and data), to put in a FLAP. */
export function encodeSnac(family: number, subtype: number, flags: number, requestId: number, data: Uint8Array): Uint8Array {
  return concat([u16(family), u16(subtype), u16(flags), u32(requestId), data]);
}

export function hex(n: number): string {
  return `0x${n.toString(16).padStart(4, '0')}`;
}

export const Family = {
  GENERIC: 0x0001,
  LOCATION: 0x0002,
  BUDDY: 0x0003,
  ICBM: 0x0004,
  CHAT: 0x000e,
  SSI: 0x0013,
  ICQ: 0x0015,
  BUCP: 0x0017,
} as const;
