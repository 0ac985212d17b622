/**
 * `imspect replay` printing to a pipe whose reader is slow: reading the capture waits for the reader (standard
 * output's backpressure) instead of piling event lines up in memory, and every line arrives.
 */
import { spawn } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, REPO_ROOT } from '../support/imspect-process.js';

const execFileAsync = promisify(execFile);

describe('replay to a slow reader', () => {
  let dir: string;
  let capture: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-replay-slow-reader-'));
    capture = path.join(dir, 'irc.pcap');
    // About 8 MB of IRC traffic: tens of thousands of event lines, far more than a pipe holds.
    await execFileAsync(process.execPath, [path.join(REPO_ROOT, 'bench/replay/make-capture.js'), capture, '8', '10']);
  }, 60_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('holds reading while the pipe is full and delivers every event line', async () => {
    const child = spawn(process.execPath, [CLI, 'replay', capture, '--json'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // The reader does not read for a while: the pipe fills and the command must wait, not buffer everything.
    child.stdout.pause();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(child.exitCode).toBeNull();
    // Meanwhile the capture is still open, read only part of the way (its file position, from /proc).
    const position = await capturePosition(child.pid!, capture);
    expect(position, 'the capture should still be open while the reader waits').toBeDefined();
    expect(position!).toBeLessThan((await stat(capture)).size / 2);
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(code, stderr).toBe(0);
    const lines = Buffer.concat(chunks).toString('utf8').trimEnd().split('\n');
    const summary = (JSON.parse(lines.at(-1)!) as { summary: { eventsByType: Record<string, number> } }).summary;
    const total = Object.values(summary.eventsByType).reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(10_000);
    expect(lines.length - 1).toBe(total);
    for (const line of lines.slice(0, -1)) expect(() => JSON.parse(line)).not.toThrow();
  }, 120_000);
});

/** The file position of `pid`'s open descriptor on `file`, or undefined when it has none. */
async function capturePosition(pid: number, file: string): Promise<number | undefined> {
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    if (target !== file) continue;
    const info = await readFile(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    return Number(/^pos:\s+(\d+)/m.exec(info)?.[1]);
  }
  return undefined;
}
