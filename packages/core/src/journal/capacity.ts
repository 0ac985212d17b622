/**
 * When a disk journal has room, and what happens when it has none (`onFull`). It is full when its segments
 * reach `maxBytes` and nothing may be freed, or while the disk refuses writes. With `forward`, relaying goes
 * on: at the limit the oldest closed segment is given up for the loggers still inside it (their `lost`), and
 * events that find no room are dropped (counted, kept across restarts); with `block`, relaying waits for room
 * (`whenRoom`). Every such condition is logged loudly, repeats at most every 10 s.
 */
import type { PluginLogger } from '@imspect/sdk';
import type { ConsumerCursors } from './cursors.js';
import type { JournalWriteError } from './state.js';

/** After the disk refused a write, the next attempt waits this long (sooner when delivered segments are deleted). */
export const WRITE_RETRY_MS = 1000;
/** Repeated errors about the same condition are logged at most this often. */
export const REPEAT_LOG_MS = 10_000;

/** What the policy needs of the journal it guards. */
export interface CapacityHost {
  /** The journal's size: its segments and the records not yet written. */
  readonly bytes: number;
  readonly head: number;
  /** The sequence number past the oldest segment, when that one may be given up (closed, and not the last). */
  oldestClosedEnd(): number | undefined;
  /** Deletes that segment. */
  deleteOldest(): void;
  /** The state to save changed: soon (within `saveWithinMs`), or with the next save when not given. */
  changed(saveWithinMs?: number): void;
}

export class CapacityPolicy {
  /** Events never journaled (so no logger got them). */
  dropped = 0;
  /** Why the disk refuses writes, while it does. */
  diskError: JournalWriteError | undefined;
  /** While the disk refuses writes: no write is tried before this time (ms since the epoch). */
  nextWriteAttempt = 0;
  private overLimit = false;
  private roomWaiters: Array<() => void> = [];
  private lastFullLog = 0;
  private lastWriteErrorLog = 0;
  private readonly lastLossLog = new Map<string, number>();

  constructor(
    readonly maxBytes: number,
    readonly onFull: 'forward' | 'block',
    private readonly cursors: ConsumerCursors,
    private readonly host: CapacityHost,
    private readonly log: PluginLogger,
  ) {}

  /** Over the limit (and nothing could be freed), or the disk refuses writes. */
  get full(): boolean {
    return this.overLimit || this.diskError !== undefined;
  }

  /** New events are dropped rather than journaled (`onFull: forward`, no room, and no write due yet). */
  refusesAppend(): boolean {
    return this.onFull === 'forward' && (this.overLimit || this.writeHeldBack());
  }

  /** Why new events are refused, for {@link drop}. */
  refusal(): string {
    return this.diskError ? `the disk refuses writes (${this.diskError.code})` : 'the journal is full';
  }

  /** The disk refused a write moments ago: the next attempt is not due yet. */
  writeHeldBack(): boolean {
    // The clock is read only while the disk refuses writes: appending must stay cheap.
    return this.diskError !== undefined && Date.now() < this.nextWriteAttempt;
  }

