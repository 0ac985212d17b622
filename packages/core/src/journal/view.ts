/**
 * What the loggers' delivery (`EventSink`'s `LoggerQueue`) and the console need of a journal: a local `Journal`,
 * or a `RemoteJournal` that reads one owned by a relay worker thread over a message port.
 */
import type { ImEvent } from '@imspect/sdk';
import type { ConsumerState, JournalState } from './state.js';

export interface JournalBatch {
  /** Sequence number of `events[0]`. */
  first: number;
  events: ImEvent[];
}

export interface JournalView {
  /** A name for logs: the journal's folder, or where it lives. */
  readonly name: string;
  /** Events are on disk (delivered at the next start when not stored before shutdown). */
  readonly durable: boolean;
  /**
   * False once the journal can no longer be read (it was closed, or the worker that owns it is gone): its
   * delivery stops, and what it still holds stays on disk for the next start.
   */
  readonly available: boolean;
  /** The logger names this journal keeps a position for. */
  consumers(): string[];
  position(consumer: string): number;
  /** Events readable and not yet acknowledged by `consumer`. */
  pending(consumer: string): number;
  consumerState(consumer: string): ConsumerState;
  /**
   * Up to `max` consecutive events from `from` on; `first` is past `from` only when events are missing from a
   * damaged journal (they are skipped and reported).
   */
  read(from: number, max: number): JournalBatch | Promise<JournalBatch>;
  /** `consumer` stored every event before `position` (read from `from` on, when known). */
  ack(consumer: string, position: number, from?: number): void;
  recordFailure(consumer: string, message: string): void;
  /** Calls `listener` whenever newly committed events can be read; returns what removes it. */
  onEventsReadable(listener: () => void): () => void;
  snapshot(): JournalState;
  close(): Promise<void>;
}
