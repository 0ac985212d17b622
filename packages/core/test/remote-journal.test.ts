import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import type { ImEvent, LoggerHooks } from '@imspect/sdk';
import { Journal, type JournalOptions } from '../src/journal/journal.js';
import { RemoteJournal, serveJournal, type ServedJournal } from '../src/journal/remote.js';
import { EventSink, type EventSinkOptions } from '../src/proxy/event-sink.js';
import { recordingLogger, removeTempDirs, tempDir, textEvents, waitFor } from './helpers.js';

const SINK: EventSinkOptions = { batchSize: 50, maxBatchSize: 1000, flushIntervalMs: 5, retryMaxDelayMs: 20, writeTimeoutMs: 5_000 };
const JOURNAL: Omit<JournalOptions, 'dir'> = { maxBytes: 1024 * 1024 * 1024, segmentBytes: 16 * 1024, fsyncIntervalMs: 10, onFull: 'forward', memoryEvents: 200 };

afterAll(removeTempDirs);

function storingLogger() {
  const stored: ImEvent[] = [];
  const hooks: LoggerHooks = {
    async write(batch) {
      stored.push(...batch);
    },
  };
  return { hooks, stored };
}

const segmentsIn = async (dir: string) => (await readdir(dir)).filter((n) => n.endsWith('.seg'));

/** A worker's journal on disk served over one end of a channel, and the main side over the other. */
async function remotePair(consumers = ['mem'], serve: (journal: Journal) => ServedJournal = (j) => j) {
  const dir = await tempDir('imspect-remote-');
  const log = recordingLogger();
  const journal = await Journal.open({ dir, ...JOURNAL }, consumers, log);
  const { port1, port2 } = new MessageChannel();
  serveJournal(serve(journal), port1);
  const remote = await RemoteJournal.connect(port2, log);
  return { dir, journal, remote, log, port1, port2 };
}

