/**
 * The data folder is a small tmpfs that fills up while the database is cut off (the default journal limit,
 * 1 GiB, is far above what the disk has). `onFull: forward`: the chat goes on, every event the disk refused is
 * counted as dropped, and once there is room again the archive plus the dropped count is exactly what was
 * relayed. `onFull: block`: relaying pauses while the disk is full and nothing at all is lost.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, ftruncateSync, fstatSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { runCli, waitUntil } from '../support/cli-run.js';
import { createPostgresDatabase, postgresMissing } from '../support/databases.js';
import { describeWithService, findExecutable } from '../support/e2e.js';
import { startImspect } from '../support/imspect-process.js';
import { freePort } from '../support/ngircd.js';
import { connectScriptedClient } from '../support/scripted-irc.js';
import { useSqlBehindRelay } from '../support/sql-behind-relay.js';

const MESSAGES = 150;
/** What the disk has left for the journal once the filler is written. */
const LEFT_BYTES = 20 * 1024;

interface Status {
  head: number;
  full: boolean;
  dropped: number;
  complete: boolean;
  diskError: { code: string; message: string; since: string } | null;
  loggers: Array<{ name: string; pending: number; lost: number }>;
}

async function missing(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  if (!findExecutable('mount') || !findExecutable('umount')) return 'mount/umount not found';
  return postgresMissing();
}

/** Fills the disk under `dir` with one file, then gives `left` bytes back; returns the file to delete. */
function fillDisk(dir: string, left: number): string {
  const file = path.join(dir, 'filler');
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  }
  ftruncateSync(fd, Math.max(0, fstatSync(fd).size - left));
  closeSync(fd);
  return file;
}

