import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, writeSync } from 'node:fs';
import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Journal, type JournalOptions } from '../src/journal/journal.js';
import { decodeEventRecord, encodeEventRecord } from '../src/journal/event-record.js';
import { crc32, decodeRecords, encodeRecords, encodeTextRecords, tableCrc32 } from '../src/journal/record.js';
import { readJournalState } from '../src/journal/state.js';
import { EventSink } from '../src/proxy/event-sink.js';
import type { ImEvent } from '@imspect/sdk';
import type { LoggerHooks } from '@imspect/sdk';
import { recordingLogger, removeTempDirs, tempDir, textEvent as event, textEvents as events } from './helpers.js';

async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

afterAll(removeTempDirs);

async function open(dir: string, consumers: string[], options: Partial<JournalOptions> = {}, log = recordingLogger()) {
  return Journal.open({ dir, maxBytes: 1024 * 1024 * 1024, segmentBytes: 1024 * 1024, fsyncIntervalMs: 10, onFull: 'forward', memoryEvents: 1000, ...options }, consumers, log);
}
const texts = (batch: { events: readonly ImEvent[] } | readonly ImEvent[]) => ('events' in batch ? batch.events : batch).map((e) => e.text);

describe('journal records', () => {
  it("CRC-32 is the standard one, with or without Node's own", () => {
    const check = Buffer.from('123456789');
    expect(tableCrc32(check)).toBe(0xcbf43926);
    expect(crc32(check)).toBe(0xcbf43926);
  });

  it('round-trip, and a record cut at any byte is reported as a torn tail, never thrown', () => {
    const payloads = ['one', 'twö ✓ 你好', ''].map((t) => Buffer.from(t));
    const bytes = encodeRecords(payloads);
    expect(decodeRecords(bytes).payloads.map((p) => p.toString())).toEqual(['one', 'twö ✓ 你好', '']);
    for (let cut = 0; cut < bytes.length; cut++) {
      const decoded = decodeRecords(bytes.subarray(0, cut));
      expect(decoded.validBytes).toBeLessThanOrEqual(cut);
      if (decoded.validBytes < cut) expect(decoded.problem).toBe('truncated');
    }
    expect(encodeTextRecords(['one', 'twö ✓ 你好', ''])).toEqual(bytes);
    const damaged = Buffer.from(bytes);
    damaged[10] = damaged[10]! ^ 0xff;
    expect(decodeRecords(damaged)).toMatchObject({ payloads: [], validBytes: 0, problem: 'bad-checksum' });
  });
});

