/**
 * Journal record versions: a journal written before event data was typed (record version 1, `data` a `key=value`
 * string; test/fixtures/journal-v1, made by test/fixtures/make-journal-v1.mjs at commit 617285d) is read after the
 * upgrade with its positions, its data as pairs; a segment of version 2 records (the event's JSON object) reads the
 * same; new records are version 3 (a positional array), and every kind reads in one journal.
 */
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeEventRecord, encodeEventRecord, EVENT_RECORD_VERSION } from '../src/journal/event-record.js';
import { Journal } from '../src/journal/journal.js';
import { decodeRecords, encodeTextRecords } from '../src/journal/record.js';
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

  it('new events append to the old segment as version 3 records; after a restart old and new read alike', async () => {
    const { dir, journal } = await openCopy(['csv']);
    journal.append([testEvent({ id: '01900000-0000-7000-8000-000000000099', text: 'after the upgrade', data: { port: 5000, groupchat: true, from: 'bob' } })]);
    journal.commit();
    await journal.close();
    const segments = (await readdir(dir)).filter((n) => n.endsWith('.seg'));
    const texts = (await Promise.all(segments.sort().map((n) => readFile(path.join(dir, n))))).flatMap((b) => decodeRecords(b).payloads.map((p) => p.toString('utf8')));
    expect(texts).toHaveLength(8);
    expect(texts[7]!.startsWith(`[${EVENT_RECORD_VERSION},"01900000-0000-7000-8000-000000000099",`)).toBe(true);
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

  it('a segment of version 2 records (the JSON object with "v":2 first) delivers its events, then version 3 ones', async () => {
    const dir = await tempDir();
    const v2 = [
      testEvent({ id: '01900000-0000-7000-8000-000000000001', text: 'written by version 2', network: 'irc.example.net', data: { from: 'bob', port: 5000, groupchat: true } }),
      testEvent({ id: '01900000-0000-7000-8000-000000000002', type: 'file', subtype: 'dcc-send', file: { name: 'a.txt', size: 3 }, filtered: true, categories: ['acl'] }),
      testEvent({ id: '01900000-0000-7000-8000-000000000003', text: 'sent', deliveredText: 's***', messageKey: 'k1', conversation: 'c1' }),
    ];
    // Exactly what version 2's encoder wrote: the event's JSON with the version put first.
    const texts = v2.map((e) => `{"v":2,${JSON.stringify(e).slice(1)}`);
    await writeFile(path.join(dir, '0000000000000000.seg'), encodeTextRecords(texts), { mode: 0o600 });
    const options = { dir, maxBytes: 1024 * 1024 * 1024, segmentBytes: 1024 * 1024, fsyncIntervalMs: 10, onFull: 'forward' as const, memoryEvents: 1000 };
    const journal = await Journal.open(options, ['csv'], recordingLogger());
    const v3 = testEvent({ id: '01900000-0000-7000-8000-000000000004', text: 'written by version 3', data: { nick: 'al' } });
    try {
      expect(journal.head).toBe(3);
      journal.append([v3]);
      journal.commit();
    } finally {
      await journal.close();
    }
    const reopened = await Journal.open(options, ['csv'], recordingLogger());
    try {
      const all = await readAll(reopened, 0);
      expect(all).toEqual([...v2, v3]);
      for (const event of all) expect(event).not.toHaveProperty('v');
    } finally {
      await reopened.close();
    }
  });

  it('record texts: the version first, the event back as it was; damaged data values are dropped, not delivered', () => {
    const event = testEvent({ data: { a: 'x', n: 1, f: false } });
    const text = encodeEventRecord(event);
    expect(text.startsWith('[3,')).toBe(true);
    // No member names: a version 3 record is well under the JSON object's size.
    expect(text.length).toBeLessThan(JSON.stringify(event).length * 0.8);
    expect(decodeEventRecord(text)).toEqual(event);
    const full = testEvent({
      subtype: 'dcc-send',
      network: 'n',
      conversation: 'c',
      text: 't \u00e9\u{1f600}',
      deliveredText: 'd',
      file: { name: 'f', size: 1 },
      data: { k: 'v' },
      messageKey: 'm',
      filtered: true,
      categories: ['x', 'y'],
    });
    expect(decodeEventRecord(encodeEventRecord(full))).toEqual(full);
    // Absent optional members stay absent (not undefined, not null).
    const bare = decodeEventRecord(encodeEventRecord(testEvent()));
    for (const key of ['subtype', 'network', 'conversation', 'text', 'deliveredText', 'file', 'data', 'messageKey']) expect(bare).not.toHaveProperty(key);
    expect(decodeEventRecord('{"id":"x","data":"from=bob%20smith"}')).toEqual({ id: 'x', data: { from: 'bob smith' } });
    expect(decodeEventRecord('{"id":"x","data":""}')).toEqual({ id: 'x' });
    expect(decodeEventRecord('{"v":2,"id":"x","data":[1]}')).toEqual({ id: 'x' });
    expect(decodeEventRecord('{"v":2,"id":"x","data":{"ok":1,"deep":{"x":1}}}')).toEqual({ id: 'x', data: { ok: 1 } });
    const damagedData = JSON.parse(encodeEventRecord(testEvent())) as unknown[];
    damagedData[14] = { ok: 1, deep: { x: 1 } };
    expect(decodeEventRecord(JSON.stringify(damagedData)).data).toEqual({ ok: 1 });
    // An array of another version or length is damage, as text that is no JSON is.
    expect(() => decodeEventRecord('[4,"x"]')).toThrow(SyntaxError);
    expect(() => decodeEventRecord(JSON.stringify(damagedData.slice(0, -1)))).toThrow(SyntaxError);
    expect(() => decodeEventRecord('[3,')).toThrow(SyntaxError);
    expect(() => decodeEventRecord('7')).toThrow(SyntaxError);
  });
});
