/**
 * Broken and hostile Gadu-Gadu through `imspect start`: garbage, a packet over the configured limit, bodies
 * shorter than their fields, offsets past the body and a length field larger than the data reach the other
 * side byte for byte, the messages around them are logged, protocol errors are reported in the operational log,
 * and the proxy stays up for the next client.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cstr, gg, ggLying, u32, u8, zeros } from '../../packages/plugin-gadu-gadu/test/helpers.js';
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

const msg = (text: string) => gg(0x0b, u32(1002), u32(1), u32(0x08), cstr(text));
const login70 = gg(0x19, u32(6666), u8(2), zeros(64), u32(2), u32(0x2a), u8(0), zeros(12), u8(0), u8(0xbe));

describe('bad Gadu-Gadu input through imspect', () => {
  let dir: string;
  let proxy: RunningImspect;
  let server: Awaited<ReturnType<typeof startRecordingServer>>;
  let port: number;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-gg-bad-'));
    server = await startRecordingServer();
    await writeFile(
      path.join(dir, 'imspect.config.json'),
      JSON.stringify({
        dataDir: 'data',
        listeners: [{ type: 'forward', port: 0, upstream: { host: '127.0.0.1', port: server.port }, protocol: 'gadu-gadu' }],
        plugins: { 'gadu-gadu': { maxFrameSize: 8192 } },
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
    const big = msg('y'.repeat(20_000)); // over the 8 KiB limit: passed through unparsed
    const lying = ggLying(0x0b, 40_000, u32(1002), u32(1), u32(8), cstr('never complete'));
    const parts = [
      login70,
      Buffer.from('\x00\xff garbage GET / HTTP/1.1\r\n\r\n\x0b\x00'),
      msg('after garbage'),
      gg(0x0b, u8(1)),
      gg(0x2d, u32(1002), u32(1), u32(8), u32(0xfffffff0), u32(0xfffffff0), cstr('<b>offsets</b>'), cstr('offsets')),
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
    const incoming = [gg(0x03), Buffer.from('not gadu-gadu at all'), gg(0x0a, u32(1002), u32(9), u32(1), u32(8), cstr('from bob')), Buffer.from([0x0a, 0, 0])];
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
        [true, 'offsets'],
        [true, 'after the big one'],
        [false, 'from bob'],
        [true, 'second client'],
      ]),
    );
    expect(texts).toHaveLength(5);
    const log = proxy.stderr();
    expect(log).toContain('not-gadu-gadu');
    expect(log).toContain('malformed-packet');
    expect(log).toContain('frame-too-large');
  }, 60_000);
});
