/**
 * Hostile and broken IRC traffic through `imspect start`: every byte still reaches the other side unchanged, the
 * proxy stays up, messages around the garbage are logged, and hostile nicks never escape the log folder.
 */
import { mkdtemp, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCsvLogs } from '../support/csv-logs.js';
import { startImspect, type RunningImspect } from '../support/imspect-process.js';

/** A server that records every byte it receives and can send raw bytes to the client. */
async function startRecordingServer() {
  const received: Buffer[] = [];
  let peer: net.Socket | undefined;
  let ended = false;
  const server = net.createServer((socket) => {
    peer = socket;
    socket.on('data', (chunk) => received.push(chunk));
    socket.on('end', () => {
      ended = true;
      socket.end();
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    bytes: () => Buffer.concat(received),
    send: (data: string | Buffer) => peer!.write(data),
    ended: () => ended,
    connected: () => peer !== undefined,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('bad IRC input through imspect', () => {
  let dir: string;
  let proxy: RunningImspect;
  let server: Awaited<ReturnType<typeof startRecordingServer>>;
  let proxyPort: number;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-badinput-'));
    server = await startRecordingServer();
    await writeFile(
      path.join(dir, 'imspect.config.json'),
      JSON.stringify({
        dataDir: 'data',
        listeners: [{ type: 'forward', port: 0, upstream: { host: '127.0.0.1', port: server.port }, protocol: 'irc' }],
        log: { format: 'json' },
      }),
    );
    proxy = await startImspect([], { cwd: dir });
    proxyPort = Number(new URL(/listening: (\S+)/.exec(proxy.stdout())![1]!).port);
  });

  afterAll(async () => {
    await proxy?.stop();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('relays garbage, a 1 MB line and hostile nicks byte for byte, and logs the messages around them', async () => {
    const client = net.connect({ host: '127.0.0.1', port: proxyPort });
    const fromServer: Buffer[] = [];
    client.on('data', (chunk) => fromServer.push(chunk));
    await new Promise((resolve) => client.once('connect', resolve));
    const hugeLine = Buffer.concat([Buffer.from('PRIVMSG #big :'), Buffer.alloc(1024 * 1024, 0x61), Buffer.from('\r\n')]);
    const parts: Buffer[] = [
      Buffer.from('NICK mallory\r\nUSER m 0 * :M\r\n'),
      Buffer.from(':\r\n\r\n@\r\n@;;=; :x\r\n   \r\n\x00\x01\x02\xff\xfe\r\nPRIVMSG\r\nPRIVMSG :\r\n'),
      hugeLine,
      Buffer.from('PRIVMSG #chan :still here after the flood\r\n'),
    ];
    await until(() => server.connected(), 'imspect to connect upstream');
    server.send(':irc.test 001 mallory :Welcome\r\n');
    await until(() => Buffer.concat(fromServer).includes('001 mallory'), 'the welcome');
    for (const part of parts) client.write(part);

    // Hostile nicks, from the server side: a new nick of ours, and private messages from such senders.
    const hostile = ['../../etc', 'a/b', '..', 'x'.repeat(10_000), 'nul\u0000byte', 'ñandú'];
    await until(() => server.bytes().includes('still here after the flood'), 'the message after the flood');
    for (const nick of hostile) server.send(`:${nick}!u@h PRIVMSG mallory :hello from ${nick.slice(0, 20)}\r\n`);
    server.send(':mallory!m@h NICK :../../../tmp/evil\r\n');
    await until(() => Buffer.concat(fromServer).includes('NICK :../../../tmp/evil'), 'the nick change');
    client.write('PRIVMSG #chan :as the evil nick\r\n');
    await until(() => server.bytes().includes('as the evil nick'), 'the last message');
    client.end();
    await until(() => server.ended(), 'the half-close to reach the server');

    expect(server.bytes().equals(Buffer.concat([...parts, Buffer.from('PRIVMSG #chan :as the evil nick\r\n')]))).toBe(true);
    expect(await proxy.stop()).toBe(0);

    const logs = path.join(dir, 'data', 'logs');
    const rows = await readCsvLogs(logs);
    const texts = rows.filter((r) => r.type === 1).map((r) => r.text);
    expect(texts).toContain('still here after the flood');
    expect(texts).toContain('as the evil nick');
    for (const nick of hostile) expect(texts).toContain(`hello from ${nick.slice(0, 20)}`);
    // Every file is inside the log folder, and each hostile sender has its own.
    const root = await realpath(logs);
    const files = (await readdir(logs, { recursive: true })).map((f) => path.join(logs, f));
    for (const file of files) expect((await realpath(file)).startsWith(root + path.sep)).toBe(true);
    const senders = new Set(rows.filter((r) => r.text.startsWith('hello from')).map((r) => r.remoteDir));
    expect(senders.size).toBe(hostile.length);
    expect(proxy.stderr()).toMatch(/frame-too-large/);
  });
});
