/**
 * Ctrl-C under `pnpm start`, as at a terminal: SIGINT goes to the whole process group (pnpm, the script's shell,
 * imspect). imspect must stop cleanly and exit 0, and pnpm must not report `ELIFECYCLE Command failed` (it does
 * when the script's process dies of the signal or exits non-zero). The configuration file only moves the listener
 * to a free port and the data folder into a temp folder; the script and the signal path are the README's.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitUntil } from '../support/cli-run.js';
import { describeWithService, findExecutable } from '../support/e2e.js';
import { REPO_ROOT } from '../support/imspect-process.js';
import { freePort } from '../support/ngircd.js';

const PNPM = findExecutable('pnpm');

describeWithService('Ctrl-C under pnpm start', PNPM ? undefined : 'pnpm is not installed (npm install -g pnpm@10)', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-pnpm-start-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('stops imspect cleanly, exits 0 and prints no ELIFECYCLE', async () => {
    const port = await freePort();
    const config = path.join(dir, 'imspect.config.json');
    await writeFile(config, JSON.stringify({ dataDir: path.join(dir, 'data'), allowRoot: true, listeners: [{ type: 'socks5', host: '127.0.0.1', port }] }));
    // detached: a process group of its own, as a terminal gives a foreground job.
    // The PATH of the user's shell: without the node_modules/.bin folders this test runs under, whose `node` is a
    // shell shim (pnpm itself would then run under a shell that the signal ends, which no terminal user has).
    const PATH = (process.env['PATH'] ?? '')
      .split(path.delimiter)
      .filter((dir) => !dir.includes(`node_modules${path.sep}.bin`))
      .join(path.delimiter);
    const child = spawn(PNPM!, ['start', '--config', config], { cwd: REPO_ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATH, NO_COLOR: '1' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    try {
      await waitUntil(() => out.includes('Press Ctrl-C to stop.') || child.exitCode !== null, 60_000, `imspect to be ready under pnpm start; output:\n${out}`);
      expect(out).toContain(`listening: socks5://127.0.0.1:${port}`);
      process.kill(-child.pid!, 'SIGINT');
      const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 30_000);
      const { code, signal } = await exited;
      clearTimeout(timer);
      expect({ code, signal }, out).toEqual({ code: 0, signal: null });
      await waitUntil(() => out.includes('imspect stopped'), 5_000, `imspect's last log line; output:\n${out}`);
      expect(out).not.toContain('ELIFECYCLE');
      expect(out).not.toContain('Command failed');
      // One Ctrl-C is one stop: the copy pnpm forwards is not taken for a second Ctrl-C.
      expect(out).not.toContain('no longer waiting for loggers');
    } finally {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
    }
  }, 120_000);
});
