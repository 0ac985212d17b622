/**
 * Messages per time bucket for the dashboard's charts, without counting a week of the archive at every visit:
 * buckets that ended more than `SETTLE_MS` ago do not change any more (events reach the archive within seconds to
 * minutes of crossing the proxy, a logger's backlog allowing), so they are counted once and kept; only the recent
 * ones are counted again. Memory: one entry per bucket of the charts' spans.
 */
import type { ActivityBucket } from '@imspect/logger-sql';
import type { ArchiveAccess } from './source.js';

/** A bucket that ended longer ago than this is taken as final. */
export const SETTLE_MS = 15 * 60_000;

export class ActivityCounts {
  /** bucket size -> bucket start -> counts, for settled buckets only */
  private readonly settled = new Map<number, Map<number, ActivityBucket>>();

  constructor(private readonly archive: Pick<ArchiveAccess, 'activity'>) {}

  /** `count` buckets of `bucketMs` ending with the one that holds `now`, oldest first (empty ones included). */
  async buckets(now: number, bucketMs: number, count: number): Promise<{ start: number; buckets: ActivityBucket[] }> {
    const start = Math.floor(now / bucketMs) * bucketMs - (count - 1) * bucketMs;
    let known = this.settled.get(bucketMs);
    if (!known) this.settled.set(bucketMs, (known = new Map()));
    for (const key of known.keys()) if (key < start) known.delete(key);
    // From the first bucket not known to be final on: one query for the rest of the span.
    let from = start;
    while (from + bucketMs <= now - SETTLE_MS && known.has(from)) from += bucketMs;
    const counted = new Map((await this.archive.activity(from, bucketMs)).map((b) => [b.startMs, b]));
    const buckets: ActivityBucket[] = [];
    for (let at = start; at < start + count * bucketMs; at += bucketMs) {
      const bucket = at < from ? known.get(at)! : (counted.get(at) ?? { startMs: at, messages: 0, blocked: 0 });
      if (at >= from && at + bucketMs <= now - SETTLE_MS) known.set(at, bucket);
      buckets.push(bucket);
    }
    return { start, buckets };
  }
}
