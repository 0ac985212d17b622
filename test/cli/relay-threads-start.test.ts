/**
 * `imspect start` with relay threads (`workers: 2`) that cannot start must fail as it does without threads: a
 * listener port already in use, or a configured filter that cannot start (set up in the threads), gives one
 * clear message and a non-zero exit, promptly, with no thread left running to keep the process alive.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli-run.js';
import { freePort } from '../support/ngircd.js';

/** A `start` that hangs instead of refusing is killed after this long (its code is then null, and the test fails). */
const START_TIMEOUT_MS = 30_000;

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-relay-threads-start-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A folder with a JSON configuration (`imspect.config.json`). */
async function configured(name: string, config: Record<string, unknown>): Promise<string> {
  const home = path.join(dir, name);
  await mkdir(home);
  await writeFile(path.join(home, 'imspect.config.json'), JSON.stringify(config, null, 2));
  return home;
}

/** A plain server (no SO_REUSEPORT) holding a loopback port. */
async function occupy(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return { port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('imspect start with relay threads', () => {
  it('refuses a listener port in use: a clear message, a non-zero exit, no hang', async () => {
    const holder = await occupy();
    try {
      const free = await freePort();
      const home = await configured('port-in-use', {
        workers: 2,
        listeners: [
          { type: 'socks5', host: '127.0.0.1', port: free },
          { type: 'socks5', host: '127.0.0.1', port: holder.port },
        ],
      });
      const started = Date.now();
      const result = await runCli(['start', '--allow-root'], home, 'utf8', START_TIMEOUT_MS);
      expect(result.code, `exit code (null: killed, it hung)\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`).not.toBeNull();
      expect(result.code, result.stderr).not.toBe(0);
      expect(Date.now() - started).toBeLessThan(START_TIMEOUT_MS);
      expect(result.stdout + result.stderr).toContain(`cannot listen on 127.0.0.1:${holder.port} (socks5): the port is in use`);
      expect(result.stdout).not.toContain('Press Ctrl-C to stop.');
      // The thread that could not bind ended as planned, not "unexpectedly".
      expect(result.stdout + result.stderr).not.toContain('stopped unexpectedly');
      expect(result.stderr).not.toMatch(/^\s+at .*\.js:\d+/m);
      // The listener that did bind was let go with the process: the port is free again.
      const again = net.createServer();
      await new Promise<void>((resolve, reject) => {
        again.once('error', reject);
        again.listen(free, '127.0.0.1', resolve);
      });
      await new Promise<void>((resolve) => again.close(() => resolve()));
    } finally {
      await holder.close();
    }
  });

  it('refuses a filter that cannot start with exit 2 and its message, as without threads', async () => {
    const results = [];
    for (const workers of [1, 2]) {
      const home = await configured(`bad-filter-${workers}`, {
        workers,
        listeners: [{ type: 'socks5', host: '127.0.0.1', port: await freePort() }],
        plugins: { 'filter-badwords': { options: { file: 'missing-words.txt' } } },
      });
      const result = await runCli(['start', '--allow-root'], home, 'utf8', START_TIMEOUT_MS);
      results.push({ workers, home, ...result });
    }
    for (const { workers, home, code, stdout, stderr } of results) {
      expect(code, `workers: ${workers} (null: killed, it hung)\nstdout:\n${stdout}\nstderr:\n${stderr}`).toBe(2);
      expect(stderr, `workers: ${workers}`).toContain('imspect: filter plugin "filter-badwords" failed to start (setup):');
      expect(stderr, `workers: ${workers}`).toContain(`cannot read the word list ${path.join(home, 'missing-words.txt')}`);
      expect(stdout, `workers: ${workers}`).not.toContain('Press Ctrl-C to stop.');
      expect(stderr, `workers: ${workers}`).not.toMatch(/^\s+at .*\.js:\d+/m);
    }
  });
});
