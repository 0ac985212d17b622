/**
 * Writes a disk journal's records into its segment files. Appended events are encoded at once into one reused
 * buffer (no buffer of their own); `write` puts them into the active segment with one synchronous `write` (the
 * OS cache: from then on they survive a crash of imspect), and `fdatasync` runs in the background every
 * `fsyncIntervalMs`, which bounds what a power loss can take. A write the disk refuses is cut back off the
 * segment, so no torn record ever sits between intact ones. The writer also keeps a little room set aside for
 * the state file (`state.reserve`), given up when the disk is full.
 */
import { closeSync, fdatasync, fsyncSync, ftruncateSync, openSync, unlinkSync, writeFileSync, close as closeFd } from 'node:fs';
import path from 'node:path';
import type { ImEvent, PluginLogger } from '@imspect/sdk';
import { crc32, RECORD_HEADER_BYTES } from './record.js';
import { encodeEventRecord } from './event-record.js';
import { segmentFile, type SegmentInfo } from './segments.js';

/** Journal segments hold every event's text: owner only. */
const SEGMENT_MODE = 0o600;
/** The pending-records buffer: its first size, and the largest kept once a burst has been committed. */
const PENDING_INITIAL_BYTES = 64 * 1024;
const PENDING_KEPT_BYTES = 4 * 1024 * 1024;
/**
 * A file kept beside the state file and given up when the disk is full, so that `state.json` (what
 * `imspect status` reports) can still be rewritten then.
 */
const STATE_RESERVE_FILE = 'state.reserve';
const STATE_RESERVE_BYTES = 64 * 1024;

export interface Segment extends SegmentInfo {
  /** Open for appending: the active segment only. */
  fd?: number;
}

export type WriteFn = (fd: number, buffer: Buffer, offset: number, length: number) => number;

export class SegmentWriter {
  /** Oldest first; the last one is the active segment while it has a descriptor. */
  readonly segments: Segment[] = [];
  /** The segments' size and the records not yet written. */
  bytes = 0;
  /** Events encoded and not yet written. */
  pendingCount = 0;
  /** Bytes of `pendingRecords` in use. */
  pendingBytes = 0;
  /**
   * The events of the pending records. They get their sequence numbers, and become readable, only once they are
   * written: a write the disk refuses then leaves no hole behind (a hole reads as a damaged journal later).
   */
  pendingEvents: ImEvent[] = [];
  /** Where each pending record starts in `pendingRecords`. */
  pendingOffsets: number[] = [];
  private pendingRecords = Buffer.allocUnsafe(PENDING_INITIAL_BYTES);
  private unsynced = false;
  private syncing = false;
  private fsyncTimer: NodeJS.Timeout | undefined;
  private stateReserved = false;

  constructor(
    private readonly dir: string,
    private readonly writeFn: WriteFn,
    private readonly log: PluginLogger,
  ) {}

  /** The segments found on disk at the start. */
  restore(segments: readonly SegmentInfo[]): void {
    this.segments.push(...segments);
    for (const segment of segments) this.bytes += segment.bytes;
  }

  /** The segment being appended to, if one is open. */
  get active(): Segment | undefined {
    const last = this.segments.at(-1);
    return last?.fd === undefined ? undefined : last;
  }

  /** Encodes `events` as pending records. */
  add(events: readonly ImEvent[]): void {
    const before = this.pendingBytes;
    for (const event of events) this.encodePending(encodeEventRecord(event));
    for (const event of events) this.pendingEvents.push(event);
    this.pendingCount += events.length;
    this.bytes += this.pendingBytes - before;
  }

