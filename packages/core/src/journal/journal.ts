/**
 * The event journal: every accepted event gets a sequence number and, when the journal has a folder, is
 * appended to a segment file before any logger sees it (it gets its number once written, so an event the disk
 * refused leaves no gap). Each logger (a consumer) has its own position; a
 * segment is deleted once every consumer is past it. The newest events are also kept in memory, so a logger
 * that keeps up never reads the disk; one that falls behind reads its events back from the segments.
 *
 * Appending is synchronous: core commits the events of a chunk (one `write` into the OS cache) before it
 * forwards the chunk's frames, so an event that was forwarded survives a SIGKILL of imspect; `fdatasync` runs
 * in the background every `fsyncIntervalMs`, which bounds what a power loss can take.
 */
import { closeSync, fdatasync, fsyncSync, ftruncateSync, openSync, readSync, unlinkSync, writeFileSync, writeSync, close as closeFd } from 'node:fs';
import path from 'node:path';
import { mkdir, unlink } from 'node:fs/promises';
import type { ImEvent } from '@imspect/sdk';
import type { PluginLogger } from '@imspect/sdk';
import { crc32, encodeRecords, RECORD_HEADER_BYTES, reframeRecords } from './record.js';
import { encodeEventRecord } from './event-record.js';
import { parseEvents, scanSegments, SegmentReader, segmentFile, type SegmentInfo } from './segments.js';
import { lockJournal } from './lock.js';
import { readJournalState, writeJournalState, type ConsumerState, type JournalState, type JournalWriteError } from './state.js';
import type { JournalBatch, JournalView } from './view.js';

/** Journal segments hold every event's text: owner only. */
const SEGMENT_MODE = 0o600;

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

/** The pending-records buffer: its first size, and the largest kept once a burst has been committed. */
const PENDING_INITIAL_BYTES = 64 * 1024;
const PENDING_KEPT_BYTES = 4 * 1024 * 1024;
/** The state file is rewritten at most this often while positions move (at once after a quiet spell). */
const STATE_SAVE_INTERVAL_MS = 100;
/** After the disk refused a write, the next attempt waits this long (sooner when delivered segments are deleted). */
const WRITE_RETRY_MS = 1000;
/** Repeated errors about the same condition are logged at most this often. */
const REPEAT_LOG_MS = 10_000;
/**
 * A file kept beside the state file and given up when the disk is full, so that `state.json` (what
 * `imspect status` reports) can still be rewritten then.
 */
const STATE_RESERVE_FILE = 'state.reserve';
const STATE_RESERVE_BYTES = 64 * 1024;

export type { JournalBatch } from './view.js';

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

/** How a read hands out what it found: event objects, or the records as they are stored. */
interface BatchForm<T> {
  /** Events [from, end) of the memory window. */
  memory(from: number, end: number): T;
  /** Intact records read back from a segment. */
  disk(payloads: Buffer[]): T;
  size(part: T): number;
  join(a: T, b: T): T;
  empty(): T;
}

interface Segment extends SegmentInfo {
  fd?: number;
}

export class Journal implements JournalView {
  private readonly segments: Segment[] = [];
  /** Events [memStart, head) in memory: `memory[memHead]` is `memStart` (a moving head, so trimming is O(1)). */
  private memory: ImEvent[] = [];
  /**
   * Where each event of `memory` starts in its segment (same indexes; durable journals only): a reader in another
   * thread gets the window's records read back from the segment, which was just written and sits in the OS cache,
   * instead of events encoded again. A number per event costs little beside the event itself.
   */
  private memOffsets: number[] = [];
  /** Read-only descriptors of segments, for those reads (closed with the segment's reader). */
  private readonly readFds = new Map<number, number>();
  private memStart = 0;
  private memHead = 0;
  private headSeq = 0;
  private bytes = 0;
  private readonly consumerStates = new Map<string, ConsumerState>();
  private dropped = 0;
  private isFull = false;
  /** Set while the disk refuses writes: treated as full (see `onFull`). */
  private writeError: JournalWriteError | undefined;
  private nextWriteAttempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private lastWriteErrorLog = 0;
  private readonly lastLossLog = new Map<string, number>();
  private stateReserved = false;
  /** Called once newly committed events can be read (the loggers are told then, and a worker's port). */
  private readonly readableListeners = new Set<() => void>();
  private roomWaiters: Array<() => void> = [];
  private unsynced = false;
  /**
   * Records not yet written, encoded straight into one reused buffer (`pendingBytes` of it are used), and how
   * many events they hold: an append allocates no buffer of its own, and a commit is one `write` of a view.
   */
  private pendingRecords = Buffer.allocUnsafe(PENDING_INITIAL_BYTES);
  private pendingBytes = 0;
  private pendingCount = 0;
  /**
   * The events of the pending records. They get their sequence numbers, and become readable, only once they are
   * written: a write the disk refuses then leaves no hole behind (a hole reads as a damaged journal later).
   */
  private pendingEvents: ImEvent[] = [];
  /** Where each pending record starts in `pendingRecords`. */
  private pendingOffsets: number[] = [];
  private commitScheduled = false;
  private syncing = false;
  private fsyncTimer: NodeJS.Timeout | undefined;
  private stateTimer: NodeJS.Timeout | undefined;
  private stateDirty = false;
  private lastStateSave = 0;
  private stateWrite: Promise<void> | undefined;
  private closed = false;
  private unlock: (() => void) | undefined;
  private lastFullLog = 0;
  /** One segment's records, for consumers reading behind the memory window (parsed a batch at a time). */
  private readonly cached = new Map<number, SegmentReader>();

