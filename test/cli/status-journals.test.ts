/**
 * `imspect status` over the journal's state files: the main thread's (`journal/state.json`) and one per relay
 * worker thread (`journal/relay-<i>/state.json`), reported as sums per logger. Runs the built CLI.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalState } from '../../packages/core/src/journal/state.js';
import { runCli } from '../support/cli-run.js';

let root: string;
/** A process that is gone: the state files' writer is "not running". */
const GONE = spawnSync(process.execPath, ['-e', '0']).pid!;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'imspect-status-journals-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function state(over: Partial<JournalState>): JournalState {
  return {
    version: 1,
    head: 0,
    tail: 0,
    bytes: 0,
    maxBytes: 1024 * 1024 * 1024,
    full: false,
    onFull: 'forward',
    dropped: 0,
    pid: GONE,
    updatedAt: '2026-12-07T20:00:00.000Z',
    consumers: {},
    ...over,
  };
}

/** A work folder with a configuration, and the given state files (and a segment of `segmentBytes`) per journal folder. */
async function workWith(journals: Record<string, { state: JournalState; segmentBytes: number }>): Promise<string> {
  const work = await mkdtemp(path.join(root, 'work-'));
  await writeFile(path.join(work, 'imspect.config.json'), JSON.stringify({ dataDir: 'data', listeners: [{ type: 'socks5', port: 1080 }] }));
  for (const [folder, { state: s, segmentBytes }] of Object.entries(journals)) {
    const dir = path.join(work, 'data', 'journal', folder);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'state.json'), JSON.stringify(s));
    await writeFile(path.join(dir, `${String(s.tail).padStart(16, '0')}.seg`), Buffer.alloc(segmentBytes));
  }
  return work;
}

describe('imspect status with relay worker journals', () => {
  it('reports a single journal as before', async () => {
    const work = await workWith({
      '.': {
        state: state({
          head: 30,
          tail: 10,
          consumers: {
            'logger-csv': { position: 30, delivered: 20, failures: 0, lost: 0 },
            'logger-sql': { position: 12, delivered: 2, failures: 3, lost: 0, lastError: 'connection refused', lastErrorAt: '2026-12-07T19:59:00.000Z' },
          },
        }),
        segmentBytes: 2 * 1024 * 1024,
      },
    });
    const human = await runCli(['status'], work);
    expect(human.code).toBe(0);
    const journal = path.join(work, 'data', 'journal');
    expect(human.stdout).toBe(
      [
        'imspect not running; state of 2026-12-07T20:00:00.000Z',
        `journal:  ${journal}  2.0 MiB of 1024.0 MiB in 1 segment(s)`,
        'limits:   auto connections (from the open-file limit; the start-up summary has the number), 256 per client, handshake 15 s, idle 2 h (configured)',
        'logger logger-csv: 0 waiting (delivered at the next start), 20 stored since start, 0 failed writes',
        'logger logger-sql: 18 waiting (delivered at the next start), 2 stored since start, 3 failed writes',
        '  last error (2026-12-07T19:59:00.000Z): connection refused',
        '',
      ].join('\n'),
    );
  });

  it('sums the base journal and every relay-<i> journal per logger', async () => {
    const work = await workWith({
      '.': { state: state({ head: 5, tail: 0, consumers: { 'logger-csv': { position: 5, delivered: 5, failures: 0, lost: 0 } } }), segmentBytes: 1024 * 1024 },
      'relay-0': {
        state: state({
          head: 100,
          tail: 40,
          dropped: 2,
          updatedAt: '2026-12-07T20:00:01.000Z',
          consumers: {
            'logger-csv': { position: 90, delivered: 50, failures: 1, lost: 0, lastError: 'older', lastErrorAt: '2026-12-07T19:00:00.000Z' },
            'logger-sql': { position: 40, delivered: 10, failures: 0, lost: 7 },
          },
        }),
        segmentBytes: 1024 * 1024,
      },
      'relay-1': {
        state: state({
          head: 60,
          tail: 60,
          full: true,
          writeError: { code: 'ENOSPC', message: 'no space left on device', since: '2026-12-07T19:58:00.000Z' },
          consumers: {
            'logger-csv': { position: 50, delivered: 50, failures: 2, lost: 0, lastError: 'newer', lastErrorAt: '2026-12-07T19:30:00.000Z' },
            'logger-sql': { position: 60, delivered: 60, failures: 0, lost: 0 },
          },
        }),
        segmentBytes: 2 * 1024 * 1024,
      },
    });
    const json = JSON.parse((await runCli(['status', '--json'], work)).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({
      running: false,
      updatedAt: '2026-12-07T20:00:01.000Z',
      head: 165,
      bytes: 4 * 1024 * 1024,
      segments: 3,
      maxBytes: 3 * 1024 * 1024 * 1024,
      full: true,
      dropped: 2,
      diskError: { code: 'ENOSPC' },
      complete: false,
      loggers: [
        // Pending 0 + 10 + 10; the base journal has no logger-sql: nothing of it waits for that logger.
        { name: 'logger-csv', pending: 20, position: 145, delivered: 105, failures: 3, lost: 0, lastError: 'newer', lastErrorAt: '2026-12-07T19:30:00.000Z' },
        { name: 'logger-sql', pending: 60, position: 105, delivered: 70, failures: 0, lost: 7, lastError: null },
      ],
    });
    const human = (await runCli(['status'], work)).stdout;
    expect(human).toContain('4.0 MiB of 3072.0 MiB in 3 segment(s)  FULL (onFull: forward)');
    expect(human).toContain('DISK FULL: the disk refuses the journal');
    expect(human).toContain('EVENTS LOST: 2 events were not journaled');
    expect(human).toContain('logger logger-csv: 20 waiting (delivered at the next start), 105 stored since start, 3 failed writes\n  last error (2026-12-07T19:30:00.000Z): newer');
    expect(human).toContain('logger logger-sql: 60 waiting (delivered at the next start), 70 stored since start, 0 failed writes, EVENTS LOST: 7 given up for it');
  });

  it('reports the relay journals alone when the base journal has no state file', async () => {
    const work = await workWith({
      'relay-2': { state: state({ head: 9, consumers: { 'logger-csv': { position: 4, delivered: 4, failures: 0, lost: 0 } } }), segmentBytes: 1024 },
    });
    const json = JSON.parse((await runCli(['status', '--json'], work)).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ head: 9, bytes: 1024, segments: 1, loggers: [{ name: 'logger-csv', pending: 5 }] });
  });
});
