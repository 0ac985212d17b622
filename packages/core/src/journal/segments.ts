/** Segment files: `<16-digit first sequence number>.seg`, appended to in order, deleted whole. */
import { close as closeFd, open as openCb, read as readCb } from 'node:fs';
import { readdir, readFile, stat, truncate } from 'node:fs/promises';
import path from 'node:path';
import type { ImEvent } from '@imspect/sdk';
import { decodeEventRecord } from './event-record.js';
import { decodeRecords, RECORD_HEADER_BYTES } from './record.js';

const SEGMENT_NAME = /^(\d{16})\.seg$/;

export function segmentFile(dir: string, base: number): string {
  return path.join(dir, `${String(base).padStart(16, '0')}.seg`);
}

export interface SegmentInfo {
  base: number;
  count: number;
  bytes: number;
  file: string;
}

export interface ScanProblem {
  file: string;
  problem: string;
  validBytes: number;
}

/**
 * Every segment in `dir`, oldest first, with its intact record count. A torn tail (a crash mid-append) is cut
 * off so that appending can go on after it; damage is reported.
 */
export async function scanSegments(dir: string): Promise<{ segments: SegmentInfo[]; problems: ScanProblem[] }> {
  const names = (await readdir(dir)).filter((n) => SEGMENT_NAME.test(n)).sort();
  const segments: SegmentInfo[] = [];
  const problems: ScanProblem[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    const bytes = await readFile(file);
    const decoded = decodeRecords(bytes);
    if (decoded.problem) {
      problems.push({ file, problem: decoded.problem, validBytes: decoded.validBytes });
      await truncate(file, decoded.validBytes);
    }
    segments.push({ base: Number(SEGMENT_NAME.exec(name)![1]), count: decoded.payloads.length, bytes: decoded.validBytes, file });
  }
  return { segments, problems };
}

/**
 * One segment file's records as they are read back, from the start on, through a descriptor kept open between
 * reads (a consumer behind the memory window reads a batch at a time; opening and stat-ing the file for each
 * batch cost more than the read). Reads only what was committed since the last one, one read at a time.
 */
export class SegmentReader {
  /** The intact records read so far, still encoded (views into the bytes read). */
  readonly records: Buffer[] = [];
  /** Bytes of the file those records cover. */
  endOffset = 0;
  private fd: Promise<number> | undefined;
  private reading: Promise<void> | undefined;
  private closed = false;

  constructor(readonly file: string) {}

  /**
   * Reads on from `endOffset` until `want` records are in (or the file's `end`, how many of its bytes are
   * committed, is reached), a slice of about {@link READ_BYTES} at a time: decoding a whole 16 MB segment at
   * once held the relay's loop for a tenth of a second.
   */
  async readUpTo(end: number, want: number): Promise<void> {
    // Another consumer's read of the same bytes may be under way: wait for it, then read only what is left.
    // (Its failure is that consumer's to report: this one tries for itself.)
    while (this.reading) await this.reading.catch(() => undefined);
    if (this.endOffset >= end || this.records.length >= want) return;
    this.reading = this.readMore(end, want).finally(() => (this.reading = undefined));
    await this.reading;
  }

  /** Releases the descriptor (after a read under way; a later read opens the file again, then closes it). */
  close(): void {
    this.closed = true;
    if (!this.reading) this.release();
  }

  private async readMore(end: number, want: number): Promise<void> {
    try {
      const fd = await (this.fd ??= openFile(this.file));
      let size = READ_BYTES;
      while (this.endOffset < end && this.records.length < want) {
        const offset = this.endOffset;
        const bytes = Buffer.allocUnsafe(Math.min(end - offset, size));
        let at = 0;
        while (at < bytes.length) {
          const bytesRead = await readFile_(fd, bytes, at, bytes.length - at, offset + at);
          if (bytesRead === 0) break;
          at += bytesRead;
        }
        const decoded = decodeRecords(bytes.subarray(0, at));
        for (const record of decoded.payloads) this.records.push(record);
        this.endOffset = offset + decoded.validBytes;
        if (decoded.validBytes > 0 && (decoded.problem === undefined || (decoded.problem === 'truncated' && at === bytes.length))) {
          size = READ_BYTES; // whole records, or the slice ended inside one: read on from it
          continue;
        }
        // A record larger than the slice: read exactly it next (its length was checked against the limit).
        const next = decoded.validBytes === 0 && decoded.problem === 'truncated' && at === bytes.length && at >= RECORD_HEADER_BYTES;
        if (next && size < RECORD_HEADER_BYTES + bytes.readUInt32LE(0)) {
          size = RECORD_HEADER_BYTES + bytes.readUInt32LE(0);
          continue;
        }
        break; // damage (the journal reports the events it cannot find), or the file is shorter than committed
      }
    } catch (error) {
      this.release(); // the next read tries afresh
      throw error;
    } finally {
      if (this.closed) this.release();
    }
  }

  private release(): void {
    const fd = this.fd;
    this.fd = undefined;
    void fd?.then(
      (n) => closeFd(n, () => undefined),
      () => undefined,
    );
  }
}

/** How much of a segment one read takes (some thousands of events). */
const READ_BYTES = 1024 * 1024;

const openFile = (file: string) => new Promise<number>((resolve, reject) => openCb(file, 'r', (error, fd) => (error ? reject(error) : resolve(fd))));
const readFile_ = (fd: number, buffer: Buffer, offset: number, length: number, position: number) =>
  new Promise<number>((resolve, reject) => readCb(fd, buffer, offset, length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead))));

/** The events of intact records, whatever record version wrote them ({@link decodeEventRecord}). */
export function parseEvents(payloads: readonly Buffer[]): ImEvent[] {
  return payloads.map((p) => decodeEventRecord(p.toString('utf8')));
}

/** Total size and count of segment files, for `imspect status` (no decoding). */
export async function segmentsOnDisk(dir: string): Promise<{ count: number; bytes: number }> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => SEGMENT_NAME.test(n));
  } catch {
    return { count: 0, bytes: 0 };
  }
  let bytes = 0;
  for (const name of names) bytes += (await stat(path.join(dir, name)).catch(() => ({ size: 0 }))).size;
  return { count: names.length, bytes };
}