  private constructor(
    private readonly options: JournalOptions,
    private readonly log: PluginLogger,
  ) {}

  /** A journal in memory only (no durability): for tests and embedding without a data folder. */
  static inMemory(consumers: readonly string[], log: PluginLogger): Journal {
    const journal = new Journal({ ...DEFAULT_JOURNAL_OPTIONS, maxBytes: Number.POSITIVE_INFINITY, memoryEvents: Number.POSITIVE_INFINITY }, log);
    for (const name of consumers) journal.consumerStates.set(name, { position: 0, delivered: 0, failures: 0, lost: 0 });
    return journal;
  }

  /**
   * Opens (or creates) the journal in `options.dir`: finds the segments, cuts off a torn tail, restores each
   * consumer's position (a consumer new to the state file starts at the head; without a state file, everyone
   * starts at the oldest event kept), and starts a fresh segment.
   */
  static async open(options: JournalOptions & { dir: string }, consumers: readonly string[], log: PluginLogger): Promise<Journal> {
    // Several segments must fit under the limit, or deleting delivered ones could never make room.
    const journal = new Journal({ ...options, segmentBytes: Math.max(1, Math.min(options.segmentBytes, Math.floor(options.maxBytes / 4))) }, log);
    // Segments hold the conversations: the folder and the files are imspect's alone (see runtime/data-dir.ts).
    await mkdir(options.dir, { recursive: true, mode: 0o750 });
    journal.unlock = lockJournal(options.dir);
    try {
      await journal.recover(consumers);
    } catch (error) {
      journal.unlock();
      throw error;
    }
    return journal;
  }

  private async recover(consumers: readonly string[]): Promise<void> {
    const { options, log } = this;
    const { segments, problems } = await scanSegments(options.dir!);
    for (const p of problems) {
      log.warn(
        { file: p.file, problem: p.problem, keptBytes: p.validBytes },
        'journal: a segment ended in a torn or damaged record (a crash while appending); the intact records before it are kept',
      );
    }
    const state = await readJournalState(options.dir!);
    const last = segments.at(-1);
    const tail = segments[0]?.base ?? 0;
    let head = last ? last.base + last.count : 0;
    if (!last && state) head = Math.max(state.head, ...Object.values(state.consumers).map((c) => c.position));
    this.headSeq = head;
    this.memStart = head;
    this.dropped = state?.dropped ?? 0; // events never logged stay counted across restarts
    this.segments.push(...segments);
    this.bytes = segments.reduce((n, s) => n + s.bytes, 0);
    for (const name of consumers) {
      const saved = state?.consumers[name];
      const position = saved ? Math.min(Math.max(saved.position, tail), head) : state ? head : tail;
      this.consumerStates.set(name, {
        position,
        delivered: 0,
        failures: 0,
        lost: saved?.lost ?? 0,
        ...(saved?.lastError ? { lastError: saved.lastError, lastErrorAt: saved.lastErrorAt! } : {}),
      });
    }
    const behind = [...this.consumerStates.entries()].filter(([, c]) => c.position < head);
    if (behind.length > 0) {
      log.info(
        { pending: Object.fromEntries(behind.map(([name, c]) => [name, head - c.position])) },
        `journal: ${Math.max(...behind.map(([, c]) => head - c.position))} events from before the restart are still to be stored; delivering them`,
      );
    }
    this.startSegment();
    this.reserveStateRoom();
    this.checkFull();
    this.fsyncTimer = setInterval(() => this.syncInBackground(), options.fsyncIntervalMs);
    this.fsyncTimer.unref();
    this.stateDirty = true;
    this.saveStateSoon(0);
    await this.compact();
  }

  get head(): number {
    return this.headSeq;
  }

  /** Over the limit (and nothing could be freed), or the disk refuses writes. */
  get full(): boolean {
    return this.isFull || this.writeError !== undefined;
  }

  /** Why the disk refuses writes, while it does. */
  get diskError(): JournalWriteError | undefined {
    return this.writeError;
  }

  /** Calls `listener` whenever newly committed events can be read; returns what removes it. */
  onEventsReadable(listener: () => void): () => void {
    this.readableListeners.add(listener);
    return () => this.readableListeners.delete(listener);
  }

