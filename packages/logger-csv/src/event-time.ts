/**
 * An event's time (`event.at`, ISO 8601) to the whole second, which is all a row needs (its unix time, its day
 * file). `Date.parse` cost as much as building the row; consecutive events mostly fall in the same second, and
 * core writes `at` in one form (`toISOString`: `YYYY-MM-DDTHH:mm:ss.sssZ`), so a time that repeats the last
 * parsed one's `YYYY-MM-DDTHH:mm:ss` in that form is that second without parsing. Anything else is parsed.
 */
export class EventSeconds {
  /** `YYYY-MM-DDTHH:mm:ss` of the last time parsed that had the form; '' before. */
  private prefix = '';
  /** Its time in milliseconds, rounded down to the second. */
  private secondMs = Number.NaN;

  /** The time in milliseconds rounded down to the second, or NaN when it is not a date. */
  msOf(at: unknown): number {
    const iso = typeof at === 'string' && hasIsoForm(at);
    if (iso && this.prefix.length > 0 && at.startsWith(this.prefix)) return this.secondMs;
    // Not a string (a bug elsewhere): read as Date.parse reads it, as the logger always did.
    const ms = Date.parse(at as string);
    if (Number.isNaN(ms)) return ms;
    const secondMs = Math.floor(ms / 1000) * 1000;
    if (iso) {
      this.prefix = (at as string).slice(0, 19);
      this.secondMs = secondMs;
    }
    return secondMs;
  }
}

/** `toISOString`'s form: the milliseconds and `Z` after the second (which cannot change the second). */
function hasIsoForm(at: string): boolean {
  return at.length === 24 && at.charCodeAt(19) === 0x2e && isDigit(at.charCodeAt(20)) && isDigit(at.charCodeAt(21)) && isDigit(at.charCodeAt(22)) && at.charCodeAt(23) === 0x5a;
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}
