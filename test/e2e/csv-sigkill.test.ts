/**
 * imspect killed with SIGKILL several times in the middle of a burst of IRC messages, and started again each
 * time: the journal delivers again what the CSV logger had not acknowledged (its saved position is rewritten
 * at most every 100 ms, so it is often a few batches old). Every message the server received must be in the
 * CSV logs exactly once, and every file must still be whole rows of valid CSV.
 */
import { access, appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLUMNS, csvRow } from '../../packages/logger-csv/dist/index.js';
import { parseCsv, readCsvLogs } from '../support/csv-logs.js';
import { waitUntil } from '../support/cli-run.js';
import { startImspect, type RunningImspect } from '../support/imspect-process.js';
import { freePort } from '../support/ngircd.js';
import { connectScriptedClient, startScriptedIrcServer, type ScriptedIrcServer } from '../support/scripted-irc.js';

const KILLS = 4;
/** Messages the server receives in each round before the kill (the kill comes while more are being sent). */
const PER_ROUND = 1500;

describe('SIGKILL mid-burst, CSV logs', () => {
  let dir: string;
  let server: ScriptedIrcServer;
  let imspect: RunningImspect | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-csv-kill-'));
    server = await startScriptedIrcServer();
  });

  afterAll(async () => {
    await imspect?.stop();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('logs every event received by the other side exactly once, in files of whole rows', async () => {
    const port = await freePort();
    await writeFile(
      path.join(dir, 'imspect.config.yaml'),
      [
        'listeners:',
        `  - { type: forward, port: ${port}, upstream: { host: 127.0.0.1, port: ${server.port} }, protocol: irc }`,
        'plugins:',
        '  logger-sql: { enabled: false }',
        // Small, frequent batches: at a kill, the saved position is usually several written batches old.
        'loggers: { flushIntervalMs: 10, batchSize: 200 }',
        '',
      ].join('\n'),
    );
    const logs = path.join(dir, 'imspect-data/logs');
    let sent = 0;
    for (let round = 0; round < KILLS; round++) {
      imspect = await startImspect([], { cwd: dir });
      const client = await connectScriptedClient(port, `user${round}`);
      let sending = true;
      client.socket.on('error', () => (sending = false));
      client.socket.on('close', () => (sending = false));
      const target = server.received.length + PER_ROUND;
      // The last round tears a row in each of its two files (below), so it goes on until the logger has written
      // both: on a loaded machine the logger can lag the burst by more than a round.
      const roundUser = path.join(logs, 'irc', '127.0.0.1', `user${round}`);
      let filesWritten = round < KILLS - 1;
      const checkFiles = async () => {
        filesWritten ||= await Promise.all(['#chan', 'peer'].map((peer) => access(path.join(roundUser, peer)))).then(
          () => true,
          () => false,
        );
      };
      // Quotes and commas make the logger quote fields, as real chat does.
      const say = () => client.say(sent % 4 ? '#chan' : 'peer', `round ${round} message ${sent++}, "quoted" 😀`);
      while (sending && (server.received.length < target || !filesWritten)) {
        say();
        if (sent % 25 === 0) {
          await new Promise((r) => setTimeout(r, 1));
          if (!filesWritten && sent % 500 === 0) await checkFiles();
        }
      }
      const killed = new Promise((resolve) => imspect!.child.once('exit', resolve));
      imspect.child.kill('SIGKILL');
      for (let k = 0; k < 200 && sending; k++) {
        say();
        await new Promise((r) => setImmediate(r));
      }
      await killed;
      imspect = undefined;
      client.close();
    }
    await new Promise((r) => setTimeout(r, 300));
    const received = [...server.received];
    expect(received.length).toBeGreaterThanOrEqual(KILLS * PER_ROUND);

    // A kill seldom lands inside the write() of an append, so two torn rows are made by hand, in the files of
    // the last round (the journal still holds events for them): one cut inside a field, one right after a line
    // feed inside a quoted text (the file then ends with a line feed but not with a row).
    const lastUser = path.join(logs, 'irc', '127.0.0.1', `user${KILLS - 1}`); // IRC: {protocol}/{network}/{localId}
    const tornFiles: string[] = [];
    for (const peer of ['#chan', 'peer']) {
      for (const day of await readdir(path.join(lastUser, peer))) tornFiles.push(path.join(lastUser, peer, day));
    }
    expect(tornFiles, tornFiles.join(' ')).toHaveLength(2);
    await appendFile(tornFiles[0]!, '127.0.0.1:40000,1765000000,1,1,0,,,"half a');
    await appendFile(tornFiles[1]!, '127.0.0.1:40000,1765000000,1,1,0,,,"a text with\n');

    // The last start delivers what is left in the journal.
    imspect = await startImspect([], { cwd: dir });
    const messages = async () => (await readCsvLogs(logs)).filter((r) => r.type === 1);
    try {
      await waitUntil(async () => (await messages()).length >= received.length, 60_000, `the CSV logs to hold ${received.length} messages`);
    } catch (error) {
      throw new Error(`${(error as Error).message}; they hold ${(await messages()).length}; imspect said:\n${imspect.stderr().slice(-3000)}`);
    }
    expect(await imspect.stop()).toBe(0);
    // The two rows torn by hand, and any a kill happened to tear inside a write.
    expect((imspect.stdout() + imspect.stderr()).split('\n').filter((line) => line.includes('incomplete last row')).length).toBeGreaterThanOrEqual(2);
    imspect = undefined;

    // Every file is whole rows of valid CSV: read strictly and written again, it is the same bytes.
    const files = (await readdir(logs, { recursive: true, withFileTypes: true })).filter((e) => e.isFile() && e.name.endsWith('.csv'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const text = await readFile(path.join(file.parentPath, file.name), 'utf8');
      const rows = parseCsv(text);
      expect(rows.filter((r) => r.length !== COLUMNS.length)).toEqual([]);
      expect(rows.map((r) => csvRow(r)).join('')).toBe(text);
    }

    const all = await readCsvLogs(logs);
    const seen = new Map<string, number>();
    for (const row of all) seen.set(row.eventId, (seen.get(row.eventId) ?? 0) + 1);
    const repeated = [...seen].filter(([, n]) => n > 1);
    expect(repeated.length, `${repeated.length} event ids logged more than once, e.g. ${repeated.slice(0, 3).join(' ')}`).toBe(0);
    expect(all.every((r) => r.eventId.length > 0)).toBe(true);
    const logged = new Map<string, number>();
    for (const row of all) if (row.type === 1) logged.set(row.text, (logged.get(row.text) ?? 0) + 1);
    expect(received.filter((t) => logged.get(t) !== 1)).toEqual([]);
  }, 240_000);
});
