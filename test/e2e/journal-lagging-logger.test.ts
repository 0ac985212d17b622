/**
 * One logger dead (SQL pointed at a port where no database listens), one healthy (CSV), a small journal limit and
 * `onFull: forward`: the dead logger's backlog fills the journal, yet the CSV logger still gets every event; the
 * dead one gives up its oldest events, and `imspect status --json` counts exactly what it lost.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCsvLogs } from '../support/csv-logs.js';
import { runCli, waitUntil } from '../support/cli-run.js';
import { startImspect, type RunningImspect } from '../support/imspect-process.js';
import { freePort } from '../support/ngircd.js';
import { connectScriptedClient, startScriptedIrcServer, type ScriptedIrcServer } from '../support/scripted-irc.js';

const MESSAGES = 600;

interface Status {
  head: number;
  full: boolean;
  dropped: number;
  complete: boolean;
  loggers: Array<{ name: string; pending: number; position: number; lost: number; lastError: string | null }>;
}

describe('journal limit with a dead logger and onFull: forward', () => {
  let dir: string;
  let server: ScriptedIrcServer;
  let imspect: RunningImspect | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-journal-lagging-'));
    server = await startScriptedIrcServer();
  });

  afterAll(async () => {
    await imspect?.stop();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('the healthy logger gets every event; the dead one loses its oldest, counted in status', async () => {
    const port = await freePort();
    const nowhere = await freePort(); // nothing listens there: every write of the SQL logger fails
    await writeFile(
      path.join(dir, 'imspect.config.yaml'),
      [
        'listeners:',
        `  - { type: forward, port: ${port}, upstream: { host: 127.0.0.1, port: ${server.port} }, protocol: irc }`,
        'plugins:',
        '  logger-csv: { options: { dir: logs } }',
        `  logger-sql: { options: { url: "postgres://nobody@127.0.0.1:${nowhere}/none", connectTimeoutMs: 300 } }`,
        'loggers: { flushIntervalMs: 10, retryMaxDelayMs: 200, shutdownTimeoutMs: 500, writeTimeoutMs: 2000, journal: { maxBytes: 131072, onFull: forward, memoryEvents: 20 } }',
        'log: { format: json }',
        '',
      ].join('\n'),
    );
    imspect = await startImspect([], { cwd: dir });
    const client = await connectScriptedClient(port, 'carol');
    const sent: string[] = [];
    for (let i = 0; i < MESSAGES; i++) {
      const text = `lagging ${i} ${'y'.repeat(400)}`;
      sent.push(text);
      client.say('#chan', text);
      // Traffic over time: the healthy logger stays far less behind than the limit, the dead one falls far past it.
      if (i % 20 === 19) await new Promise((r) => setTimeout(r, 40));
    }
    await waitUntil(() => server.received.length === MESSAGES, 20_000, 'every message to be relayed');

    // Every event (the login and each message) reaches the CSV logger, once.
    const csvDir = path.join(dir, 'imspect-data/logs');
    await waitUntil(async () => (await readCsvLogs(csvDir).catch(() => [])).length >= 1 + MESSAGES, 20_000, 'the CSV logger to have every event');
    const rows = await readCsvLogs(csvDir);
    expect(rows).toHaveLength(1 + MESSAGES);
    expect(new Set(rows.map((r) => r.eventId)).size).toBe(1 + MESSAGES);
    expect(
      rows
        .filter((r) => r.text.startsWith('lagging '))
        .map((r) => r.text)
        .sort(),
    ).toEqual([...sent].sort());

    const status = async () => JSON.parse((await runCli(['status', '--json'], dir)).stdout) as Status;
    let s: Status | undefined;
    await waitUntil(
      async () => ((s = await status()), s.loggers.find((l) => l.name === 'logger-csv')?.position === 1 + MESSAGES),
      10_000,
      'status to show the CSV logger caught up',
    );
    const csv = s!.loggers.find((l) => l.name === 'logger-csv')!;
    const sql = s!.loggers.find((l) => l.name === 'logger-sql')!;
    expect(s!.head).toBe(1 + MESSAGES);
    expect(s!.dropped).toBe(0);
    expect(csv).toMatchObject({ lost: 0, pending: 0, position: 1 + MESSAGES });
    // The dead logger: what it lost plus what still waits for it is every event; nothing is unaccounted for.
    expect(sql.lost).toBeGreaterThan(0);
    expect(sql.lost + sql.pending).toBe(1 + MESSAGES);
    expect(sql.lastError).toMatch(/logger-sql/);
    expect(s!.complete).toBe(false);
    expect(imspect.stderr()).toMatch(/logger \\"logger-sql\\" is behind: its \d+ oldest events were given up for it/);

    const human = await runCli(['status'], dir);
    expect(human.stdout).toMatch(new RegExp(`logger logger-sql: .*EVENTS LOST: ${sql.lost} given up for it`));
    client.close();
    await imspect.stop();
    imspect = undefined;
    // Kept across the stop.
    const after = await status();
    expect(after.loggers.find((l) => l.name === 'logger-sql')!.lost).toBe(sql.lost);
  }, 120_000);
});
