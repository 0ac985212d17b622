/**
 * `GgFramer`: cuts one direction of a Gadu-Gadu stream into packets (8-byte header: type u32 LE, body length
 * u32 LE), whatever the chunking. The bytes wait in a `ByteQueue` (a chunk list, joined only when a packet
 * straddles chunks); the length is checked against the limit before anything is buffered.
 *
 * The header has no magic, so what is a packet start is judged two ways:
 * - in step (after a packet, at the start of a connection): any type below 0x100 is a packet, known or not
 *   (unknown packets pass untouched), unless its length is more than that known type can have; a known type
 *   announced longer than the limit passes through unparsed, header first, then its body as it arrives;
 * - out of step (after bytes that were not a packet, a capture gap, a mid-stream start): only a type the
 *   protocol defines for this direction, with a body length that type can have, and a body consistent with
 *   that type or another such header after it. Bytes before it pass through as garbage, reported once per run.
 *
 * This is the one module that knows the framing, so a shared SDK framer can replace it.
 */
import { ByteQueue, type Direction } from '@imspect/sdk';
import { contradicts, isSelfConsistent, PREFIX_CHECKED } from './body-check.js';
import { HEADER_BYTES, isKnownType, isPlausible, isResyncType, isTooLongFor, TYPE_LIMIT } from './packet-types.js';

/**
 * No Gadu-Gadu packet comes near this (the largest are contact lists and image parts, tens of KiB): a length
 * beyond it is a header read out of step, not a packet to pass through unparsed.
 */
export const MAX_PROTOCOL_BODY = 16 * 1024 * 1024;

/** Largest packet taken as the first one after bytes that were not packets (see `nextHeader`). */
export const RESYNC_MAX_PACKET = 64 * 1024;

export interface PacketHeader {
  type: number;
  length: number;
}

export type FramerItem =
  /** A complete packet (header and body). */
  | { kind: 'packet'; raw: Uint8Array; header: PacketHeader }
  /** The header of a packet longer than the limit; its body follows as `rest` items. */
  | { kind: 'too-large'; raw: Uint8Array; header: PacketHeader }
  /** Body bytes of a too-large packet, passed through as they arrive. */
  | { kind: 'rest'; raw: Uint8Array }
  /** Bytes that are not a packet; `first` marks the start of a run that is an error (not a mid-stream start). */
  | { kind: 'garbage'; raw: Uint8Array; first: boolean };

function u32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

export class GgFramer {
  private readonly queue = new ByteQueue();
  /** Body bytes of a too-large packet still to pass through. */
  private skip = 0;
  /** Out of step: a header must be a known type with a plausible length. */
  private lost: boolean;
  /** The current garbage run has been reported (or is the expected start of a mid-stream capture). */
  private reported: boolean;
  /** Out of step, holding a possible header: the bytes needed before it is judged again. */
  private waitFor = 0;

  /**
   * @param direction which packet table applies
   * @param maxPacket largest packet (header included) buffered whole
   * @param midstream the stream may start inside a packet: its first garbage run is expected, not an error
   */
  constructor(
    private readonly direction: Direction,
    readonly maxPacket: number,
    midstream = false,
  ) {
    this.lost = midstream;
    this.reported = midstream;
  }

  /** Bytes held for an incomplete packet (or a possible header after garbage). */
  get buffered(): number {
    return this.queue.length;
  }

