/** Joins byte arrays into one new array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/** Bytes as a string with one character per byte (latin1): readable in diffs, and lossless. */
export function latin1String(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** Index of the first byte where `a` and `b` differ, or -1 when they are equal. */
export function firstByteDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.byteLength, b.byteLength);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.byteLength === b.byteLength ? -1 : n;
}

/** Throws an Error naming `label` and the first differing offset (with the bytes around it) unless equal. */
export function assertSameBytes(actual: Uint8Array, expected: Uint8Array, label: string): void {
  const at = firstByteDifference(actual, expected);
  if (at < 0) return;
  const around = (b: Uint8Array) => JSON.stringify(latin1String(b.subarray(Math.max(0, at - 16), at + 16)));
  throw new Error(
    `${label}: bytes differ at offset ${at} (got ${actual.byteLength} bytes, expected ${expected.byteLength})\n` +
      `  got:      …${around(actual)}…\n  expected: …${around(expected)}…`,
  );
}

/** A string of characters U+0000..U+00FF as one byte each (latin1): for bytes that are not UTF-8. */
export function latin1Bytes(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}
