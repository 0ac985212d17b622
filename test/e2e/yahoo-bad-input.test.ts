/**
 * Broken and hostile YMSG through `imspect start`: garbage, a 64 KB packet, bodies without separators, empty
 * bodies and a length field larger than the data reach the other side byte for byte, the messages around them
 * are logged, protocol errors are reported in the operational log, and the proxy stays up for the next client.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ymsg } from '../../packages/plugin-yahoo/test/helpers.js';
import { readCsvLogs } from '../support/csv-logs.js';
import { startImspect, type RunningImspect } from '../support/imspect-process.js';

async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function startRecordingServer() {
  const peers: Array<{ socket: net.Socket; received: Buffer[]; ended: boolean }> = [];
  const server = net.createServer((socket) => {
    const peer = { socket, received: [] as Buffer[], ended: false };
    peers.push(peer);
    socket.on('data', (chunk) => peer.received.push(chunk));
    socket.on('end', () => {
      peer.ended = true;
      socket.end();
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, peers, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const msg = (text: string) =>
  ymsg({
    service: 0x06,
    pairs: [
      [1, 'mallory'],
      [5, 'bob'],
      [14, text],
      [97, '1'],
    ],
  });

describe('bad YMSG input through imspect', () => {
  let dir: string;
  let proxy: RunningImspect;
  let server: Awaited<ReturnType<typeof startRecordingServer>>;
  let port: number;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-yahoo-bad-'));
    server = await startRecordingServer();
    await writeFile(
      path.join(dir, 'imspect.config.json'),
      JSON.stringify({
        dataDir: 'data',
        listeners: [{ type: 'forward', port: 0, upstream: { host: '127.0.0.1', port: server.port }, protocol: 'yahoo' }],
        log: { format: 'json' },
      }),
    );
    proxy = await startImspect([], { cwd: dir });
    port = Number(new URL(/listening: (\S+)/.exec(proxy.stdout())![1]!).port);
  });

  afterAll(async () => {
    await proxy?.stop();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('relays every byte both ways, logs the messages around the damage, and keeps serving', async () => {
    const bigText = 'x'.repeat(0xffff - 33); // the other pairs take 33 bytes: the body is exactly 65,535 bytes
    const big = msg(bigText);
    expect(big.length).toBe(20 + 0xffff);
    const noSeparators = Buffer.concat([ymsg({ service: 0x06 }).subarray(0, 20), Buffer.from('1\xc0\x80mallory\xc0\x805\xc0\x80bob\xc0\x8014\xc0\x80unterminated', 'latin1')]);
    noSeparators.writeUInt16BE(noSeparators.length - 20, 8);
    const lying = ymsg({
      service: 0x06,
      pairs: [
        [1, 'mallory'],
        [14, 'never complete'],
      ],
      length: 40_000,
    });
    const parts = [
      ymsg({ service: 0x57, pairs: [[1, 'mallory']] }),
      Buffer.from('\x00\xff garbage GET / HTTP/1.1\r\n\r\nYMS'),
      msg('after garbage'),
      ymsg({ service: 0x06 }),
      ymsg({ service: 0x1d }),
      noSeparators,
      big,
      msg('after the big one'),
      lying,
    ];
    const client = net.connect({ host: '127.0.0.1', port });
    const fromServer: Buffer[] = [];
    client.on('data', (chunk) => fromServer.push(chunk));
    const closed = new Promise((resolve) => client.once('close', resolve));
    await new Promise((resolve) => client.once('connect', resolve));
    for (const part of parts) client.write(part);
    await until(() => server.peers.length === 1, 'the upstream connection');
    const incoming = [
      Buffer.from('not ymsg at all'),
      ymsg({
        service: 0x06,
        pairs: [
          [5, 'mallory'],
          [4, 'bob'],
          [14, 'from bob'],
        ],
      }),
      Buffer.from('YMSG'),
    ];
    for (const part of incoming) server.peers[0]!.socket.write(part);
    const sent = Buffer.concat(parts);
    await until(() => Buffer.concat(server.peers[0]!.received).length >= sent.length - lying.length, 'the bytes before the incomplete packet');
    client.end();
    await until(() => server.peers[0]!.ended, 'the client end to reach the server');
    expect(Buffer.concat(server.peers[0]!.received).equals(sent)).toBe(true);
    await closed;
    expect(Buffer.concat(fromServer).equals(Buffer.concat(incoming))).toBe(true);

    // The proxy still serves a well-behaved client.
    const second = net.connect({ host: '127.0.0.1', port });
    await new Promise((resolve) => second.once('connect', resolve));
    second.end(msg('second client'));
    await until(() => server.peers[1]?.ended === true, 'the second client');
    expect(Buffer.concat(server.peers[1]!.received).equals(msg('second client'))).toBe(true);

    expect(await proxy.stop()).toBe(0);
    const rows = await readCsvLogs(path.join(dir, 'data/logs'));
    const texts = rows.filter((r) => r.type === 1).map((r) => [r.outgoing, r.text]);
    expect(texts).toEqual(
      expect.arrayContaining([
        [true, 'after garbage'],
        [true, 'unterminated'],
        [true, bigText],
        [true, 'after the big one'],
        [false, 'from bob'],
        [true, 'second client'],
      ]),
    );
    expect(texts).toHaveLength(6);
    const log = proxy.stderr();
    expect(log).toContain('not-ymsg');
    expect(log).toContain('malformed-body');
  }, 60_000);
});
