/**
 * Connection limits as a user meets them, through `imspect start`: one client address past `maxPerClient` on a
 * forward and a SOCKS5 listener, imspect under a low open-file limit flooded with connections, and silent or idle
 * connections. In each, the connections past a limit are refused at once with a logged reason, while a real
 * relayed IRC conversation goes on and is still logged (CSV and the SQLite archive).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openArchive, resolveTarget, type ArchiveStore } from '../../packages/logger-sql/dist/index.js';
import { runCli, waitUntil } from '../support/cli-run.js';
import { readCsvLogs } from '../support/csv-logs.js';
import { describeWithService, findExecutable } from '../support/e2e.js';
import { startImspect, type RunningImspect } from '../support/imspect-process.js';
import { freePort } from '../support/ngircd.js';
import { connectScriptedClient, startScriptedIrcServer, type ScriptedIrcClient, type ScriptedIrcServer } from '../support/scripted-irc.js';
import { socksConnect } from '../support/socks5.js';

/** Connects from `localAddress`; resolves once connected. */
function connectFrom(port: number, localAddress = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', () => undefined);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** A connection through a forward listener to the scripted IRC server that answers a PING: it is relayed. */
async function pingThrough(port: number, localAddress = '127.0.0.1'): Promise<net.Socket> {
  const socket = await connectFrom(port, localAddress);
  const token = `t${Math.random().toString(36).slice(2)}`;
  let seen = '';
  await new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(`PONG :${token}`) || seen.includes(`PONG ${token}`)) resolve();
    });
    socket.once('close', () => reject(new Error(`closed before the PONG (got ${JSON.stringify(seen)})`)));
    socket.write(`PING ${token}\r\n`);
  });
  return socket;
}

/** Resolves with what `socket` received once it is closed by the other side (within `withinMs`). */
async function closedByPeer(socket: net.Socket, withinMs = 5_000): Promise<string> {
  let seen = '';
  socket.on('data', (chunk: Buffer) => (seen += chunk.toString('latin1')));
  await waitUntil(() => socket.closed || socket.readableEnded, withinMs, 'imspect to close the connection');
  return seen;
}

/** utime + stime of a process in clock ticks (/proc/PID/stat fields 14 and 15). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** The operational log lines (JSON) imspect wrote so far. */
function logLines(imspect: RunningImspect): Array<{ level: number; msg: string; [key: string]: unknown }> {
  return imspect
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string });
}

interface Setup {
  dir: string;
  server: ScriptedIrcServer;
  archive: ArchiveStore;
  imspect: RunningImspect;
  forwardPort: number;
  socksPort: number;
}

async function setUp(dir: string, server: ScriptedIrcServer, connections: string, wrapper?: string[]): Promise<Setup> {
  const forwardPort = await freePort();
  const socksPort = await freePort();
  await writeFile(
    path.join(dir, 'imspect.config.yaml'),
    [
      'listeners:',
      `  - { type: forward, port: ${forwardPort}, upstream: { host: 127.0.0.1, port: ${server.port} }, protocol: irc }`,
      `  - { type: socks5, port: ${socksPort} }`,
      `connections: ${connections}`,
      'loggers: { flushIntervalMs: 20 }',
      '',
    ].join('\n'),
  );
  const imspect = await startImspect(['--log-format', 'json'], { cwd: dir, ...(wrapper ? { wrapper } : {}) });
  const archive = openArchive(resolveTarget({}, path.join(dir, 'imspect-data')));
  return { dir, server, archive, imspect, forwardPort, socksPort };
}

/** alice's messages reach the server, the CSV logs and the archive. */
async function expectLogged(setup: Setup, texts: string[]): Promise<void> {
  await waitUntil(() => texts.every((t) => setup.server.received.includes(t)), 10_000, 'the server to receive the messages');
  await waitUntil(
    async () => {
      const stored = new Set((await setup.archive.search({ limit: 0 }).catch(() => [])).map((m) => m.text));
      return texts.every((t) => stored.has(t));
    },
    15_000,
    'the archive to hold the messages',
  );
  await waitUntil(
    async () => {
      const csv = new Set((await readCsvLogs(path.join(setup.dir, 'imspect-data/logs')).catch(() => [])).map((r) => r.text));
      return texts.every((t) => csv.has(t));
    },
    15_000,
    'the CSV logs to hold the messages',
  );
}

