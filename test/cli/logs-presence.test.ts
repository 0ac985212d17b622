/**
 * `imspect logs search|export --presence`: presence changes replayed from a real capture are archived, left out
 * of searches and exports by default, added with `include`, alone with `only`.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CAPTURES } from '../../packages/plugin-msn/test/capture-expectations.js';
import { runCli } from '../support/cli-run.js';
import { describeWithService } from '../support/e2e.js';

const CAPTURE = path.join(CAPTURES, 'escargot-msnp8.pcap');
const missing = existsSync(CAPTURE) ? undefined : `the capture is missing: ${CAPTURE}`;

interface Found {
  count: number;
  messages: Array<{ type: string; subtype: string | null; localId: string; remoteId: string; data: Record<string, unknown> | null }>;
}

describeWithService('logs search and export --presence', missing, () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-logs-presence-'));
    await writeFile(path.join(dir, 'imspect.config.json'), JSON.stringify({ dataDir: 'data' }));
    const replayed = await runCli(['replay', CAPTURE, '--to-loggers'], dir);
    expect(replayed.code, replayed.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const search = async (...args: string[]) => {
    const result = await runCli(['logs', 'search', '--limit', '0', '--json', ...args], dir);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as Found;
  };

  it('leaves presence out by default, adds it with include, gives it alone with only', async () => {
    const plain = await search('--user', 't4e@example.com');
    expect(plain.count).toBeGreaterThan(0);
    expect(plain.messages.some((m) => m.subtype === 'status')).toBe(false);
    const only = await search('--user', 't4e@example.com', '--presence', 'only');
    // CHG 6 NLN 0, then the server's ILN for t4e and NLN for t4e and t5e (shared/captures, tshark).
    expect(only.messages.map((m) => [m.type, m.remoteId, m.data?.['status'], m.data?.['protocol-status']])).toEqual([
      ['other', '127.0.0.1', 'online', 'NLN'],
      ['contact', 't4e@example.com', 'online', 'NLN'],
      ['contact', 't4e@example.com', 'online', 'NLN'],
      ['contact', 't5e@example.com', 'online', 'NLN'],
    ]);
    const all = await search('--user', 't4e@example.com', '--presence', 'include');
    expect(all.count).toBe(plain.count + only.count);
    const text = await runCli(['logs', 'search', '--user', 't4e@example.com', '--presence', 'only'], dir);
    expect(text.stdout).toContain('[own status online (NLN)]');
    expect(text.stdout).toContain('t4e@example.com <- t5e@example.com  [status online (NLN)]');
  }, 120_000);

  it('exports presence only when asked; a wrong value is a usage error', async () => {
    const file = path.join(dir, 'out.csv');
    const plain = await runCli(['logs', 'export', '--format', 'csv', '--output', file], dir);
    expect(plain.code, plain.stderr).toBe(0);
    expect(await readFile(file, 'utf8')).not.toContain('protocol-status');
    const withPresence = await runCli(['logs', 'export', '--format', 'csv', '--presence', 'only', '--output', file], dir);
    expect(withPresence.code, withPresence.stderr).toBe(0);
    const rows = (await readFile(file, 'utf8')).trim().split('\r\n');
    expect(rows).toHaveLength(1 + 8);
    expect(rows.slice(1).every((r) => r.includes(',"status",') && r.includes('""protocol-status"":""NLN""'))).toBe(true);
    const wrong = await runCli(['logs', 'search', '--presence', 'sometimes'], dir);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/exclude, include, only|Expected --presence/);
  }, 120_000);
});
