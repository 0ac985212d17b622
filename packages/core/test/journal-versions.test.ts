/**
 * Journal record versions: a journal written before event data was typed (record version 1, `data` a `key=value`
 * string; test/fixtures/journal-v1, made by test/fixtures/make-journal-v1.mjs at commit 617285d) is read after the
 * upgrade with its positions, its data as pairs; new records are version 2, and both kinds read in one journal.
 */
import { cp, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeEventRecord, encodeEventRecord, EVENT_RECORD_VERSION } from '../src/journal/event-record.js';
import { Journal } from '../src/journal/journal.js';
import { decodeRecords } from '../src/journal/record.js';
import type { ImEvent } from '@imspect/sdk';
import { testEvent } from '@imspect/sdk/testing';
import { recordingLogger, removeTempDirs, tempDir } from './helpers.js';

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'journal-v1');

afterAll(removeTempDirs);

async function openCopy(consumers: string[]) {
  const dir = await tempDir();
  await cp(FIXTURE, dir, { recursive: true });
  const journal = await Journal.open(
    { dir, maxBytes: 1024 * 1024 * 1024, segmentBytes: 1024 * 1024, fsyncIntervalMs: 10, onFull: 'forward', memoryEvents: 1000 },
    consumers,
    recordingLogger(),
  );
  return { dir, journal };
}

async function readAll(journal: Journal, from: number): Promise<ImEvent[]> {
  const out: ImEvent[] = [];
  while (from + out.length < journal.head) {
    const batch = await journal.read(from + out.length, 3);
    expect(batch.first).toBe(from + out.length);
    out.push(...batch.events);
  }
  return out;
}

describe('journal record versions', () => {
  it('the fixture really is version 1: no version member, data as strings', async () => {
    const segment = await readFile(path.join(FIXTURE, '0000000000000000.seg'));
    const texts = decodeRecords(segment).payloads.map((p) => p.toString('utf8'));
    expect(texts).toHaveLength(7);
    for (const text of texts) expect(JSON.parse(text)).not.toHaveProperty('v');
    expect(JSON.parse(texts[0]!).data).toBe('client=MSNMSGR version=8.5.1302 protocol-version=MSNP15');
  });

  it('a journal written by the previous version opens with its positions and delivers its events with data as pairs', async () => {
    const { journal } = await openCopy(['csv', 'sql']);
    try {
      expect(journal.position('sql')).toBe(2);
      expect(journal.position('csv')).toBe(0);
      const all = await readAll(journal, 0);
      expect(all.map((e) => e.id.slice(-2))).toEqual(['01', '02', '03', '04', '05', '06', '07']);
      expect(all.map((e) => e.data)).toEqual([
        { client: 'MSNMSGR', version: '8.5.1302', 'protocol-version': 'MSNP15' },
        { from: 'bob', statusmsg: '@' },
        { address: '192.0.2.7:5000', token: '12' },
        { device: 'phone one' },
        { participants: 'bob@example.com,carol@example.com', groupchat: '1' },
        { group: 'Friends & Family', odd: '%zz', pct: '100%' },
        undefined,
      ]);
      expect(all[6]).not.toHaveProperty('data');
      expect(all[2]).toMatchObject({ type: 'file', subtype: 'dcc-send', file: { name: 'notes 1.txt', size: 1234 }, localId: 'alice' });
      expect(all[3]).toMatchObject({ messageKey: 'bob@example.org/m1', text: 'to every device' });
      for (const event of all) expect(event).not.toHaveProperty('v');
      // What the sql consumer has left is the rest, from its position.
      expect((await readAll(journal, journal.position('sql'))).map((e) => e.id.slice(-2))).toEqual(['03', '04', '05', '06', '07']);
    } finally {
      await journal.close();
    }
  });

  it('new events append to the old segment as version 2 records; after a restart old and new read alike', async () => {
    const { dir, journal } = await openCopy(['csv']);
    journal.append([testEvent({ id: '01900000-0000-7000-8000-000000000099', text: 'after the upgrade', data: { port: 5000, groupchat: true, from: 'bob' } })]);
    journal.commit();
    await journal.close();
    const segments = (await readdir(dir)).filter((n) => n.endsWith('.seg'));
    const texts = (await Promise.all(segments.sort().map((n) => readFile(path.join(dir, n))))).flatMap((b) => decodeRecords(b).payloads.map((p) => p.toString('utf8')));
    expect(texts).toHaveLength(8);
    expect(texts[7]!.startsWith(`{"v":${EVENT_RECORD_VERSION},"id":`)).toBe(true);
    const reopened = await Journal.open(
      { dir, maxBytes: 1024 * 1024 * 1024, segmentBytes: 1024 * 1024, fsyncIntervalMs: 10, onFull: 'forward', memoryEvents: 1000 },
      ['csv'],
      recordingLogger(),
    );
    try {
      const all = await readAll(reopened, 0);
      expect(all).toHaveLength(8);
      expect(all[0]!.data).toEqual({ client: 'MSNMSGR', version: '8.5.1302', 'protocol-version': 'MSNP15' });
      expect(all[7]).toMatchObject({ text: 'after the upgrade', data: { port: 5000, groupchat: true, from: 'bob' } });
      expect(all[7]).not.toHaveProperty('v');
    } finally {
      await reopened.close();
    }
  });

  it('record texts: the version first, the event back as it was; damaged data values are dropped, not delivered', () => {
    const event = testEvent({ data: { a: 'x', n: 1, f: false } });
    const text = encodeEventRecord(event);
    expect(text.startsWith('{"v":2,')).toBe(true);
    expect(decodeEventRecord(text)).toEqual(event);
    expect(decodeEventRecord('{"id":"x","data":"from=bob%20smith"}')).toEqual({ id: 'x', data: { from: 'bob smith' } });
    expect(decodeEventRecord('{"id":"x","data":""}')).toEqual({ id: 'x' });
    expect(decodeEventRecord('{"v":2,"id":"x","data":[1]}')).toEqual({ id: 'x' });
    expect(decodeEventRecord('{"v":2,"id":"x","data":{"ok":1,"deep":{"x":1}}}')).toEqual({ id: 'x', data: { ok: 1 } });
  });
});
