/**
 * `imspect logs search` prints archived text as text: escape sequences, bidi overrides and line breaks sent by a
 * chatter reach the auditor's terminal as visible escapes, one result per line; `--json` keeps them exact.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEvent } from '../../packages/core/dist/testing/index.js';
import { resolveTarget } from '../../packages/logger-sql/dist/index.js';
import { SqlArchive } from '../../packages/logger-sql/dist/archive.js';
import { runCli } from '../support/cli-run.js';

const HOSTILE_TEXT = 'pay \u001b[8mhidden\u001b[0m now\u001b]0;title\u0007\nfake second line \u202etxt.exe';
const HOSTILE_PEER = 'mal\u001b[2Jlory';

describe('logs search with hostile archived text', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-logs-hostile-'));
    await writeFile(path.join(dir, 'imspect.config.json'), JSON.stringify({ dataDir: 'data' }));
    const archive = new SqlArchive(resolveTarget(undefined, path.join(dir, 'data')));
    await archive.migrate();
    await archive.insert([testEvent({ id: '01900000-0000-7000-8000-000000000001', at: '2026-03-01T10:00:00.000Z', remoteId: HOSTILE_PEER, text: HOSTILE_TEXT })]);
    await archive.close();
  }, 60_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('prints escapes instead of control characters, on one line', async () => {
    const result = await runCli(['logs', 'search', '--limit', '0'], dir);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(result.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    expect(lines[0]).toContain('mal\\u{1b}[2Jlory');
    expect(lines[0]).toContain('pay \\u{1b}[8mhidden\\u{1b}[0m now\\u{1b}]0;title\\u{7} ⏎ fake second line \\u{202e}txt.exe');
  });

  it('keeps the exact text in --json', async () => {
    const result = await runCli(['logs', 'search', '--limit', '0', '--json'], dir);
    expect(result.code, result.stderr).toBe(0);
    const found = JSON.parse(result.stdout) as { messages: Array<{ text: string; remoteId: string }> };
    expect(found.messages.map((m) => [m.remoteId, m.text])).toEqual([[HOSTILE_PEER, HOSTILE_TEXT]]);
  });
});
