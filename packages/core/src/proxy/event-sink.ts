import type { ImEvent } from '@imspect/sdk';
import { describeError } from '@imspect/sdk';
import type { LoggerHooks, PluginLogger } from '@imspect/sdk';
import { PluginHost } from '../runtime/plugin-host.js';
import { Journal } from '../journal/journal.js';
import type { JournalView } from '../journal/view.js';
import { combineJournalStates } from '../journal/folders.js';
import { addDeliveryCounts, type JournalState } from '../journal/state.js';

export interface EventSinkOptions {
  /** Events per write while a logger keeps up. */
  batchSize: number;
  /**
   * Most events per write while a logger is behind (more than `batchSize` pending); at least `batchSize`, which
   * it is when absent. A write costs a logger about the same whatever its size up to thousands of events (a
   * transaction and its sync, a round trip to a worker or a server, a write per file), so a logger that fell
   * behind catches up in fewer, larger writes, and stays in the journal's memory window.
   */
  maxBatchSize?: number;
  flushIntervalMs: number;
  retryMaxDelayMs: number;
  /** Used for a host of the sink's own when none is given (its `loggerMs`). */
  writeTimeoutMs: number;
  /** The engine's plugin host, which calls `write`, `flush` and `close` with its timeouts. */
  host?: PluginHost;
}

export interface LoggerStatus {
  name: string;
  pending: number;
  delivered: number;
  failures: number;
  /** Events given up for this logger because it was behind while the journal was full (`onFull: forward`). */
  lost: number;
  lastError?: string;
  lastErrorAt?: string;
}

/**
 * One logger's delivery from one journal: it reads its events at its own position, in batches, off the
 * forwarding path. A failed batch is not acknowledged, so it is read again and retried with exponential backoff
 * while the other loggers go on; the journal keeps it until every logger has stored it. Delivery stops when the
 * journal becomes unavailable (its worker is gone): its events stay on disk for the next start.
 */
class LoggerQueue {
  private writing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private retryDelay = 0;
  private closed = false;

  constructor(
    readonly name: string,
    private readonly hooks: LoggerHooks,
    private readonly options: EventSinkOptions,
    private readonly log: PluginLogger,
    private readonly journal: JournalView,
    private readonly host: PluginHost,
  ) {}

  get pending(): number {
    return this.journal.pending(this.name);
  }

  get durable(): boolean {
    return this.journal.durable;
  }

  get status(): LoggerStatus {
    const state = this.journal.consumerState(this.name);
    return {
      name: this.name,
      pending: this.pending,
      delivered: state.delivered,
      failures: state.failures,
      lost: state.lost,
      ...(state.lastError !== undefined ? { lastError: state.lastError, lastErrorAt: state.lastErrorAt! } : {}),
    };
  }

  /** New events are in the journal (or, at start, events from before a restart are). */
  notify(): void {
    if (this.writing || this.retryDelay > 0 || this.closed || !this.journal.available) return;
    if (this.pending >= this.options.batchSize) this.kick();
    else if (this.pending > 0) this.schedule(this.options.flushIntervalMs);
  }

