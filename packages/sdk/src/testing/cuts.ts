/** Cuts `data` at the given offsets (out-of-range and repeated offsets are ignored). Pieces are views. */
export function cutAt(data: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const sorted = [...new Set(offsets.filter((o) => o > 0 && o < data.byteLength))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let last = 0;
  for (const o of sorted) {
    pieces.push(data.subarray(last, o));
    last = o;
  }
  pieces.push(data.subarray(last));
  return pieces;
}

/** Cuts `data` into pieces of random sizes between 1 and `max`. Pieces are views. */
export function cutRandom(data: Uint8Array, random: () => number, max: number): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let offset = 0;
  while (offset < data.byteLength) {
    const size = 1 + Math.floor(random() * max);
    pieces.push(data.subarray(offset, offset + size));
    offset += size;
  }
  return pieces;
}

/** Offsets just after each LF in `data`: where lines end, the frame boundaries of line protocols. */
export function lineBoundaries(data: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < data.byteLength; i++) if (data[i] === 0x0a) out.push(i + 1);
  return out;
}

/**
 * The offsets within ±`window` of each boundary (and of both ends of `data`), strictly inside `data`, in
 * order. With `maxBoundaries`, an even sample of that many boundaries is used (a stream with very many).
 */
export function offsetsAround(data: Uint8Array, boundaries: readonly number[], window: number, maxBoundaries = Infinity): number[] {
  const size = data.byteLength;
  const stride = Math.max(1, Math.ceil(boundaries.length / maxBoundaries));
  const sample = boundaries.filter((_, k) => k % stride === 0);
  const set = new Set<number>();
  for (const b of [0, ...sample, size]) for (let d = -window; d <= window; d++) set.add(b + d);
  return [...set].filter((o) => o > 0 && o < size).sort((a, b) => a - b);
}
