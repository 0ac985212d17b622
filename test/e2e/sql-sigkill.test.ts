/**
 * imspect killed with SIGKILL in the middle of a conversation, then started again: every event it accepted
 * (everything the server received through it) must end up in the archive exactly once. Loggers are set to
 * wait long before writing, so at the kill most events exist only in the journal.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openArchive, resolveTarget, type ArchiveStore } from '../../packages/logger-sql/dist/index.js';
import { readCsvLogs } from '../support/csv-logs.js';
import { runCli, waitUntil } from '../support/cli-run.js';
import { createPostgresDatabase, postgresMissing, type TestDatabase } from '../support/databases.js';
import { describeWithService } from '../support/e2e.js';
import { startImspect, type RunningImspect } from '../support/imspect-process.js';
import { freePort } from '../support/ngircd.js';
import { connectScriptedClient, startScriptedIrcServer, type ScriptedIrcServer } from '../support/scripted-irc.js';

function sigkillSuite(makeUrl: () => Promise<{ url: string; cleanup(): Promise<void> }>) {
  let dir: string;
  let server: ScriptedIrcServer;
  let imspect: RunningImspect | undefined;
  let archive: ArchiveStore | undefined;
  let cleanup: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-sql-kill-'));
    server = await startScriptedIrcServer();
  });

  afterAll(async () => {
    await imspect?.stop();
    await archive?.close();
    await server?.close();
    await cleanup?.();
    await rm(dir, { recursive: true, force: true });
  });

  it('stores every accepted event exactly once after a SIGKILL mid-burst and a restart', async () => {
    const made = await makeUrl();
    cleanup = made.cleanup;
    const port = await freePort();
    const config = (flushIntervalMs: number) =>
      [
        'listeners:',
        `  - { type: forward, port: ${port}, upstream: { host: 127.0.0.1, port: ${server.port} }, protocol: irc }`,
        'plugins:',
        `  logger-sql: { options: { url: "${made.url}" } }`,
        `loggers: { flushIntervalMs: ${flushIntervalMs}, batchSize: 5000 }`,
        '',
      ].join('\n');
    const configFile = path.join(dir, 'imspect.config.yaml');
    await writeFile(configFile, config(300));
    archive = openArchive(resolveTarget({ url: made.url }, path.join(dir, 'imspect-data')));

    imspect = await startImspect([], { cwd: dir });
    const alice = await connectScriptedClient(port, 'alice');
    for (let i = 0; i < 100; i++) alice.say('#chan', `first ${i} ✓`);
    await waitUntil(async () => (await archive!.count().catch(() => 0)) === 101, 20_000, 'the first phase stored');

    // Second phase: loggers now wait 60 s before writing a partial batch, so what follows stays in the journal.
    await imspect.stop();
    await writeFile(configFile, config(60_000));
    imspect = await startImspect([], { cwd: dir });
    const bob = await connectScriptedClient(port, 'bob');
    let sending = true;
    bob.socket.on('error', () => (sending = false));
    bob.socket.on('close', () => (sending = false));
    let i = 0;
    const receivedBefore = server.received.length;
    while (sending && server.received.length < receivedBefore + 400) {
      bob.say(i % 3 ? '#chan' : 'alice', `burst ${i++} 😀 你好`);
      if (i % 20 === 0) await new Promise((r) => setTimeout(r, 2));
    }
    // Killed while bob is still sending.
    const killed = new Promise((resolve) => imspect!.child.once('exit', resolve));
    imspect.child.kill('SIGKILL');
    for (let k = 0; k < 100 && sending; k++) {
      bob.say('#chan', `burst ${i++} 😀 你好`);
      await new Promise((r) => setImmediate(r));
    }
    await killed;
    imspect = undefined;
    bob.close();
    alice.close();
    await new Promise((r) => setTimeout(r, 300));
    const received = [...server.received];
    const accepted = received.length - 100;
    expect(accepted).toBeGreaterThan(100);
    // Nothing of the burst was stored before the kill (the loggers were waiting to fill a batch): all of it
    // must come from the journal.
    expect(await archive.count()).toBe(101);

    await writeFile(configFile, config(20));
    imspect = await startImspect([], { cwd: dir });
    // Every message the server received is stored, plus at most the few the killed imspect had accepted
    // (journaled) but not yet written to the server: the rest of the chunk it was relaying, in order.
    const storedMessages = async () => (await archive!.search({ limit: 0 })).filter((m) => m.type === 'message');
    try {
      await waitUntil(async () => (await storedMessages()).length >= received.length, 30_000, `the archive to hold ${received.length} messages`);
    } catch (error) {
      throw new Error(`${(error as Error).message}; it holds ${(await storedMessages()).length}; imspect said:\n${imspect.stderr().slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 500));
    const stored = await archive.search({ limit: 0 });
    expect(new Set(stored.map((m) => m.eventId)).size).toBe(stored.length);
    expect(stored.filter((m) => m.type === 'login')).toHaveLength(2);
    const texts = stored.filter((m) => m.type === 'message').map((m) => m.text!);
    expect(texts.slice(0, received.length)).toEqual(received);
    const extra = texts.slice(received.length);
    const lastReceived = Number(/^burst (\d+)/.exec(received.at(-1)!)![1]);
    expect(extra).toEqual(extra.map((_, k) => `burst ${lastReceived + 1 + k} 😀 你好`));
    expect(extra.length).toBeLessThan(200);
    // The CSV logger gets the same journal: nothing lost there either, and nothing repeated (it skips the
    // events its files already hold; test/e2e/csv-sigkill.test.ts kills it mid-write several times).
    const csvRows = await readCsvLogs(path.join(dir, 'imspect-data/logs'));
    const csvSet = new Set(csvRows.filter((r) => r.type === 1).map((r) => r.text));
    expect(received.filter((t) => !csvSet.has(t))).toEqual([]);
    expect(new Set(csvRows.map((r) => r.eventId)).size).toBe(csvRows.length);
    const status = JSON.parse((await runCli(['status', '--json'], dir)).stdout) as { loggers: Array<{ name: string; pending: number }> };
    expect(status.loggers.every((l) => l.pending === 0)).toBe(true);
    expect(await imspect.stop()).toBe(0);
    imspect = undefined;
  }, 150_000);
}

describe('SIGKILL mid-conversation, SQLite archive', () => {
  sigkillSuite(async () => ({ url: '', cleanup: async () => undefined }));
});

describeWithService('SIGKILL mid-conversation, PostgreSQL archive', await postgresMissing(), () => {
  sigkillSuite(async () => {
    const db: TestDatabase = await createPostgresDatabase();
    return { url: db.url, cleanup: () => db.drop() };
  });
});
