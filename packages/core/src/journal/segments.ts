/** Segment files: `<16-digit first sequence number>.seg`, appended to in order, deleted whole. */
import { open, readdir, readFile, stat, truncate } from 'node:fs/promises';
import path from 'node:path';
import type { ImEvent } from '../sdk/event.js';
import { decodeRecords } from './record.js';

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
 * The records of one segment file from byte `offset` on (its intact ones), still encoded: a reader parses only
 * what it takes, and reads only what was appended since it last looked.
 */
export async function readSegment(file: string, offset = 0): Promise<{ records: Buffer[]; endOffset: number }> {
  const handle = await open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    const bytes = Buffer.allocUnsafe(Math.max(0, size - offset));
    let at = 0;
    while (at < bytes.length) {
      const { bytesRead } = await handle.read(bytes, at, bytes.length - at, offset + at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    const decoded = decodeRecords(bytes.subarray(0, at));
    return { records: decoded.payloads, endOffset: offset + decoded.validBytes };
  } finally {
    await handle.close();
  }
}

export function parseEvents(payloads: readonly Buffer[]): ImEvent[] {
  return payloads.map((p) => JSON.parse(p.toString('utf8')) as ImEvent);
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
