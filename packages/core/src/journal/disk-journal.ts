/**
 * The journal in a folder: every accepted event is appended to a segment file before any logger sees it (it
 * gets its sequence number once written, so an event the disk refused leaves no gap). The newest events are
 * also kept in memory (`MemoryWindow`), so a logger that keeps up never reads the disk; one that falls behind
 * reads its events back from the segments. A segment is deleted once every consumer (`ConsumerCursors`) is past
 * it. Writing is `SegmentWriter`'s, reading back `SegmentReads`', what happens without room `CapacityPolicy`'s;
 * this class ties them together and saves the state file.
 */
import { unlinkSync, writeSync } from 'node:fs';
import { mkdir, unlink } from 'node:fs/promises';
import type { ImEvent, PluginLogger } from '@imspect/sdk';
import { encodeRecords, reframeRecords } from './record.js';
import { encodeEventRecord } from './event-record.js';
import { parseEvents, scanSegments } from './segments.js';
import { lockJournal } from './lock.js';
import { readJournalState, writeJournalState, type ConsumerState, type JournalState, type JournalWriteError } from './state.js';
import { ConsumerCursors } from './cursors.js';
import { CapacityPolicy, WRITE_RETRY_MS } from './capacity.js';
import { MemoryWindow } from './memory-window.js';
import { SegmentWriter } from './segment-writer.js';
import { SegmentReads } from './segment-reads.js';
import type { JournalBatch } from './view.js';
import { publish, type Journal, type JournalOptions, type RecordBatch } from './contract.js';

/** The state file is rewritten at most this often while positions move (at once after a quiet spell). */
const STATE_SAVE_INTERVAL_MS = 100;

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

interface Part<T> {
  first: number;
  part: T;
}

interface CountedRecords {
  count: number;
  chunks: Buffer[];
}

export class DiskJournal implements Journal {
  private readonly cursors = new ConsumerCursors();
  private readonly window = new MemoryWindow();
  private readonly writer: SegmentWriter;
  private readonly capacity: CapacityPolicy;
  private readonly dir: string;
  private readonly reads: SegmentReads;
  /** Called once newly committed events can be read (the loggers are told then, and a worker's port). */
  private readonly readableListeners = new Set<() => void>();
  private commitScheduled = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private stateTimer: NodeJS.Timeout | undefined;
  private stateDirty = false;
  private lastStateSave = 0;
  private stateWrite: Promise<void> | undefined;
  private closed = false;
  private unlock: (() => void) | undefined;

  private constructor(
    private readonly options: JournalOptions & { dir: string },
    private readonly log: PluginLogger,
  ) {
    this.dir = options.dir;
    this.writer = new SegmentWriter(options.dir, options.segmentWriter ?? writeSync, log);
    this.reads = new SegmentReads(log);
    const { writer, window } = this;
    this.capacity = new CapacityPolicy(
      options.maxBytes,
      options.onFull,
      this.cursors,
      {
        get bytes() {
          return writer.bytes;
        },
        get head() {
          return window.end;
        },
        oldestClosedEnd: () => {
          const oldest = writer.segments[0];
          return !oldest || oldest.fd !== undefined || writer.segments.length < 2 ? undefined : oldest.base + oldest.count;
        },
        deleteOldest: () => this.deleteGivenUp(),
        changed: (saveWithinMs) => {
          this.stateDirty = true;
          if (saveWithinMs !== undefined) this.saveStateSoon(saveWithinMs);
        },
      },
      log,
    );
  }

