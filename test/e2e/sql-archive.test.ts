/**
 * The SQL archive as a user gets it: `imspect start` with no logger settings stores every event in the SQLite
 * file in the data folder (next to the CSV logs); `imspect logs search` and `imspect logs export` read it back,
 * Unicode intact; `imspect status` shows delivery state from the journal.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCsvLogs } from '../support/csv-logs.js';
import { runCli, waitUntil } from '../support/cli-run.js';
import { startImspect, type RunningImspect } from '../support/imspect-process.js';
import { freePort } from '../support/ngircd.js';
import { connectScriptedClient, startScriptedIrcServer, type ScriptedIrcServer } from '../support/scripted-irc.js';

const MESSAGES = ['hello bob', 'héllo wörld ✓', 'emoji 😀👍🏽 here', 'CJK 你好世界', 'the quick brown fox', 'comma, "quote" and\ttab'];

describe('SQL archive end to end (SQLite default)', () => {
  let dir: string;
  let server: ScriptedIrcServer;
  let imspect: RunningImspect | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-sql-e2e-'));
    server = await startScriptedIrcServer();
    const port = await freePort();
    await writeFile(
      path.join(dir, 'imspect.config.yaml'),
      [`listeners:`, `  - { type: forward, port: ${port}, upstream: { host: 127.0.0.1, port: ${server.port} }, protocol: irc }`, `loggers: { flushIntervalMs: 20 }`, ''].join('\n'),
    );
    imspect = await startImspect([], { cwd: dir });
    const alice = await connectScriptedClient(port, 'alice');
    alice.say('#chan', MESSAGES[0]!);
    for (const text of MESSAGES.slice(1)) alice.say(text.startsWith('CJK') ? 'bob' : '#chan', text);
    await waitUntil(() => server.received.length === MESSAGES.length, 10_000, 'the server to receive every message');
    alice.close();
    expect(await imspect.stop()).toBe(0);
    imspect = undefined;
  });

  afterAll(async () => {
    await imspect?.stop();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('created the SQLite archive in the data folder, beside the CSV logs', async () => {
    expect((await stat(path.join(dir, 'imspect-data/archive.sqlite'))).isFile()).toBe(true);
    const csv = await readCsvLogs(path.join(dir, 'imspect-data/logs'));
    expect(
      csv
        .filter((r) => r.type === 1)
        .map((r) => r.text)
        .sort(),
    ).toEqual([...MESSAGES].sort());
    // Registration is logged too (a login event).
    expect(csv.filter((r) => r.type === 5)).toHaveLength(1);
  });

  it('logs search finds by user, peer and words, with Unicode intact', async () => {
    const all = await runCli(['logs', 'search', '--user', 'alice', '--json'], dir);
    expect(all.code).toBe(0);
    const result = JSON.parse(all.stdout) as {
      count: number;
      messages: Array<{ type: string; text: string; remoteId: string; direction: string; protocol: string; eventId: string }>;
    };
    expect(result.messages.map((m) => m.type)).toEqual(['login', ...MESSAGES.map(() => 'message')]);
    expect(result.messages.slice(1).map((m) => m.text)).toEqual(MESSAGES);
    expect(result.messages.slice(1).every((m) => m.direction === 'outgoing' && m.protocol === 'irc')).toBe(true);

    const words = JSON.parse((await runCli(['logs', 'search', '--text', 'QUICK fox', '--json'], dir)).stdout) as typeof result;
    expect(words.messages.map((m) => m.text)).toEqual(['the quick brown fox']);
    const cjk = JSON.parse((await runCli(['logs', 'search', '--text', '你好', '--with', 'bob', '--json'], dir)).stdout) as typeof result;
    expect(cjk.messages.map((m) => m.text)).toEqual(['CJK 你好世界']);
    const limited = JSON.parse((await runCli(['logs', 'search', '--limit', '2', '--protocol', 'irc', '--since', '1h', '--json'], dir)).stdout) as typeof result;
    expect(limited.messages.map((m) => m.text)).toEqual(MESSAGES.slice(-2));
    const future = JSON.parse((await runCli(['logs', 'search', '--since', '2999-01-01', '--json'], dir)).stdout) as typeof result;
    expect(future.count).toBe(0);

    const human = await runCli(['logs', 'search', '--text', 'emoji'], dir);
    expect(human.stdout).toMatch(/irc {2}alice -> #chan {2}emoji 😀👍🏽 here/);
    const bad = await runCli(['logs', 'search', '--since', 'last tuesday-ish'], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/is not a time/);
  });

  it('logs export writes CSV and JSON Lines of a search', async () => {
    const csvFile = path.join(dir, 'out.csv');
    const csv = await runCli(['logs', 'export', '--format', 'csv', '--user', 'alice', '--output', csvFile], dir);
    expect(csv.code).toBe(0);
    const text = await readFile(csvFile, 'utf8');
    const lines = text.split('\r\n').filter((l) => l.length > 0);
    expect(lines[0]).toMatch(/^eventId,at,timestamp,protocol,direction,type,/);
    expect(lines).toHaveLength(1 + 1 + MESSAGES.length); // header, login, messages
    expect(text).toContain('"comma, ""quote"" and\ttab"');
    expect(text).toContain('"CJK 你好世界"');

    const jsonl = await runCli(['logs', 'export', '--format', 'jsonl', '--text', 'wörld'], dir);
    expect(jsonl.code).toBe(0);
    const rows = jsonl.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { text: string; localId: string });
    expect(rows).toEqual([expect.objectContaining({ text: 'héllo wörld ✓', localId: 'alice' })]);
  });

  it('status shows every logger caught up, from the journal state while imspect is stopped', async () => {
    const status = await runCli(['status', '--json'], dir);
    expect(status.code).toBe(0);
    const s = JSON.parse(status.stdout) as { running: boolean; head: number; loggers: Array<{ name: string; pending: number; lastError: string | null }> };
    expect(s.running).toBe(false);
    expect(s.head).toBe(1 + MESSAGES.length);
    expect(s.loggers.map((l) => [l.name, l.pending, l.lastError]).sort()).toEqual([
      ['logger-csv', 0, null],
      ['logger-sql', 0, null],
    ]);
    const human = await runCli(['status'], dir);
    expect(human.stdout).toMatch(/imspect not running/);
    expect(human.stdout).toMatch(/logger logger-sql: 0 waiting/);
  });
});
