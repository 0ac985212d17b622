/**
 * A framer for binary protocols whose frames start with a fixed-size header holding the frame's length (YMSG,
 * OSCAR FLAP, Gadu-Gadu...). Chunks are kept in a `ByteQueue` and frames handed out as views of them when they
 * lie in one chunk. The length is read from the header and checked against the limit before any of the body is
 * waited for, so a hostile length never makes it buffer: a frame over the limit comes out as its header
 * (`too-large`) and then its body as it arrives (`rest`).
 *
 * With a `magic` (bytes every frame starts with), a frame start that does not match is `skipped`: with
 * `onMismatch: 'resync'` up to the next occurrence of the magic, with `'pass'` (a magic too short to find
 * reliably in the middle of data, like FLAP's single 0x2A) for the rest of the stream.
 */
import { ByteQueue } from './byte-queue.js';
import type { Framer, RestItem, SkippedItem } from './framer.js';

/** Where the length lies in the header. */
export interface LengthField {
  /** Byte offset in the header. */
  offset: number;
  /** Width in bytes. */
  size: 1 | 2 | 4;
  endian: 'big' | 'little';
  /** What the value counts: the bytes after the header (`body`, the default) or the whole frame (`frame`). */
  counts?: 'body' | 'frame';
}

export interface LengthPrefixedOptions<Header> {
  /** Size of the fixed header; a frame is never shorter. */
  headerBytes: number;
  /**
   * The length field, or a function that returns the whole frame's size (header included) from a complete
   * header; a size that is not an integer at least `headerBytes` makes the header `skipped` (`bad-length`).
   */
  length: LengthField | ((header: Uint8Array) => number);
  /** Largest frame, header included, handed out whole. */
  maxFrameBytes: number;
  /** Bytes every frame starts with, and what to do when a frame start does not match them. */
  magic?: { bytes: Uint8Array; onMismatch: 'resync' | 'pass' };
  /**
   * A further check of a complete header (e.g. FLAP's channel is 1-5): a header it refuses is treated as a frame
   * start that does not match the magic, so a short magic can still resynchronise without trusting every
   * occurrence of its bytes.
   */
  acceptHeader?: (header: Uint8Array) => boolean;
  /** Decodes a complete header (called once per frame, with a view of exactly `headerBytes` bytes). */
  decodeHeader: (header: Uint8Array) => Header;
}

/** A complete frame; `raw.subarray(0, headerBytes)` is its header. */
export interface LengthPrefixedFrame<Header> {
  kind: 'frame';
  raw: Uint8Array;
  header: Header;
}

/** The header of a frame longer than the limit; `size` is the frame's declared size, header included. */
export interface TooLargeFrame<Header> {
  kind: 'too-large';
  raw: Uint8Array;
  header: Header;
  size: number;
}

export type LengthPrefixedItem<Header> = LengthPrefixedFrame<Header> | TooLargeFrame<Header> | RestItem | SkippedItem;

export class LengthPrefixedFramer<Header> implements Framer<LengthPrefixedItem<Header>> {
  readonly headerBytes: number;
  readonly maxFrameBytes: number;
  private readonly queue = new ByteQueue();
  private readonly sizeOf: (header: Uint8Array) => number;
  private readonly magic: Uint8Array | undefined;
  private readonly resync: boolean;
  private readonly decodeHeader: (header: Uint8Array) => Header;
  private readonly acceptHeader: ((header: Uint8Array) => boolean) | undefined;
  /** Body bytes of a too-large frame still to hand out. */
  private restLeft = 0;
  /** Size of the frame whose header is at the front (read once, however many pushes its body takes), or -1. */
  private pendingSize = -1;
  /** Why the stream cannot be framed any more (`onMismatch: 'pass'`, or no magic to resync at): all is skipped. */
  private unframed: SkippedItem['reason'] | undefined;
  private inSkipped = false;
  private sawFrame = false;

  constructor(options: LengthPrefixedOptions<Header>) {
    this.headerBytes = Math.max(1, Math.floor(options.headerBytes));
    this.maxFrameBytes = Math.max(this.headerBytes, Math.floor(options.maxFrameBytes));
    this.sizeOf = typeof options.length === 'function' ? options.length : lengthReader(options.length, this.headerBytes);
    const magic = options.magic?.bytes;
    if (magic !== undefined && magic.byteLength > this.headerBytes) throw new RangeError(`magic of ${magic.byteLength} bytes is longer than the ${this.headerBytes}-byte header`);
    this.magic = magic !== undefined && magic.byteLength > 0 ? magic : undefined;
    this.resync = options.magic?.onMismatch === 'resync';
    this.decodeHeader = options.decodeHeader;
    this.acceptHeader = options.acceptHeader;
  }

  get buffered(): number {
    return this.queue.length;
  }

  push(chunk: Uint8Array): void {
    this.queue.push(chunk);
  }

