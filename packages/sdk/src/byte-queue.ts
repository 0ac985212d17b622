/**
 * The input of a streaming parser: the chunks read so far plus their byte count. Reads hand out `subarray`
 * views of a chunk whenever the bytes lie in one chunk, and copy only what straddles a chunk boundary, so a
 * capture is never held in memory as a whole. A consumed chunk is let go at once (a queue that sees many
 * chunks keeps none it no longer needs), and `indexOf` resumes in the chunk where the last search ended, so
 * searching a long run of small chunks again and again (a line arriving byte by byte) stays linear.
 */
const EMPTY = new Uint8Array(0);

export class ByteQueue {
  private chunks: Uint8Array[] = [];
  /** Index of the first chunk still in use; the slots before it hold EMPTY until the array is compacted. */
  private first = 0;
  /** Bytes of `chunks[first]` already consumed. */
  private firstOffset = 0;
  private size = 0;
  private consumed = 0;
  /** Where the last `indexOf` ended: a chunk index and the stream position of that chunk's first byte. */
  private cursorChunk = -1;
  private cursorStart = 0;

  /** Bytes buffered and not consumed. */
  get length(): number {
    return this.size;
  }

  /** Position, counted from the start of the input, of the next unread byte. */
  get offset(): number {
    return this.consumed;
  }

  /** Bytes readable as one view: what is left of the first chunk (0 when empty). */
  get contiguous(): number {
    return this.size === 0 ? 0 : this.chunks[this.first]!.byteLength - this.firstOffset;
  }

  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.byteLength;
  }

  /** The unread byte at `index` (`index < length`), without consuming anything. */
  byteAt(index: number): number {
    if (index < 0 || index >= this.size) throw new RangeError(`byteAt(${index}) with only ${this.size} bytes buffered`);
    let at = index + this.firstOffset;
    for (let i = this.first; ; i++) {
      const chunk = this.chunks[i]!;
      if (at < chunk.byteLength) return chunk[at]!;
      at -= chunk.byteLength;
    }
  }

  /**
   * Position (counted from the next unread byte) of the first `byte` in `[from, end)`, or -1. Consumes nothing.
   * The search starts in the chunk where the previous one ended when `from` lies at or after it.
   */
  indexOf(byte: number, from = 0, end = this.size): number {
    const stop = Math.min(end, this.size);
    if (from >= stop) return -1;
    // Stream positions: the queue's front is at `consumed`, the first chunk starts `firstOffset` before it.
    const target = this.consumed + from;
    const limit = this.consumed + stop;
    let i = this.first;
    let base = this.consumed - this.firstOffset;
    if (this.cursorChunk > i && this.cursorStart <= target) {
      i = this.cursorChunk;
      base = this.cursorStart;
    }
    for (; i < this.chunks.length && base < limit; i++) {
      const chunk = this.chunks[i]!;
      this.cursorChunk = i;
      this.cursorStart = base;
      const chunkEnd = base + chunk.byteLength;
      if (chunkEnd > target) {
        // The whole chunk is searched and a find past `limit` ignored: a view cut at `limit` would be one object
        // per search (per line, for a line framer), and the search stops at the first match anyway.
        const found = chunk.indexOf(byte, Math.max(0, target - base));
        if (found >= 0) return base + found < limit ? base + found - this.consumed : -1;
      }
      base = chunkEnd;
    }
    return -1;
  }

  /** The next `n` bytes (`n <= length`) without consuming them. A view when possible, else a copy. */
  peek(n: number): Uint8Array {
    if (n > this.size) throw new RangeError(`peek(${n}) with only ${this.size} bytes buffered`);
    if (n === 0 || this.size === 0) return EMPTY;
    const head = this.chunks[this.first]!;
    if (head.byteLength - this.firstOffset >= n) return head.subarray(this.firstOffset, this.firstOffset + n);
    const out = new Uint8Array(n);
    let written = 0;
    let offset = this.firstOffset;
    for (let i = this.first; written < n; i++) {
      const chunk = this.chunks[i]!;
      const part = Math.min(chunk.byteLength - offset, n - written);
      out.set(chunk.subarray(offset, offset + part), written);
      written += part;
      offset = 0;
    }
    return out;
  }

  /** Consumes and returns the next `n` bytes (`n <= length`). */
  take(n: number): Uint8Array {
    const bytes = this.peek(n);
    this.skip(n);
    return bytes;
  }

  /** Discards up to `n` bytes; returns how many were discarded. */
  skip(n: number): number {
    const todo = Math.min(n, this.size);
    let left = todo;
    while (left > 0) {
      const head = this.chunks[this.first]!;
      const avail = head.byteLength - this.firstOffset;
      if (left < avail) {
        this.firstOffset += left;
        left = 0;
      } else {
        left -= avail;
        // Let the consumed chunk go now, not at the next compaction.
        this.chunks[this.first++] = EMPTY;
        this.firstOffset = 0;
      }
    }
    this.size -= todo;
    this.consumed += todo;
    if (this.size === 0) {
      this.chunks = [];
      this.first = 0;
      this.cursorChunk = -1;
    } else if (this.first > 64 && this.first * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.first);
      this.cursorChunk -= this.first;
      this.first = 0;
    }
    return todo;
  }
}