  push(chunk: Uint8Array): FramerItem[] {
    this.queue.push(chunk);
    const items: FramerItem[] = [];
    for (;;) {
      const q = this.queue;
      if (this.skip > 0) {
        if (q.length === 0) break;
        const n = Math.min(this.skip, q.length);
        items.push({ kind: 'rest', raw: q.take(n) });
        this.skip -= n;
        continue;
      }
      if (q.length === 0) break;
      if (this.lost) {
        // Nothing held can change its verdict before this many bytes are there: no rescan per small chunk.
        if (q.length < this.waitFor) break;
        const found = this.nextHeader();
        if (found.start > 0) {
          items.push({ kind: 'garbage', raw: q.take(found.start), first: !this.reported });
          this.reported = true;
        }
        this.waitFor = found.need;
        // Hold a possible header until its body or the next header is there to confirm it.
        if (found.need > 0 || q.length === 0) break;
      }
      if (q.length < HEADER_BYTES) {
        if (!this.lost && !this.headerPrefixInStep(q.peek(q.length))) {
          this.lose();
          continue;
        }
        break;
      }
      const head = q.peek(HEADER_BYTES);
      const header = { type: u32(head, 0), length: u32(head, 4) };
      const known = isKnownType(this.direction, header.type);
      const size = HEADER_BYTES + header.length;
      const impossible =
        header.type === 0 ||
        header.type >= TYPE_LIMIT ||
        header.length > MAX_PROTOCOL_BODY ||
        (!known && size > this.maxPacket) ||
        isTooLongFor(this.direction, header.type, header.length);
      if (!this.lost && impossible) {
        // Not a packet start after all: from here on, only plausible headers count.
        this.lose();
        continue;
      }
      this.lost = false;
      this.reported = false;
      this.waitFor = 0;
      if (size > this.maxPacket) {
        items.push({ kind: 'too-large', raw: q.take(HEADER_BYTES), header });
        this.skip = header.length;
        continue;
      }
      if (q.length < size) break;
      items.push({ kind: 'packet', raw: q.take(size), header });
    }
    return items;
  }

  /** The stream ended: whatever is held, as it arrived. */
  end(): Uint8Array | undefined {
    const n = this.queue.length;
    return n === 0 ? undefined : this.queue.take(n);
  }

  private lose(): void {
    this.lost = true;
  }

  /**
   * Out of step: the offset in the queue of the first header that is plausible (a known type with a length it
   * can have, within the limit) and confirmed, by its body (`isSelfConsistent`: offsets, lengths and
   * terminators that agree) or else by a plausible header right after its packet; `need`: how many bytes from
   * that offset must be there before the candidate (or a tail that may begin one) can be judged, 0 when judged. The queue's length when
   * there is none. A candidate announcing more than {@link RESYNC_MAX_PACKET} is not taken: lengths read from
   * the middle of data are rarely small, and a wrong long one would hold everything after it.
   */
  private nextHeader(): { start: number; need: number } {
    const q = this.queue;
    const bytes = q.peek(q.length);
    const limit = Math.min(this.maxPacket - HEADER_BYTES, RESYNC_MAX_PACKET);
    for (let at = 0; at < bytes.length; at++) {
      const left = bytes.length - at;
      if (left < HEADER_BYTES) {
        if (this.headerPrefixOutOfStep(bytes.subarray(at))) return { start: at, need: HEADER_BYTES };
        continue;
      }
      const size = HEADER_BYTES + u32(bytes, at + 4);
      if (!this.plausibleAt(bytes, at) || size > limit) continue;
      if (left < size) {
        if (contradicts(this.direction, u32(bytes, at), size - HEADER_BYTES, bytes.subarray(at + HEADER_BYTES))) continue;
        // More of the body may still contradict it (its first fields), else only the whole body decides.
        return { start: at, need: left < HEADER_BYTES + PREFIX_CHECKED ? Math.min(size, HEADER_BYTES + PREFIX_CHECKED) : size };
      }
      if (isSelfConsistent(this.direction, u32(bytes, at), bytes.subarray(at + HEADER_BYTES, at + size))) return { start: at, need: 0 };
      if (left < size + HEADER_BYTES) return { start: at, need: size + HEADER_BYTES };
      if (this.plausibleAt(bytes, at + size)) return { start: at, need: 0 };
    }
    return { start: bytes.length, need: 0 };
  }

  private plausibleAt(bytes: Uint8Array, at: number): boolean {
    const type = u32(bytes, at);
    return isResyncType(this.direction, type) && isPlausible(this.direction, type, u32(bytes, at + 4));
  }

  /** Could these first bytes (fewer than a header) begin a plausible header? Only the type can be judged. */
  private headerPrefixOutOfStep(prefix: Uint8Array): boolean {
    if (!isResyncType(this.direction, prefix[0]!)) return false;
    for (let i = 1; i < Math.min(4, prefix.length); i++) if (prefix[i] !== 0) return false;
    return true;
  }

  /** In step, a type must still be below 0x100 and not 0: its three high bytes are zero. */
  private headerPrefixInStep(prefix: Uint8Array): boolean {
    if (prefix[0] === 0) return false;
    for (let i = 1; i < Math.min(4, prefix.length); i++) if (prefix[i] !== 0) return false;
    return true;
  }
}
