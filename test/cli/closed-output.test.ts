/**
 * `imspect logs export | head` and `imspect logs search | head`: a reader that closes the pipe ends the command
 * quietly with exit code 0 (no "write EPIPE" failure), and the export stops reading the archive.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEvent } from '../../packages/core/dist/testing/index.js';
import { resolveTarget } from '../../packages/logger-sql/dist/index.js';
import { SqlArchive } from '../../packages/logger-sql/dist/archive.js';
import { CLI } from '../support/imspect-process.js';

/** Runs the CLI with its standard output read up to the first line end, then closed, as `| head -1` does. */
function runReadingOneLine(args: string[], cwd: string): Promise<{ code: number | null; firstLine: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let firstLine: string | undefined;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      const end = stdout.indexOf('\n');
      if (firstLine === undefined && end >= 0) {
        firstLine = stdout.slice(0, end);
        child.stdout.destroy();
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, firstLine: firstLine ?? stdout, stderr }));
  });
}

describe('a closed standard output', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-closed-output-'));
    await writeFile(path.join(dir, 'imspect.config.json'), JSON.stringify({ dataDir: 'data' }));
    // Far more rows than a pipe buffers (64 KiB), so that the command is still writing when the reader leaves.
    const archive = new SqlArchive(resolveTarget(undefined, path.join(dir, 'data')));
    await archive.migrate();
    const events = Array.from({ length: 4000 }, (_, n) =>
      testEvent({
        id: `01900000-0000-7000-8000-${String(n + 1).padStart(12, '0')}`,
        at: new Date(Date.parse('2026-03-01T10:00:00.000Z') + n * 1000).toISOString(),
        text: `message number ${n} ${'padding '.repeat(20)}`,
      }),
    );
    for (let n = 0; n < events.length; n += 500) await archive.insert(events.slice(n, n + 500));
    await archive.close();
  }, 60_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('logs export: ends quietly with exit code 0', async () => {
    for (const format of ['csv', 'jsonl']) {
      const result = await runReadingOneLine(['logs', 'export', '--format', format], dir);
      expect(result.firstLine, format).toMatch(format === 'csv' ? /^eventId,at,/ : /^\{"eventId":/);
      expect(result.stderr, format).toBe('');
      expect(result.code, format).toBe(0);
    }
  });

  // Search prints its results once they are all read (no stream to stop); oclif ignores EPIPE on standard output.
  // Kept so that a streaming search later keeps this behaviour.
  it('logs search: ends quietly with exit code 0', async () => {
    for (const json of [[], ['--json']]) {
      const result = await runReadingOneLine(['logs', 'search', '--limit', '0', ...json], dir);
      expect(result.firstLine.length).toBeGreaterThan(0);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    }
  });
});
