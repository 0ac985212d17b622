/**
 * The parts of the archive's query language that need no database: the main thread (the logger plugin, the
 * console, `imspect logs`) uses them without loading Kysely, which only the code that builds SQL needs.
 */

export type PresenceFilter = 'exclude' | 'include' | 'only';
export const PRESENCE_FILTERS: readonly PresenceFilter[] = ['exclude', 'include', 'only'];

export function words(text: string | undefined): string[] {
  return (text ?? '').split(/\s+/u).filter((w) => w.length > 0);
}

/** Most identities one name may resolve to; more is an error that asks for a narrower search. */
export const MAX_IDENTITIES_PER_NAME = 500;

/**
 * A time for --since / --until: ISO 8601 (`2026-11-21`, `2026-11-21T10:00:00Z`), unix seconds, or a duration
 * back from now (`90s`, `15m`, `2h`, `7d`, `2w`). Returns milliseconds since the epoch, or throws.
 */
export function parseTime(value: string, now = Date.now()): number {
  const text = value.trim();
  const relative = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/i.exec(text);
  if (relative) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[relative[2]!.toLowerCase() as 's'];
    return now - Number(relative[1]) * unit;
  }
  if (/^\d{9,11}$/.test(text)) return Number(text) * 1000;
  const parsed = Date.parse(text);
  if (!Number.isFinite(parsed)) throw new RangeError(`"${value}" is not a time (ISO 8601 such as 2026-11-21T10:00:00Z, unix seconds, or 15m / 2h / 7d ago)`);
  return parsed;
}
