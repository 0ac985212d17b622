import { readdirSync } from 'node:fs';
import { readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ImEvent } from '@imspect/sdk';
import { decodeEventRecord } from '../src/journal/event-record.js';
import { Journal, type JournalOptions, type RecordBatch } from '../src/journal/journal.js';
import { crc32, decodeRecords, encodeRecords, reframeRecords } from '../src/journal/record.js';
import { recordingLogger, removeTempDirs, tempDir, textEvents } from './helpers.js';

afterAll(removeTempDirs);

const OPTIONS: Omit<JournalOptions, 'dir'> = { maxBytes: 1024 * 1024 * 1024, segmentBytes: 4 * 1024, fsyncIntervalMs: 10, onFull: 'forward', memoryEvents: 100 };

/** The events of a record batch, checked as the main thread checks them (whole records, checksums). */
function eventsOf(batch: RecordBatch): ImEvent[] {
  const decoded = decodeRecords(Buffer.concat(batch.chunks));
  expect(decoded.problem).toBeUndefined();
  expect(decoded.payloads).toHaveLength(batch.count);
  return decoded.payloads.map((p) => decodeEventRecord(p.toString('utf8')));
}

async function filled(n: number, options: Partial<JournalOptions> = {}, log = recordingLogger()) {
  const dir = await tempDir('imspect-records-');
  const journal = await Journal.open({ dir, ...OPTIONS, ...options }, ['a'], log);
  const sent = textEvents(n);
  // Commits of 7: record offsets and segment ends fall anywhere in a batch.
  for (let i = 0; i < n; i += 7) {
    journal.append(sent.slice(i, i + 7));
    journal.commit();
  }
  return { dir, journal, sent, log };
}

describe('Journal.readRecords', () => {
  it('gives the events read gives, for ranges in the memory window, behind it, and across both and several segments', async () => {
    const { dir, journal, sent } = await filled(400);
    expect(readdirSync(dir).filter((n) => n.endsWith('.seg')).length).toBeGreaterThan(5);
    for (const [from, max] of [
      [390, 50], // the newest, in memory
      [300, 100], // the whole window, over several segments
      [250, 100], // from the disk into the window
      [0, 1000], // all of it
      [17, 3],
      [400, 10], // nothing yet
    ] as const) {
      const records = await journal.readRecords(from, max);
      const events = await journal.read(from, max);
      expect(records.first).toBe(events.first);
      expect(eventsOf(records)).toEqual(events.events);
    }
    expect(eventsOf(await journal.readRecords(0, 1000))).toEqual(sent);
    await journal.close();
  });

  it("reads the memory window's records back from the segment as written, instead of encoding the events again", async () => {
    const { dir, journal } = await filled(20, { segmentBytes: 1024 * 1024 });
    const [name] = readdirSync(dir).filter((n) => n.endsWith('.seg'));
    const file = path.join(dir, name!);
    // The text of event 12 changed on disk (a valid record still): only a read of the file sees it.
    const bytes = await readFile(file);
    const decoded = decodeRecords(bytes);
    const record = decoded.payloads[12]!;
    const at = record.byteOffset - bytes.byteOffset;
    const changed = Buffer.from(record.toString('utf8').replace('"e12"', '"x12"'), 'utf8');
    expect(changed.length).toBe(record.length);
    changed.copy(bytes, at);
    bytes.writeUInt32LE(crc32(changed), at - 4);
    await writeFile(file, bytes);
    const events = eventsOf(await journal.readRecords(10, 5));
    expect(events.map((e) => e.text)).toEqual(['e10', 'e11', 'x12', 'e13', 'e14']);
    // The events in memory are untouched.
    expect((await journal.read(12, 1)).events[0]!.text).toBe('e12');
    await journal.close();
  });

  it('encodes the events of the window again when their segment cannot be read, and says so', async () => {
    const log = recordingLogger();
    const { dir, journal, sent } = await filled(30, { segmentBytes: 1024 * 1024 }, log);
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.seg'))) await unlink(path.join(dir, name));
    expect(eventsOf(await journal.readRecords(5, 20))).toEqual(sent.slice(5, 25));
    expect(log.records.some((r) => r.msg?.includes('reading the newest records back from their segment failed; encoding them again'))).toBe(true);
    await journal.close();
  });

  it('serves a journal in memory only as encoded events', async () => {
    const journal = Journal.inMemory(['a'], recordingLogger());
    const sent = textEvents(50);
    journal.append(sent);
    const batch = await journal.readRecords(10, 30);
    expect(batch.first).toBe(10);
    expect(eventsOf(batch)).toEqual(sent.slice(10, 40));
    await journal.close();
  });
});

describe('reframeRecords', () => {
  it('frames decoded payloads as encodeRecords does, from the bytes they were read with or anew', () => {
    const texts = ['one', '', 'three', 'fünf', 'x'.repeat(300)].map((t) => Buffer.from(t, 'utf8'));
    const expected = encodeRecords(texts);
    // Read in two slices (two buffers), and payloads not from any record (in buffers of their own, or not after their length).
    const head = decodeRecords(Buffer.from(encodeRecords(texts.slice(0, 2)))).payloads;
    const tail = decodeRecords(Buffer.from(encodeRecords(texts.slice(2)))).payloads;
    expect(reframeRecords([...head, ...tail])).toEqual(expected);
    const own = (t: Buffer) => {
      const copy = Buffer.allocUnsafeSlow(t.length);
      t.copy(copy);
      return copy;
    };
    expect(reframeRecords(texts.map(own))).toEqual(expected);
    const misplaced = Buffer.from([9, 0, 0, 0, 0, 0, 0, 0, ...texts[2]!]).subarray(8);
    expect(reframeRecords([head[0]!, misplaced, tail[1]!])).toEqual(encodeRecords([texts[0]!, texts[2]!, texts[3]!]));
    expect(reframeRecords([tail[0]!, ...head, tail[2]!])).toEqual(encodeRecords([texts[2]!, texts[0]!, texts[1]!, texts[4]!]));
    expect(reframeRecords([])).toEqual(Buffer.alloc(0));
  });
});
