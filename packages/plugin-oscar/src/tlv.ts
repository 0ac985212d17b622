/**
 * TLVs (type u16, length u16, value), the building block of OSCAR: a run of them to the end of a range, or a
 * counted block of them. Each TLV keeps its offsets in the bytes it was read from, so a value can be replaced
 * and the lengths around it fixed without touching anything else.
 */
import { Cursor } from './cursor.js';

export interface Tlv {
  type: number;
  /** Offset of the TLV's type field. */
  start: number;
  /** Offsets of the value. */
  valueStart: number;
  valueEnd: number;
}

export interface TlvList {
  tlvs: Tlv[];
  /** Offset just after the last whole TLV. */
  end: number;
  /** A TLV whose length runs past the range: the TLVs before it are kept. */
  error?: string;
}

/** Most TLVs any OSCAR structure carries; more is hostile input, not a message. */
export const MAX_TLVS = 512;

/** Reads TLVs from `start` until `end` (or `count` of them). */
export function readTlvs(bytes: Uint8Array, start: number, end: number, count = Infinity): TlvList {
  const tlvs: Tlv[] = [];
  const cursor = new Cursor(bytes, start, Math.min(end, bytes.byteLength));
  let last = start;
  while (cursor.left > 0 && tlvs.length < count) {
    if (tlvs.length >= MAX_TLVS) return { tlvs, end: last, error: `more than ${MAX_TLVS} TLVs` };
    const type = cursor.u16();
    const length = cursor.u16();
    const valueStart = cursor.at;
    cursor.skip(length);
    if (cursor.overflow) return { tlvs, end: last, error: `TLV 0x${type.toString(16)} at offset ${last} runs past its block` };
    tlvs.push({ type, start: last, valueStart, valueEnd: valueStart + length });
    last = cursor.at;
  }
  if (tlvs.length < count && count !== Infinity) return { tlvs, end: last, error: `${count} TLVs announced, ${tlvs.length} present` };
  return { tlvs, end: last };
}

export function findTlv(list: readonly Tlv[], type: number): Tlv | undefined {
  return list.find((t) => t.type === type);
}

export function tlvValue(bytes: Uint8Array, tlv: Tlv): Uint8Array {
  return bytes.subarray(tlv.valueStart, tlv.valueEnd);
}

/** The value of TLV `type`, if present. */
export function tlvBytes(bytes: Uint8Array, list: readonly Tlv[], type: number): Uint8Array | undefined {
  const tlv = findTlv(list, type);
  return tlv === undefined ? undefined : tlvValue(bytes, tlv);
}

/** A u16 (or u32, by the value's length) TLV value as a number. */
export function numberOf(bytes: Uint8Array, list: readonly Tlv[], type: number): number | undefined {
  const value = tlvBytes(bytes, list, type);
  if (value === undefined) return undefined;
  if (value.length === 1) return value[0]!;
  if (value.length === 2) return (value[0]! << 8) | value[1]!;
  if (value.length === 4) return ((value[0]! << 24) | (value[1]! << 16) | (value[2]! << 8) | value[3]!) >>> 0;
  return undefined;
}

/** Encodes one TLV. The caller keeps the value within 65535 bytes. */
export function tlv(type: number, value: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + value.length);
  out[0] = type >> 8;
  out[1] = type & 0xff;
  out[2] = value.length >> 8;
  out[3] = value.length & 0xff;
  out.set(value, 4);
  return out;
}

export function u16(n: number): Uint8Array {
  return Uint8Array.of((n >> 8) & 0xff, n & 0xff);
}

export function u32(n: number): Uint8Array {
  return Uint8Array.of((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