describe('Journal', () => {
  it('without close (a crash), reopening restores positions and the events not yet acknowledged', async () => {
    const dir = await tempDir();
    const first = await open(dir, ['a', 'b']);
    const all = events(10);
    expect(first.append(all.slice(0, 6))).toBe(true);
    expect(first.append(all.slice(6))).toBe(true);
    first.ack('a', 7);
    first.ack('b', 3);
    await waitFor(async () => (await readJournalState(dir))?.consumers['b']?.position === 3);
    // No close(): the process "died" here.
    const second = await open(dir, ['a', 'b']);
    expect(second.head).toBe(10);
    expect(second.position('a')).toBe(7);
    expect(second.position('b')).toBe(3);
    expect(texts(await second.read(7, 100))).toEqual(['e7', 'e8', 'e9']);
    expect(texts(await second.read(3, 2))).toEqual(['e3', 'e4']);
    expect(second.append(events(1, 'n'))).toBe(true);
    expect(texts(await second.read(9, 100))).toEqual(['e9', 'n0']);
    await second.close();
  });

  it('appended events are on disk once committed (what core does before forwarding), not before', async () => {
    const dir = await tempDir();
    const journal = await open(dir, ['a']);
    const onDisk = () =>
      readdirSync(dir)
        .filter((n) => n.endsWith('.seg'))
        .reduce((n, f) => n + statSync(path.join(dir, f)).size, 0);
    journal.append(events(3, 'c'));
    expect(onDisk()).toBe(0); // not written yet (a crash now loses them, but they were not forwarded either)
    journal.commit();
    expect(onDisk()).toBeGreaterThan(0);
    const reopened = await open(dir, ['a']);
    expect(texts(await reopened.read(0, 10))).toEqual(['c0', 'c1', 'c2']);
    await reopened.close();
    await journal.close();
  });

  it('a consumer reading behind the memory window gets events not yet committed too', async () => {
    const dir = await tempDir();
    const journal = await open(dir, ['a'], { memoryEvents: 2 });
    journal.append(events(5, 'w'));
    expect(texts(await journal.read(0, 10))).toEqual(['w0', 'w1', 'w2', 'w3', 'w4']);
    await journal.close();
  });

  it('one process per journal: a live owner is refused with a clear error, a dead one is taken over', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'journal.lock'), `${process.ppid}\n`);
    await expect(open(dir, ['a'])).rejects.toMatchObject({ code: 'JOURNAL_LOCKED', message: expect.stringContaining(`pid ${process.ppid}`) });
    const gone = spawnSync(process.execPath, ['-e', 'process.pid']).pid!;
    await writeFile(path.join(dir, 'journal.lock'), `${gone}\n`);
    const journal = await open(dir, ['a']);
    expect((await readFile(path.join(dir, 'journal.lock'), 'utf8')).trim()).toBe(String(process.pid));
    await journal.close();
    expect(readdirSync(dir)).not.toContain('journal.lock');
  });

  it('a torn record at the end of a segment is cut off with a warning; the intact events are kept', async () => {
    const dir = await tempDir();
    const journal = await open(dir, ['a']);
    journal.append(events(3));
    const [segment] = (await readdir(dir)).filter((n) => n.endsWith('.seg'));
    await appendFile(path.join(dir, segment!), encodeRecords([Buffer.from('{"half":')]).subarray(0, 11));
    const log = recordingLogger();
    const reopened = await open(dir, ['a'], {}, log);
    expect(reopened.head).toBe(3);
    expect(texts(await reopened.read(0, 10))).toEqual(['e0', 'e1', 'e2']);
    expect(log.records.some((r) => r.level === 'warn' && /torn or damaged/.test(r.msg ?? ''))).toBe(true);
    await reopened.close();
    await journal.close();
  });

  it('a damaged record in an older segment: the events after it in that segment are skipped, reported, and delivery goes on in step', async () => {
    const dir = await tempDir();
    const log = recordingLogger();
    const journal = await open(dir, ['a'], { segmentBytes: 2048 });
    const all = events(60, 'd');
    for (let i = 0; i < 60; i += 3) {
      journal.append(all.slice(i, i + 3));
      journal.commit();
    }
    await journal.close();
    const [first] = (await readdir(dir)).filter((n) => n.endsWith('.seg')).sort();
    const file = path.join(dir, first!);
    const bytes = await readFile(file);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = bytes[middle]! ^ 0xff;
    await writeFile(file, bytes);
    const reopened = await open(dir, ['a'], {}, log);
    const got: ImEvent[] = [];
    let position = 0;
    while (position < reopened.head) {
      const batch = await reopened.read(position, 7);
      expect(batch.first).toBeGreaterThanOrEqual(position);
      batch.events.forEach((e, k) => expect(e.id).toBe(all[batch.first + k]!.id));
      got.push(...batch.events);
      position = batch.first + batch.events.length;
    }
    expect(got.length).toBeGreaterThan(20);
    expect(got.length).toBeLessThan(60);
    expect(got.at(-1)!.id).toBe(all[59]!.id);
    expect(log.records.some((r) => r.level === 'error' && /missing from the segments/.test(r.msg ?? ''))).toBe(true);
    await reopened.close();
  });

  it('deletes segments once every consumer is past them', async () => {
    const dir = await tempDir();
    const journal = await open(dir, ['a', 'b'], { segmentBytes: 1024 });
    for (let i = 0; i < 20; i++) {
      journal.append(events(5, `s${i}-`));
      journal.commit(); // as core does before forwarding each chunk
    }
    const segs = async () => (await readdir(dir)).filter((n) => n.endsWith('.seg')).length;
    const before = await segs();
    expect(before).toBeGreaterThan(3);
    journal.ack('a', 100);
    await new Promise((r) => setTimeout(r, 20));
    expect(await segs()).toBe(before); // b has not stored them yet
    journal.ack('b', 100);
    await waitFor(async () => (await segs()) === 1);
    await journal.close();
  });

  it('a commit writes exactly the framed record (versioned JSON) of each event, also across a pending buffer that has to grow', async () => {
    const dir = await tempDir();
    const journal = await open(dir, ['a'], { segmentBytes: 64 * 1024 * 1024 });
    // Multi-byte text (2, 3 and 4 UTF-8 bytes) and one event far larger than the first pending buffer.
    const batch = [event('plain'), event('twö ✓ 你好 😀'), event('✓'.repeat(100_000)), event(''), event('é'.repeat(70_000))];
    journal.append(batch.slice(0, 2));
    journal.append(batch.slice(2, 3));
    journal.append(batch.slice(3));
    journal.commit();
    journal.append([event('after the commit')]);
    journal.commit();
    const [segment] = readdirSync(dir).filter((n) => n.endsWith('.seg'));
    const onDisk = await readFile(path.join(dir, segment!));
    const expected = encodeTextRecords(batch.map((e) => encodeEventRecord(e)));
    expect(onDisk.subarray(0, expected.length).equals(expected)).toBe(true);
    expect(decodeRecords(onDisk).payloads.map((p) => decodeEventRecord(p.toString('utf8')).text)).toEqual([...texts(batch), 'after the commit']);
    await journal.close();
  });

  it('consumers behind the memory window, reading at the same time while the segments grow, each get every event once', async () => {
    const dir = await tempDir();
    const journal = await open(dir, ['a', 'b', 'c'], { segmentBytes: 4096, memoryEvents: 5 });
    const all = events(400, 'g');
    const got: Record<string, ImEvent[]> = { a: [], b: [], c: [] };
    const sizes: Record<string, number> = { a: 3, b: 11, c: 17 };
    let appended = 0;
    while (Object.values(got).some((g) => g.length < all.length)) {
      if (appended < all.length) {
        journal.append(all.slice(appended, appended + 9));
        appended = Math.min(all.length, appended + 9);
      }
      // The three read concurrently (from the same segment or different ones); each acknowledges what it got.
      await Promise.all(
        Object.keys(got).map(async (name) => {
          const batch = await journal.read(got[name]!.length, sizes[name]!);
          got[name]!.push(...batch.events);
          journal.ack(name, got[name]!.length);
        }),
      );
    }
    for (const name of Object.keys(got)) expect(got[name]!.map((e) => e.id)).toEqual(all.map((e) => e.id));
    await journal.close();
  });

  it('read back from disk: records larger than one read slice, and slices ending inside a record', async () => {
    const dir = await tempDir();
    const journal = await open(dir, ['a', 'fast'], { segmentBytes: 64 * 1024 * 1024, memoryEvents: 1 });
    // 1.5 MB records (more than a read slice) between small ones, and enough small ones to cross slice ends.
    const all = [event('small'), event('x'.repeat(1_500_000)), ...events(8000, 's'), event('✓'.repeat(700_000)), event('last')];
    for (let i = 0; i < all.length; i += 50) {
      journal.append(all.slice(i, i + 50));
      journal.commit();
      journal.ack('fast', journal.head);
    }
    const got: ImEvent[] = [];
    while (got.length < all.length) {
      const batch = await journal.read(got.length, 3);
      expect(batch.first).toBe(got.length);
      got.push(...batch.events);
    }
    expect(got.map((e) => e.text)).toEqual(texts(all));
    await journal.close();
  });

  it('a segment cut short on disk behind the memory window: the missing events are skipped and reported, no stall', async () => {
    const dir = await tempDir();
    const log = recordingLogger();
    const journal = await open(dir, ['a', 'fast'], { segmentBytes: 2048, memoryEvents: 2 }, log);
    const all = events(60, 't');
    for (let i = 0; i < all.length; i += 3) {
      journal.append(all.slice(i, i + 3));
      journal.commit();
      journal.ack('fast', journal.head);
    }
    const [first] = readdirSync(dir)
      .filter((n) => n.endsWith('.seg'))
      .sort();
    // Behind imspect's back, cut right after its second record: the rest of what was committed is gone.
    const bytes = await readFile(path.join(dir, first!));
    const [one, two] = decodeRecords(bytes).payloads;
    await writeFile(path.join(dir, first!), bytes.subarray(0, 16 + one!.length + two!.length));
    const got: ImEvent[] = [];
    let position = 0;
    while (position < all.length) {
      const batch = await journal.read(position, 5);
      got.push(...batch.events);
      position = batch.first + batch.events.length;
    }
    expect(got.length).toBeLessThan(all.length);
    expect(got.at(-1)?.text).toBe('t59');
    expect(log.records.some((r) => r.level === 'error' && /missing from the segments/.test(r.msg ?? ''))).toBe(true);
    await journal.close();
  }, 10_000);

  it('a consumer far behind reads its events back from disk, in order', async () => {
    const dir = await tempDir();
    const journal = await open(dir, ['fast', 'slow'], { segmentBytes: 2048, memoryEvents: 10 });
    const all = events(200, 'd');
    for (let i = 0; i < 200; i += 7) {
      journal.append(all.slice(i, i + 7));
      journal.ack('fast', journal.head);
    }
    const got: ImEvent[] = [];
    while (got.length < 200) got.push(...(await journal.read(got.length, 13)).events);
    expect(got.map((e) => e.id)).toEqual(all.map((e) => e.id));
    await journal.close();
  });

  it('at the limit with onFull: forward: the logger that keeps up gets every event; the one behind loses its oldest, counted and logged', async () => {
    const dir = await tempDir();
    const log = recordingLogger();
    const journal = await open(dir, ['healthy', 'dead'], { maxBytes: 4096, segmentBytes: 1024, memoryEvents: 5 }, log);
    const all = events(300, 'f');
    const healthy: ImEvent[] = [];
    for (let i = 0; i < all.length; i += 3) {
      expect(journal.append(all.slice(i, i + 3))).toBe(true);
      journal.commit();
      const batch = await journal.read(healthy.length, 100);
      healthy.push(...batch.events);
      journal.ack('healthy', healthy.length, batch.first);
    }
    expect(healthy.map((e) => e.id)).toEqual(all.map((e) => e.id));
    expect(journal.droppedEvents).toBe(0);
    const dead = journal.consumerState('dead');
    expect(dead.lost).toBeGreaterThan(0);
    // What the dead logger has not lost is still there for it, in order, up to the newest event.
    const rest: ImEvent[] = [];
    let position = journal.position('dead');
    expect(position).toBe(dead.lost);
    while (position < journal.head) {
      const batch = await journal.read(position, 50);
      expect(batch.first).toBe(position);
      rest.push(...batch.events);
      position += batch.events.length;
    }
    expect(rest.map((e) => e.id)).toEqual(all.slice(dead.lost).map((e) => e.id));
    expect(log.records.some((r) => r.level === 'error' && /logger "dead" is behind: its \d+ oldest events were given up/.test(r.msg ?? ''))).toBe(true);
    expect(log.records.some((r) => /missing from the segments/.test(r.msg ?? ''))).toBe(false);
    await journal.close();
    expect((await readJournalState(dir))?.consumers['dead']).toMatchObject({ lost: dead.lost, position: dead.lost });
    expect((await readJournalState(dir))?.consumers['healthy']).toMatchObject({ lost: 0, position: 300 });
  });

  it('a batch read before its events were given up and stored after all is not counted as lost', async () => {
    const dir = await tempDir();
    const journal = await open(dir, ['fast', 'slow'], { maxBytes: 4096, segmentBytes: 1024, memoryEvents: 1000 });
    journal.append(events(10, 'a'));
    journal.commit();
    const inFlight = await journal.read(0, 10); // "slow" starts writing these ...
    for (let i = 0; i < 100; i++) {
      journal.append(events(3, `b${i}-`));
      journal.commit();
      journal.ack('fast', journal.head);
    }
    expect(journal.consumerState('slow').lost).toBeGreaterThanOrEqual(10);
    const lostBefore = journal.consumerState('slow').lost;
    journal.ack('slow', inFlight.first + inFlight.events.length, inFlight.first); // ... and they are stored
    expect(journal.consumerState('slow').lost).toBe(lostBefore - 10);
    await journal.close();
  });

  it('full with onFull: forward and nothing to give up: new events are refused and counted, loudly; room again once delivered', async () => {
    const dir = await tempDir();
    const log = recordingLogger();
    // One consumer, no commits: everything is pending in the active segment, so there is no old segment to give up.
    const journal = await open(dir, ['a'], { maxBytes: 4096, segmentBytes: 64 * 1024 }, log);
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < 100; i++) {
      if (journal.append([event(`f${i}`)])) accepted++;
      else refused++;
    }
    expect(refused).toBeGreaterThan(0);
    expect(journal.full).toBe(true);
    expect(journal.droppedEvents).toBe(refused);
    expect(log.records.some((r) => r.level === 'error' && /journal FULL/.test(r.msg ?? ''))).toBe(true);
    journal.commit();
    expect(journal.head).toBe(accepted);
    journal.ack('a', journal.head);
    await waitFor(() => !journal.full);
    expect(journal.append([event('after')])).toBe(true);
    await journal.close();
    expect((await readJournalState(dir))?.dropped).toBe(refused);
  });

  it('full with onFull: block: events are still journaled and whenRoom() waits for the loggers', async () => {
    const dir = await tempDir();
    const journal = await open(dir, ['a'], { maxBytes: 2048, segmentBytes: 512, onFull: 'block' });
    for (let i = 0; i < 50; i++) expect(journal.append([event(`b${i}`)])).toBe(true);
    expect(journal.full).toBe(true);
    let room = false;
    void journal.whenRoom().then(() => (room = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(room).toBe(false);
    journal.ack('a', journal.head);
    await waitFor(() => room);
    await journal.close();
  });
});

