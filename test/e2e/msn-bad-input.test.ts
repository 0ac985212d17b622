/**
 * Hostile MSN traffic through `imspect start` (a forward listener with the MSN plugin): absurd, negative and
 * oversized payload lengths, a truncated payload, binary garbage. Every byte reaches the other side unchanged,
 * the client is never held up, the proxy stays up, the messages around the garbage are logged and the
 * protocol errors are reported.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCsvLogs } from '../support/csv-logs.js';
import { startImspect, type RunningImspect } from '../support/imspect-process.js';

const HEAD = 'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n';
const msg = (line: string, text: string) => {
  const body = Buffer.from(`${HEAD}${text}`);
  return Buffer.concat([Buffer.from(`${line} ${body.length}\r\n`), body]);
};

async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('bad MSN input through imspect', () => {
  let dir: string;
  let proxy: RunningImspect;
  let server: net.Server;
  const received: Buffer[][] = [];
  const peers: net.Socket[] = [];
  let proxyPort: number;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-msn-badinput-'));
    server = net.createServer((socket) => {
      const chunks: Buffer[] = [];
      received.push(chunks);
      peers.push(socket);
      socket.on('data', (chunk) => chunks.push(chunk));
      socket.on('end', () => socket.end());
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await writeFile(
      path.join(dir, 'imspect.config.json'),
      JSON.stringify({
        dataDir: 'data',
        listeners: [{ type: 'forward', host: '127.0.0.1', port: 0, upstream: { host: '127.0.0.1', port }, protocol: 'msn' }],
        plugins: { msn: { options: { maxPayloadBytes: 4096 } } },
        log: { format: 'json' },
      }),
    );
    proxy = await startImspect([], { cwd: dir });
    proxyPort = Number(new URL(/listening: (\S+)/.exec(proxy.stdout())![1]!).port);
  });

  afterAll(async () => {
    await proxy?.stop();
    for (const peer of peers) peer.destroy();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  async function connect() {
    const client = net.connect({ host: '127.0.0.1', port: proxyPort });
    const fromServer: Buffer[] = [];
    client.on('data', (chunk) => fromServer.push(chunk));
    await new Promise((resolve) => client.once('connect', resolve));
    return { client, fromServer };
  }

  it('oversized, negative and absurd lengths and garbage pass byte for byte; messages around them are logged', async () => {
    const { client, fromServer } = await connect();
    const garbage = Buffer.alloc(20_000);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919) % 256;
    const parts = [
      Buffer.from('USR 1 alice@example.com 1234.5678\r\n'),
      msg('MSG 2 N', 'before the garbage'),
      Buffer.concat([Buffer.from('MSG 3 N 50000\r\n'), Buffer.alloc(50_000, 0x41)]), // above maxPayloadBytes
      Buffer.from('MSG 4 N -12\r\n'),
      msg('MSG 5 N', 'between the garbage'),
      Buffer.from('MSG 6 N 99999999999999999999999\r\n'), // the rest of this direction is one payload
      garbage,
      msg('MSG 7 N', 'swallowed by the absurd length'),
    ];
    // alice is the user of this switchboard once the server confirms her.
    client.write(parts[0]!);
    await until(() => received.length > 0 && Buffer.concat(received[0]!).length > 0, 'imspect to connect upstream with the first line');
    peers[0]!.write('USR 1 OK alice@example.com Alice\r\nJOI bob@example.com Bob\r\n');
    await until(() => Buffer.concat(fromServer).includes('JOI bob'), 'the join');
    for (const part of parts.slice(1)) client.write(part);
    const all = Buffer.concat(parts);
    await until(() => Buffer.concat(received[0]!).length >= all.length, 'every byte at the server');
    expect(Buffer.concat(received[0]!).equals(all)).toBe(true);

    // The other direction still parses; a payload the stream ends in the middle of is forwarded at the end.
    const incoming = Buffer.concat([msg('MSG bob@example.com Bob', 'from bob, after it all'), Buffer.from('MSG bob@example.com Bob 500\r\ntruncated')]);
    peers[0]!.write(incoming);
    await until(() => Buffer.concat(fromServer).includes('after it all'), 'the message from bob');
    // A command is forwarded once complete: the truncated one follows when the stream ends.
    peers[0]!.end();
    await until(() => Buffer.concat(fromServer).includes('truncated'), 'the truncated payload at the client');
    client.end();
    await until(() => client.closed, 'the connection to close');
    expect(Buffer.concat(fromServer).equals(Buffer.concat([Buffer.from('USR 1 OK alice@example.com Alice\r\nJOI bob@example.com Bob\r\n'), incoming]))).toBe(true);

    // A second connection through the same proxy still works.
    const second = await connect();
    second.client.write(Buffer.concat([Buffer.from('USR 1 alice@example.com 9\r\n')]));
    await until(() => received.length > 1 && Buffer.concat(received[1]!).length > 0, 'the second connection');
    second.client.end();
    await until(() => second.client.closed, 'the second connection to close');

    expect(await proxy.stop()).toBe(0);
    const rows = await readCsvLogs(path.join(dir, 'data', 'logs'));
    const texts = rows.filter((r) => r.type === 1).map((r) => r.text);
    expect(texts).toEqual(expect.arrayContaining(['before the garbage', 'between the garbage', 'from bob, after it all']));
    expect(texts).not.toContain('swallowed by the absurd length');
    expect(proxy.stderr()).toMatch(/payload-too-large/);
    expect(proxy.stderr()).toMatch(/bad-length/);
  });
});
