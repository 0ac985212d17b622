/**
 * Slows down password guessing beyond the per-address request limit: after `FREE_FAILURES` failed logins for
 * one name from one address, each further attempt must wait, twice as long after each failure (5 s up to
 * 15 min). A success clears the record. Bounded: the oldest records go first past `MAX_RECORDS`.
 */
const FREE_FAILURES = 3;
const FIRST_DELAY_MS = 5000;
const MAX_DELAY_MS = 15 * 60_000;
/** A record with no failure for this long is forgotten. */
const FORGET_MS = 60 * 60_000;
const MAX_RECORDS = 10_000;

interface Failures {
  count: number;
  lastMs: number;
}

export class LoginThrottle {
  private readonly records = new Map<string, Failures>();

  constructor(private readonly now: () => number = Date.now) {}

  private key(name: string, source: string): string {
    return `${source}\u0000${name.toLowerCase()}`;
  }

  /** Milliseconds before this name may be tried again from this address; 0: now. */
  retryAfter(name: string, source: string): number {
    const record = this.records.get(this.key(name, source));
    if (!record) return 0;
    const at = this.now();
    if (at - record.lastMs > FORGET_MS) {
      this.records.delete(this.key(name, source));
      return 0;
    }
    if (record.count < FREE_FAILURES) return 0;
    const delay = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.min(30, record.count - FREE_FAILURES));
    return Math.max(0, record.lastMs + delay - at);
  }

  failed(name: string, source: string): void {
    const key = this.key(name, source);
    const record = this.records.get(key) ?? { count: 0, lastMs: 0 };
    record.count++;
    record.lastMs = this.now();
    this.records.delete(key);
    this.records.set(key, record);
    while (this.records.size > MAX_RECORDS) this.records.delete(this.records.keys().next().value!);
  }

  succeeded(name: string, source: string): void {
    this.records.delete(this.key(name, source));
  }
}
