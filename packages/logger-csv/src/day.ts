/** The `YYYY-MM-DD` of a file name, in local time (like IMSpector), UTC, or a named IANA time zone. */

export type DayOf = (timeMs: number) => string;

function ymd(y: number, m: number, d: number): string {
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** Throws a RangeError naming the zone when `timezone` is neither `local`, `utc` nor a known IANA zone. */
export function dayFormatter(timezone: string): DayOf {
  if (timezone === 'local') {
    return (ms) => {
      const t = new Date(ms);
      return ymd(t.getFullYear(), t.getMonth() + 1, t.getDate());
    };
  }
  if (timezone.toLowerCase() === 'utc') {
    return (ms) => {
      const t = new Date(ms);
      return ymd(t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate());
    };
  }
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', { timeZone: timezone, year: 'numeric', month: 'numeric', day: 'numeric' });
  } catch {
    throw new RangeError(`unknown time zone "${timezone}" (use "local", "utc" or an IANA name such as "Europe/Paris")`);
  }
  return (ms) => {
    const parts: Record<string, number> = {};
    for (const part of format.formatToParts(ms)) if (part.type !== 'literal') parts[part.type] = Number(part.value);
    return ymd(parts.year ?? 0, parts.month ?? 0, parts.day ?? 0);
  };
}