  /**
   * Opens (or creates) the journal in `options.dir`: finds the segments, cuts off a torn tail, restores each
   * consumer's position (a consumer new to the state file starts at the head; without a state file, everyone
   * starts at the oldest event kept), and starts a fresh segment.
   */
  static async open(options: JournalOptions & { dir: string }, consumers: readonly string[], log: PluginLogger): Promise<DiskJournal> {
    // Several segments must fit under the limit, or deleting delivered ones could never make room.
    const journal = new DiskJournal({ ...options, segmentBytes: Math.max(1, Math.min(options.segmentBytes, Math.floor(options.maxBytes / 4))) }, log);
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
    const { options, log, writer } = this;
    const { segments, problems } = await scanSegments(this.dir);
    for (const p of problems) {
      log.warn(
        { file: p.file, problem: p.problem, keptBytes: p.validBytes },
        'journal: a segment ended in a torn or damaged record (a crash while appending); the intact records before it are kept',
      );
    }
    const state = await readJournalState(this.dir);
    const last = segments.at(-1);
    const tail = segments[0]?.base ?? 0;
    let head = last ? last.base + last.count : 0;
    if (!last && state) head = Math.max(state.head, ...Object.values(state.consumers).map((c) => c.position));
    this.window.reset(head);
    this.capacity.dropped = state?.dropped ?? 0; // events never logged stay counted across restarts
    writer.restore(segments);
    for (const name of consumers) {
      const saved = state?.consumers[name];
      this.cursors.add(name, saved ? Math.min(Math.max(saved.position, tail), head) : state ? head : tail, saved);
    }
    const behind = Object.entries(this.cursors.pendingBy(head)).filter(([, pending]) => pending > 0);
    if (behind.length > 0) {
      log.info(
        { pending: Object.fromEntries(behind) },
        `journal: ${Math.max(...behind.map(([, pending]) => pending))} events from before the restart are still to be stored; delivering them`,
      );
    }
    writer.startSegment(head);
    writer.reserveStateRoom();
    this.capacity.check();
    writer.syncEvery(options.fsyncIntervalMs);
    this.stateDirty = true;
    this.saveStateSoon(0);
    await this.compact();
  }

  get head(): number {
    return this.window.end;
  }

  /** Over the limit (and nothing could be freed), or the disk refuses writes. */
  get full(): boolean {
    return this.capacity.full;
  }

  /** Why the disk refuses writes, while it does. */
  get diskError(): JournalWriteError | undefined {
    return this.capacity.diskError;
  }

  get droppedEvents(): number {
    return this.capacity.dropped;
  }

  get name(): string {
    return this.dir;
  }

  get available(): boolean {
    return !this.closed;
  }

  get onFull(): 'forward' | 'block' {
    return this.options.onFull;
  }

  get durable(): boolean {
    return true;
  }

  consumers(): string[] {
    return this.cursors.names();
  }

  /** Calls `listener` whenever newly committed events can be read; returns what removes it. */
  onEventsReadable(listener: () => void): () => void {
    this.readableListeners.add(listener);
    return () => this.readableListeners.delete(listener);
  }

