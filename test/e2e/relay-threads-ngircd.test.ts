/**
 * End to end with relay threads (`workers: 2`): a real ngircd, real IRC clients (irc-framework) through imspect's
 * SOCKS5 listener, imspect started as a user starts it. The kernel spreads the connections over both threads;
 * every message must be archived once (CSV and SQLite) whichever thread relayed it, the monitoring notice must
 * be given once per user and client even when the user's next connections reach the other thread, the
 * per-client connection limit must hold over both threads, and a restart with one thread must deliver what the
 * threads' journals still held.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli, waitUntil } from '../support/cli-run.js';
import { readCsvLogs } from '../support/csv-logs.js';
import { describeWithService, findExecutable } from '../support/e2e.js';
import { CLI, startImspect, type RunningImspect } from '../support/imspect-process.js';
import { IRC, waitFor, type IrcClient } from '../support/irc-client.js';
import { startNgircd, type RunningNgircd } from '../support/ngircd.js';

const ngircdPath = findExecutable('ngircd');
const CHANNEL = '#threads';
const NOTICE = 'This conversation is logged by imspect (threads test)';
const CLIENTS = 8;
const MESSAGES_EACH = 5;

interface Seen {
  client: IrcClient;
  notices: string[];
}

async function connect(nick: string, options: Record<string, unknown>): Promise<Seen> {
  const client = new IRC.Client();
  const seen: Seen = { client, notices: [] };
  client.on('notice', (e) => seen.notices.push(String(e['message'])));
  const registered = waitFor(client, 'registered', () => true, `${nick} to register`);
  client.connect({ nick, username: nick, gecos: `${nick} test`, auto_reconnect: false, ping_interval: 0, ...options });
  await registered;
  return seen;
}

async function quit(seen: Seen): Promise<void> {
  const closed = new Promise<void>((resolve) => {
    seen.client.once('close', () => resolve());
    setTimeout(resolve, 2_000);
  });
  seen.client.quit('bye');
  await closed;
}

/** The `conn` ids of the operational log's `connection open` lines: `<thread>.<n>` with relay threads. */
function connectionThreads(stdout: string): Set<string> {
  const threads = new Set<string>();
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const record = JSON.parse(line) as { msg?: string; conn?: string };
      if (record.msg?.startsWith('connection open') && typeof record.conn === 'string') threads.add(record.conn.split('.')[0]!);
    } catch {
      // not a log record
    }
  }
  return threads;
}

/**
 * Runs `round` (which opens connections through imspect) until both threads have relayed one: the kernel picks a
 * thread by a hash of the connection's addresses and ports, so a few connections may all land on one.
 */
async function onBothThreads(proxy: RunningImspect, round: () => Promise<void>, rounds = 8): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await round();
    if (connectionThreads(proxy.stderr()).size === 2) return;
  }
}

/**
 * `count` users through imspect join the channel with bob (direct) there, each says `texts(i)`; resolves with what
 * bob received, once every expected text (as `expect(text)` maps it) arrived. The users quit.
 */
async function chat(bob: Seen, via: Record<string, unknown>, count: number, texts: (i: number) => string[], expectAs: (text: string) => string = (t) => t): Promise<Set<string>> {
  const users: Seen[] = [];
  for (let i = 0; i < count; i++) {
    const user = await connect(`user${i}`, via);
    const joined = waitFor(bob.client, 'join', (e) => e['nick'] === `user${i}`, `user${i} to join`);
    user.client.join(CHANNEL);
    await joined;
    users.push(user);
  }
  const received = new Set<string>();
  const onMessage = (e: Record<string, unknown>) => received.add(String(e['message']));
  bob.client.on('privmsg', onMessage);
  const expected = users.flatMap((user, i) => texts(i).map((text) => (user.client.say(CHANNEL, text), expectAs(text))));
  try {
    await waitUntil(() => expected.every((text) => received.has(text)), 20_000, `bob to receive ${JSON.stringify(expected.filter((t) => !received.has(t)).slice(0, 5))}`);
  } finally {
    bob.client.off('privmsg', onMessage);
    for (const user of users) await quit(user);
  }
  return received;
}

async function bobInChannel(port: number): Promise<Seen> {
  const bob = await connect('bob', { host: '127.0.0.1', port });
  const joined = waitFor(bob.client, 'join', (e) => e['nick'] === 'bob', 'bob to join');
  bob.client.join(CHANNEL);
  await joined;
  return bob;
}

