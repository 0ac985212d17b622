/**
 * Idle timeouts for many connections with one timer (`connections.idleTimeoutMs`).
 *
 * `socket.setTimeout` on both sockets of every relayed connection costs two `Timeout` objects (and their closures)
 * per connection and re-arms a timer on every read and write; with thousands of idle IM sessions that is memory
 * for nothing. Instead every connection is a small entry that says how many bytes its sockets have moved; a sweep
 * every `idleMs / 8` (at most 30 s) compares that count with the one it saw before. A connection whose count has not
 * changed for `idleMs` is closed. It is never closed earlier than `idleMs` after its last traffic (activity is
 * noticed late, never early), and at the latest about two sweep periods after that.
 */
export interface IdleWatched {
  /** Bytes read plus written on the connection's current sockets: any change is traffic. */
  trafficCount(): number;
  /** Silent for `idleMs`: the connection is to be closed. */
  closeIdle(): void;
}

/**
 * A connection's entry. It holds the connection itself (called as methods) rather than two closures over it:
 * with thousands of idle connections, the functions and their contexts would be most of the entry's cost.
 */
export interface IdleWatch {
  readonly watched: IdleWatched;
  /** @internal */ seen: number;
  /** @internal */ lastActive: number;
}

const MAX_PERIOD_MS = 30_000;

export class IdleSweep {
  private readonly watches = new Set<IdleWatch>();
  private timer: NodeJS.Timeout | undefined;
  readonly periodMs: number;

  constructor(
    readonly idleMs: number,
    private readonly now: () => number = () => performance.now(),
    /** Tests call {@link sweep} themselves. */
    private readonly autoStart = true,
  ) {
    this.periodMs = Math.max(1, Math.min(Math.ceil(idleMs / 8), MAX_PERIOD_MS));
  }

  get size(): number {
    return this.watches.size;
  }

  watch(watched: IdleWatched): IdleWatch {
    const entry: IdleWatch = { watched, seen: watched.trafficCount(), lastActive: this.now() };
    this.watches.add(entry);
    if (this.autoStart && !this.timer) {
      this.timer = setInterval(() => this.sweep(), this.periodMs);
      // As socket timeouts are: an idle connection alone does not keep the process alive.
      this.timer.unref();
    }
    return entry;
  }

  unwatch(entry: IdleWatch | undefined): void {
    if (!entry || !this.watches.delete(entry) || this.watches.size > 0 || !this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Closes (calls `closeIdle` of) every connection silent for `idleMs`; the others are looked at again next time. */
  sweep(): void {
    const now = this.now();
    const idle: IdleWatch[] = [];
    for (const entry of this.watches) {
      const seen = entry.watched.trafficCount();
      if (seen !== entry.seen) {
        entry.seen = seen;
        entry.lastActive = now;
      } else if (now - entry.lastActive >= this.idleMs) idle.push(entry);
    }
    // Called after the walk: closing a connection unwatches it, and a throw must not stop the others.
    for (const entry of idle) {
      this.unwatch(entry);
      try {
        entry.watched.closeIdle();
      } catch {
        // The connection's own close path logs what matters; the sweep goes on.
      }
    }
  }
}

/** One sweep per timeout value, shared by every connection of the process that uses it. */
const sweeps = new Map<number, IdleSweep>();

export function idleSweepFor(idleMs: number): IdleSweep {
  let sweep = sweeps.get(idleMs);
  if (!sweep) sweeps.set(idleMs, (sweep = new IdleSweep(idleMs)));
  return sweep;
}
