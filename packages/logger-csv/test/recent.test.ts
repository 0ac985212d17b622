import { describe, it, expect } from 'vitest';
import { RecentIds } from '../src/recent.js';

describe('RecentIds', () => {
  it('remembers exactly the last `capacity` ids, whether added with add or addNew', () => {
    const recent = new RecentIds(3);
    recent.add('a');
    recent.addNew('b');
    recent.add('b'); // already there: takes no slot
    recent.addNew('c');
    expect(['a', 'b', 'c'].map((id) => recent.has(id))).toEqual([true, true, true]);
    recent.addNew('d');
    expect(['a', 'b', 'c', 'd'].map((id) => recent.has(id))).toEqual([false, true, true, true]);
    recent.add('e');
    recent.add('f');
    expect(['b', 'c', 'd', 'e', 'f'].map((id) => recent.has(id))).toEqual([false, false, true, true, true]);
  });

  it('remembers nothing with capacity 0', () => {
    const recent = new RecentIds(0);
    recent.add('a');
    recent.addNew('b');
    expect(recent.has('a') || recent.has('b')).toBe(false);
  });
});
