/**
 * `GgPacket`: one complete packet, its header decoded, its body a view; bounds-checked little-endian reads that
 * answer undefined past the end instead of throwing.
 */
import { HEADER_BYTES } from './packet-types.js';
import type { PacketHeader } from './framer.js';

export class GgPacket {
  readonly body: Uint8Array;

  constructor(
    readonly raw: Uint8Array,
    readonly header: PacketHeader,
  ) {
    this.body = raw.subarray(HEADER_BYTES, HEADER_BYTES + header.length);
  }

  get type(): number {
    return this.header.type;
  }

  u8(at: number): number | undefined {
    return at >= 0 && at < this.body.length ? this.body[at] : undefined;
  }

  u16(at: number): number | undefined {
    const b = this.body;
    return at >= 0 && at + 2 <= b.length ? b[at]! | (b[at + 1]! << 8) : undefined;
  }

  u32(at: number): number | undefined {
    const b = this.body;
    return at >= 0 && at + 4 <= b.length ? (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0 : undefined;
  }

  /** A uin (GG number) at `at`, as the decimal string events carry. */
  uin(at: number): string | undefined {
    const n = this.u32(at);
    return n === undefined ? undefined : String(n);
  }

  /** Offset of the first NUL at or after `from` (the end of the body when there is none). */
  nul(from: number): number {
    const at = this.body.indexOf(0, Math.max(0, from));
    return at < 0 ? this.body.length : at;
  }

  bytes(start: number, end: number): Uint8Array {
    return this.body.subarray(Math.max(0, start), Math.max(0, Math.min(end, this.body.length)));
  }
}