  private schedule(delay: number): void {
    if (this.timer || this.closed || !this.journal.available) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick();
    }, delay);
  }

  private kick(): void {
    if (this.writing || this.pending === 0 || !this.journal.available) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.writing = this.writeBatch().finally(() => {
      this.writing = undefined;
      if (this.pending === 0 || this.closed) return;
      if (this.retryDelay > 0) this.schedule(this.retryDelay);
      else this.kick();
    });
  }

  /** `batchSize`, or up to `maxBatchSize` while more than a batch is pending. */
  private batchLimit(): number {
    const { batchSize, maxBatchSize = batchSize } = this.options;
    return Math.max(batchSize, Math.min(maxBatchSize, this.pending));
  }

  private async writeBatch(): Promise<void> {
    const from = this.journal.position(this.name);
    let size = 0;
    try {
      const { first, events: batch } = await this.journal.read(from, this.batchLimit());
      size = batch.length;
      if (size === 0) {
        this.journal.ack(this.name, first); // past events a damaged journal lost (reported by the journal)
        return;
      }
      await this.host.callAsync('logger', this.name, this.hooks, 'write', batch);
      this.journal.ack(this.name, first + batch.length, first);
      if (this.retryDelay > 0) this.log.info({ plugin: this.name, pending: this.pending }, `logger "${this.name}" recovered`);
      this.retryDelay = 0;
    } catch (error) {
      this.journal.recordFailure(this.name, describeError(error));
      this.retryDelay = Math.min(this.options.retryMaxDelayMs, Math.max(100, this.retryDelay * 2));
      this.log.error(
        { plugin: this.name, hook: 'write', err: error, pending: this.pending, retryInMs: this.retryDelay, ...this.journalField() },
        `logger "${this.name}" failed to write ${size} events; retrying`,
      );
    }
  }

  /** Which journal, in logs, once there are several. */
  journalField(): { journal?: string } {
    return this.journal.durable ? { journal: this.journal.name } : {};
  }

  /**
   * Writes everything pending, retrying failed batches, until nothing is left, `deadline` passes or `signal`
   * aborts; returns how many events could not be delivered (they stay in the journal for the next start).
   */
  async drain(deadline: number, signal?: AbortSignal): Promise<number> {
    this.closed = true;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const stopped = () => Date.now() >= deadline || signal?.aborted === true;
    while (!stopped()) {
      if (this.writing) await this.writing;
      if (this.pending === 0 || !this.journal.available) break;
      if (this.retryDelay > 0) await sleep(Math.min(this.retryDelay, Math.max(0, deadline - Date.now())), signal);
      if (stopped()) break;
      this.writing = this.writeBatch();
      await this.writing;
      this.writing = undefined;
    }
    return this.pending;
  }

  /** Pushes what the logger buffers to storage. */
  async flush(): Promise<void> {
    if (this.hooks.flush) await this.host.callAsync('logger', this.name, this.hooks, 'flush');
  }

  /** Flushes, then closes even when flushing failed (the logger's files and connections must be released). */
  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      if (this.hooks.close) await this.host.callAsync('logger', this.name, this.hooks, 'close');
    }
  }
}

/**
 * Journals accepted events and fans them out to every logger. `accept` never throws and never waits: the
 * journal append is one synchronous write into the OS cache. Without a journal given, one in memory is used.
 *
 * The loggers also get the events of other journals: those of relay worker threads (`RemoteJournal`), and
 * journals left by an earlier run with a different number of workers. Each logger has one queue per journal.
 */
export class EventSink {
  private readonly loggers: ReadonlyArray<{ name: string; hooks: LoggerHooks }>;
  private readonly queues: LoggerQueue[] = [];
  private readonly journals: Array<{ journal: JournalView; unsubscribe: () => void }> = [];
  private readonly host: PluginHost;
  private readonly listeners = new Set<(events: readonly ImEvent[]) => void>();
  private closing = false;
  /** The journal `accept` appends to. */
  readonly journal: Journal;

  constructor(
    loggers: ReadonlyArray<{ name: string; hooks: LoggerHooks }>,
    private readonly options: EventSinkOptions,
    private readonly log: PluginLogger,
    journal?: Journal,
    others: readonly JournalView[] = [],
  ) {
    this.loggers = loggers;
    this.journal =
      journal ??
      Journal.inMemory(
        loggers.map((l) => l.name),
        log,
      );
    this.host = options.host ?? new PluginHost({ loggerMs: options.writeTimeoutMs });
    this.addJournal(this.journal);
    for (const other of others) this.addJournal(other);
  }

  /**
   * Delivers the events of `journal` too (a relay worker's, or one left by an earlier run), to each logger it
   * keeps a position for; `close` drains and closes it with the others.
   */
  addJournal(journal: JournalView): void {
    if (this.closing) throw new Error(`event sink: journal ${journal.name} added while the sink is closing`);
    if (this.journals.some((j) => j.journal === journal)) return;
    const names = new Set(journal.consumers());
    const queues = this.loggers.filter((l) => names.has(l.name)).map((l) => new LoggerQueue(l.name, l.hooks, this.options, this.log, journal, this.host));
    this.queues.push(...queues);
    // Events reach the loggers once the journal has them (written, for a journal on disk).
    const unsubscribe = journal.onEventsReadable(() => {
      for (const queue of queues) queue.notify();
    });
    this.journals.push({ journal, unsubscribe });
    // Events left from before a restart are delivered at once.
    for (const queue of queues) queue.notify();
  }

