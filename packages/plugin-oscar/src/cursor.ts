/**
 * `Cursor`: big-endian reads over a byte range with bounds checks that never throw. A read past the end returns
 * zero (or an empty view) and sets `overflow`, so a parser reads a whole structure straight through and checks
 * once at the end whether it was all there: errors as values, no exceptions on hostile input.
 */
export class Cursor {
  /** Set by the first read that went past `end`. */
  overflow = false;

  constructor(
    readonly bytes: Uint8Array,
    public at = 0,
    readonly end = bytes.byteLength,
  ) {}

  get left(): number {
    return Math.max(0, this.end - this.at);
  }

  private claim(n: number): number | undefined {
    if (n < 0 || this.at + n > this.end) {
      this.overflow = true;
      this.at = this.end;
      return undefined;
    }
    const start = this.at;
    this.at += n;
    return start;
  }

  u8(): number {
    const at = this.claim(1);
    return at === undefined ? 0 : this.bytes[at]!;
  }

  u16(): number {
    const at = this.claim(2);
    return at === undefined ? 0 : (this.bytes[at]! << 8) | this.bytes[at + 1]!;
  }

  u16le(): number {
    const at = this.claim(2);
    return at === undefined ? 0 : this.bytes[at]! | (this.bytes[at + 1]! << 8);
  }

  u32(): number {
    const at = this.claim(4);
    return at === undefined ? 0 : ((this.bytes[at]! << 24) | (this.bytes[at + 1]! << 16) | (this.bytes[at + 2]! << 8) | this.bytes[at + 3]!) >>> 0;
  }

  u32le(): number {
    const at = this.claim(4);
    return at === undefined ? 0 : (this.bytes[at]! | (this.bytes[at + 1]! << 8) | (this.bytes[at + 2]! << 16) | (this.bytes[at + 3]! << 24)) >>> 0;
  }

  /** The next `n` bytes as a view. */
  take(n: number): Uint8Array {
    const at = this.claim(n);
    return at === undefined ? new Uint8Array(0) : this.bytes.subarray(at, at + n);
  }

  skip(n: number): void {
    this.claim(n);
  }
}