describe('RemoteJournal over a MessageChannel', () => {
  it('delivers every event of the served journal exactly once and in order, and its acks delete segments there', async () => {
    const { dir, journal, remote, log } = await remotePair();
    const logger = storingLogger();
    const sink = new EventSink([{ name: 'mem', hooks: logger.hooks }], SINK, log, undefined, [remote]);
    const sent = textEvents(3000, 'r');
    for (let i = 0; i < sent.length; i += 30) {
      journal.append(sent.slice(i, i + 30));
      journal.commit();
      if (i % 600 === 0) await new Promise((r) => setImmediate(r));
    }
    // Small segments and a small memory window: most batches are read back from the segment files.
    await waitFor(() => logger.stored.length >= 3000, 10_000, 'all events stored');
    expect(logger.stored.map((e) => e.id)).toEqual(sent.map((e) => e.id));
    expect(logger.stored[1234]).toEqual(sent[1234]);
    await waitFor(() => journal.position('mem') === 3000, 5_000, 'acks applied in the worker');
    await waitFor(() => remote.snapshot().consumers['mem']!.delivered === 3000, 5_000, 'state mirrored');
    expect(remote.pending('mem')).toBe(0);
    expect(sink.status()).toEqual([{ name: 'mem', pending: 0, delivered: 3000, failures: 0, lost: 0 }]);
    // Delivered segments are deleted on the worker's side, as for a local logger.
    await waitFor(() => journal.snapshot().bytes < 16 * 1024, 5_000, 'delivered segments deleted');
    expect((await segmentsIn(dir)).length).toBeLessThanOrEqual(2);
    await sink.close();
    expect(journal.available).toBe(false);
    expect(remote.available).toBe(false);
  });

  it('answers pending, position and consumerState at once from its mirror, ahead of the worker with its own acks', async () => {
    const { journal, remote } = await remotePair(['a', 'b']);
    expect(remote.consumers()).toEqual(['a', 'b']);
    expect(remote.durable).toBe(true);
    let told = 0;
    remote.onEventsReadable(() => told++);
    journal.append(textEvents(10));
    journal.commit();
    journal.append(textEvents(10));
    journal.commit();
    await waitFor(() => remote.pending('a') === 20, 2_000, 'head mirrored');
    expect(told).toBe(1); // two commits in one turn: one message
    const batch = await remote.read(0, 15);
    expect(batch.first).toBe(0);
    expect(batch.events.map((e) => e.text)).toEqual(textEvents(15).map((_, i) => (i < 10 ? `e${i}` : `e${i - 10}`)));
    remote.ack('a', 15, 0);
    expect(remote.position('a')).toBe(15);
    expect(remote.pending('a')).toBe(5);
    expect(remote.consumerState('b').position).toBe(0);
    expect(() => remote.position('nobody')).toThrow('unknown consumer "nobody"');
    await waitFor(() => journal.position('a') === 15, 2_000, 'ack applied');
    await remote.close();
  });

  it("a request the worker's journal refuses is logged on the main side; the worker goes on serving", async () => {
    const { journal, remote, log, port2 } = await remotePair();
    port2.postMessage({ t: 'ack', consumer: 'nobody', position: 1 });
    await waitFor(() => log.records.some((r) => r.msg?.includes('its worker refused a request: journal: unknown consumer "nobody"')), 2_000, 'refusal logged');
    journal.append(textEvents(3));
    journal.commit();
    expect((await remote.read(0, 10)).events).toHaveLength(3);
    await remote.close();
  });

  it('a read that fails in the worker is a rejected promise with its reason; the queue retries it', async () => {
    let failuresLeft = 1;
    const { journal, remote, log } = await remotePair(['mem'], (j) => ({
      get name() {
        return j.name;
      },
      get durable() {
        return j.durable;
      },
      read: (from, max) => {
        if (failuresLeft-- > 0) throw new Error('EIO: the segment could not be read');
        return j.read(from, max);
      },
      ack: (c, p, f) => j.ack(c, p, f),
      recordFailure: (c, m) => j.recordFailure(c, m),
      onEventsReadable: (l) => j.onEventsReadable(l),
      snapshot: () => j.snapshot(),
      close: () => j.close(),
    }));
    const logger = storingLogger();
    const sink = new EventSink([{ name: 'mem', hooks: logger.hooks }], SINK, log, undefined, [remote]);
    journal.append(textEvents(100));
    journal.commit();
    await waitFor(() => logger.stored.length === 100, 5_000, 'stored after the retry');
    const failure = log.records.find((r) => r.msg?.includes('failed to write'));
    expect(String((failure?.obj as { err?: Error })?.err?.message)).toContain('reading events from 0 failed in its worker: EIO: the segment could not be read');
    await waitFor(() => journal.consumerState('mem').failures === 1, 2_000, 'failure recorded in the worker');
    await sink.close();
  });

  it('a port that closes (the worker died) fails the reads waiting on it, without a crash; close still completes', async () => {
    let stall = true;
    const { journal, remote, log, port1 } = await remotePair(['mem'], (j) => ({
      get name() {
        return j.name;
      },
      get durable() {
        return j.durable;
      },
      // The first read never answers: it is in flight when the worker goes.
      read: (from, max) => (stall ? new Promise(() => undefined) : j.read(from, max)),
      ack: (c, p, f) => j.ack(c, p, f),
      recordFailure: (c, m) => j.recordFailure(c, m),
      onEventsReadable: (l) => j.onEventsReadable(l),
      snapshot: () => j.snapshot(),
      close: () => j.close(),
    }));
    const logger = storingLogger();
    const sink = new EventSink([{ name: 'mem', hooks: logger.hooks }], SINK, log, undefined, [remote]);
    journal.append(textEvents(100));
    journal.commit();
    await waitFor(() => remote.pending('mem') === 100, 2_000, 'head mirrored');
    await new Promise((r) => setTimeout(r, 20));
    port1.close();
    await waitFor(() => log.records.some((r) => r.msg?.includes('failed to write')), 2_000, 'the failed read reported');
    const failure = log.records.find((r) => r.msg?.includes('failed to write'));
    expect(String((failure?.obj as { err?: Error })?.err?.message)).toContain('its worker is gone (the port closed)');
    expect(remote.available).toBe(false);
    stall = false;
    await expect(remote.read(0, 10)).rejects.toThrow('its worker is gone');
    // Its events stay pending (on disk, for the next start), and shutdown does not wait for them.
    expect(sink.status()[0]!.pending).toBe(100);
    await sink.close();
    expect(log.records.some((r) => r.msg?.includes('could not store 100 events before shutdown; they stay in the journal'))).toBe(true);
    expect(logger.stored).toEqual([]);
    await journal.close();
  });

  it('loggers reading the same events share one request and one decoded batch, until every one of them is past it', async () => {
    const { journal, remote, port2 } = await remotePair(['a', 'b']);
    const reads: number[] = [];
    const post = port2.postMessage.bind(port2);
    port2.postMessage = (message: { t?: string; from?: number }, transfer?: never) => {
      if (message?.t === 'read') reads.push(message.from!);
      post(message, transfer);
    };
    journal.append(textEvents(30));
    journal.commit();
    const [a, b] = await Promise.all([remote.read(0, 20), remote.read(0, 20)]);
    expect(reads).toEqual([0]);
    expect(b.events).toBe(a.events); // the same array: loggers get events read-only
    expect(a.events.map((e) => e.text)).toEqual(textEvents(20).map((e) => e.text));
    // A read inside a batch at hand gets the rest of it, up to its own limit.
    expect(await remote.read(5, 10)).toEqual({ first: 5, events: a.events.slice(5, 15) });
    expect((await remote.read(15, 100)).events.map((e) => e.text)).toEqual(['e15', 'e16', 'e17', 'e18', 'e19']);
    expect(reads).toEqual([0]);
    remote.ack('a', 20, 0);
    await remote.read(0, 20); // b has not passed it: still at hand
    expect(reads).toEqual([0]);
    remote.ack('b', 20, 0);
    expect((await remote.read(0, 20)).events).not.toBe(a.events); // passed by both: forgotten, read anew
    expect(reads).toEqual([0, 0]);
    await remote.close();
    // Closed: reads fail, even of events still at hand.
    await expect(remote.read(0, 20)).rejects.toThrow('closed (reading events from 0)');
  });

  it('two loggers over a worker journal each store every event once and in order, with fewer reads than batches', async () => {
    const { journal, remote, log, port2 } = await remotePair(['a', 'b']);
    let reads = 0;
    const post = port2.postMessage.bind(port2);
    port2.postMessage = (message: { t?: string }, transfer?: never) => {
      if (message?.t === 'read') reads++;
      post(message, transfer);
    };
    const a = storingLogger();
    const b = storingLogger();
    let batches = 0;
    const counted = (hooks: LoggerHooks): LoggerHooks => ({ write: (events) => (batches++, hooks.write(events)) });
    const sink = new EventSink(
      [
        { name: 'a', hooks: counted(a.hooks) },
        { name: 'b', hooks: counted(b.hooks) },
      ],
      SINK,
      log,
      undefined,
      [remote],
    );
    const sent = textEvents(3000, 'r');
    for (let i = 0; i < sent.length; i += 30) {
      journal.append(sent.slice(i, i + 30));
      journal.commit();
      if (i % 600 === 0) await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => a.stored.length >= 3000 && b.stored.length >= 3000, 10_000, 'all events stored by both');
    expect(a.stored.map((e) => e.id)).toEqual(sent.map((e) => e.id));
    expect(b.stored.map((e) => e.id)).toEqual(sent.map((e) => e.id));
    expect(reads).toBeLessThan(batches);
    await waitFor(() => journal.position('a') === 3000 && journal.position('b') === 3000, 5_000, 'acks applied in the worker');
    await sink.close();
  });

  it('connect fails with a clear message when the port closes before the worker reported', async () => {
    const { port1, port2 } = new MessageChannel();
    const connecting = RemoteJournal.connect(port2, recordingLogger());
    port1.close();
    await expect(connecting).rejects.toThrow('the worker closed its port before reporting its journal');
  });
});