/** A disk with `room.bytes` left: a write past it is cut short, the next one fails with ENOSPC (as the kernel does). */
function diskWithRoom(room: { bytes: number }) {
  return (fd: number, buffer: Buffer, offset: number, length: number): number => {
    if (room.bytes <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    const written = writeSync(fd, buffer, offset, Math.min(length, room.bytes));
    room.bytes -= written;
    return written;
  };
}

/** Every event from `from` to the head, as a logger reads them. */
async function readAll(journal: Journal, from = 0): Promise<ImEvent[]> {
  const got: ImEvent[] = [];
  let position = from;
  while (position < journal.head) {
    const batch = await journal.read(position, 7);
    expect(batch.first).toBe(position); // no hole skipped
    got.push(...batch.events);
    position += batch.events.length;
  }
  return got;
}

describe('Journal on a full disk', () => {
  it('onFull: forward: events the disk refuses are dropped and counted, the segment is cut back to its last whole record, and nothing journaled is skipped later', async () => {
    const dir = await tempDir();
    const log = recordingLogger();
    const room = { bytes: 3000 };
    const journal = await open(dir, ['a'], { memoryEvents: 3, segmentWriter: diskWithRoom(room) }, log);
    const all = events(120, 'n');
    const accepted: ImEvent[] = [];
    let refused = 0;
    for (let i = 0; i < 60; i += 2) {
      const batch = all.slice(i, i + 2);
      const headBefore = journal.head;
      if (!journal.append(batch)) refused += batch.length;
      journal.commit();
      if (journal.head > headBefore) accepted.push(...batch);
    }
    expect(journal.full).toBe(true);
    expect(journal.diskError).toMatchObject({ code: 'ENOSPC' });
    expect(journal.droppedEvents).toBeGreaterThan(0);
    expect(accepted.length + journal.droppedEvents).toBe(60);
    expect(refused).toBeLessThanOrEqual(journal.droppedEvents);
    expect(log.records.some((r) => r.level === 'error' && /the disk refuses writes \(ENOSPC: disk full\)/.test(r.msg ?? ''))).toBe(true);
    // The segments hold exactly the accepted events, with no torn record after them.
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.seg'))) expect(decodeRecords(await readFile(path.join(dir, name))).problem).toBeUndefined();
    await waitFor(async () => (await readJournalState(dir))?.writeError?.code === 'ENOSPC');

    // Room again: after the retry delay, events are journaled again.
    room.bytes = 1_000_000;
    await new Promise((r) => setTimeout(r, 1100));
    for (let i = 60; i < 120; i += 2) {
      expect(journal.append(all.slice(i, i + 2))).toBe(true);
      journal.commit();
      accepted.push(...all.slice(i, i + 2));
    }
    expect(journal.full).toBe(false);
    expect((await readAll(journal)).map((e) => e.id)).toEqual(accepted.map((e) => e.id));
    expect(log.records.some((r) => /missing from the segments/.test(r.msg ?? ''))).toBe(false);
    const dropped = journal.droppedEvents;
    await journal.close();
    expect(await readJournalState(dir)).toMatchObject({ dropped, full: false });
    expect((await readJournalState(dir))?.writeError).toBeUndefined();

    // After a restart too: the same events, no damage reported.
    const reopenedLog = recordingLogger();
    const reopened = await open(dir, ['a'], {}, reopenedLog);
    expect(reopened.head).toBe(accepted.length);
    expect((await readAll(reopened)).map((e) => e.id)).toEqual(accepted.map((e) => e.id));
    expect(reopenedLog.records.some((r) => /torn or damaged|missing/.test(r.msg ?? ''))).toBe(false);
    await reopened.close();
  });

  it('an I/O error (EIO) or an over-large file (EFBIG) is treated like a full disk: refused events are counted, the error is in the state file', async () => {
    for (const code of ['EIO', 'EFBIG']) {
      const dir = await tempDir();
      let failing = true;
      const writer = (fd: number, buffer: Buffer, offset: number, length: number) => {
        if (failing) throw Object.assign(new Error(`${code}: the disk failed, write`), { code });
        return writeSync(fd, buffer, offset, length);
      };
      const log = recordingLogger();
      const journal = await open(dir, ['a'], { segmentWriter: writer }, log);
      journal.append(events(4, 'x'));
      journal.commit();
      expect(journal.append(events(3, 'y'))).toBe(false); // refused at once while the disk is failing
      expect(journal.head).toBe(0);
      expect(journal.droppedEvents).toBe(7);
      expect(journal.diskError?.code).toBe(code);
      expect(log.records.some((r) => r.level === 'error' && new RegExp(`the disk refuses writes \\(${code}\\)`).test(r.msg ?? ''))).toBe(true);
      await waitFor(async () => (await readJournalState(dir))?.writeError?.code === code);
      failing = false;
      await journal.close(); // nothing pending: closing does not count anything more
      expect((await readJournalState(dir))?.dropped).toBe(7);
    }
  });

  it('onFull: block: the write retry happens even when its timer fires before the clock reaches the retry time', async () => {
    // Timers and Date.now() run on different clocks: a retry that found "too early" and gave up would pause relaying forever.
    const dir = await tempDir();
    const room = { bytes: 2000 };
    const journal = await open(dir, ['a'], { memoryEvents: 3, onFull: 'block', segmentWriter: diskWithRoom(room) });
    const all = events(60, 'k');
    for (let i = 0; i < all.length; i += 2) {
      journal.append(all.slice(i, i + 2));
      journal.commit();
    }
    expect(journal.full).toBe(true);
    const realNow = Date.now;
    Date.now = () => realNow() - 1500; // the wall clock lags behind the timers
    try {
      let roomAgain = false;
      void journal.whenRoom().then(() => (roomAgain = true));
      room.bytes = 1_000_000;
      await waitFor(() => roomAgain, 5_000);
    } finally {
      Date.now = realNow;
    }
    expect(journal.head).toBe(60);
    expect((await readAll(journal)).map((e) => e.id)).toEqual(all.map((e) => e.id));
    await journal.close();
  });

  it('onFull: block: relaying is to pause while the disk is full; the held events are written once it has room, none lost', async () => {
    const dir = await tempDir();
    const room = { bytes: 2000 };
    const journal = await open(dir, ['a'], { memoryEvents: 3, onFull: 'block', segmentWriter: diskWithRoom(room) });
    const all = events(60, 'k');
    for (let i = 0; i < all.length; i += 2) {
      expect(journal.append(all.slice(i, i + 2))).toBe(true);
      journal.commit();
    }
    expect(journal.full).toBe(true);
    expect(journal.diskError?.code).toBe('ENOSPC');
    expect(journal.head).toBeLessThan(60);
    let room_ = false;
    void journal.whenRoom().then(() => (room_ = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(room_).toBe(false);
    room.bytes = 1_000_000; // space freed
    await waitFor(() => room_, 5_000);
    expect(journal.full).toBe(false);
    expect(journal.head).toBe(60);
    expect(journal.droppedEvents).toBe(0);
    expect((await readAll(journal)).map((e) => e.id)).toEqual(all.map((e) => e.id));
    await journal.close();
  });

  it("onFull: forward with a logger behind: the disk's room goes to new events, the lagging logger loses its oldest (counted), the others lose nothing", async () => {
    const dir = await tempDir();
    // A disk of 6000 bytes holding only the segments: deleting one gives its room back at once.
    const segmentBytesOnDisk = () =>
      readdirSync(dir)
        .filter((n) => n.endsWith('.seg'))
        .reduce((n, f) => n + statSync(path.join(dir, f)).size, 0);
    const disk = (fd: number, buffer: Buffer, offset: number, length: number) => diskWithRoom({ bytes: 6000 - segmentBytesOnDisk() })(fd, buffer, offset, length);
    const journal = await open(dir, ['healthy', 'dead'], { segmentBytes: 1024, memoryEvents: 3, segmentWriter: disk });
    const all = events(200, 'q');
    const healthy: ImEvent[] = [];
    for (let i = 0; i < all.length; i += 2) {
      expect(journal.append(all.slice(i, i + 2))).toBe(true);
      journal.commit();
      const batch = await journal.read(healthy.length, 100);
      healthy.push(...batch.events);
      journal.ack('healthy', healthy.length, batch.first);
    }
    expect(healthy.map((e) => e.id)).toEqual(all.map((e) => e.id));
    expect(journal.droppedEvents).toBe(0);
    expect(journal.full).toBe(false);
    expect(journal.consumerState('dead').lost).toBeGreaterThan(0);
    expect(journal.consumerState('dead').lost + journal.pending('dead')).toBe(200);
    await journal.close();
  });
});

describe('EventSink on a durable journal', () => {
  it('events a failing logger could not store before shutdown are delivered after the restart, each once', async () => {
    const dir = await tempDir();
    const stored: string[] = [];
    let failing = true;
    const hooks: LoggerHooks = {
      async write(batch) {
        if (failing) throw new Error('database down');
        stored.push(...batch.map((e) => e.id));
      },
    };
    const options = { batchSize: 4, flushIntervalMs: 5, retryMaxDelayMs: 20, writeTimeoutMs: 500 };
    const all = events(11, 'r');
    const sink = new EventSink([{ name: 'db', hooks }], options, recordingLogger(), await open(dir, ['db']));
    sink.accept(all.slice(0, 5));
    sink.accept(all.slice(5));
    await waitFor(() => sink.status()[0]!.failures >= 2);
    expect(sink.status()[0]).toMatchObject({ pending: 11, lastError: 'plugin "db" failed in write: database down' });
    await sink.close({ graceMs: 50 });
    const state = await readJournalState(dir);
    expect(state?.consumers['db']).toMatchObject({ position: 0, lastError: 'plugin "db" failed in write: database down' });
    expect(JSON.parse(await readFile(path.join(dir, 'state.json'), 'utf8')).head).toBe(11);

    failing = false;
    const restarted = new EventSink([{ name: 'db', hooks }], options, recordingLogger(), await open(dir, ['db']));
    await waitFor(() => stored.length === 11, 2_000);
    expect(stored).toEqual(all.map((e) => e.id));
    await restarted.close({ graceMs: 1_000 });
    expect((await readJournalState(dir))?.consumers['db']?.position).toBe(11);
  });

  it('at the journal limit with onFull: forward, a logger that always fails does not cost the healthy one any event', async () => {
    const dir = await tempDir();
    const stored: string[] = [];
    const healthy: LoggerHooks = {
      async write(batch) {
        stored.push(...batch.map((e) => e.id));
      },
    };
    const dead: LoggerHooks = {
      async write() {
        throw new Error('connect ECONNREFUSED');
      },
    };
    const options = { batchSize: 20, flushIntervalMs: 1, retryMaxDelayMs: 20, writeTimeoutMs: 500 };
    const log = recordingLogger();
    const journal = await open(dir, ['healthy', 'dead'], { maxBytes: 16 * 1024, segmentBytes: 4096, memoryEvents: 10 }, log);
    const sink = new EventSink(
      [
        { name: 'healthy', hooks: healthy },
        { name: 'dead', hooks: dead },
      ],
      options,
      log,
      journal,
    );
    const all = events(600, 'h');
    for (let i = 0; i < all.length; i += 3) {
      sink.accept(all.slice(i, i + 3));
      sink.commit(); // as core does before forwarding
      // Traffic over time, at a pace the healthy logger keeps up with (never more than a few batches behind, far
      // less than the limit), however loaded the machine is.
      await waitFor(() => sink.status()[0]!.pending < 40);
    }
    await waitFor(() => stored.length === all.length);
    expect(stored).toEqual(all.map((e) => e.id));
    const [h, d] = sink.status();
    expect(h).toMatchObject({ name: 'healthy', lost: 0, pending: 0 });
    expect(d!.lost).toBeGreaterThan(0);
    expect(d!.lost + d!.pending).toBe(all.length);
    expect(journal.droppedEvents).toBe(0);
    await sink.close({ graceMs: 50 });
    expect((await readJournalState(dir))?.consumers['dead']?.lost).toBe(d!.lost);
  });
});