  private publish(): void {
    for (const listener of this.readableListeners) {
      try {
        listener();
      } catch (error) {
        // A listener's failure must not undo a commit that succeeded, nor keep the others from hearing of it.
        this.log.error({ err: error }, 'journal: a listener for new events failed');
      }
    }
  }

  get name(): string {
    return this.options.dir ?? 'memory';
  }

  get available(): boolean {
    return !this.closed;
  }

  consumers(): string[] {
    return [...this.consumerStates.keys()];
  }

  get onFull(): 'forward' | 'block' {
    return this.options.onFull;
  }

  get durable(): boolean {
    return this.options.dir !== undefined;
  }

  /** Resolves once the journal has room again (at once when it has). */
  whenRoom(): Promise<void> {
    if (!this.full || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  position(consumer: string): number {
    return this.consumer(consumer).position;
  }

  consumerState(consumer: string): ConsumerState {
    return this.consumer(consumer);
  }

  /**
   * Journals accepted events. They are encoded at once; the disk write is one `write` per batch of appends, done
   * by {@link commit}, which core calls before it forwards the frames those events came from (and which runs by
   * itself on the next turn of the event loop otherwise). Events get their sequence numbers and reach the loggers
   * once written. Returns false when the events are refused: with `onFull: forward`, while the disk refuses
   * writes or the journal is over its limit with nothing it may free (they are counted as dropped and reported).
   */
  append(events: readonly ImEvent[]): boolean {
    if (events.length === 0 || this.consumerStates.size === 0) return true;
    if (this.closed) {
      this.drop(events.length, 'the journal is closed (imspect is stopping)');
      return false;
    }
    if (!this.durable) {
      for (const event of events) this.memory.push(event);
      this.headSeq += events.length;
      this.publish();
      return true;
    }
    if (this.options.onFull === 'forward' && (this.isFull || (this.writeError !== undefined && Date.now() < this.nextWriteAttempt))) {
      this.drop(events.length, this.writeError ? `the disk refuses writes (${this.writeError.code})` : 'the journal is full');
      return false;
    }
    const before = this.pendingBytes;
    for (const event of events) this.encodePending(encodeEventRecord(event));
    for (const event of events) this.pendingEvents.push(event);
    this.pendingCount += events.length;
    this.bytes += this.pendingBytes - before;
    this.stateDirty = true;
    if (!this.commitScheduled) {
      this.commitScheduled = true;
      setImmediate(() => this.commit());
    }
    this.checkFull();
    this.saveStateSoon(1000);
    return true;
  }

  /**
   * Writes what was appended since the last commit into the OS cache (one synchronous write): from then on it
   * survives a crash of imspect, and the loggers get it. Cheap when there is nothing to write. A write the disk
   * refuses (full, quota, I/O error) is cut back off the segment and makes the journal full: with `onFull:
   * forward` those events are dropped (counted), with `block` they are kept and written once the disk has room.
   */
  commit(): void {
    this.commitScheduled = false;
    if (this.pendingCount === 0) return;
    if (this.writeError && Date.now() < this.nextWriteAttempt) {
      if (this.options.onFull === 'forward') this.dropPending();
      // With `block`, relaying waits for this write: a retry must always be pending, or nothing would ever try again.
      else if (this.retryTimer === undefined) this.scheduleWriteRetry(this.nextWriteAttempt - Date.now());
      return;
    }
    const bytes = this.pendingRecords.subarray(0, this.pendingBytes);
    let segment: Segment;
    try {
      segment = this.writeToSegment(bytes);
    } catch (error) {
      // The disk is out of room while a logger is behind: its oldest events make room for everybody's new ones.
      const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
      if (!(this.options.onFull === 'forward' && this.giveUpOldestForLagging(`the disk refuses writes (${code})`))) {
        this.writeFailed(error as NodeJS.ErrnoException);
        return;
      }
      try {
        segment = this.writeToSegment(bytes);
      } catch (again) {
        this.writeFailed(again as NodeJS.ErrnoException);
        return;
      }
    }
    const count = this.pendingCount;
    const at = segment.bytes;
    segment.count += count;
    segment.bytes += bytes.length;
    this.unsynced = true;
    for (const event of this.pendingEvents) this.memory.push(event);
    for (const offset of this.pendingOffsets) this.memOffsets.push(at + offset);
    this.headSeq += count;
    this.resetPending();
    if (this.writeError) this.writeRecovered();
    if (this.headSeq - this.memStart > this.options.memoryEvents) this.trimMemory(this.headSeq - this.options.memoryEvents);
    if (segment.bytes >= this.options.segmentBytes) this.rotate();
    this.stateDirty = true;
    this.saveStateSoon(1000);
    this.publish();
  }

  /**
   * Appends `bytes` to the active segment (opened first when there is none). When the write fails, the segment is
   * cut back to its last whole record, so that appending goes on there and no torn record sits between intact
   * ones; a segment that cannot be cut back is closed and left for a fresh one.
   */
  private writeToSegment(bytes: Buffer): Segment {
    let segment = this.segments.at(-1);
    if (segment?.fd === undefined) {
      this.startSegment();
      segment = this.segments.at(-1)!;
    }
    const fd = segment.fd!;
    try {
      writeFully(fd, bytes, this.options.segmentWriter ?? writeSync);
      return segment;
    } catch (error) {
      try {
        ftruncateSync(fd, segment.bytes);
      } catch (truncateError) {
        this.log.error(
          { err: truncateError, file: segment.file },
          'journal: cutting a failed write back off the segment failed; the segment is closed (its torn tail is cut at the next start)',
        );
        delete segment.fd;
        closeFd(fd, () => undefined);
        if (segment.count === 0) {
          this.segments.pop();
          this.bytes -= segment.bytes;
          try {
            unlinkSync(segment.file);
          } catch {
            // an empty segment left behind is reused or deleted at the next start
          }
        }
      }
      throw error;
    }
  }

  private resetPending(): void {
    this.pendingBytes = 0;
    this.pendingCount = 0;
    this.pendingEvents = [];
    this.pendingOffsets = [];
    // A burst's large buffer is not kept for ever.
    if (this.pendingRecords.length > PENDING_KEPT_BYTES) this.pendingRecords = Buffer.allocUnsafe(PENDING_INITIAL_BYTES);
  }

  /** The pending events are given up (`onFull: forward` while the disk refuses writes): counted and reported. */
  private dropPending(): void {
    const count = this.pendingCount;
    this.bytes -= this.pendingBytes;
    this.resetPending();
    this.drop(count, `the disk refuses writes (${this.writeError?.code ?? 'error'})`);
  }

  private writeFailed(error: NodeJS.ErrnoException): void {
    const now = Date.now();
    const code = error.code ?? 'EIO';
    const first = this.writeError === undefined;
    if (first) this.writeError = { code, message: error.message, since: new Date(now).toISOString() };
    this.nextWriteAttempt = now + WRITE_RETRY_MS;
    this.stateDirty = true;
    if (first || now - this.lastWriteErrorLog >= REPEAT_LOG_MS) {
      this.lastWriteErrorLog = now;
      this.log.error(
        { err: error, code, pendingEvents: this.pendingCount, dropped: this.dropped, onFull: this.options.onFull },
        this.options.onFull === 'block'
          ? `journal: the disk refuses writes (${code}${code === 'ENOSPC' || code === 'EDQUOT' ? ': disk full' : ''}); relaying is paused until it takes them again (loggers.journal.onFull: block)`
          : `journal: the disk refuses writes (${code}${code === 'ENOSPC' || code === 'EDQUOT' ? ': disk full' : ''}); new events are NOT logged until it takes them again (loggers.journal.onFull: forward)`,
      );
    }
    if (this.options.onFull === 'forward') this.dropPending();
    else this.scheduleWriteRetry(WRITE_RETRY_MS);
    this.saveStateSoon(0);
  }

  private writeRecovered(): void {
    const error = this.writeError!;
    this.writeError = undefined;
    this.nextWriteAttempt = 0;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.stateDirty = true;
    this.log.warn({ code: error.code, since: error.since, dropped: this.dropped }, 'journal: the disk takes writes again: events are journaled and relaying goes on');
    this.reserveStateRoom();
    this.releaseRoomWaiters();
  }

  /** With `onFull: block`, pending events are written as soon as the disk may have room. */
  private scheduleWriteRetry(delayMs: number): void {
    if (this.closed || this.options.onFull !== 'block') return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      // This is the attempt that was waited for: a timer may fire a millisecond before Date.now() reaches it.
      this.nextWriteAttempt = 0;
      this.commit();
    }, delayMs);
    this.retryTimer.unref();
  }