describe('EventSink over several journals', () => {
  it('delivers the journal it appends to and one left by an earlier run; status sums them per logger; close closes both', async () => {
    const base = await tempDir('imspect-sinks-');
    const left = path.join(base, 'relay-3');
    const log = recordingLogger();
    // An earlier run's relay journal with events its loggers never got.
    const earlier = await Journal.open({ dir: left, ...JOURNAL }, ['a', 'b'], log);
    earlier.append(textEvents(40, 'old'));
    await earlier.close();
    const reopened = await Journal.open({ dir: left, ...JOURNAL }, ['a', 'b'], log);
    const own = await Journal.open({ dir: base, ...JOURNAL }, ['a', 'b'], log);
    expect(own.head).toBe(0); // the base folder's scan leaves the relay folders alone
    const a = storingLogger();
    const b = storingLogger();
    const sink = new EventSink(
      [
        { name: 'a', hooks: a.hooks },
        { name: 'b', hooks: b.hooks },
      ],
      SINK,
      log,
      own,
    );
    sink.addJournal(reopened);
    sink.addJournal(reopened); // once only
    sink.accept(textEvents(25, 'new'));
    sink.commit();
    await waitFor(() => a.stored.length === 65 && b.stored.length === 65, 5_000, 'both journals delivered');
    for (const stored of [a.stored, b.stored]) {
      expect(stored.filter((e) => e.text!.startsWith('old')).map((e) => e.text)).toEqual(textEvents(40, 'old').map((e) => e.text));
      expect(stored.filter((e) => e.text!.startsWith('new')).map((e) => e.text)).toEqual(textEvents(25, 'new').map((e) => e.text));
    }
    expect(sink.status()).toEqual([
      { name: 'a', pending: 0, delivered: 65, failures: 0, lost: 0 },
      { name: 'b', pending: 0, delivered: 65, failures: 0, lost: 0 },
    ]);
    expect(sink.pending).toBe(0);
    // The console's view of the journals: both, summed.
    expect(sink.journalState()).toMatchObject({ head: 65, maxBytes: 2 * JOURNAL.maxBytes, dropped: 0, full: false });
    await sink.close();
    expect(own.available).toBe(false);
    expect(reopened.available).toBe(false);
    expect(() => sink.addJournal(Journal.inMemory(['a'], log))).toThrow('while the sink is closing');
  });

  it('status sums pending and counts per logger over the journals, with the latest error of any', async () => {
    const log = recordingLogger();
    const one = Journal.inMemory(['x', 'y'], log);
    const two = Journal.inMemory(['x'], log); // a journal without logger y gives it nothing to deliver
    const never: LoggerHooks = { write: () => new Promise<void>(() => undefined) };
    const sink = new EventSink(
      [
        { name: 'x', hooks: never },
        { name: 'y', hooks: never },
      ],
      { ...SINK, batchSize: 1000, flushIntervalMs: 60_000, writeTimeoutMs: 100 },
      log,
      one,
      [two],
    );
    one.append(textEvents(3));
    two.append(textEvents(4));
    one.recordFailure('x', 'first');
    await new Promise((r) => setTimeout(r, 5));
    two.recordFailure('x', 'second');
    const [x, y] = sink.status();
    expect(x).toMatchObject({ name: 'x', pending: 7, failures: 2, lastError: 'second' });
    expect(y).toMatchObject({ name: 'y', pending: 3, failures: 0 });
    expect(sink.pending).toBe(10);
    await sink.close({ graceMs: 50 });
  });

  it('a sink with no loggers over a journal (a relay worker) journals and serves it unchanged', async () => {
    const dir = await tempDir('imspect-workersink-');
    const log = recordingLogger();
    const journal = await Journal.open({ dir, ...JOURNAL }, ['mem'], log);
    const workerSink = new EventSink([], SINK, log, journal);
    const { port1, port2 } = new MessageChannel();
    serveJournal(journal, port1);
    const remote = await RemoteJournal.connect(port2, log);
    const logger = storingLogger();
    const mainSink = new EventSink([{ name: 'mem', hooks: logger.hooks }], SINK, log, undefined, [remote]);
    workerSink.accept(textEvents(500));
    workerSink.commit();
    await waitFor(() => logger.stored.length === 500, 5_000, 'stored');
    expect(workerSink.status()).toEqual([]);
    expect(workerSink.pending).toBe(0);
    await mainSink.close();
    await workerSink.close(); // the journal is closed already
    expect(logger.stored.map((e) => e.text)).toEqual(textEvents(500).map((e) => e.text));
  });
});

