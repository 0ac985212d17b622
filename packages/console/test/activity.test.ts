/** The dashboard's message counts: settled buckets are counted once, recent ones again at every call. */
import { describe, expect, it } from 'vitest';
import { ActivityCounts } from '../dist/activity.js';

describe('activity counts', () => {
  it('counts the whole span once, then only from the first bucket that may still change', async () => {
    const H = 3_600_000;
    const rows = new Map<number, number>(); // bucket start -> messages
    const calls: number[] = [];
    const archive = {
      activity: async (since: number, bucketMs: number) => {
        calls.push(since);
        return [...rows.entries()].filter(([at]) => at >= since).map(([at, n]) => ({ startMs: Math.floor(at / bucketMs) * bucketMs, messages: n, blocked: 0 }));
      },
    };
    const counts = new ActivityCounts(archive);
    const now = 100 * H + 30 * 60_000; // half past the hour
    for (let h = 77; h <= 100; h++) rows.set(h * H, h);
    const first = await counts.buckets(now, H, 24);
    expect(first.start).toBe(77 * H);
    expect(first.buckets.map((b) => b.messages)).toEqual(Array.from({ length: 24 }, (_, i) => 77 + i));
    expect(calls).toEqual([77 * H]);
    // An hour later: only the buckets that ended less than SETTLE_MS ago and the new one are counted again.
    rows.set(100 * H, 1000); // late events in the bucket that was open
    rows.set(101 * H, 5);
    const second = await counts.buckets(now + H, H, 24);
    expect(second.start).toBe(78 * H);
    expect(calls[1]).toBe(100 * H);
    expect(second.buckets.at(-2)!.messages).toBe(1000);
    expect(second.buckets.at(-1)!.messages).toBe(5);
    expect(second.buckets[0]!.messages).toBe(78);
  });
});