describeWithService('journal on a full disk (tmpfs data folder)', await missing(), () => {
  let mounted: string | undefined;

  const env = useSqlBehindRelay('imspect-disk-full-', createPostgresDatabase, { migrate: true });

  afterEach(async () => {
    await env.imspect?.stop();
    env.imspect = undefined;
    if (mounted) execFileSync('umount', [mounted]);
    mounted = undefined;
  });

  async function run(onFull: 'block' | 'forward', nick: string) {
    const disk = path.join(env.dir, `disk-${onFull}`);
    await mkdir(disk);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', disk]);
    mounted = disk;
    const port = await freePort();
    const config = path.join(env.dir, `${onFull}.yaml`);
    await writeFile(
      config,
      [
        `dataDir: ${path.join(disk, 'data')}`,
        'listeners:',
        `  - { type: forward, port: ${port}, upstream: { host: 127.0.0.1, port: ${env.server.port} }, protocol: irc }`,
        'plugins:',
        `  logger-sql: { options: { url: "${env.db.urlVia('127.0.0.1', env.relay.port)}", connectTimeoutMs: 500 } }`,
        // The default limit (1 GiB) is far more than the disk has; few events in memory, so loggers read back from
        // disk. The CSV logger (enabled by default) writes to the same disk.
        `loggers: { flushIntervalMs: 10, retryMaxDelayMs: 200, writeTimeoutMs: 2000, journal: { onFull: ${onFull}, memoryEvents: 10 } }`,
        'log: { format: json }',
        '',
      ].join('\n'),
    );
    const args = ['--config', config];
    const received = env.server.received.length;
    env.relay.cut();
    env.imspect = await startImspect(args, { cwd: env.dir });
    const client = await connectScriptedClient(port, nick);
    const filler = fillDisk(disk, LEFT_BYTES);
    const status = async () => JSON.parse((await runCli(['status', '--json', ...args], env.dir)).stdout) as Status;
    const stored = async () => env.direct.search({ user: nick, limit: 0 });
    return { client, filler, status, stored, arrived: () => env.server.received.length - received };
  }

  it('onFull: forward: the chat goes on; every relayed event is either archived or counted as dropped, exactly', async () => {
    const { client, filler, status, stored, arrived } = await run('forward', 'diskfwd');
    for (let i = 0; i < MESSAGES; i++) {
      client.say('#chan', `forward ${i} ${'z'.repeat(300)}`);
      await new Promise((r) => setTimeout(r, 3));
    }
    await waitUntil(() => arrived() === MESSAGES, 20_000, 'the chat to go on while the disk is full');
    let s: Status | undefined;
    await waitUntil(async () => ((s = await status()), s.diskError?.code === 'ENOSPC' && s.dropped > 0), 15_000, 'status to show the full disk and the dropped events');
    expect(s!.full).toBe(true);
    expect(s!.complete).toBe(false);
    expect(env.imspect!.stderr()).toMatch(/the disk refuses writes \(ENOSPC: disk full\); new events are NOT logged/);
    expect((await runCli(['status', '--config', path.join(env.dir, 'forward.yaml')], env.dir)).stdout).toMatch(
      /DISK FULL: .*ENOSPC[\s\S]*EVENTS LOST: \d+ events were not journaled/,
    );

    // Room again, and the database back: what was journaled is stored, and new events are journaled again.
    unlinkSync(filler);
    env.relay.restore();
    await new Promise((r) => setTimeout(r, 1500)); // past the journal's retry delay
    client.say('#chan', 'forward after');
    await waitUntil(() => arrived() === MESSAGES + 1, 10_000, 'the last message');
    const total = 1 + MESSAGES + 1; // the login, the messages, the last message
    // Status (rewritten within a second) has caught up once it counts every event as journaled or dropped.
    await waitUntil(
      async () => ((s = await status()), s.head + s.dropped === total && s.loggers.every((l) => l.pending === 0)),
      30_000,
      'status to account for every relayed event',
    );
    await waitUntil(async () => (await stored()).length >= s!.head, 30_000, 'the journaled events archived');
    const archive = await stored();
    expect(archive.length + s!.dropped).toBe(total);
    expect(archive.length).toBe(s!.head);
    expect(s!.dropped).toBeGreaterThan(0);
    expect(archive.length).toBeGreaterThan(0);
    expect(new Set(archive.map((m) => m.eventId)).size).toBe(archive.length);
    expect(archive.some((m) => m.text === 'forward after')).toBe(true);
    expect(s!.diskError).toBeNull();
    expect(env.imspect!.stderr()).not.toMatch(/missing from the segments/);
    client.close();
    expect(await env.imspect!.stop()).toBe(0);
    env.imspect = undefined;
  }, 120_000);

  it('onFull: block: relaying pauses while the disk is full; with room again every message flows and is archived, none lost', async () => {
    const { client, filler, status, stored, arrived } = await run('block', 'diskblk');
    // One message at a time, as people type (a chunk already read is relayed whole; blocking stops the next read).
    void (async () => {
      for (let i = 0; i < MESSAGES && !client.socket.destroyed; i++) {
        client.say('#chan', `block ${i} ${'z'.repeat(300)}`);
        await new Promise((r) => setTimeout(r, 3));
      }
    })();
    let s: Status | undefined;
    await waitUntil(async () => ((s = await status()), s.diskError?.code === 'ENOSPC'), 15_000, 'status to show the full disk');
    expect(s!.full).toBe(true);
    await new Promise((r) => setTimeout(r, 1000));
    expect(arrived()).toBeLessThan(MESSAGES);
    expect(env.imspect!.stderr()).toMatch(/the disk refuses writes \(ENOSPC: disk full\); relaying is paused/);

    unlinkSync(filler);
    env.relay.restore();
    await waitUntil(() => arrived() === MESSAGES, 30_000, 'relaying to resume');
    await waitUntil(async () => (await stored()).length === 1 + MESSAGES, 30_000, 'every event archived');
    const archive = await stored();
    expect(new Set(archive.map((m) => m.eventId)).size).toBe(1 + MESSAGES);
    await waitUntil(async () => ((s = await status()), s.loggers.every((l) => l.pending === 0) && s.diskError === null), 10_000, 'status to show the disk writable again');
    expect(s!.dropped).toBe(0);
    expect(s!.complete).toBe(true);
    expect(env.imspect!.stderr()).toMatch(/the disk takes writes again/);
    client.close();
    expect(await env.imspect!.stop()).toBe(0);
    env.imspect = undefined;
  }, 120_000);
});