describe('Journal.onEventsReadable', () => {
  it('tells every listener, goes on past a failing one, and stops telling a removed one', () => {
    const log = recordingLogger();
    const journal = Journal.inMemory(['a'], log);
    const heard: string[] = [];
    const off = journal.onEventsReadable(() => heard.push('one'));
    journal.onEventsReadable(() => {
      throw new Error('listener broke');
    });
    journal.onEventsReadable(() => heard.push('two'));
    journal.append(textEvents(1));
    off();
    journal.append(textEvents(1));
    expect(heard).toEqual(['one', 'two', 'two']);
    expect(log.records.filter((r) => r.msg === 'journal: a listener for new events failed')).toHaveLength(2);
  });
});

describe('journal folders', () => {
  it('lists the relay-<i> folders by index, and the base journal ignores them', async () => {
    const { journalFolders, relayJournalDir } = await import('../src/journal/folders.js');
    const base = await tempDir('imspect-folders-');
    expect(await journalFolders(path.join(base, 'absent'))).toEqual([]);
    for (const i of [10, 2, 0]) {
      const journal = await Journal.open({ dir: relayJournalDir(base, i), ...JOURNAL }, ['a'], recordingLogger());
      journal.append(textEvents(5));
      await journal.close();
    }
    await mkdir(path.join(base, 'relay-x'));
    await writeFile(path.join(base, 'relay-4'), 'a file, not a folder');
    expect(await journalFolders(base)).toEqual([0, 2, 10].map((i) => path.join(base, `relay-${i}`)));
    const own = await Journal.open({ dir: base, ...JOURNAL }, ['a'], recordingLogger());
    expect(own.head).toBe(0);
    expect(own.pending('a')).toBe(0);
    await own.close();
    expect(() => relayJournalDir(base, -1)).toThrow('whole number');
  });
});
