import { randomFillSync } from 'node:crypto';

let lastMs = 0;
let counter = 0;

/** Random bytes drawn in bulk: one system call per 512 ids instead of one per id. */
const POOL_SIZE = 4096;
const pool = Buffer.alloc(POOL_SIZE);
let poolOffset = POOL_SIZE;

function takeRandom8(): number {
  if (poolOffset + 8 > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const at = poolOffset;
  poolOffset += 8;
  return at;
}

/** ASCII codes of the hex digits. */
const HEX_DIGITS = new TextEncoder().encode('0123456789abcdef');
/**
 * The id is written as ASCII into this buffer and read out as one flat string: concatenating 20 pieces made a
 * rope that every later use (a Map key, JSON) flattened again. The time part is rewritten only when the
 * millisecond changes.
 */
const text = Buffer.alloc(36);
text.write('00000000-0000-7000-8000-000000000000', 'latin1');
let textMs = -1;
/** Node's own string maker, called directly: `toString` checks its arguments first, which costs as much again. */
type SliceFn = (this: Uint8Array, start: number, end: number) => string;
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice?: SliceFn }).latin1Slice;

function putByte(at: number, byte: number): void {
  text[at] = HEX_DIGITS[byte >>> 4]!;
  text[at + 1] = HEX_DIGITS[byte & 0x0f]!;
}

/**
 * UUIDv7 (RFC 9562): time-ordered, so event ids sort by time in every storage backend. A 12-bit counter in
 * rand_a keeps ids from the same millisecond in creation order.
 */
export function uuidv7(now: number = Date.now()): string {
  if (now <= lastMs) {
    counter++;
    if (counter > 0xfff) {
      lastMs++;
      counter = 0;
    }
    now = lastMs;
  } else {
    lastMs = now;
    counter = 0;
  }
  const r = takeRandom8();
  if (now !== textMs) {
    textMs = now;
    const hi = Math.floor(now / 2 ** 32);
    const lo = now >>> 0;
    putByte(0, (hi >>> 8) & 0xff);
    putByte(2, hi & 0xff);
    putByte(4, lo >>> 24);
    putByte(6, (lo >>> 16) & 0xff);
    putByte(9, (lo >>> 8) & 0xff);
    putByte(11, lo & 0xff);
  }
  putByte(14, 0x70 | ((counter >>> 8) & 0x0f));
  putByte(16, counter & 0xff);
  putByte(19, 0x80 | (pool[r]! & 0x3f));
  putByte(21, pool[r + 1]!);
  for (let i = 2; i < 8; i++) putByte(20 + 2 * i, pool[r + i]!);
  return latin1Slice !== undefined ? latin1Slice.call(text, 0, 36) : text.toString('latin1', 0, 36);
}
