/**
 * What every journal is (the `Journal` interface: the reader side, `JournalView`, and the writer's), its options,
 * and the record batches it hands to readers in other threads. Types and defaults only, so that the two journals
 * implement it without importing `journal.ts`, which builds them.
 */
import type { ImEvent, PluginLogger } from '@imspect/sdk';
import type { JournalWriteError } from './state.js';
import type { JournalBatch, JournalView } from './view.js';

export interface JournalOptions {
  /** Folder of the segment files and the state file; without one the journal lives in memory only. */
  dir?: string;
  /** Disk limit of the segment files, in bytes. */
  maxBytes: number;
  /** A segment is closed and a new one started past this size. */
  segmentBytes: number;
  fsyncIntervalMs: number;
  /**
   * When the journal is full: `forward` keeps relaying; at the limit the oldest events of a logger that is behind
   * are given up for it (counted as its `lost`), and events the disk refuses are dropped (counted); `block` pauses
   * relaying until there is room (the loggers caught up, or the disk takes writes again).
   */
  onFull: 'forward' | 'block';
  /** Most events kept in memory for delivery (disk-backed journals only; older ones are read back from disk). */
  memoryEvents: number;
  /** The segment writer (`fs.writeSync` unless a test injects disk faults). */
  segmentWriter?: (fd: number, buffer: Buffer, offset: number, length: number) => number;
}

export const DEFAULT_JOURNAL_OPTIONS: JournalOptions = {
  maxBytes: 1024 * 1024 * 1024,
  segmentBytes: 16 * 1024 * 1024,
  fsyncIntervalMs: 100,
  onFull: 'forward',
  memoryEvents: 50_000,
};

/**
 * Consecutive events as the journal's framed records (record.ts), for a reader in another thread: the bytes
 * cross to it and are decoded there, so the journal's own thread neither decodes nor encodes them.
 */
export interface RecordBatch {
  /** Sequence number of the first record (past the one asked for only when a damaged journal lost events). */
  first: number;
  count: number;
  /** The records, in order, split where they came from different places (segments, or disk and memory). */
  chunks: Buffer[];
}

/** The journal `EventSink` appends to, and a relay thread serves: the reader side (`JournalView`) and the writer's. */
export interface Journal extends JournalView {
  /** Sequence number the next committed event gets. */
  readonly head: number;
  /** Over the limit (and nothing could be freed), or the disk refuses writes. */
  readonly full: boolean;
  /** Why the disk refuses writes, while it does. */
  readonly diskError: JournalWriteError | undefined;
  readonly onFull: 'forward' | 'block';
  /** Events never journaled (refused while full, or after close), kept across restarts. */
  readonly droppedEvents: number;
  /** Resolves once the journal has room again (at once when it has). */
  whenRoom(): Promise<void>;
  /**
   * Journals accepted events; they become readable once committed. Returns false when they are refused (with
   * `onFull: forward`, while the journal has no room; or once it is closed): counted as dropped and reported.
   */
  append(events: readonly ImEvent[]): boolean;
  /** Writes what was appended since the last commit (core calls it before forwarding the frames they came from). */
  commit(): void;
  read(from: number, max: number): JournalBatch | Promise<JournalBatch>;
  /** The same events as `read`, as their framed records, for a reader in another thread. */
  readRecords(from: number, max: number): RecordBatch | Promise<RecordBatch>;
}

/** Tells the listeners that newly committed events can be read. */
export function publish(listeners: ReadonlySet<() => void>, log: PluginLogger): void {
  for (const listener of listeners) {
    try {
      listener();
    } catch (error) {
      // A listener's failure must not undo a commit that succeeded, nor keep the others from hearing of it.
      log.error({ err: error }, 'journal: a listener for new events failed');
    }
  }
}
