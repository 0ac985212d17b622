import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../src/runtime/ids.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidv7', () => {
  it('is an RFC 9562 version 7 id whose first 48 bits are the time', () => {
    const at = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
    const id = uuidv7(at + 10_000_000); // later than any id made so far in this process
    expect(id).toMatch(UUID_V7);
    expect(Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(at + 10_000_000);
  });

  it('sorts in creation order, within a millisecond (the counter) and across them; never repeats', () => {
    const base = Date.UTC(2030, 5, 6);
    const ids: string[] = [];
    for (let ms = 0; ms < 5; ms++) for (let i = 0; i < 300; i++) ids.push(uuidv7(base + ms));
    // A clock that goes back is treated as the last time seen.
    ids.push(uuidv7(base - 1000));
    for (const id of ids) expect(id).toMatch(UUID_V7);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[300]!.slice(0, 13)).not.toBe(ids[299]!.slice(0, 13));
  });

  it('returns a new string each time, not a view of a shared buffer', () => {
    const a = uuidv7();
    const copy = `${a}`;
    uuidv7();
    expect(a).toBe(copy);
  });
});
