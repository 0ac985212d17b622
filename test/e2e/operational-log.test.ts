/**
 * The operational log of `imspect start` as an operator reads it: one info line when a connection opens and one
 * when it closes (client, server, protocol, connection id, bytes each way, events, duration, why it closed), and a
 * start banner that names the active policy: the filters with their files, the notice, the blocked reply, failMode,
 * policy.unreadable.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startImspect, type RunningImspect } from '../support/imspect-process.js';

const WELCOME = ':irc.test 001 alice :Welcome\r\n';
const FROM_BOB = ':bob!b@irc.test PRIVMSG alice :hi alice\r\n';
const LOGIN = 'NICK alice\r\nUSER a 0 * :Alice\r\n';
const TO_BOB = 'PRIVMSG bob :hello bob\r\n';

/** A scripted IRC server: welcomes a NICK, answers a PRIVMSG with one from bob, ends when the client ends. */
async function startScriptedIrc() {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let seen = '';
    socket.on('data', (chunk) => {
      seen += chunk.toString('latin1');
      if (seen.includes('NICK ') && !seen.includes('\0welcomed')) {
        seen += '\0welcomed';
        socket.write(WELCOME);
      }
      if (seen.includes('PRIVMSG bob') && !seen.includes('\0answered')) {
        seen += '\0answered';
        socket.write(FROM_BOB);
      }
    });
    socket.on('end', () => socket.end());
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    /** Closes every connection from the server's side. */
    hangUp: () => {
      for (const socket of sockets) socket.end();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

type LogLine = Record<string, unknown> & { msg: string };

function logLines(stderr: string): LogLine[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

async function until<T>(find: () => T | undefined, what: string, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function readUntil(socket: net.Socket, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = '';
    const onData = (chunk: Buffer) => {
      got += chunk.toString('latin1');
      if (got.includes(text)) {
        socket.off('data', onData);
        resolve();
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

describe('the operational log of imspect start', () => {
  let dir: string;
  let proxy: RunningImspect;
  let server: Awaited<ReturnType<typeof startScriptedIrc>>;
  let proxyPort: number;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-oplog-'));
    server = await startScriptedIrc();
    await writeFile(path.join(dir, 'words.txt'), 'darn\n');
    await writeFile(path.join(dir, 'acl.txt'), 'allow all\n');
    await writeFile(path.join(dir, 'policy.yaml'), 'block:\n  file: true\n');
    await writeFile(
      path.join(dir, 'imspect.config.json'),
      JSON.stringify({
        dataDir: 'data',
        listeners: [{ type: 'forward', port: 0, upstream: { host: '127.0.0.1', port: server.port }, protocol: 'irc' }],
        plugins: {
          'filter-badwords': { options: { file: 'words.txt' } },
          'filter-acl': { options: { file: 'acl.txt' } },
          'filter-policy': { options: { file: 'policy.yaml' } },
          'logger-sql': { enabled: false },
        },
        pipeline: { failMode: 'closed' },
        policy: { unreadable: { qq: 'block', tls: 'allow' } },
        responses: { blocked: { text: 'Not allowed here' } },
        log: { format: 'json' },
      }),
    );
    proxy = await startImspect([], { cwd: dir });
    proxyPort = Number(new URL(/listening: (\S+)/.exec(proxy.stdout())![1]!).port);
  });

  afterAll(async () => {
    await proxy?.stop();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('names the active policy in the start banner and the "imspect started" line', async () => {
    const out = proxy.stdout();
    const real = path.resolve(dir);
    expect(out).toContain(`filter-badwords (word list ${path.join(real, 'words.txt')})`);
    expect(out).toContain(`filter-acl (ACL file ${path.join(real, 'acl.txt')})`);
    expect(out).toContain(`filter-policy (policy rules ${path.join(real, 'policy.yaml')})`);
    expect(out).toMatch(/^ {2}notice: {4}off$/m);
    expect(out).toMatch(/^ {2}blocked: {3}reply "Not allowed here" \(at most one per user every 60 s\)$/m);
    expect(out).toMatch(/^ {2}failMode: {2}closed \(a failing filter blocks the frame\)$/m);
    expect(out).toMatch(/^ {2}unreadable: qq block, tls allow, default log$/m);
    const started = logLines(proxy.stderr()).find((l) => l.msg === 'imspect started');
    expect(started).toBeDefined();
    expect(started!['policy']).toMatchObject({ notice: 'off', failMode: expect.stringMatching(/^closed/), unreadable: 'qq block, tls allow, default log' });
    expect((started!['policy'] as { filters: string[] }).filters).toHaveLength(3);
  });

  it('logs one open and one close line at info for a relayed IRC conversation, with what went through', async () => {
    const client = net.connect({ host: '127.0.0.1', port: proxyPort });
    await new Promise((resolve) => client.once('connect', resolve));
    const welcomed = readUntil(client, WELCOME);
    client.write(LOGIN);
    await welcomed;
    const answered = readUntil(client, FROM_BOB);
    client.write(TO_BOB);
    await answered;
    const clientPort = client.localPort!;
    client.end();
    const ofThis = (l: LogLine) => l['client'] === `127.0.0.1:${clientPort}`;
    const closed = await until(() => logLines(proxy.stderr()).find((l) => ofThis(l) && l.msg === 'connection closed'), 'the close line');
    const lines = logLines(proxy.stderr()).filter(ofThis);
    const opened = lines.filter((l) => l.msg === 'connection open');
    expect(opened).toHaveLength(1);
    expect(lines.filter((l) => l.msg === 'connection closed')).toHaveLength(1);
    expect(opened[0]).toMatchObject({ level: 'info', protocol: 'irc', server: `127.0.0.1:${server.port}` });
    expect(opened[0]!['conn']).toEqual(expect.any(String));
    expect(closed).toMatchObject({
      level: 'info',
      conn: opened[0]!['conn'],
      server: `127.0.0.1:${server.port}`,
      protocol: 'irc',
      bytesOut: Buffer.byteLength(LOGIN + TO_BOB),
      bytesIn: Buffer.byteLength(WELCOME + FROM_BOB),
      // The login (welcomed by the server), the message to bob and the one from him.
      events: 3,
      reason: 'client closed',
    });
    expect(closed['durationMs']).toEqual(expect.any(Number));
    // Frames are debug detail: none at info.
    expect(logLines(proxy.stderr()).filter((l) => l.msg === 'frame')).toEqual([]);
  });

  it('says when the server ended the connection', async () => {
    const client = net.connect({ host: '127.0.0.1', port: proxyPort });
    await new Promise((resolve) => client.once('connect', resolve));
    client.on('end', () => client.end());
    const welcomed = readUntil(client, WELCOME);
    client.write(LOGIN);
    await welcomed;
    const clientPort = client.localPort!;
    server.hangUp();
    const closed = await until(() => logLines(proxy.stderr()).find((l) => l['client'] === `127.0.0.1:${clientPort}` && l.msg === 'connection closed'), 'the close line');
    expect(closed).toMatchObject({ protocol: 'irc', bytesOut: Buffer.byteLength(LOGIN), bytesIn: Buffer.byteLength(WELCOME), events: 1, reason: 'server closed' });
  });
});