  /** The loggers' names: the consumers a relay thread's journal keeps positions for. */
  get loggerNames(): string[] {
    return this.loggers.map((l) => l.name);
  }

  accept(events: readonly ImEvent[]): void {
    if (events.length === 0) return;
    this.journal.append(events);
    for (const listener of this.listeners) {
      try {
        listener(events);
      } catch (error) {
        this.log.error({ err: error }, 'event listener failed');
      }
    }
  }

  /** Writes the journal's newly accepted events to disk; called before the frames they came from are forwarded. */
  commit(): void {
    this.journal.commit();
  }

  /** True while relaying must pause: the journal is full and configured to block (`onFull: block`). */
  get blocked(): boolean {
    return this.journal.full && this.journal.onFull === 'block';
  }

  /** Resolves once relaying may go on. */
  whenUnblocked(): Promise<void> {
    return this.journal.whenRoom();
  }

  /** Observe accepted events (status output, tests). */
  onEvents(listener: (events: readonly ImEvent[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** One entry per logger, its counts summed over the journals (the last error is the latest of any). */
  status(): LoggerStatus[] {
    return this.loggers.map((logger) => {
      const total: LoggerStatus = { name: logger.name, pending: 0, delivered: 0, failures: 0, lost: 0 };
      for (const queue of this.queues) {
        if (queue.name !== logger.name) continue;
        const s = queue.status;
        total.pending += s.pending;
        addDeliveryCounts(total, s);
      }
      return total;
    });
  }

  /** The journals' state together (sizes, limits and counters summed), for the console. */
  journalState(): JournalState {
    return combineJournalStates(this.journals.map((j) => j.journal.snapshot()))!;
  }

  /** Events accepted and not yet stored, all loggers and journals together. */
  get pending(): number {
    return this.queues.reduce((n, q) => n + q.pending, 0);
  }

  /**
   * Delivers everything pending from every journal, then flushes and closes every logger and the journals. Waits
   * as long as the loggers need unless `graceMs` passes or `signal` aborts (a second Ctrl-C); reports every
   * event it could not store (a durable journal keeps them for the next start).
   */
  async close(options: { graceMs?: number; signal?: AbortSignal; closeLoggers?: boolean } = {}): Promise<void> {
    this.closing = true;
    const deadline = options.graceMs === undefined || options.graceMs <= 0 ? Number.POSITIVE_INFINITY : Date.now() + options.graceMs;
    const progress = setInterval(() => {
      if (this.pending > 0) this.log.info({ pending: this.pending }, `storing queued events: ${this.pending} left (Ctrl-C again to stop waiting)`);
    }, 2000);
    progress.unref();
    let left: number[];
    try {
      left = await Promise.all(this.queues.map((q) => q.drain(deadline, options.signal)));
    } finally {
      clearInterval(progress);
    }
    for (const logger of this.loggers) {
      let count = 0;
      let durable = true;
      this.queues.forEach((queue, i) => {
        if (queue.name !== logger.name || left[i]! === 0) return;
        count += left[i]!;
        durable &&= queue.durable;
      });
      if (count > 0) {
        const kept = durable ? '; they stay in the journal and are delivered at the next start' : '';
        this.log.error({ plugin: logger.name, undelivered: count }, `logger "${logger.name}" could not store ${count} events before shutdown${kept}`);
      }
    }
    // With `closeLoggers: false` (the engine), the loggers are flushed here and closed by the plugin host with
    // the other plugins, in the reverse order of their setup. Once per logger, whatever the number of journals.
    for (const queue of this.queues.filter((q, i, all) => all.findIndex((other) => other.name === q.name) === i)) {
      try {
        await (options.closeLoggers === false ? queue.flush() : queue.close());
      } catch (error) {
        const step = options.closeLoggers === false ? 'flush' : 'close';
        this.log.error({ plugin: queue.name, hook: step, err: error }, `logger "${queue.name}" failed to ${step}`);
      }
    }
    // Every journal is closed even when one fails; the first failure is the caller's to report.
    let failure: { error: unknown } | undefined;
    for (const { journal, unsubscribe } of this.journals) {
      unsubscribe();
      try {
        await journal.close();
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure) throw failure.error;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
