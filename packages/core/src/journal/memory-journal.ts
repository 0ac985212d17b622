/**
 * A journal in memory only (no durability): for tests and embedding without a data folder. It has no limit and
 * is never full: an event is readable as soon as it is appended, and kept until every consumer stored it.
 */
import type { ImEvent, PluginLogger } from '@imspect/sdk';
import { encodeRecords } from './record.js';
import { encodeEventRecord } from './event-record.js';
import { ConsumerCursors } from './cursors.js';
import { CapacityPolicy } from './capacity.js';
import { MemoryWindow } from './memory-window.js';
import type { ConsumerState, JournalState } from './state.js';
import type { JournalBatch } from './view.js';
import { publish, type Journal, type RecordBatch } from './contract.js';

export class MemoryJournal implements Journal {
  readonly name = 'memory';
  readonly durable = false;
  readonly onFull = 'forward';
  readonly full = false;
  readonly diskError = undefined;
  private readonly cursors = new ConsumerCursors();
  private readonly window = new MemoryWindow();
  /** Only to count (and report) what is appended after `close`: nothing else is ever refused. */
  private readonly capacity: CapacityPolicy;
  private readonly readableListeners = new Set<() => void>();
  private closed = false;

  constructor(
    consumers: readonly string[],
    private readonly log: PluginLogger,
  ) {
    for (const name of consumers) this.cursors.add(name, 0);
    const window = this.window;
    this.capacity = new CapacityPolicy(
      Number.POSITIVE_INFINITY,
      'forward',
      this.cursors,
      {
        bytes: 0,
        get head() {
          return window.end;
        },
        oldestClosedEnd: () => undefined,
        deleteOldest: () => undefined,
        changed: () => undefined,
      },
      log,
    );
  }

  get head(): number {
    return this.window.end;
  }

  get available(): boolean {
    return !this.closed;
  }

  get droppedEvents(): number {
    return this.capacity.dropped;
  }

  consumers(): string[] {
    return this.cursors.names();
  }

  position(consumer: string): number {
    return this.cursors.get(consumer).position;
  }

  consumerState(consumer: string): ConsumerState {
    return this.cursors.get(consumer);
  }

  pending(consumer: string): number {
    return this.window.end - this.cursors.get(consumer).position;
  }

  whenRoom(): Promise<void> {
    return Promise.resolve();
  }

  onEventsReadable(listener: () => void): () => void {
    this.readableListeners.add(listener);
    return () => this.readableListeners.delete(listener);
  }

  append(events: readonly ImEvent[]): boolean {
    if (events.length === 0 || this.cursors.size === 0) return true;
    if (this.closed) {
      this.capacity.drop(events.length, 'the journal is closed (imspect is stopping)');
      return false;
    }
    this.window.push(events);
    publish(this.readableListeners, this.log);
    return true;
  }

  /** Nothing to write: appended events are readable at once. */
  commit(): void {}

  read(from: number, max: number): JournalBatch {
    const first = this.skipGone(from, max);
    return { first, events: this.window.slice(first, Math.min(this.window.end, first + max)) };
  }

  readRecords(from: number, max: number): RecordBatch {
    const first = this.skipGone(from, max);
    const end = Math.min(this.window.end, first + max);
    if (first >= end) return { first, count: 0, chunks: [] };
    return { first, count: end - first, chunks: [encodeRecords(this.window.slice(first, end).map((event) => Buffer.from(encodeEventRecord(event), 'utf8')))] };
  }

  /** Events every consumer stored are gone: a read from before them goes on from the oldest kept (reported). */
  private skipGone(from: number, max: number): number {
    const { start, end } = this.window;
    if (from >= start || from >= Math.min(end, from + max)) return from;
    this.log.error({ from, resumeAt: start, missing: start - from }, `journal: ${start - from} events are missing from the segments (damaged journal); skipping them`);
    return start;
  }

  ack(consumer: string, position: number, from?: number): void {
    if (this.cursors.ack(consumer, position, from) !== 'moved') return;
    const min = this.cursors.minPosition(this.window.end);
    if (min > this.window.start) this.window.trim(min);
  }

  recordFailure(consumer: string, message: string): void {
    this.cursors.recordFailure(consumer, message);
  }

  snapshot(): JournalState {
    return {
      version: 1,
      head: this.window.end,
      tail: this.window.start,
      bytes: 0,
      maxBytes: Number.POSITIVE_INFINITY,
      full: false,
      onFull: 'forward',
      dropped: this.capacity.dropped,
      pid: process.pid,
      updatedAt: new Date().toISOString(),
      consumers: this.cursors.snapshot(),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