  /**
   * Writes the pending records into the active segment (started at `head` when there is none) and counts them
   * in it; returns where they start in it. Throws what the disk refused: the segment is then cut back to its
   * last whole record, so that appending goes on there; one that cannot be cut back is closed and left for a
   * fresh one. The pending records stay pending either way until {@link clearPending} or {@link discardPending}.
   */
  write(head: number): number {
    let segment = this.segments.at(-1);
    if (segment?.fd === undefined) {
      this.startSegment(head);
      segment = this.segments.at(-1)!;
    }
    const fd = segment.fd!;
    const bytes = this.pendingRecords.subarray(0, this.pendingBytes);
    try {
      let at = 0;
      while (at < bytes.length) at += this.writeFn(fd, bytes, at, bytes.length - at);
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
    const at = segment.bytes;
    segment.count += this.pendingCount;
    segment.bytes += bytes.length;
    this.unsynced = true;
    return at;
  }

  /** The pending records were written (and handed on). */
  clearPending(): void {
    this.pendingBytes = 0;
    this.pendingCount = 0;
    this.pendingEvents = [];
    this.pendingOffsets = [];
    // A burst's large buffer is not kept for ever.
    if (this.pendingRecords.length > PENDING_KEPT_BYTES) this.pendingRecords = Buffer.allocUnsafe(PENDING_INITIAL_BYTES);
  }

  /** Gives the pending records up; returns how many events they held. */
  discardPending(): number {
    const count = this.pendingCount;
    this.bytes -= this.pendingBytes;
    this.clearPending();
    return count;
  }

  /** Opens a segment for events from `head` on. */
  startSegment(head: number): void {
    const file = segmentFile(this.dir, head);
    const existing = this.segments.at(-1);
    if (existing && existing.base === head && existing.count === 0) {
      // An empty segment left by the last run starts at the same number: reuse it.
      existing.fd = openSync(file, 'a', SEGMENT_MODE);
      return;
    }
    this.segments.push({ base: head, count: 0, bytes: 0, file, fd: openSync(file, 'a', SEGMENT_MODE) });
  }

  /** Closes the active segment and starts the next at `head` (or leaves that to the next write, if the disk refuses). */
  rotate(head: number): void {
    const old = this.segments.at(-1)!;
    const fd = old.fd;
    if (fd === undefined) return;
    delete old.fd;
    fdatasync(fd, () => closeFd(fd, () => undefined));
    try {
      this.startSegment(head);
    } catch (error) {
      this.log.error({ err: error, dir: this.dir }, 'journal: starting a new segment failed; the next write tries again');
    }
  }

  /** The oldest segment is gone from the journal (its file is for the caller to delete). */
  removeOldest(): Segment {
    const oldest = this.segments.shift()!;
    this.bytes -= oldest.bytes;
    return oldest;
  }

  /** Starts the background `fdatasync` of what was written. */
  syncEvery(intervalMs: number): void {
    this.fsyncTimer = setInterval(() => this.syncInBackground(), intervalMs);
    this.fsyncTimer.unref();
  }

  private syncInBackground(): void {
    if (!this.unsynced || this.syncing) return;
    const fd = this.segments.at(-1)?.fd;
    if (fd === undefined) return;
    this.unsynced = false;
    this.syncing = true;
    fdatasync(fd, (error) => {
      this.syncing = false;
      if (error) this.log.error({ err: error }, 'journal: fdatasync failed');
    });
  }

  /** Stops syncing in the background, then syncs and closes the segment open for appending. */
  close(): void {
    clearInterval(this.fsyncTimer);
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
  }

  /** Sets aside room for the state file (best effort: a disk already full goes without). */
  reserveStateRoom(): void {
    if (this.stateReserved) return;
    try {
      writeFileSync(path.join(this.dir, STATE_RESERVE_FILE), Buffer.alloc(STATE_RESERVE_BYTES));
      this.stateReserved = true;
    } catch {
      // no room to set aside now; tried again when the disk takes writes again
    }
  }

  /** Gives up the room set aside for the state file; false when there was none. */
  releaseStateReserve(): boolean {
    if (!this.stateReserved) return false;
    this.stateReserved = false;
    try {
      unlinkSync(path.join(this.dir, STATE_RESERVE_FILE));
      return true;
    } catch {
      return false;
    }
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
}
