/**
 * A streaming framer for line-based protocols (IRC, MSNP, ...): chunks go in as they arrive, complete lines
 * come out as views of the chunks (a copy only when a line spans chunks). Memory stays bounded: a line longer
 * than `maxLineBytes` is reported once (its first `maxLineBytes` bytes) and the rest of it is handed out as it
 * arrives, without buffering, until its line feed.
 *
 * A `Framer` (pull-based), so a parser can switch to reading a counted payload (`readBytes`, e.g. MSNP
 * `MSG ... len`) between two lines. Nothing here throws on input: every byte pushed comes out exactly once, in
 * order, from `next`, `readBytes` or `end`.
 */
import type { Framer, RestItem, TooLargeItem } from './framer.js';

const LF = 0x0a;
const CR = 0x0d;

/** A complete line: `raw` includes its terminator (`\n` or `\r\n`); `contentLength` excludes it. */
export interface LineItem {
  kind: 'line';
  raw: Uint8Array;
  contentLength: number;
}

/**
 * A line (`line`); the first `maxLineBytes` bytes of a line longer than allowed (`too-large`), whose rest then
 * comes out as `rest` items, the last one `complete` (ending with the line feed).
 */
export type LineFramerItem = LineItem | TooLargeItem | RestItem;

export class LineFramer implements Framer<LineFramerItem> {
  /** Longest line, terminator included, that `next` returns whole. */
  readonly maxLineBytes: number;
  /** Held chunks from index `head` on (a head index, so taking many small chunks stays linear). */
  private chunks: Uint8Array[] = [];
  private head = 0;
  private size = 0;
  /** Bytes at the front of the buffer already searched for a line feed (none found). */
  private scanned = 0;
  /** Chunk index and its offset in the buffer where the search for a line feed resumes. */
  private scanIndex = 0;
  private scanBase = 0;
  private skipping = false;

  constructor(maxLineBytes: number) {
    this.maxLineBytes = Number.isFinite(maxLineBytes) && maxLineBytes >= 1 ? Math.floor(maxLineBytes) : 1;
  }

  /** Bytes held (never more than `maxLineBytes - 1` after `next` returned undefined). */
  get buffered(): number {
    return this.size;
  }

  /** True while the rest of an over-long line is being handed out. */
  get skippingLine(): boolean {
    return this.skipping;
  }

  /** Appends a chunk (kept as a view, not copied). */
  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.byteLength;
  }

  /** The next complete line or over-long line piece, or undefined when more input is needed. */
  next(): LineFramerItem | undefined {
    if (this.size === 0) return undefined;
    if (this.skipping) {
      const first = this.chunks[this.head]!;
      const lf = first.indexOf(LF);
      if (lf >= 0) {
        this.skipping = false;
        return { kind: 'rest', raw: this.take(lf + 1), complete: true };
      }
      return { kind: 'rest', raw: this.take(first.byteLength), complete: false };
    }
    const limit = Math.min(this.size, this.maxLineBytes);
    const lf = this.findLf(limit);
    if (lf >= 0) {
      const raw = this.take(lf + 1);
      let contentLength = lf;
      if (contentLength > 0 && raw[contentLength - 1] === CR) contentLength -= 1;
      return { kind: 'line', raw, contentLength };
    }
    if (this.size >= this.maxLineBytes) {
      // No line feed within the limit: whatever follows, this line is too long.
      this.skipping = true;
      return { kind: 'too-large', raw: this.take(this.maxLineBytes) };
    }
    return undefined;
  }

  /** Exactly `n` bytes (a counted payload), or undefined until that many are buffered. */
  readBytes(n: number): Uint8Array | undefined {
    if (n < 0 || n > this.size) return undefined;
    return this.take(n);
  }

  /** Everything held, as one buffer (undefined when empty); the framer starts afresh. */
  end(): Uint8Array | undefined {
    const size = this.size;
    const out = size === 0 ? undefined : this.take(size);
    this.skipping = false;
    return out;
  }

  /** @deprecated the `Framer` name is `end()`. */
  drain(): Uint8Array | undefined {
    return this.end();
  }

  /** Offset of the first line feed among the first `limit` buffered bytes, or -1. */
  private findLf(limit: number): number {
    let base = this.scanBase;
    let c = this.scanIndex;
    for (; c < this.chunks.length && base < limit; c++) {
      const chunk = this.chunks[c]!;
      const end = Math.min(chunk.byteLength, limit - base);
      const start = this.scanned > base ? this.scanned - base : 0;
      if (start < end) {
        const i = (end === chunk.byteLength ? chunk : chunk.subarray(0, end)).indexOf(LF, start);
        if (i >= 0) return base + i;
      }
      if (base + chunk.byteLength > limit) break;
      base += chunk.byteLength;
    }
    // Resume next time in the chunk where this search stopped.
    this.scanIndex = c;
    this.scanBase = base;
    this.scanned = limit;
    return -1;
  }

  /** Removes `n` bytes from the front: a view when they lie in the first chunk, else one copy. */
  private take(n: number): Uint8Array {
    this.scanned = Math.max(0, this.scanned - n);
    this.size -= n;
    this.scanIndex = this.head;
    this.scanBase = 0;
    const first = this.chunks[this.head];
    if (first === undefined || n === 0) return new Uint8Array(0);
    let out: Uint8Array;
    if (n < first.byteLength) {
      this.chunks[this.head] = first.subarray(n);
      out = first.subarray(0, n);
    } else if (n === first.byteLength) {
      this.head++;
      out = first;
    } else {
      out = new Uint8Array(n);
      let offset = 0;
      while (offset < n) {
        const chunk = this.chunks[this.head]!;
        const want = n - offset;
        if (chunk.byteLength <= want) {
          out.set(chunk, offset);
          offset += chunk.byteLength;
          this.head++;
        } else {
          out.set(chunk.subarray(0, want), offset);
          this.chunks[this.head] = chunk.subarray(want);
          offset += want;
        }
      }
    }
    if (this.head === this.chunks.length) {
      this.chunks = [];
      this.head = 0;
    } else if (this.head >= 64 && this.head * 2 >= this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
    this.scanIndex = this.head;
    return out;
  }
}

/** @deprecated renamed `LineFramer` (one `Framer` interface for every protocol). */
export const LineReader = LineFramer;
/** @deprecated renamed `LineFramer`. */
export type LineReader = LineFramer;
/** @deprecated renamed `LineFramerItem`. */
export type LineReaderItem = LineFramerItem;