describe('connection limits through imspect start', () => {
  let dir: string;
  let server: ScriptedIrcServer;
  let setup: Setup | undefined;
  const opened: Array<net.Socket | ScriptedIrcClient> = [];

  beforeAll(async () => {
    server = await startScriptedIrcServer();
  });
  afterEach(async () => {
    for (const s of opened.splice(0)) 'socket' in s ? s.close() : s.destroy();
    await setup?.imspect.stop();
    await setup?.archive.close();
    setup = undefined;
    await rm(dir, { recursive: true, force: true });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('one client address past maxPerClient on a forward and a SOCKS5 listener: refused at once and logged; the chat goes on', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-limits-'));
    setup = await setUp(dir, server, '{ maxPerClient: 20 }');
    expect(setup.imspect.stdout()).toMatch(/limits: +\d+ connections \(auto: open-file limit \d+, \d+ reserved\), 20 per client, handshake 15 s, idle 2 h/);
    const alice = await connectScriptedClient(setup.forwardPort, 'alice');
    opened.push(alice);
    alice.say('bob', 'before the flood');
    // Up to the limit from 127.0.0.1: alice, 9 more on the forward listener, 10 SOCKS5 sessions.
    for (let i = 0; i < 9; i++) opened.push(await pingThrough(setup.forwardPort));
    for (let i = 0; i < 10; i++) opened.push(await socksConnect({ host: '127.0.0.1', port: setup.socksPort }, '127.0.0.1', server.port));
    // Past it: closed at once, with nothing relayed, on either listener.
    const pastForward = await connectFrom(setup.forwardPort);
    opened.push(pastForward);
    pastForward.write('PING :past\r\n');
    expect(await closedByPeer(pastForward)).toBe('');
    await expect(socksConnect({ host: '127.0.0.1', port: setup.socksPort }, '127.0.0.1', server.port)).rejects.toThrow(/closed by the proxy|ECONNRESET/);
    // Another client address is not affected.
    opened.push(await pingThrough(setup.forwardPort, '127.0.0.2'));
    const refusals = logLines(setup.imspect).filter((l) => /refused/.test(l.msg));
    expect(refusals.length).toBeGreaterThanOrEqual(1);
    expect(refusals[0]!.msg).toMatch(
      /connection from 127\.0\.0\.1 refused on (forward|socks5) 127\.0\.0\.1:\d+: this address has 20 connections open, the most allowed per client \(connections\.maxPerClient\)/,
    );
    // Rate-limited: the second refusal within the period is counted, not logged on its own.
    expect(refusals).toHaveLength(1);
    // The existing chat goes on and is logged.
    alice.say('bob', 'after the flood 1');
    alice.say('#limits', 'after the flood 2');
    await expectLogged(setup, ['before the flood', 'after the flood 1', 'after the flood 2']);
    // `imspect status` shows the configured limits.
    const status = await runCli(['status'], dir);
    expect(status.stdout).toMatch(
      /limits: +auto connections \(from the open-file limit; the start-up summary has the number\), 20 per client, handshake 15 s, idle 2 h \(configured\)/,
    );
    const json = JSON.parse((await runCli(['status', '--json'], dir)).stdout) as { connections: unknown };
    expect(json.connections).toEqual({ maxConnections: 'auto', maxPerClient: 20, handshakeTimeoutMs: 15_000, idleTimeoutMs: 7_200_000 });
  }, 60_000);

  const prlimit = findExecutable('prlimit');
  const lowLimitSuite = prlimit ? undefined : 'prlimit (util-linux) is not installed';
  describeWithService('under a low open-file limit', lowLimitSuite, () => {
    it('a flood of connections is refused before descriptors run out: no EMFILE, the chat and its logging go on, no busy loop', async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-limits-nofile-'));
      // 320 descriptors: auto keeps 128 in reserve and allows (320 - 128) / 2 = 96 connections.
      setup = await setUp(dir, server, '{}', [prlimit!, '--nofile=320']);
      expect(setup.imspect.stdout()).toMatch(/limits: +96 connections \(auto: open-file limit 320, 128 reserved\)/);
      const pid = setup.imspect.child.pid!;
      const alice = await connectScriptedClient(setup.forwardPort, 'alice');
      opened.push(alice);
      alice.say('bob', 'low limit before');
      await expectLogged(setup, ['low limit before']);
      // 200 SOCKS5 sessions from three client addresses, far more than the descriptors allow.
      let admitted = 0;
      let refused = 0;
      const attempts = Array.from({ length: 200 }, (_, i) =>
        new Promise<net.Socket>((resolve, reject) => {
          const socket = net.connect({ host: '127.0.0.1', port: setup!.socksPort, localAddress: `127.0.0.${2 + (i % 3)}` });
          socket.once('error', reject);
          socket.once('connect', () => resolve(socket));
        }).then(async (socket) => {
          opened.push(socket);
          socket.on('error', () => undefined);
          const reply = await new Promise<string>((resolve) => {
            let bytes = Buffer.alloc(0);
            socket.on('data', (c: Buffer) => {
              bytes = Buffer.concat([bytes, c]);
              if (bytes.length >= 12) resolve(`reply ${bytes[3]}`);
            });
            socket.once('close', () => resolve(bytes.length === 0 ? 'closed' : `closed after ${bytes.length} bytes`));
            socket.write(Buffer.from([5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, server.port >> 8, server.port & 0xff]));
          });
          if (reply === 'reply 0') admitted++;
          else if (reply === 'closed') refused++;
          else throw new Error(`unexpected answer: ${reply}`);
        }),
      );
      await Promise.all(attempts);
      // One connection (alice's) was open already.
      expect(admitted).toBe(95);
      expect(refused).toBe(105);
      // The chat goes on and is still logged, with the flood's connections held open.
      alice.say('bob', 'low limit during 1');
      alice.say('#limits', 'low limit during 2');
      await expectLogged(setup, ['low limit before', 'low limit during 1', 'low limit during 2']);
      // Nothing ran out of descriptors: not the journal, not the archive, not an accept.
      expect(setup.imspect.stderr()).not.toMatch(/EMFILE|ENFILE|too many open files/i);
      const refusals = logLines(setup.imspect).filter((l) => /refused/.test(l.msg));
      expect(refusals[0]!.msg).toMatch(/the most allowed \(connections\.maxConnections 96\)/);
      // Rate-limited logging: far fewer lines than refusals.
      expect(refusals.length).toBeLessThanOrEqual(2);
      // Idle, holding the flood's connections: no busy loop. Generous bound: 1 s of CPU in 3 s (a spin is ~3 s).
      const before = cpuTicks(pid);
      await new Promise((r) => setTimeout(r, 3_000));
      expect(cpuTicks(pid) - before).toBeLessThan(100);
      // Once the flood lets go, new connections are admitted again.
      for (const s of opened.splice(1)) (s as net.Socket).destroy();
      await waitUntil(
        async () => {
          const socket = await socksConnect({ host: '127.0.0.1', port: setup!.socksPort }, '127.0.0.1', server.port).catch(() => undefined);
          if (socket) opened.push(socket);
          return socket !== undefined;
        },
        10_000,
        'a new connection to be admitted',
      );
      expect(await setup.imspect.stop()).toBe(0);
    }, 90_000);
  });

  it('a forward connection that sends nothing is cut after handshakeTimeoutMs, a relayed one that goes quiet after idleTimeoutMs', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-limits-idle-'));
    setup = await setUp(dir, server, '{ handshakeTimeoutMs: 500, idleTimeoutMs: 1500 }');
    const silent = await connectFrom(setup.forwardPort);
    opened.push(silent);
    const quiet = await pingThrough(setup.forwardPort);
    opened.push(quiet);
    const alice = await connectScriptedClient(setup.forwardPort, 'alice');
    opened.push(alice);
    expect(await closedByPeer(silent)).toBe('');
    expect(logLines(setup.imspect).some((l) => /sent nothing within 500 ms/.test(l.msg))).toBe(true);
    // alice keeps talking more often than the idle time: her connection stays; the quiet one is closed.
    let n = 0;
    const talk = setInterval(() => alice.say('bob', `keepalive ${n++}`), 300);
    try {
      await closedByPeer(quiet, 10_000);
      expect(alice.socket.closed).toBe(false);
    } finally {
      clearInterval(talk);
    }
    expect(logLines(setup.imspect).some((l) => /no traffic for 1500 ms \(connections\.idleTimeoutMs\)/.test(l.msg))).toBe(true);
    await expectLogged(setup, ['keepalive 0']);
  }, 60_000);
});