describeWithService('relay threads end to end (ngircd + irc-framework, workers: 2)', ngircdPath ? undefined : 'ngircd is not installed (apt-get install ngircd)', () => {
  let ngircd: RunningNgircd;
  let work: string;

  beforeAll(async () => {
    ngircd = await startNgircd(ngircdPath!);
    work = await mkdtemp(path.join(os.tmpdir(), 'imspect-e2e-threads-'));
  });

  afterAll(async () => {
    await ngircd?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function configure(name: string, extra: Record<string, unknown>): Promise<string> {
    const dir = path.join(work, name);
    await mkdir(dir);
    await writeFile(
      path.join(dir, 'imspect.config.json'),
      JSON.stringify(
        {
          workers: 2,
          dataDir: 'data',
          listeners: [{ type: 'socks5', host: '127.0.0.1', port: 0 }],
          ports: { [String(ngircd.port)]: 'irc' },
          log: { level: 'info', format: 'json' },
          ...extra,
        },
        null,
        2,
      ),
    );
    return dir;
  }

  const socksVia = (proxy: RunningImspect) => {
    const url = new URL(/listening: (\S+)/.exec(proxy.stdout())![1]!);
    return { host: '127.0.0.1', port: ngircd.port, socks: { host: url.hostname, port: Number(url.port) } };
  };

  it('archives every message once whichever thread relayed it, and gives the notice once per user and client', async () => {
    const dir = await configure('archive', { responses: { notice: { enabled: true, everyDays: 7, text: NOTICE } } });
    let proxy: RunningImspect | undefined = await startImspect([], { cwd: dir });
    try {
      expect(proxy.stderr()).toMatch(/relaying in 2 threads/);
      const via = socksVia(proxy);
      const bob = await connect('bob', { host: '127.0.0.1', port: ngircd.port });
      const bobJoined = waitFor(bob.client, 'join', (e) => e['nick'] === 'bob', 'bob to join');
      bob.client.join(CHANNEL);
      await bobJoined;

      const users: Seen[] = [];
      for (let i = 0; i < CLIENTS; i++) {
        const user = await connect(`user${i}`, via);
        const joined = waitFor(bob.client, 'join', (e) => e['nick'] === `user${i}`, `user${i} to join`);
        user.client.join(CHANNEL);
        await joined;
        users.push(user);
      }
      const expected = new Set<string>();
      const received = new Set<string>();
      bob.client.on('privmsg', (e) => received.add(String(e['message'])));
      for (let k = 0; k < MESSAGES_EACH; k++)
        users.forEach((user, i) => {
          const text = `from user${i} number ${k}`;
          expected.add(text);
          user.client.say(CHANNEL, text);
        });
      await waitUntil(() => [...expected].every((text) => received.has(text)), 20_000, 'bob to receive every message');
      await waitUntil(() => users.every((u) => u.notices.includes(NOTICE)), 10_000, 'every user to get the notice');
      for (const user of users) await quit(user);

      // The same user and client again and again: the kernel sends these connections to either thread; the one
      // that did not give the notice must know it was given.
      for (let again = 0; again < 6; again++) {
        const user = await connect('user0', via);
        await new Promise((r) => setTimeout(r, 300));
        expect(user.notices, `reconnection ${again + 1} of user0 got the notice again`).not.toContain(NOTICE);
        await quit(user);
      }
      await quit(bob);
      await waitUntil(() => connectionThreads(proxy!.stderr()).size >= 1, 5_000, 'connection log lines');
      expect([...connectionThreads(proxy.stderr())].sort(), 'connections were relayed by both threads').toEqual(['1', '2']);

      const code = await proxy.stop();
      expect(code, proxy.stderr()).toBe(0);
      proxy = undefined;

      const rows = (await readCsvLogs(path.join(dir, 'data', 'logs'))).filter((r) => r.type === 1 && r.outgoing && r.text.startsWith('from user'));
      expect(rows.map((r) => r.text).sort()).toEqual([...expected].sort());
      const db = new DatabaseSync(path.join(dir, 'data', 'archive.sqlite'), { readOnly: true });
      try {
        const stored = db.prepare("SELECT text FROM messages WHERE type = 1 AND outgoing = 1 AND text LIKE 'from user%'").all() as Array<{ text: string }>;
        expect(stored.map((r) => r.text).sort()).toEqual([...expected].sort());
      } finally {
        db.close();
      }
      const status = await runCli(['status', '--json'], dir);
      const loggers = (JSON.parse(status.stdout) as { loggers: Array<{ name: string; pending: number }> }).loggers;
      expect(loggers.length).toBeGreaterThan(0);
      for (const logger of loggers) expect(logger.pending, `${logger.name} pending after stop`).toBe(0);
    } finally {
      await proxy?.stop();
    }
  });

  it('holds maxPerClient over both threads', async () => {
    const dir = await configure('limits', { connections: { maxPerClient: 3 } });
    const proxy = await startImspect([], { cwd: dir });
    const sockets: net.Socket[] = [];
    try {
      const url = new URL(/listening: (\S+)/.exec(proxy.stdout())![1]!);
      const closed = new Set<number>();
      for (let i = 0; i < 8; i++) {
        const socket = net.connect(Number(url.port), '127.0.0.1');
        socket.on('error', () => undefined);
        socket.on('close', () => closed.add(i));
        await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
        sockets.push(socket);
      }
      // The refused ones are closed at once; the admitted ones wait in the SOCKS5 handshake.
      await waitUntil(() => closed.size >= 5, 5_000, 'the connections over the limit to be closed');
      await new Promise((r) => setTimeout(r, 300));
      expect(closed.size).toBe(5);
      expect(proxy.stderr()).toMatch(/most allowed per client/);
    } finally {
      for (const socket of sockets) socket.destroy();
      await proxy.stop();
    }
  });

  it('applies a SIGHUP reload in every thread', async () => {
    const dir = await configure('reload', { plugins: { 'filter-badwords': { options: { file: 'words.txt' } } } });
    await writeFile(path.join(dir, 'words.txt'), 'darn\n');
    const proxy = await startImspect([], { cwd: dir });
    const bob = await bobInChannel(ngircd.port);
    try {
      const via = socksVia(proxy);
      await chat(
        bob,
        via,
        CLIENTS,
        (i) => [`oh darn ${i}`],
        (text) => text.replace('darn', '****'),
      );
      // A new option: each thread sets its word filter up again with it.
      const file = path.join(dir, 'imspect.config.json');
      const config = JSON.parse(await readFile(file, 'utf8')) as { plugins: Record<string, { options: Record<string, unknown> }> };
      config.plugins['filter-badwords']!.options['replaceCharacter'] = '#';
      await writeFile(file, JSON.stringify(config));
      const before = proxy.stderr().split('"msg":"reloaded"').length;
      proxy.child.kill('SIGHUP');
      // The main thread and both relay threads say so.
      await waitUntil(() => proxy.stderr().split('"msg":"reloaded"').length >= before + 2, 10_000, 'the SIGHUP reload');
      await new Promise((r) => setTimeout(r, 300));
      let round = 0;
      await onBothThreads(proxy, async () => {
        const r = round++;
        await chat(
          bob,
          via,
          CLIENTS,
          (i) => [`darn again ${r} ${i}`],
          (text) => text.replace('darn', '####'),
        );
      });
      expect([...connectionThreads(proxy.stderr())].sort(), 'connections were relayed by both threads').toEqual(['1', '2']);
    } finally {
      await quit(bob);
      await proxy.stop();
    }
  });

  it('delivers what the threads journaled before a SIGKILL at the next start, with one thread', async () => {
    // The loggers wait for a full batch that never comes: the events stay in the threads' journals.
    const dir = await configure('restart', { loggers: { batchSize: 100_000, maxBatchSize: 100_000, flushIntervalMs: 600_000 } });
    let proxy: RunningImspect | undefined = await startImspect([], { cwd: dir });
    const bob = await bobInChannel(ngircd.port);
    const sent: string[] = [];
    try {
      let round = 0;
      await onBothThreads(proxy, async () => {
        const r = round++;
        await chat(bob, socksVia(proxy!), CLIENTS, (i) => [0, 1, 2].map((k) => `kept ${r} ${i} ${k}`).map((t) => (sent.push(t), t)));
      });
      expect([...connectionThreads(proxy.stderr())].sort()).toEqual(['1', '2']);
      expect(await readCsvLogs(path.join(dir, 'data', 'logs')).catch(() => [])).toHaveLength(0);
      proxy.child.kill('SIGKILL');
      await new Promise<void>((resolve) => proxy!.child.once('exit', () => resolve()));
      proxy = undefined;

      const file = path.join(dir, 'imspect.config.json');
      const config = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
      config['workers'] = 1;
      delete config['loggers'];
      await writeFile(file, JSON.stringify(config));
      proxy = await startImspect([], { cwd: dir });
      await waitUntil(() => /delivering \d+ events left in \S*relay-1/.test(proxy!.stderr()), 10_000, 'the left journals to be opened');
      const code = await proxy.stop();
      expect(code, proxy.stderr()).toBe(0);
      proxy = undefined;
      const rows = (await readCsvLogs(path.join(dir, 'data', 'logs'))).filter((r) => r.type === 1 && r.outgoing && r.text.startsWith('kept '));
      expect(rows.map((r) => r.text).sort()).toEqual(sent.sort());
    } finally {
      await quit(bob);
      await proxy?.stop();
    }
  });

  it("shows every thread's connections in the console", async () => {
    const dir = await configure('console', { console: { enabled: true, host: '127.0.0.1', port: 0 } });
    const added = await new Promise<number>((resolve) => {
      const child = execFile(process.execPath, [CLI, 'console', 'user', 'add', 'ada', '--role', 'auditor', '--password-stdin'], { cwd: dir }, (error) => resolve(error ? 1 : 0));
      child.stdin!.end('a console password 1\n');
    });
    expect(added).toBe(0);
    const proxy = await startImspect([], { cwd: dir });
    const users: Seen[] = [];
    try {
      const consoleUrl = new URL(/console: +(\S+)/.exec(proxy.stdout())![1]!);
      const login = await fetch(new URL('/api/login', consoleUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'ada', password: 'a console password 1' }),
      });
      expect(login.status).toBe(200);
      const cookie = login.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ');
      await onBothThreads(
        proxy,
        async () => {
          users.push(await connect(`user${users.length}`, socksVia(proxy)));
        },
        40,
      );
      while (users.length < 6) users.push(await connect(`user${users.length}`, socksVia(proxy)));
      expect([...connectionThreads(proxy.stderr())].sort(), 'connections were relayed by both threads').toEqual(['1', '2']);
      const dashboard = (await (await fetch(new URL('/api/dashboard', consoleUrl), { headers: { cookie } })).json()) as {
        connections: number;
        online: Array<{ localId?: string; id: string }>;
      };
      expect(dashboard.connections).toBe(users.length);
      expect(dashboard.online.map((s) => s.localId).sort()).toEqual(users.map((_, i) => `user${i}`).sort());
      expect(new Set(dashboard.online.map((s) => s.id.split('.')[0]))).toEqual(new Set(['1', '2']));
    } finally {
      for (const user of users) await quit(user);
      await proxy.stop();
    }
  });

  it('gives one blocked-message reply per user and period, whichever thread relays the next blocked message', async () => {
    const dir = await configure('blocked', {
      plugins: { 'filter-badwords': { options: { file: 'words.txt', blockCount: 1 } } },
      responses: { blocked: { rateLimitSeconds: 600 } },
    });
    await writeFile(path.join(dir, 'words.txt'), 'darn\n');
    const proxy = await startImspect([], { cwd: dir });
    let replies = 0;
    let connections = 0;
    try {
      // alice again and again (new connections, either thread), each time saying something blocked.
      await onBothThreads(
        proxy,
        async () => {
          const alice = await connect('alice', socksVia(proxy));
          connections++;
          alice.client.say('bob', `darn ${connections}`);
          await new Promise((r) => setTimeout(r, 400));
          replies += alice.notices.filter((n) => n.startsWith('Blocked')).length;
          await quit(alice);
        },
        20,
      );
      // And once more on each thread after both were seen.
      for (let i = 0; i < 2; i++) {
        const alice = await connect('alice', socksVia(proxy));
        alice.client.say('bob', 'darn again');
        await new Promise((r) => setTimeout(r, 400));
        replies += alice.notices.filter((n) => n.startsWith('Blocked')).length;
        await quit(alice);
      }
      expect([...connectionThreads(proxy.stderr())].sort(), 'connections were relayed by both threads').toEqual(['1', '2']);
      expect(replies, 'blocked replies to alice over all her connections').toBe(1);
    } finally {
      await proxy.stop();
    }
  });
});
