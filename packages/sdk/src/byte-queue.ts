/**
 * The input of a streaming parser: the chunks read so far plus their byte count. Reads hand out `subarray`
 * views of a chunk whenever the bytes lie in one chunk, and copy only what straddles a chunk boundary, so a
 * capture is never held in memory as a whole.
 */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  /** Index of the first chunk still in use; consumed chunks are dropped lazily to keep `skip` O(1). */
  private first = 0;
  /** Bytes of `chunks[first]` already consumed. */
  private firstOffset = 0;
  private size = 0;
  private consumed = 0;

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
    const head = this.chunks[this.first];
    return head === undefined ? 0 : head.byteLength - this.firstOffset;
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

  /** Position (from the next unread byte) of the first `byte` at or after `from`, or -1. Consumes nothing. */
  indexOf(byte: number, from = 0): number {
    let base = 0;
    let offset = this.firstOffset;
    for (let i = this.first; i < this.chunks.length; i++) {
      const chunk = this.chunks[i]!;
      const visible = chunk.byteLength - offset;
      if (from < base + visible) {
        const found = chunk.indexOf(byte, offset + Math.max(0, from - base));
        if (found >= 0) return base + found - offset;
      }
      base += visible;
      offset = 0;
    }
    return -1;
  }

  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.byteLength;
  }

  /** The next `n` bytes (`n <= length`) without consuming them. A view when possible, else a copy. */
  peek(n: number): Uint8Array {
    if (n > this.size) throw new RangeError(`peek(${n}) with only ${this.size} bytes buffered`);
    const head = this.chunks[this.first];
    if (head === undefined) return new Uint8Array(0);
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
        this.first++;
        this.firstOffset = 0;
      }
    }
    this.size -= todo;
    this.consumed += todo;
    if (this.first > 64 && this.first * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
    return todo;
  }
}
