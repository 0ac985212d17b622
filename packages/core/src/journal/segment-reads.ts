/**
 * Reading a disk journal's segments back: the records of consumers behind the memory window (one parsed segment
 * kept per such consumer, read only as far as it was committed since), and the memory window's own records for
 * a reader in another thread (one `pread` per segment of bytes written moments ago, still in the OS cache).
 */
import { openSync, readSync, close as closeFd } from 'node:fs';
import type { PluginLogger } from '@imspect/sdk';
import { SegmentReader } from './segments.js';
import type { MemoryWindow } from './memory-window.js';
import type { Segment } from './segment-writer.js';

export class SegmentReads {
  /** Read-only descriptors of segments, for the memory window's records (closed with the segment's reader). */
  private readonly readFds = new Map<number, number>();
  /** One segment's records, for consumers reading behind the memory window (parsed a batch at a time). */
  private readonly cached = new Map<number, SegmentReader>();

  constructor(private readonly log: PluginLogger) {}

  /**
   * Records [from, upTo) of `segment` (indexes in it); `readers` is how many segments may be kept parsed (one
   * per consumer: they may be behind in different ones).
   */
  async records(segment: Segment, from: number, upTo: number, readers: number): Promise<Buffer[]> {
    let cached = this.cached.get(segment.base);
    if (!cached) {
      if (this.cached.size > readers) this.forget(this.cached.keys().next().value!);
      cached = new SegmentReader(segment.file);
      this.cached.set(segment.base, cached);
    }
    // Only what was committed since the last read (the active segment grows while it is read).
    if (cached.records.length < upTo) await cached.readUpTo(segment.bytes, upTo);
    return cached.records.slice(from, upTo);
  }

  /**
   * Records [from, end) of the memory window, read back from their segments; undefined when a segment cannot be
   * read (the caller encodes the events again).
   */
  windowRecords(segments: readonly Segment[], window: MemoryWindow, from: number, end: number): Buffer[] | undefined {
    try {
      const chunks: Buffer[] = [];
      let seq = from;
      for (let segment = segmentOf(segments, seq); segment && seq < end; segment = segmentOf(segments, seq)) {
        const upTo = Math.min(end, segment.base + segment.count);
        const start = window.offsetOf(seq);
        const stop = upTo < segment.base + segment.count ? window.offsetOf(upTo) : segment.bytes;
        chunks.push(this.readBytes(segment, start, stop - start));
        seq = upTo;
      }
      if (seq === end) return chunks;
    } catch (error) {
      this.log.warn({ err: error, from, end }, 'journal: reading the newest records back from their segment failed; encoding them again');
    }
    return undefined;
  }

  /** Closes what reads the segment starting at `base` (deleted, or the journal is closing). */
  forget(base: number): void {
    this.cached.get(base)?.close();
    this.cached.delete(base);
    const fd = this.readFds.get(base);
    this.readFds.delete(base);
    if (fd !== undefined) closeFd(fd, () => undefined);
  }

  forgetAll(): void {
    for (const base of new Set([...this.cached.keys(), ...this.readFds.keys()])) this.forget(base);
  }

  private readBytes(segment: Segment, offset: number, length: number): Buffer {
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
}

/** The segment that holds event `seq` (one of the newest: searched from the end). */
function segmentOf(segments: readonly Segment[], seq: number): Segment | undefined {
  for (let i = segments.length - 1; i >= 0; i--) {
    const segment = segments[i]!;
    if (segment.base <= seq) return seq < segment.base + segment.count ? segment : undefined;
  }
  return undefined;
}
