/**
 * A journal in a real worker thread, read by the main thread's loggers. The worker runs the built code
 * (`pnpm build` first): a worker cannot load the TypeScript sources.
 */
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import type { ImEvent, LoggerHooks } from '@imspect/sdk';
import { RemoteJournal } from '../src/journal/remote.js';
import { EventSink } from '../src/proxy/event-sink.js';
import { recordingLogger, removeTempDirs, tempDir, waitFor } from './helpers.js';

const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist');

afterAll(removeTempDirs);

/** Opens a journal, appends `count` events through a sink with no loggers (as a relay worker does), serves it. */
const WORKER = (dist: string) => `
import { workerData } from 'node:worker_threads';
import { Journal, serveJournal } from ${JSON.stringify(pathToFileURL(path.join(dist, 'journal/index.js')).href)};
import { EventSink } from ${JSON.stringify(pathToFileURL(path.join(dist, 'proxy/event-sink.js')).href)};
const log = { trace() {}, debug() {}, info() {}, warn() {}, error(obj, msg) { console.error(msg, obj); }, child() { return log; } };
const { dir, port, count } = workerData;
const journal = await Journal.open({ dir, maxBytes: 2 ** 30, segmentBytes: 256 * 1024, fsyncIntervalMs: 50, onFull: 'forward', memoryEvents: 2000 }, ['mem'], log);
const sink = new EventSink([], { batchSize: 100, flushIntervalMs: 10, retryMaxDelayMs: 100, writeTimeoutMs: 1000 }, log, journal);
serveJournal(journal, port);
for (let i = 0; i < count; i += 100) {
  const events = [];
  for (let j = i; j < Math.min(count, i + 100); j++) {
    events.push({ id: 'w-' + String(j).padStart(6, '0'), at: '2026-12-07T20:00:00.000Z', protocol: 'test', direction: 'out', type: 'message',
      localId: 'me', remoteId: 'you', text: 'event ' + j, client: { ip: '127.0.0.1', port: 1 }, server: { host: '127.0.0.1', port: 2 },
      filtered: false, categories: [], data: { n: j } });
  }
  sink.accept(events);
  sink.commit();
  if (i % 2000 === 0) await new Promise((resolve) => setImmediate(resolve));
}
`;

describe('RemoteJournal with a worker thread', () => {
  it("main's loggers get all 20,000 events a worker journals, once each and in order; closing closes the worker's journal", async () => {
    expect(existsSync(path.join(DIST, 'journal/remote.js')), `${DIST} lacks the remote journal: run pnpm build first`).toBe(true);
    const dir = await tempDir('imspect-worker-journal-');
    const script = path.join(dir, 'worker.mjs');
    await writeFile(script, WORKER(DIST));
    const journalDir = path.join(dir, 'relay-0');
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(script, { workerData: { dir: journalDir, port: port2, count: 20_000 }, transferList: [port2] });
    const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
    const workerErrors: unknown[] = [];
    worker.on('error', (error) => workerErrors.push(error));

    const log = recordingLogger();
    const remote = await RemoteJournal.connect(port1, log);
    const stored: ImEvent[] = [];
    const hooks: LoggerHooks = {
      async write(batch) {
        stored.push(...batch);
      },
    };
    const sink = new EventSink([{ name: 'mem', hooks }], { batchSize: 100, maxBatchSize: 1000, flushIntervalMs: 10, retryMaxDelayMs: 100, writeTimeoutMs: 5_000 }, log, undefined, [
      remote,
    ]);
    await waitFor(() => stored.length >= 20_000, 30_000, 'all events stored');
    expect(stored.length).toBe(20_000);
    expect(stored.every((e, i) => e.id === `w-${String(i).padStart(6, '0')}` && e.text === `event ${i}` && e.data?.['n'] === i)).toBe(true);
    await sink.close();
    // The worker's journal was closed on request: its port closed, nothing else keeps the worker alive.
    expect(await exited).toBe(0);
    expect(workerErrors).toEqual([]);
    expect(remote.snapshot().consumers['mem']!.position).toBe(20_000);
    expect(log.records.filter((r) => r.level === 'error')).toEqual([]);
    // Everything was delivered: the worker's journal kept at most its active segment.
    expect((await readdir(journalDir)).filter((n) => n.endsWith('.seg')).length).toBeLessThanOrEqual(1);
  });
});