  /** Frames one record (`[length][CRC-32][UTF-8 text]`, see record.ts) at the end of the pending buffer. */
  private encodePending(text: string): void {
    const at = this.pendingBytes;
    this.pendingOffsets.push(at);
    // UTF-8 takes at most 3 bytes per UTF-16 unit: room for that means `write` never cuts the text short.
    const worst = at + RECORD_HEADER_BYTES + text.length * 3;
    if (worst > this.pendingRecords.length) {
      const bigger = Buffer.allocUnsafe(Math.max(worst, this.pendingRecords.length * 2));
      this.pendingRecords.copy(bigger, 0, 0, at);
      this.pendingRecords = bigger;
    }
    const buffer = this.pendingRecords;
    const start = at + RECORD_HEADER_BYTES;
    const length = buffer.write(text, start, 'utf8');
    buffer.writeUInt32LE(length, at);
    buffer.writeUInt32LE(crc32(buffer.subarray(start, start + length)), at + 4);
    this.pendingBytes = start + length;
  }

  /**
   * Up to `max` consecutive events from `from` on (from memory at once, else read back from the segments).
   * `first` is the sequence number of the first one: past `from` only when events are missing from a damaged
   * journal, which are then skipped (and reported) rather than stall delivery.
   */
  read(from: number, max: number): JournalBatch | Promise<JournalBatch> {
    const batch = this.readAs(this.asEvents, from, max);
    return batch instanceof Promise ? batch.then(toJournalBatch) : toJournalBatch(batch);
  }

