/**
 * The journal's record framing: `[u32 payload length][u32 CRC-32 of the payload][payload]`, little endian.
 * A record cut short by a crash, or damaged on disk, fails its length or checksum and ends the readable part
 * of its segment: decoding never throws.
 */

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

import * as zlib from 'node:zlib';

/** Node's own CRC-32 where it has one (20.15 and later), the table otherwise. */
const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;

export function crc32(bytes: Uint8Array): number {
  if (nativeCrc32) return nativeCrc32(bytes) >>> 0;
  return tableCrc32(bytes);
}

export function tableCrc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export const RECORD_HEADER_BYTES = 8;
/** Larger than any event can be (a protocol frame is at most a few MB); a bigger length is damage. */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

/** One buffer with every text framed as UTF-8, ready for a single write (no intermediate buffer per text). */
export function encodeTextRecords(texts: readonly string[]): Buffer {
  let total = 0;
  const lengths = texts.map((t) => Buffer.byteLength(t, 'utf8'));
  for (const n of lengths) total += RECORD_HEADER_BYTES + n;
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  texts.forEach((text, i) => {
    const length = lengths[i]!;
    out.writeUInt32LE(length, at);
    out.write(text, at + RECORD_HEADER_BYTES, length, 'utf8');
    out.writeUInt32LE(crc32(out.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + length)), at + 4);
    at += RECORD_HEADER_BYTES + length;
  });
  return out;
}

/** One buffer with every payload framed, ready for a single write. */
export function encodeRecords(payloads: readonly Buffer[]): Buffer {
  let total = 0;
  for (const p of payloads) total += RECORD_HEADER_BYTES + p.length;
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const p of payloads) {
    out.writeUInt32LE(p.length, at);
    out.writeUInt32LE(crc32(p), at + 4);
    p.copy(out, at + RECORD_HEADER_BYTES);
    at += RECORD_HEADER_BYTES + p.length;
  }
  return out;
}

export interface DecodedRecords {
  /** Payloads of the intact records, in order (views into the input). */
  payloads: Buffer[];
  /** Bytes of the input those records cover; anything after is a torn or damaged tail. */
  validBytes: number;
  /** Why decoding stopped before the end, when it did. */
  problem?: 'truncated' | 'bad-length' | 'bad-checksum';
}

export function decodeRecords(bytes: Buffer): DecodedRecords {
  const payloads: Buffer[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < RECORD_HEADER_BYTES) return { payloads, validBytes: at, problem: 'truncated' };
    const length = bytes.readUInt32LE(at);
    if (length > MAX_RECORD_BYTES) return { payloads, validBytes: at, problem: 'bad-length' };
    if (bytes.length - at - RECORD_HEADER_BYTES < length) return { payloads, validBytes: at, problem: 'truncated' };
    const payload = bytes.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + length);
    if (crc32(payload) !== bytes.readUInt32LE(at + 4)) return { payloads, validBytes: at, problem: 'bad-checksum' };
    payloads.push(payload);
    at += RECORD_HEADER_BYTES + length;
  }
  return { payloads, validBytes: at };
}

/**
 * The records of payloads that {@link decodeRecords} returned, framed again by copying them with the headers they
 * were read with (a payload is a view right after its header): checked once when read, they are not summed
 * again, and a run of them that lay one after the other is one copy. A payload not preceded by its length (not
 * one `decodeRecords` returned) gets its header computed anew.
 */
export function reframeRecords(payloads: readonly Buffer[]): Buffer {
  let total = 0;
  for (const p of payloads) total += RECORD_HEADER_BYTES + p.length;
  // Not from the pool: the buffer may be transferred to another thread whole.
  const out = Buffer.allocUnsafeSlow(total);
  let at = 0;
  for (let i = 0; i < payloads.length; ) {
    const first = payloads[i]!;
    if (!followsItsLength(first)) {
      at += frameInto(out, at, first);
      i++;
      continue;
    }
    let end = first.byteOffset + first.length;
    let j = i + 1;
    while (j < payloads.length && payloads[j]!.buffer === first.buffer && payloads[j]!.byteOffset === end + RECORD_HEADER_BYTES && followsItsLength(payloads[j]!)) {
      end = payloads[j]!.byteOffset + payloads[j]!.length;
      j++;
    }
    const start = first.byteOffset - RECORD_HEADER_BYTES;
    out.set(new Uint8Array(first.buffer, start, end - start), at);
    at += end - start;
    i = j;
  }
  return out;
}

function followsItsLength(payload: Buffer): boolean {
  if (payload.byteOffset < RECORD_HEADER_BYTES) return false;
  return new DataView(payload.buffer, payload.byteOffset - RECORD_HEADER_BYTES, 4).getUint32(0, true) === payload.length;
}

function frameInto(out: Buffer, at: number, payload: Buffer): number {
  out.writeUInt32LE(payload.length, at);
  out.writeUInt32LE(crc32(payload), at + 4);
  payload.copy(out, at + RECORD_HEADER_BYTES);
  return RECORD_HEADER_BYTES + payload.length;
}