  next(): LengthPrefixedItem<Header> | undefined {
    const queue = this.queue;
    const available = queue.length;
    if (available === 0) return undefined;
    if (this.restLeft > 0) {
      const n = Math.min(this.restLeft, queue.contiguous);
      this.restLeft -= n;
      return { kind: 'rest', raw: queue.take(n), complete: this.restLeft === 0 };
    }
    if (this.unframed !== undefined) return this.skipped(queue.take(queue.contiguous), this.unframed);
    if (this.pendingSize < 0) {
      if (available < this.headerBytes) {
        // Too short for a header, but a start that cannot be the magic is skipped at once.
        return this.magic !== undefined && this.magicAt(0) === 'mismatch' ? this.badMagic() : undefined;
      }
      const header = queue.peek(this.headerBytes);
      if (this.magic !== undefined && !startsWith(header, this.magic)) return this.badMagic();
      if (this.acceptHeader !== undefined && !this.acceptHeader(header)) return this.badMagic();
      const size = this.sizeOf(header);
      if (!Number.isSafeInteger(size) || size < this.headerBytes) {
        // No frame can be cut from this header: skip to the next frame start (which may lie inside this
        // header), or give up on framing this stream.
        if (this.magic !== undefined && this.resync) return this.skipped(queue.take(this.nextMagic(1)), 'bad-length');
        this.unframed = 'bad-length';
        return this.skipped(queue.take(this.headerBytes), 'bad-length');
      }
      this.sawFrame = true;
      this.inSkipped = false;
      if (size > this.maxFrameBytes) {
        const raw = queue.take(this.headerBytes);
        this.restLeft = size - this.headerBytes;
        return { kind: 'too-large', raw, header: this.decodeHeader(raw), size };
      }
      // The common case: the whole frame is already here, and the header just read is its header.
      if (available >= size) return { kind: 'frame', raw: queue.take(size), header: this.decodeHeader(header) };
      this.pendingSize = size;
    }
    const size = this.pendingSize;
    if (available < size) return undefined;
    this.pendingSize = -1;
    const raw = queue.take(size);
    return { kind: 'frame', raw, header: this.decodeHeader(size === this.headerBytes ? raw : raw.subarray(0, this.headerBytes)) };
  }

  end(): Uint8Array | undefined {
    const queue = this.queue;
    const rest = queue.length === 0 ? undefined : queue.take(queue.length);
    this.restLeft = 0;
    this.pendingSize = -1;
    this.unframed = undefined;
    this.inSkipped = false;
    return rest;
  }

  /** The bytes at the front are not a frame start: skipped up to the next magic, or for good. */
  private badMagic(): SkippedItem {
    const queue = this.queue;
    if (this.resync) return this.skipped(queue.take(this.nextMagic(1)), 'bad-magic');
    this.unframed = 'bad-magic';
    return this.skipped(queue.take(queue.contiguous), 'bad-magic');
  }

  private skipped(raw: Uint8Array, reason: SkippedItem['reason']): SkippedItem {
    const item: SkippedItem = { kind: 'skipped', raw, first: !this.inSkipped, leading: !this.sawFrame, reason };
    this.inSkipped = true;
    return item;
  }

  /** Whether the magic is at `at`: all of it, a prefix of it cut by the end of the buffered bytes, or not. */
  private magicAt(at: number): 'match' | 'prefix' | 'mismatch' {
    const magic = this.magic!;
    const queue = this.queue;
    const n = Math.min(magic.byteLength, queue.length - at);
    for (let i = 0; i < n; i++) if (queue.byteAt(at + i) !== magic[i]) return 'mismatch';
    return n === magic.byteLength ? 'match' : 'prefix';
  }

  /** Position of the next magic (or a prefix of it at the end of the buffered bytes) at or after `from`. */
  private nextMagic(from: number): number {
    const first = this.magic![0]!;
    for (let at = this.queue.indexOf(first, from); at >= 0; at = this.queue.indexOf(first, at + 1)) {
      if (this.magicAt(at) !== 'mismatch') return at;
    }
    return this.queue.length;
  }
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  for (let i = 0; i < prefix.byteLength; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** Reads a frame's total size from a header with the length at a fixed place. */
function lengthReader(field: LengthField, headerBytes: number): (header: Uint8Array) => number {
  const { offset, size, endian } = field;
  if (!Number.isInteger(offset) || offset < 0 || offset + size > headerBytes) {
    throw new RangeError(`length field at ${offset} (${size} bytes) lies outside the ${headerBytes}-byte header`);
  }
  const extra = field.counts === 'frame' ? 0 : headerBytes;
  const little = endian === 'little';
  // Byte arithmetic, not a DataView: this runs once per frame and the header is usually a view of a large chunk.
  if (size === 1) return (h) => h[offset]! + extra;
  if (size === 2) return little ? (h) => (h[offset]! | (h[offset + 1]! << 8)) + extra : (h) => ((h[offset]! << 8) | h[offset + 1]!) + extra;
  return little
    ? (h) => (h[offset]! | (h[offset + 1]! << 8) | (h[offset + 2]! << 16)) + h[offset + 3]! * 0x1000000 + extra
    : (h) => h[offset]! * 0x1000000 + ((h[offset + 1]! << 16) | (h[offset + 2]! << 8) | h[offset + 3]!) + extra;
}
