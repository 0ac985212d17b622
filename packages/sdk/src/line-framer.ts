/**
 * A streaming framer for line-based protocols (IRC, MSNP, ...) on a `ByteQueue`: chunks go in as they arrive,
 * complete lines come out as views of the chunks (a copy only when a line spans chunks). Memory stays bounded: a line longer
 * than `maxLineBytes` is reported once (its first `maxLineBytes` bytes) and the rest of it is handed out as it
 * arrives, without buffering, until its line feed.
 *
 * A `Framer` (pull-based), so a parser can switch to reading a counted payload (`readBytes`, e.g. MSNP
 * `MSG ... len`) between two lines. Nothing here throws on input: every byte pushed comes out exactly once, in
 * order, from `next`, `readBytes` or `end`.
 */
import { ByteQueue } from './byte-queue.js';
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
  private readonly queue = new ByteQueue();
  /** Bytes at the front already searched for a line feed (none found): the next search starts after them. */
  private scanned = 0;
  private skipping = false;

  constructor(maxLineBytes: number) {
    this.maxLineBytes = Number.isFinite(maxLineBytes) && maxLineBytes >= 1 ? Math.floor(maxLineBytes) : 1;
  }

  /** Bytes held (never more than `maxLineBytes - 1` after `next` returned undefined). */
  get buffered(): number {
    return this.queue.length;
  }

  /** True while the rest of an over-long line is being handed out. */
  get skippingLine(): boolean {
    return this.skipping;
  }

  /** Appends a chunk (kept as a view, not copied). */
  push(chunk: Uint8Array): void {
    this.queue.push(chunk);
  }

  /** The next complete line or over-long line piece, or undefined when more input is needed. */
  next(): LineFramerItem | undefined {
    const queue = this.queue;
    if (queue.length === 0) return undefined;
    if (this.skipping) {
      // Hand out what the first chunk holds of the line, up to its line feed: views only, nothing kept.
      const n = queue.contiguous;
      const lf = queue.indexOf(LF, 0, n);
      if (lf >= 0) {
        this.skipping = false;
        return { kind: 'rest', raw: queue.take(lf + 1), complete: true };
      }
      return { kind: 'rest', raw: queue.take(n), complete: false };
    }
    const limit = Math.min(queue.length, this.maxLineBytes);
    const lf = queue.indexOf(LF, this.scanned, limit);
    if (lf >= 0) {
      this.scanned = 0;
      const raw = queue.take(lf + 1);
      let contentLength = lf;
      if (contentLength > 0 && raw[contentLength - 1] === CR) contentLength -= 1;
      return { kind: 'line', raw, contentLength };
    }
    this.scanned = limit;
    if (queue.length >= this.maxLineBytes) {
      // No line feed within the limit: whatever follows, this line is too long.
      this.skipping = true;
      this.scanned = 0;
      return { kind: 'too-large', raw: queue.take(this.maxLineBytes) };
    }
    return undefined;
  }

  /** Exactly `n` bytes (a counted payload), or undefined until that many are buffered. */
  readBytes(n: number): Uint8Array | undefined {
    if (n < 0 || n > this.queue.length) return undefined;
    this.scanned = Math.max(0, this.scanned - n);
    return this.queue.take(n);
  }

  /** Everything held, as one buffer (undefined when empty); the framer starts afresh. */
  end(): Uint8Array | undefined {
    const size = this.queue.length;
    const out = size === 0 ? undefined : this.queue.take(size);
    this.skipping = false;
    this.scanned = 0;
    return out;
  }

  /** @deprecated the `Framer` name is `end()`. */
  drain(): Uint8Array | undefined {
    return this.end();
  }
}

/** @deprecated renamed `LineFramer` (one `Framer` interface for every protocol). */
export const LineReader = LineFramer;
/** @deprecated renamed `LineFramer`. */
export type LineReader = LineFramer;
/** @deprecated renamed `LineFramerItem`. */
export type LineReaderItem = LineFramerItem;