  /**
   * The same events as {@link read}, as their framed records: from the segment (in the OS cache) for the memory
   * window, as read back for older ones. For a reader in another thread, which decodes them itself.
   */
  readRecords(from: number, max: number): RecordBatch | Promise<RecordBatch> {
    const batch = this.readAs(this.asRecords, from, max);
    return batch instanceof Promise ? batch.then(toRecordBatch) : toRecordBatch(batch);
  }

  private readAs<T>(form: BatchForm<T>, from: number, max: number): Part<T> | Promise<Part<T>> {
    if (this.pendingCount > 0) this.commit(); // what was appended is readable once written
    const end = Math.min(this.headSeq, from + max);
    if (from >= end) return { first: from, part: form.empty() };
    if (from >= this.memStart) return { first: from, part: form.memory(from, end) };
    return this.readFromDisk(form, from, max);
  }

  private readonly asEvents: BatchForm<ImEvent[]> = {
    memory: (from, end) => this.windowEvents(from, end),
    disk: parseEvents,
    size: (events) => events.length,
    join: (a, b) => a.concat(b),
    empty: () => [],
  };

  /** Records as counted chunks (the batch's count is kept, not each chunk's). */
  private readonly asRecords: BatchForm<CountedRecords> = {
    memory: (from, end) => ({ count: end - from, chunks: this.windowRecords(from, end) }),
    disk: (payloads) => ({ count: payloads.length, chunks: payloads.length > 0 ? [reframeRecords(payloads)] : [] }),
    size: (records) => records.count,
    join: (a, b) => ({ count: a.count + b.count, chunks: a.chunks.concat(b.chunks) }),
    empty: () => ({ count: 0, chunks: [] }),
  };

  /** Events [from, end) of the memory window. */
  private windowEvents(from: number, end: number): ImEvent[] {
    return this.memory.slice(this.memHead + from - this.memStart, this.memHead + end - this.memStart);
  }

  /**
   * Records [from, end) of the memory window, read back from their segments: one `pread` per segment, of bytes
   * written moments ago. Encoded again from the events only when a segment cannot be read (or there is none).
   */
  private windowRecords(from: number, end: number): Buffer[] {
    if (this.durable) {
      try {
        const chunks: Buffer[] = [];
        let seq = from;
        for (let segment = this.segmentOf(seq); segment && seq < end; segment = this.segmentOf(seq)) {
          const upTo = Math.min(end, segment.base + segment.count);
          const start = this.memOffsets[this.memHead + seq - this.memStart]!;
          const stop = upTo < segment.base + segment.count ? this.memOffsets[this.memHead + upTo - this.memStart]! : segment.bytes;
          chunks.push(this.readSegmentBytes(segment, start, stop - start));
          seq = upTo;
        }
        if (seq === end) return chunks;
      } catch (error) {
        this.log.warn({ err: error, from, end }, 'journal: reading the newest records back from their segment failed; encoding them again');
      }
    }
    return [encodeRecords(this.windowEvents(from, end).map((event) => Buffer.from(encodeEventRecord(event), 'utf8')))];
  }