  /** Resolves once the journal has room again (at once when it has, or when `closed`). */
  whenRoom(closed: boolean): Promise<void> {
    if (!this.full || closed) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Lets every waiter go (the journal is closing). */
  releaseAll(): void {
    for (const resolve of this.roomWaiters.splice(0)) resolve();
  }

  /**
   * Compares the journal's size with its limit: with `forward`, closed segments are given up for lagging
   * loggers until it is under; a change between full and not is logged (and releases the waiters).
   */
  check(): void {
    const { host } = this;
    if (this.onFull === 'forward') {
      while (host.bytes >= this.maxBytes && this.giveUpOldestForLagging('the journal is at its limit (loggers.journal.maxBytes)'));
    }
    const full = host.bytes >= this.maxBytes;
    if (full === this.overLimit) return;
    this.overLimit = full;
    host.changed();
    if (full) {
      // The first event refused after this is reported at once, then at most every 10 s.
      this.lastFullLog = 0;
      this.log.error(
        { bytes: host.bytes, maxBytes: this.maxBytes, pending: this.cursors.pendingBy(host.head), onFull: this.onFull },
        this.onFull === 'block'
          ? 'journal FULL: relaying is paused until the loggers catch up (loggers.journal.onFull: block)'
          : 'journal FULL: traffic is still forwarded but new events are NOT logged until the loggers catch up (loggers.journal.onFull: forward)',
      );
    } else {
      this.log.warn({ bytes: host.bytes, maxBytes: this.maxBytes, dropped: this.dropped }, 'journal has room again: events are journaled and relaying goes on');
      this.releaseRoomWaiters();
    }
  }

  /**
   * Makes room for new events at the cost of the consumers furthest behind (`onFull: forward`): the oldest closed
   * segment is deleted and every consumer still inside it is moved past it, its skipped events counted as its
   * `lost` and logged. A logger that keeps up loses nothing. Returns false when there is no such segment.
   */
  giveUpOldestForLagging(why: string): boolean {
    const { host } = this;
    const end = host.oldestClosedEnd();
    if (end === undefined) return false;
    const now = Date.now();
    this.cursors.giveUpBefore(end, (name, state, skipped) => {
      if (now - (this.lastLossLog.get(name) ?? 0) < REPEAT_LOG_MS) return;
      this.lastLossLog.set(name, now);
      this.log.error(
        { plugin: name, lost: state.lost, skipped, bytes: host.bytes, maxBytes: this.maxBytes, lastError: state.lastError },
        `journal: ${why} and logger "${name}" is behind: its ${skipped} oldest events were given up for it (${state.lost} so far) so that the other loggers keep getting every event (loggers.journal.onFull: forward)`,
      );
    });
    host.deleteOldest();
    host.changed(0);
    return true;
  }

  /** Events not journaled, so no logger gets them: counted (kept across restarts) and logged loudly. */
  drop(count: number, why: string, always = false): void {
    this.dropped += count;
    this.host.changed(0);
    const now = Date.now();
    if (always || now - this.lastFullLog >= REPEAT_LOG_MS) {
      this.lastFullLog = now;
      this.log.error(
        {
          dropped: this.dropped,
          events: count,
          bytes: this.host.bytes,
          maxBytes: this.maxBytes,
          pending: this.cursors.pendingBy(this.host.head),
          ...(this.diskError ? { code: this.diskError.code } : {}),
        },
        `journal: ${why}: new events are NOT being logged (${this.dropped} so far) while traffic is still forwarded (loggers.journal.onFull: forward); free disk space, fix the failing logger or raise loggers.journal.maxBytes`,
      );
    }
  }

  /** The disk refused a write of `pendingEvents` events: the journal is full until a write works again. */
  writeFailed(error: NodeJS.ErrnoException, pendingEvents: number): void {
    const now = Date.now();
    const code = error.code ?? 'EIO';
    const first = this.diskError === undefined;
    if (first) this.diskError = { code, message: error.message, since: new Date(now).toISOString() };
    this.nextWriteAttempt = now + WRITE_RETRY_MS;
    this.host.changed();
    if (first || now - this.lastWriteErrorLog >= REPEAT_LOG_MS) {
      this.lastWriteErrorLog = now;
      const what = `${code}${code === 'ENOSPC' || code === 'EDQUOT' ? ': disk full' : ''}`;
      this.log.error(
        { err: error, code, pendingEvents, dropped: this.dropped, onFull: this.onFull },
        this.onFull === 'block'
          ? `journal: the disk refuses writes (${what}); relaying is paused until it takes them again (loggers.journal.onFull: block)`
          : `journal: the disk refuses writes (${what}); new events are NOT logged until it takes them again (loggers.journal.onFull: forward)`,
      );
    }
  }

  /** A write worked again after the disk refused one. */
  writeRecovered(): void {
    const error = this.diskError!;
    this.diskError = undefined;
    this.nextWriteAttempt = 0;
    this.host.changed();
    this.log.warn({ code: error.code, since: error.since, dropped: this.dropped }, 'journal: the disk takes writes again: events are journaled and relaying goes on');
    this.releaseRoomWaiters();
  }

  private releaseRoomWaiters(): void {
    if (this.full) return;
    for (const resolve of this.roomWaiters.splice(0)) resolve();
  }
}