  /** Resolves once the journal has room again (at once when it has). */
  whenRoom(): Promise<void> {
    return this.capacity.whenRoom(this.closed);
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

  /**
   * Journals accepted events. They are encoded at once; the disk write is one `write` per batch of appends, done
   * by {@link commit}, which core calls before it forwards the frames those events came from (and which runs by
   * itself on the next turn of the event loop otherwise). Events get their sequence numbers and reach the loggers
   * once written. Returns false when the events are refused: with `onFull: forward`, while the disk refuses
   * writes or the journal is over its limit with nothing it may free (they are counted as dropped and reported).
   */
  append(events: readonly ImEvent[]): boolean {
    if (events.length === 0 || this.cursors.size === 0) return true;
    const { capacity } = this;
    if (this.closed) {
      capacity.drop(events.length, 'the journal is closed (imspect is stopping)');
      return false;
    }
    if (capacity.refusesAppend()) {
      capacity.drop(events.length, capacity.refusal());
      return false;
    }
    this.writer.add(events);
    this.stateDirty = true;
    if (!this.commitScheduled) {
      this.commitScheduled = true;
      setImmediate(() => this.commit());
    }
    capacity.check();
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
    const { writer, capacity, window } = this;
    if (writer.pendingCount === 0) return;
    if (capacity.writeHeldBack()) {
      if (this.options.onFull === 'forward') this.dropPending();
      // With `block`, relaying waits for this write: a retry must always be pending, or nothing would ever try again.
      else if (this.retryTimer === undefined) this.scheduleWriteRetry(capacity.nextWriteAttempt - Date.now());
      return;
    }
    let at: number;
    try {
      at = writer.write(window.end);
    } catch (error) {
      // The disk is out of room while a logger is behind: its oldest events make room for everybody's new ones.
      const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
      if (!(this.options.onFull === 'forward' && capacity.giveUpOldestForLagging(`the disk refuses writes (${code})`))) {
        this.writeFailed(error as NodeJS.ErrnoException);
        return;
      }
      try {
        at = writer.write(window.end);
      } catch (again) {
        this.writeFailed(again as NodeJS.ErrnoException);
        return;
      }
    }
    window.pushWritten(writer.pendingEvents, writer.pendingOffsets, at);
    writer.clearPending();
    if (capacity.diskError) this.writeRecovered();
    if (window.size > this.options.memoryEvents) window.trim(window.end - this.options.memoryEvents);
    if (writer.segments.at(-1)!.bytes >= this.options.segmentBytes) this.rotate();
    this.stateDirty = true;
    this.saveStateSoon(1000);
    publish(this.readableListeners, this.log);
  }

  /** The pending events are given up (`onFull: forward` while the disk refuses writes): counted and reported. */
  private dropPending(): void {
    const count = this.writer.discardPending();
    this.capacity.drop(count, `the disk refuses writes (${this.capacity.diskError?.code ?? 'error'})`);
  }

  private writeFailed(error: NodeJS.ErrnoException): void {
    this.capacity.writeFailed(error, this.writer.pendingCount);
    if (this.options.onFull === 'forward') this.dropPending();
    else this.scheduleWriteRetry(WRITE_RETRY_MS);
    this.saveStateSoon(0);
  }

  private writeRecovered(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.capacity.writeRecovered();
    this.writer.reserveStateRoom();
  }

  /** With `onFull: block`, pending events are written as soon as the disk may have room. */
  private scheduleWriteRetry(delayMs: number): void {
    if (this.closed || this.options.onFull !== 'block') return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      // This is the attempt that was waited for: a timer may fire a millisecond before Date.now() reaches it.
      this.capacity.nextWriteAttempt = 0;
      this.commit();
    }, delayMs);
    this.retryTimer.unref();
  }

  /** Closes the active segment (what is pending is written first), and starts the next. */
  private rotate(): void {
    if (this.writer.pendingCount > 0) this.commit();
    this.writer.rotate(this.window.end);
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
    if (this.writer.pendingCount > 0) this.commit(); // what was appended is readable once written
    const end = Math.min(this.window.end, from + max);
    if (from >= end) return { first: from, part: form.empty() };
    if (from >= this.window.start) return { first: from, part: form.memory(from, end) };
    return this.readFromDisk(form, from, max);
  }

  private readonly asEvents: BatchForm<ImEvent[]> = {
    memory: (from, end) => this.window.slice(from, end),
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

  /**
   * Records [from, end) of the memory window, read back from their segments (bytes written moments ago).
   * Encoded again from the events only when a segment cannot be read.
   */
  private windowRecords(from: number, end: number): Buffer[] {
    const { window } = this;
    return (
      this.reads.windowRecords(this.writer.segments, window, from, end) ?? [encodeRecords(window.slice(from, end).map((event) => Buffer.from(encodeEventRecord(event), 'utf8')))]
    );
  }

  private async readFromDisk<T>(form: BatchForm<T>, from: number, max: number): Promise<Part<T>> {
    const { segments } = this.writer;
    const head = this.window.end;
    const end = Math.min(head, from + max);
    const segment = segments.find((s) => s.base <= from && from < s.base + s.count);
    let part = form.empty();
    if (segment) {
      const upTo = Math.min(end, segment.base + segment.count) - segment.base;
      part = form.disk(await this.reads.records(segment, from - segment.base, upTo, this.cursors.size));
    }
    const size = form.size(part);
    if (size === 0) {
      // Only a damaged journal leaves a hole: go on after it.
      const after = segment ? segment.base + segment.count : Math.min(this.window.start, ...segments.filter((s) => s.base > from).map((s) => s.base));
      this.log.error({ from, resumeAt: after, missing: after - from }, `journal: ${after - from} events are missing from the segments (damaged journal); skipping them`);
      return after >= this.window.end ? { first: this.window.end, part: form.empty() } : this.readAs(form, after, max);
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
    const result = this.cursors.ack(consumer, position, from);
    if (result === 'unchanged') return;
    this.stateDirty = true;
    if (result === 'counted') return;
    this.trimToSlowest();
    this.saveStateSoon(0);
    void this.compact();
  }

  recordFailure(consumer: string, message: string): void {
    this.cursors.recordFailure(consumer, message);
    this.stateDirty = true;
    this.saveStateSoon(0);
  }

  snapshot(): JournalState {
    const { capacity } = this;
    return {
      version: 1,
      head: this.window.end,
      tail: this.writer.segments[0]?.base ?? this.window.start,
      bytes: this.writer.bytes,
      maxBytes: this.options.maxBytes,
      full: capacity.full,
      onFull: this.options.onFull,
      dropped: capacity.dropped,
      ...(capacity.diskError ? { writeError: { ...capacity.diskError } } : {}),
      pid: process.pid,
      updatedAt: new Date().toISOString(),
      consumers: this.cursors.snapshot(),
    };
  }

  /** Syncs and closes the segment, and writes the final state. Positions survive for the next start. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.capacity.nextWriteAttempt = 0; // a last try for events held back while the disk was full
    this.commit();
    if (this.writer.pendingCount > 0) {
      const count = this.writer.discardPending();
      this.capacity.drop(count, `the disk still refuses writes (${this.capacity.diskError?.code ?? 'error'}) at shutdown`, true);
    }
    this.closed = true;
    clearTimeout(this.stateTimer);
    clearTimeout(this.retryTimer);
    this.writer.close();
    await this.compact();
    this.reads.forgetAll();
    await this.stateWrite;
    await this.saveState();
    this.unlock?.();
    this.capacity.releaseAll();
  }

  /** The memory window holds nothing every consumer has stored. */
  private trimToSlowest(): void {
    const min = this.cursors.minPosition(this.window.end);
    if (min > this.window.start) this.window.trim(min);
  }

  /** Deletes the oldest segment, given up for lagging consumers (`CapacityPolicy`, `onFull: forward`). */
  private deleteGivenUp(): void {
    const oldest = this.writer.removeOldest();
    this.reads.forget(oldest.base);
    try {
      unlinkSync(oldest.file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.log.error({ err: error, file: oldest.file }, 'journal: deleting a given-up segment failed');
    }
    this.trimToSlowest();
  }

  /** Deletes the segments every consumer is past (never the one being appended to). */
  private async compact(): Promise<void> {
    const { writer, capacity } = this;
    const { segments } = writer;
    const min = this.cursors.minPosition(this.window.end);
    const active = segments.at(-1);
    if (
      !this.closed &&
      active?.fd !== undefined &&
      min === this.window.end &&
      (active.count > 0 || writer.pendingBytes > 0) &&
      (capacity.full || active.bytes >= this.options.segmentBytes / 4)
    ) {
      // Everything is delivered: start afresh so that the delivered segment can go too.
      this.rotate();
    }
    while (segments.length > 1 || (this.closed && segments.length > 0)) {
      const first = segments[0]!;
      if (first.base + first.count > min || first.fd !== undefined) break;
      if (first.count === 0 && segments.length === 1) break;
      writer.removeOldest();
      this.reads.forget(first.base);
      await unlink(first.file).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') this.log.error({ err: error, file: first.file }, 'journal: deleting a delivered segment failed');
      });
      this.stateDirty = true;
      if (capacity.diskError) {
        // Deleting a delivered segment may be the room the disk lacked.
        capacity.nextWriteAttempt = 0;
        this.scheduleWriteRetry(0);
      }
    }
    capacity.check();
  }

  private saveStateSoon(delayMs: number): void {
    if (this.stateTimer || this.closed) return;
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
      await writeJournalState(this.dir, this.snapshot());
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code === 'ENOSPC' || code === 'EDQUOT') && this.writer.releaseStateReserve()) {
        try {
          await writeJournalState(this.dir, this.snapshot());
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
}

function toJournalBatch({ first, part }: Part<ImEvent[]>): JournalBatch {
  return { first, events: part };
}

function toRecordBatch({ first, part }: Part<CountedRecords>): RecordBatch {
  return { first, count: part.count, chunks: part.chunks };
}