  /** The segment that holds event `seq` (one of the newest: searched from the end). */
  private segmentOf(seq: number): Segment | undefined {
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const segment = this.segments[i]!;
      if (segment.base <= seq) return seq < segment.base + segment.count ? segment : undefined;
    }
    return undefined;
  }

  private readSegmentBytes(segment: Segment, offset: number, length: number): Buffer {
    let fd = this.readFds.get(segment.base);
    if (fd === undefined) {
      fd = openSync(segment.file, 'r');
      this.readFds.set(segment.base, fd);
    }
    // Not from the pool: the buffer is transferred to the reader's thread whole.
    const bytes = Buffer.allocUnsafeSlow(length);
    let at = 0;
    while (at < length) {
      const n = readSync(fd, bytes, at, length - at, offset + at);
      if (n === 0) throw new Error(`${segment.file} is shorter than what was written to it`);
      at += n;
    }
    return bytes;
  }

  private async readFromDisk<T>(form: BatchForm<T>, from: number, max: number): Promise<Part<T>> {
    const end = Math.min(this.headSeq, from + max);
    const segment = this.segments.find((s) => s.base <= from && from < s.base + s.count);
    let part = form.empty();
    if (segment) {
      const upTo = Math.min(end, segment.base + segment.count) - segment.base;
      let cached = this.cached.get(segment.base);
      if (!cached) {
        // One segment per consumer reading behind the memory window (they may be in different ones).
        if (this.cached.size > this.consumerStates.size) this.forgetReader(this.cached.keys().next().value!);
        cached = new SegmentReader(segment.file);
        this.cached.set(segment.base, cached);
      }
      // Only what was committed since the last read (the active segment grows while it is read).
      if (cached.records.length < upTo) await cached.readUpTo(segment.bytes, upTo);
      part = form.disk(cached.records.slice(from - segment.base, upTo));
    }
    const size = form.size(part);
    if (size === 0) {
      // Only a damaged journal leaves a hole: go on after it.
      const after = segment ? segment.base + segment.count : Math.min(this.memStart, ...this.segments.filter((s) => s.base > from).map((s) => s.base));
      this.log.error({ from, resumeAt: after, missing: after - from }, `journal: ${after - from} events are missing from the segments (damaged journal); skipping them`);
      return after >= this.headSeq ? { first: this.headSeq, part: form.empty() } : this.readAs(form, after, max);
    }
    // A batch may span segments, or reach from the disk into the memory window.
    const next = from + size;
    if (next >= end) return { first: from, part };
    const rest = await this.readAs(form, next, end - next);
    return { first: from, part: rest.first === next ? form.join(part, rest.part) : part };
  }

  /**
   * The consumer has stored every event before `position` (from `from` on, when the batch is known: a batch
   * read before its oldest events were given up for this consumer was stored after all, and is not lost).
   */
  ack(consumer: string, position: number, from?: number): void {
    const state = this.consumer(consumer);
    if (from !== undefined && from < state.position && state.lost > 0) {
      const storedAfterAll = Math.min(position, state.position) - from;
      state.lost = Math.max(0, state.lost - storedAfterAll);
      state.delivered += storedAfterAll;
      this.stateDirty = true;
    }
    if (position <= state.position) return;
    state.delivered += position - state.position;
    state.position = position;
    this.stateDirty = true;
    const min = this.minPosition();
    if (min > this.memStart) this.trimMemory(min);
    this.saveStateSoon(0);
    void this.compact();
  }

  recordFailure(consumer: string, message: string): void {
    const state = this.consumer(consumer);
    state.failures++;
    state.lastError = message;
    state.lastErrorAt = new Date().toISOString();
    this.stateDirty = true;
    this.saveStateSoon(0);
  }

  pending(consumer: string): number {
    return this.headSeq - this.consumer(consumer).position;
  }

  get droppedEvents(): number {
    return this.dropped;
  }

  snapshot(): JournalState {
    return {
      version: 1,
      head: this.headSeq,
      tail: this.segments[0]?.base ?? this.memStart,
      bytes: this.bytes,
      maxBytes: this.options.maxBytes,
      full: this.full,
      onFull: this.options.onFull,
      dropped: this.dropped,
      ...(this.writeError ? { writeError: { ...this.writeError } } : {}),
      pid: process.pid,
      updatedAt: new Date().toISOString(),
      consumers: Object.fromEntries([...this.consumerStates.entries()].map(([name, c]) => [name, { ...c }])),
    };
  }

  /** Syncs and closes the segment, and writes the final state. Positions survive for the next start. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.nextWriteAttempt = 0; // a last try for events held back while the disk was full
    this.commit();
    if (this.pendingCount > 0) {
      const count = this.pendingCount;
      this.bytes -= this.pendingBytes;
      this.resetPending();
      this.drop(count, `the disk still refuses writes (${this.writeError?.code ?? 'error'}) at shutdown`, true);
    }
    this.closed = true;
    clearInterval(this.fsyncTimer);
    clearTimeout(this.stateTimer);
    clearTimeout(this.retryTimer);
    for (const segment of this.segments) {
      if (segment.fd === undefined) continue;
      try {
        fsyncSync(segment.fd);
        closeSync(segment.fd);
      } catch (error) {
        this.log.error({ err: error, file: segment.file }, 'journal: closing a segment failed');
      }
      delete segment.fd;
    }
    await this.compact();
    for (const base of new Set([...this.cached.keys(), ...this.readFds.keys()])) this.forgetReader(base);
    await this.stateWrite;
    if (this.durable) await this.saveState();
    this.unlock?.();
    for (const resolve of this.roomWaiters.splice(0)) resolve();
  }

  private releaseRoomWaiters(): void {
    if (this.full) return;
    for (const resolve of this.roomWaiters.splice(0)) resolve();
  }

  private forgetReader(base: number): void {
    this.cached.get(base)?.close();
    this.cached.delete(base);
    const fd = this.readFds.get(base);
    this.readFds.delete(base);
    if (fd !== undefined) closeFd(fd, () => undefined);
  }

  private consumer(name: string): ConsumerState {
    const state = this.consumerStates.get(name);
    if (!state) throw new Error(`journal: unknown consumer "${name}"`);
    return state;
  }

  private minPosition(): number {
    let min = this.headSeq;
    for (const c of this.consumerStates.values()) min = Math.min(min, c.position);
    return min;
  }

  private trimMemory(newStart: number): void {
    const count = Math.min(newStart - this.memStart, this.memory.length - this.memHead);
    if (count <= 0) return;
    this.memHead += count;
    this.memStart += count;
    if (this.memHead === this.memory.length) {
      this.memory = [];
      this.memOffsets = [];
      this.memHead = 0;
    } else if (this.memHead > 4096 && this.memHead * 2 > this.memory.length) {
      // Copy the live part down once the dead part is the larger: amortised O(1) per event.
      this.memory = this.memory.slice(this.memHead);
      this.memOffsets = this.memOffsets.slice(this.memHead);
      this.memHead = 0;
    }
  }

  /** Events not journaled, so no logger gets them: counted (kept across restarts) and logged loudly. */
  private drop(count: number, why: string, always = false): void {
    this.dropped += count;
    this.stateDirty = true;
    this.saveStateSoon(0);
    const now = Date.now();
    if (always || now - this.lastFullLog >= REPEAT_LOG_MS) {
      this.lastFullLog = now;
      this.log.error(
        {
          dropped: this.dropped,
          events: count,
          bytes: this.bytes,
          maxBytes: this.options.maxBytes,
          pending: this.pendingByConsumer(),
          ...(this.writeError ? { code: this.writeError.code } : {}),
        },
        `journal: ${why}: new events are NOT being logged (${this.dropped} so far) while traffic is still forwarded (loggers.journal.onFull: forward); free disk space, fix the failing logger or raise loggers.journal.maxBytes`,
      );
    }
  }

  /**
   * Makes room for new events at the cost of the consumers furthest behind (`onFull: forward`): the oldest closed
   * segment is deleted and every consumer still inside it is moved past it, its skipped events counted as its
   * `lost` and logged. A logger that keeps up loses nothing. Returns false when there is no such segment.
   */
  private giveUpOldestForLagging(why: string): boolean {
    const oldest = this.segments[0];
    if (!oldest || oldest.fd !== undefined || this.segments.length < 2) return false;
    const end = oldest.base + oldest.count;
    const now = Date.now();
    for (const [name, state] of this.consumerStates) {
      if (state.position >= end) continue;
      const skipped = end - state.position;
      state.lost += skipped;
      state.position = end;
      if (now - (this.lastLossLog.get(name) ?? 0) >= REPEAT_LOG_MS) {
        this.lastLossLog.set(name, now);
        this.log.error(
          { plugin: name, lost: state.lost, skipped, bytes: this.bytes, maxBytes: this.options.maxBytes, lastError: state.lastError },
          `journal: ${why} and logger "${name}" is behind: its ${skipped} oldest events were given up for it (${state.lost} so far) so that the other loggers keep getting every event (loggers.journal.onFull: forward)`,
        );
      }
    }
    this.segments.shift();
    this.bytes -= oldest.bytes;
    this.forgetReader(oldest.base);
    try {
      unlinkSync(oldest.file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.log.error({ err: error, file: oldest.file }, 'journal: deleting a given-up segment failed');
    }
    const min = this.minPosition();
    if (min > this.memStart) this.trimMemory(min);
    this.stateDirty = true;
    this.saveStateSoon(0);
    return true;
  }

  private pendingByConsumer(): Record<string, number> {
    return Object.fromEntries([...this.consumerStates.entries()].map(([name, c]) => [name, this.headSeq - c.position]));
  }

  private checkFull(): void {
    if (!this.durable) return;
    if (this.options.onFull === 'forward') {
      while (this.bytes >= this.options.maxBytes && this.giveUpOldestForLagging('the journal is at its limit (loggers.journal.maxBytes)'));
    }
    const full = this.bytes >= this.options.maxBytes;
    if (full === this.isFull) return;
    this.isFull = full;
    this.stateDirty = true;
    if (full) {
      // The first event refused after this is reported at once, then at most every 10 s.
      this.lastFullLog = 0;
      this.log.error(
        { bytes: this.bytes, maxBytes: this.options.maxBytes, pending: this.pendingByConsumer(), onFull: this.options.onFull },
        this.options.onFull === 'block'
          ? 'journal FULL: relaying is paused until the loggers catch up (loggers.journal.onFull: block)'
          : 'journal FULL: traffic is still forwarded but new events are NOT logged until the loggers catch up (loggers.journal.onFull: forward)',
      );
    } else {
      this.log.warn({ bytes: this.bytes, maxBytes: this.options.maxBytes, dropped: this.dropped }, 'journal has room again: events are journaled and relaying goes on');
      this.releaseRoomWaiters();
    }
  }

  private startSegment(): void {
    const file = segmentFile(this.options.dir!, this.headSeq);
    const existing = this.segments.at(-1);
    if (existing && existing.base === this.headSeq && existing.count === 0) {
      // An empty segment left by the last run starts at the same number: reuse it.
      existing.fd = openSync(file, 'a', SEGMENT_MODE);
      return;
    }
    this.segments.push({ base: this.headSeq, count: 0, bytes: 0, file, fd: openSync(file, 'a', SEGMENT_MODE) });
  }

  /** Closes the active segment; the next one is started at once (or by the next commit, if the disk refuses). */
  private rotate(): void {
    if (this.pendingCount > 0) this.commit();
    const old = this.segments.at(-1)!;
    const fd = old.fd;
    if (fd === undefined) return;
    delete old.fd;
    fdatasync(fd, () => closeFd(fd, () => undefined));
    try {
      this.startSegment();
    } catch (error) {
      this.log.error({ err: error, dir: this.options.dir }, 'journal: starting a new segment failed; the next write tries again');
    }
  }

  private syncInBackground(): void {
    if (!this.unsynced || this.syncing || this.closed) return;
    const fd = this.segments.at(-1)?.fd;
    if (fd === undefined) return;
    this.unsynced = false;
    this.syncing = true;
    fdatasync(fd, (error) => {
      this.syncing = false;
      if (error) this.log.error({ err: error }, 'journal: fdatasync failed');
    });
  }

  /** Deletes the segments every consumer is past (never the one being appended to). */
  private async compact(): Promise<void> {
    if (!this.durable) return;
    const min = this.minPosition();
    const active = this.segments.at(-1);
    if (
      !this.closed &&
      active?.fd !== undefined &&
      min === this.headSeq &&
      (active.count > 0 || this.pendingBytes > 0) &&
      (this.full || active.bytes >= this.options.segmentBytes / 4)
    ) {
      // Everything is delivered: start afresh so that the delivered segment can go too.
      this.rotate();
    }
    while (this.segments.length > 1 || (this.closed && this.segments.length > 0)) {
      const first = this.segments[0]!;
      if (first.base + first.count > min || first.fd !== undefined) break;
      if (first.count === 0 && this.segments.length === 1) break;
      this.segments.shift();
      this.bytes -= first.bytes;
      this.forgetReader(first.base);
      await unlink(first.file).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') this.log.error({ err: error, file: first.file }, 'journal: deleting a delivered segment failed');
      });
      this.stateDirty = true;
      if (this.writeError) {
        // Deleting a delivered segment may be the room the disk lacked.
        this.nextWriteAttempt = 0;
        this.scheduleWriteRetry(0);
      }
    }
    this.checkFull();
  }

  private saveStateSoon(delayMs: number): void {
    if (!this.durable || this.stateTimer || this.closed) return;
    // Under load every logger batch moves a position: rewriting the file for each (open, write, close, rename)
    // cost the relay loop more than the journal's own writes. A crash loses at most this much of the positions,
    // and the events after them are delivered again (loggers store each event once).
    const wait = Math.max(delayMs, this.lastStateSave + STATE_SAVE_INTERVAL_MS - Date.now());
    this.stateTimer = setTimeout(() => {
      this.stateTimer = undefined;
      this.lastStateSave = Date.now();
      if (this.stateWrite) {
        // One write at a time; the one in flight is followed by another.
        void this.stateWrite.then(() => this.saveStateSoon(0));
        return;
      }
      this.stateWrite = this.saveState().finally(() => (this.stateWrite = undefined));
    }, wait);
    this.stateTimer.unref();
  }

  private async saveState(): Promise<void> {
    if (!this.stateDirty) return;
    this.stateDirty = false;
    try {
      await writeJournalState(this.options.dir!, this.snapshot());
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code === 'ENOSPC' || code === 'EDQUOT') && this.releaseStateReserve()) {
        try {
          await writeJournalState(this.options.dir!, this.snapshot());
          return;
        } catch {
          // reported below
        }
      }
      this.log.error({ err: error }, 'journal: writing the state file failed (imspect status shows an older state until it works again)');
      this.stateDirty = true;
      this.saveStateSoon(WRITE_RETRY_MS);
    }
  }

  /** Sets aside room for the state file (best effort: a disk already full goes without). */
  private reserveStateRoom(): void {
    if (!this.durable || this.stateReserved) return;
    try {
      writeFileSync(path.join(this.options.dir!, STATE_RESERVE_FILE), Buffer.alloc(STATE_RESERVE_BYTES));
      this.stateReserved = true;
    } catch {
      // no room to set aside now; tried again when the disk takes writes again
    }
  }

  private releaseStateReserve(): boolean {
    if (!this.stateReserved) return false;
    this.stateReserved = false;
    try {
      unlinkSync(path.join(this.options.dir!, STATE_RESERVE_FILE));
      return true;
    } catch {
      return false;
    }
  }
}

function writeFully(fd: number, bytes: Buffer, write: (fd: number, buffer: Buffer, offset: number, length: number) => number): void {
  let at = 0;
  while (at < bytes.length) at += write(fd, bytes, at, bytes.length - at);
}

interface Part<T> {
  first: number;
  part: T;
}

interface CountedRecords {
  count: number;
  chunks: Buffer[];
}

function toJournalBatch({ first, part }: Part<ImEvent[]>): JournalBatch {
  return { first, events: part };
}

function toRecordBatch({ first, part }: Part<CountedRecords>): RecordBatch {
  return { first, count: part.count, chunks: part.chunks };
}
