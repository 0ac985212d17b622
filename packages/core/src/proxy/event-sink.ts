import type { ImEvent } from '../sdk/event.js';
import { describeError } from '../sdk/errors.js';
import type { LoggerHooks, PluginLogger } from '../sdk/plugin.js';
import { callHookWithTimeout } from '../runtime/hooks.js';

export interface EventSinkOptions {
  batchSize: number;
  flushIntervalMs: number;
  retryMaxDelayMs: number;
  writeTimeoutMs: number;
}

export interface LoggerStatus {
  name: string;
  pending: number;
  delivered: number;
  failures: number;
  lastError?: string;
  lastErrorAt?: string;
}

/**
 * A FIFO with a moving head: taking a batch off the front costs the batch, not the whole queue (an array's
 * splice would move every waiting event on each write).
 */
class EventQueue {
  private items: ImEvent[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(event: ImEvent): void {
    this.items.push(event);
  }

  peek(count: number): ImEvent[] {
    return this.items.slice(this.head, this.head + count);
  }

  drop(count: number): void {
    this.head += count;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

/**
 * One logger's queue. Events are written in batches off the forwarding path; a failed batch stays at the head
 * of the queue and is retried with exponential backoff, so nothing accepted is dropped while the others go on.
 */
class LoggerQueue {
  private queue = new EventQueue();
  private writing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private retryDelay = 0;
  private closed = false;
  readonly status: LoggerStatus;

  constructor(
    readonly name: string,
    private readonly hooks: LoggerHooks,
    private readonly options: EventSinkOptions,
    private readonly log: PluginLogger,
  ) {
    this.status = { name, pending: 0, delivered: 0, failures: 0 };
  }

  accept(events: readonly ImEvent[]): void {
    for (const event of events) this.queue.push(event);
    this.status.pending = this.queue.length;
    if (this.writing || this.retryDelay > 0) return;
    if (this.queue.length >= this.options.batchSize) this.kick();
    else this.schedule(this.options.flushIntervalMs);
  }

  private schedule(delay: number): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick();
    }, delay);
  }

  private kick(): void {
    if (this.writing || this.queue.length === 0) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.writing = this.writeBatch().finally(() => {
      this.writing = undefined;
      if (this.queue.length === 0 || this.closed) return;
      if (this.retryDelay > 0) this.schedule(this.retryDelay);
      else this.kick();
    });
  }

  private async writeBatch(): Promise<void> {
    const batch = this.queue.peek(this.options.batchSize);
    try {
      await callHookWithTimeout(this.name, 'write', this.options.writeTimeoutMs, () => this.hooks.write(batch));
      this.queue.drop(batch.length);
      this.status.delivered += batch.length;
      this.status.pending = this.queue.length;
      if (this.retryDelay > 0) this.log.info({ plugin: this.name, pending: this.queue.length }, `logger "${this.name}" recovered`);
      this.retryDelay = 0;
    } catch (error) {
      this.status.failures++;
      this.status.lastError = describeError(error);
      this.status.lastErrorAt = new Date().toISOString();
      this.retryDelay = Math.min(this.options.retryMaxDelayMs, Math.max(100, this.retryDelay * 2));
      this.log.error(
        { plugin: this.name, hook: 'write', err: error, pending: this.queue.length, retryInMs: this.retryDelay },
        `logger "${this.name}" failed to write ${batch.length} events; retrying`,
      );
    }
  }

  /**
   * Writes everything queued, retrying failed batches, until the queue is empty, `deadline` passes or `signal`
   * aborts; returns how many events could not be delivered.
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
      if (this.queue.length === 0) break;
      if (this.retryDelay > 0) await sleep(Math.min(this.retryDelay, Math.max(0, deadline - Date.now())), signal);
      if (stopped()) break;
      this.writing = this.writeBatch();
      await this.writing;
      this.writing = undefined;
    }
    return this.queue.length;
  }

  /** Flushes, then closes even when flushing failed (the logger's files and connections must be released). */
  async close(): Promise<void> {
    try {
      if (this.hooks.flush) await callHookWithTimeout(this.name, 'flush', this.options.writeTimeoutMs, () => this.hooks.flush!());
    } finally {
      if (this.hooks.close) await callHookWithTimeout(this.name, 'close', this.options.writeTimeoutMs, () => this.hooks.close!());
    }
  }
}

/** Fans accepted events out to every logger. `accept` never blocks and never throws. */
export class EventSink {
  private readonly queues: LoggerQueue[];
  private readonly listeners = new Set<(events: readonly ImEvent[]) => void>();

  constructor(
    loggers: ReadonlyArray<{ name: string; hooks: LoggerHooks }>,
    options: EventSinkOptions,
    private readonly log: PluginLogger,
  ) {
    this.queues = loggers.map((l) => new LoggerQueue(l.name, l.hooks, options, log));
  }

  accept(events: readonly ImEvent[]): void {
    if (events.length === 0) return;
    for (const queue of this.queues) queue.accept(events);
    for (const listener of this.listeners) {
      try {
        listener(events);
      } catch (error) {
        this.log.error({ err: error }, 'event listener failed');
      }
    }
  }

  /** Observe accepted events (status output, tests). */
  onEvents(listener: (events: readonly ImEvent[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  status(): LoggerStatus[] {
    return this.queues.map((q) => ({ ...q.status }));
  }

  /** Events accepted and not yet stored, all loggers together. */
  get pending(): number {
    return this.queues.reduce((n, q) => n + q.status.pending, 0);
  }

  /**
   * Delivers everything queued, then flushes and closes every logger. Waits as long as the loggers need unless
   * `graceMs` passes or `signal` aborts (a second Ctrl-C); reports every event it could not store.
   */
  async close(options: { graceMs?: number; signal?: AbortSignal } = {}): Promise<void> {
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
    left.forEach((count, i) => {
      if (count > 0) {
        this.log.error(
          { plugin: this.queues[i]!.name, undelivered: count },
          `logger "${this.queues[i]!.name}" could not store ${count} events before shutdown`,
        );
      }
    });
    for (const queue of this.queues) {
      try {
        await queue.close();
      } catch (error) {
        this.log.error({ plugin: queue.name, err: error }, `logger "${queue.name}" failed to close`);
      }
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
