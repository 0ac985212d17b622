/**
 * Connection limits: the most connections at once in all and per client address, silent clients on listeners
 * without a proxy handshake, and descriptors counted until both sockets of a connection are closed.
 */
import net from 'node:net';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ForwardListenerConfig, Socks5ListenerConfig } from '../src/config/schema.js';
import { ConnectionLimits, connectionBudget, descriptorLimit, holdWhileConnecting } from '../src/net/connection-limits.js';
import { SharedCounts } from '../src/net/shared-counts.js';
import { closeServer, listen, readBytes, recordingLogger, removeTempDirs, sleep, tempDir, waitFor } from './helpers.js';
import { listenerHarness } from './listener-harness.js';

afterAll(removeTempDirs);

/** Resolves once `socket` is closed; with what it received before. */
function closed(socket: net.Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  return new Promise((resolve) => (socket.closed ? resolve(Buffer.alloc(0)) : socket.once('close', () => resolve(Buffer.concat(chunks)))));
}

function connectFrom(port: number, localAddress: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

const refusals = (log: ReturnType<typeof recordingLogger>) => log.records.filter((r) => r.level === 'warn' && /refused/.test(r.msg ?? ''));

describe('connection budget', () => {
  it('reads the soft open-file limit from /proc/self/limits', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'limits');
    await writeFile(
      file,
      'Limit                     Soft Limit           Hard Limit           Units     \nMax open files            1024                 4096                 files     \n',
    );
    expect(descriptorLimit(file)).toBe(1024);
    await writeFile(file, 'Max open files            unlimited            unlimited            files     \n');
    expect(descriptorLimit(file)).toBeUndefined();
    expect(descriptorLimit(path.join(dir, 'missing'))).toBeUndefined();
    if (process.platform === 'linux') expect(descriptorLimit()).toBeGreaterThan(0);
  });

  it('auto: two descriptors per connection out of what the reserve leaves; a number is taken as it is', () => {
    // A quarter of 1024 is 256 reserved: (1024 - 256) / 2.
    expect(connectionBudget('auto', 1024).maxConnections).toBe(384);
    // At least 128 reserved: (320 - 128) / 2.
    expect(connectionBudget('auto', 320).maxConnections).toBe(96);
    expect(connectionBudget('auto', 100).maxConnections).toBe(1);
    expect(connectionBudget('auto', 1_048_576).maxConnections).toBe(393_216);
    expect(connectionBudget(50, 1024)).toEqual({ maxConnections: 50, source: 'configured' });
  });
});

describe('connection limits on listeners', () => {
  const { echoServer, relayingListener, client } = listenerHarness();

  async function forward(limits: ConnectionLimits) {
    const echoPort = await echoServer();
    const config: ForwardListenerConfig = { type: 'forward', host: '127.0.0.1', port: 0, upstream: { host: '127.0.0.1', port: echoPort }, allow: ['127.0.0.0/8'] };
    return relayingListener(config, { limits });
  }

  it('forward: the connection past maxPerClient is refused at once and logged; other addresses and freed slots are admitted', async () => {
    const log = recordingLogger();
    const limits = new ConnectionLimits({ maxConnections: 100, maxPerClient: 3, handshakeTimeoutMs: 10_000 }, log);
    const { listener } = await forward(limits);
    const port = listener.address.port;
    const held: net.Socket[] = [];
    for (let i = 0; i < 3; i++) {
      const socket = await client(port);
      socket.write(`hello ${i}\n`);
      expect((await readBytes(socket, 8)).toString()).toBe(`hello ${i}\n`);
      held.push(socket);
    }
    expect(limits.active).toBe(3);
    expect(limits.sockets).toBe(6);
    const fourth = await client(port);
    fourth.write('too many\n');
    expect((await closed(fourth)).length).toBe(0);
    expect(refusals(log)).toHaveLength(1);
    expect(refusals(log)[0]!.msg).toMatch(/refused on forward 127\.0\.0\.1:0: this address has 3 connections open, the most allowed per client \(connections\.maxPerClient\)/);
    expect(limits.refused).toBe(1);
    // The held connections go on.
    held[0]!.write('still here\n');
    expect((await readBytes(held[0]!, 11)).toString()).toBe('still here\n');
    // Another client address has its own count.
    const other = await connectFrom(port, '127.0.0.2');
    other.on('error', () => undefined);
    other.write('other\n');
    expect((await readBytes(other, 6)).toString()).toBe('other\n');
    other.destroy();
    // A slot is free again once both sockets of a held connection are closed.
    held[1]!.destroy();
    await waitFor(() => limits.active === 2 && limits.sockets === 4, 5_000, 'the slots to be released');
    const again = await client(port);
    again.write('again\n');
    expect((await readBytes(again, 6)).toString()).toBe('again\n');
    limits.close();
  });

  it('SOCKS5: the connection past maxConnections is refused at once; refusals are logged once, then summed up', async () => {
    const echoPort = await echoServer();
    const log = recordingLogger();
    const limits = new ConnectionLimits({ maxConnections: 2, maxPerClient: 0, handshakeTimeoutMs: 10_000 }, log);
    const config: Socks5ListenerConfig = { type: 'socks5', host: '127.0.0.1', port: 0, allow: ['127.0.0.0/8'] };
    const { listener } = await relayingListener(config, { limits });
    const port = listener.address.port;
    const session = async () => {
      const socket = await client(port);
      socket.write(Uint8Array.from([5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, echoPort >> 8, echoPort & 0xff]));
      expect([...(await readBytes(socket, 12)).subarray(0, 4)]).toEqual([5, 0, 5, 0]);
      return socket;
    };
    const first = await session();
    await session();
    for (let i = 0; i < 5; i++) {
      const refused = await client(port);
      refused.write(Uint8Array.from([5, 1, 0]));
      expect((await closed(refused)).length).toBe(0);
    }
    expect(limits.refused).toBe(5);
    // One line for the first refusal; the others are summed up later, not one line each.
    expect(refusals(log)).toHaveLength(1);
    expect(refusals(log)[0]!.msg).toMatch(/2 connections open, the most allowed \(connections\.maxConnections 2\)/);
    first.write('relayed\n');
    expect((await readBytes(first, 8)).toString()).toBe('relayed\n');
    limits.close();
  });

  it('forward: a client that sends nothing within the handshake time is closed; one that talked stays', async () => {
    const log = recordingLogger();
    const limits = new ConnectionLimits({ maxConnections: 100, maxPerClient: 10, handshakeTimeoutMs: 300 }, log);
    const { listener } = await forward(limits);
    const silent = await client(listener.address.port);
    const talker = await client(listener.address.port);
    talker.write('hi\n');
    expect((await readBytes(talker, 3)).toString()).toBe('hi\n');
    await closed(silent);
    expect(log.records.some((r) => r.level === 'warn' && /sent nothing within 300 ms/.test(r.msg ?? ''))).toBe(true);
    await sleep(300);
    expect(talker.closed).toBe(false);
    talker.write('later\n');
    expect((await readBytes(talker, 6)).toString()).toBe('later\n');
    await waitFor(() => limits.active === 1, 5_000, 'the silent connection to be released');
    limits.close();
  });
});

describe('descriptor accounting', () => {
  it('an upstream socket still connecting keeps the slot of a client that already left', async () => {
    const log = recordingLogger();
    const limits = new ConnectionLimits({ maxConnections: 1, maxPerClient: 0, handshakeTimeoutMs: 10_000 }, log);
    const accepted: net.Socket[] = [];
    const server = net.createServer((s) => {
      s.on('error', () => undefined);
      accepted.push(s);
    });
    const port = await listen(server);
    try {
      const outside = net.connect(port, '127.0.0.1');
      outside.on('error', () => undefined);
      await waitFor(() => accepted.length === 1, 5_000, 'the accept');
      const clientSide = accepted[0]!;
      expect(limits.admit(clientSide, '127.0.0.1', 'test', { firstBytes: false })).toBe(true);
      let finish!: (socket: net.Socket) => void;
      holdWhileConnecting(clientSide, new Promise<net.Socket>((resolve) => (finish = resolve)));
      expect(limits.sockets).toBe(2);
      clientSide.destroy();
      await waitFor(() => limits.sockets === 1, 5_000, 'the client socket to be counted out');
      expect(limits.active).toBe(1);
      // Still full: the pending upstream counts.
      const second = net.connect(port, '127.0.0.1');
      second.on('error', () => undefined);
      await waitFor(() => accepted.length === 2, 5_000, 'the second accept');
      expect(limits.admit(accepted[1]!, '127.0.0.1', 'test', { firstBytes: false })).toBe(false);
      const upstream = net.connect(port, '127.0.0.1');
      upstream.on('error', () => undefined);
      await new Promise((r) => upstream.once('connect', r));
      finish(upstream);
      await sleep(20);
      expect(limits.active).toBe(1);
      upstream.destroy();
      await waitFor(() => limits.active === 0 && limits.sockets === 0, 5_000, 'the slot to be released');
      outside.destroy();
      second.destroy();
    } finally {
      for (const s of accepted) s.destroy();
      limits.close();
      await closeServer(server);
    }
  });
});

describe('descriptor exhaustion (EMFILE) at accept', () => {
  it('gives up its reserved descriptor, drops new connections at once for a moment, logs once, then recovers', async () => {
    const log = recordingLogger();
    // The shedding period runs on this clock, moved by hand: however slow the machine, it ends only when told.
    let clock = 1_000_000;
    const limits = new ConnectionLimits({ maxConnections: 10, maxPerClient: 0, handshakeTimeoutMs: 10_000 }, log, undefined, () => clock);
    const accepted: net.Socket[] = [];
    const server = net.createServer((s) => {
      s.on('error', () => undefined);
      accepted.push(s);
    });
    const port = await listen(server);
    try {
      expect(limits.holdsReserve).toBe(true);
      expect(limits.acceptFailed(Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' }), 'test')).toBe(false);
      // libuv retries the accept at once, reporting EMFILE each time: handled every time, said once.
      for (let i = 0; i < 100; i++) expect(limits.acceptFailed(Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' }), 'socks5 127.0.0.1:1080')).toBe(true);
      expect(limits.holdsReserve).toBe(false);
      const warnings = log.records.filter((r) => r.level === 'warn');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.msg).toMatch(/out of file descriptors \(EMFILE\) at accept on socks5 127\.0\.0\.1:1080: new connections are refused for 1000 ms/);
      // A connection accepted meanwhile is dropped synchronously, its descriptor free for the next accept.
      const outside = net.connect(port, '127.0.0.1');
      outside.on('error', () => undefined);
      await waitFor(() => accepted.length === 1, 5_000, 'the accept');
      expect(limits.dropIfExhausted(accepted[0]!, 'test')).toBe(true);
      expect(accepted[0]!.destroyed).toBe(true);
      expect(limits.admit(accepted[0]!, '127.0.0.1', 'test', { firstBytes: false })).toBe(false);
      await closed(outside);
      // After the shedding period: the reserve is taken again and connections are admitted.
      await waitFor(() => limits.holdsReserve, 5_000, 'the reserve to be taken again');
      expect(limits.admit(accepted[0]!, '127.0.0.1', 'test', { firstBytes: false })).toBe(false);
      clock += 1_000;
      const next = net.connect(port, '127.0.0.1');
      next.on('error', () => undefined);
      await waitFor(() => accepted.length === 2, 5_000, 'the second accept');
      expect(limits.dropIfExhausted(accepted[1]!, 'test')).toBe(false);
      expect(limits.admit(accepted[1]!, '127.0.0.1', 'test', { firstBytes: false })).toBe(true);
      next.destroy();
    } finally {
      for (const s of accepted) s.destroy();
      limits.close();
      await closeServer(server);
    }
  });
});

describe('limits shared by relay threads', () => {
  const settings = { maxConnections: 3, maxPerClient: 2, handshakeTimeoutMs: 10_000 };
  /** A client socket as admit sees it; closing it (destroy) is what frees its slot. */
  const socket = () => new net.Socket();

  it('two limits on one buffer refuse past maxPerClient and maxConnections in all; a closed connection frees its slot', async () => {
    const shared = SharedCounts.create({ slots: 64 });
    const logA = recordingLogger();
    const logB = recordingLogger();
    const a = new ConnectionLimits(settings, logA, undefined, undefined, { shared });
    const b = new ConnectionLimits(settings, logB, undefined, undefined, { shared: SharedCounts.from(shared.buffer) });
    try {
      expect(a.describe()).toMatch(/^3 connections \(configured\), 2 per client, counted across relay threads, handshake 10 s$/);
      const first = socket();
      expect(a.admit(first, '10.0.0.1', 'forward a', { firstBytes: false })).toBe(true);
      expect(b.admit(socket(), '10.0.0.1', 'forward b', { firstBytes: false })).toBe(true);
      const third = socket();
      expect(a.admit(third, '10.0.0.1', 'forward a', { firstBytes: false })).toBe(false);
      expect(third.destroyed).toBe(true);
      expect(refusals(logA)[0]!.msg).toBe(
        'connection from 10.0.0.1 refused on forward a: this address has 2 connections open in all relay threads, the most allowed per client (connections.maxPerClient)',
      );
      expect(b.admit(socket(), '2001:db8::1', 'forward b', { firstBytes: false })).toBe(true);
      expect(b.admit(socket(), '10.0.0.2', 'forward b', { firstBytes: false })).toBe(false);
      expect(refusals(logB)[0]!.msg).toMatch(/: 3 connections open in all relay threads, the most allowed \(connections\.maxConnections 3\)$/);
      expect((refusals(logB)[0]!.obj as { activeInAll: number }).activeInAll).toBe(3);
      expect([a.active, b.active, a.activeInAll, b.activeInAll]).toEqual([1, 2, 3, 3]);
      expect([a.refused, b.refused]).toEqual([1, 1]);
      first.destroy();
      await waitFor(() => a.activeInAll === 2, 5_000, 'the slot to be released');
      expect(a.active).toBe(0);
      expect(shared.clientCount('10.0.0.1')).toBe(1);
      expect(b.admit(socket(), '10.0.0.2', 'forward b', { firstBytes: false })).toBe(true);
      expect(b.activeInAll).toBe(3);
    } finally {
      a.close();
      b.close();
    }
  });

  it('a slot is released through the shared counts only once the upstream socket is closed too', async () => {
    const shared = SharedCounts.create({ slots: 64 });
    const limits = new ConnectionLimits({ ...settings, maxPerClient: 1 }, recordingLogger(), undefined, undefined, { shared });
    const other = new ConnectionLimits({ ...settings, maxPerClient: 1 }, recordingLogger(), undefined, undefined, { shared });
    try {
      const client = socket();
      expect(limits.admit(client, '::ffff:10.0.0.9', 'test', { firstBytes: false })).toBe(true);
      const upstream = socket();
      holdWhileConnecting(client, Promise.resolve(upstream));
      client.destroy();
      await waitFor(() => limits.sockets === 1, 5_000, 'the client socket to be counted out');
      // Still held: the other thread's limits refuse the address (the same client, written as IPv4).
      expect(other.admit(socket(), '10.0.0.9', 'test', { firstBytes: false })).toBe(false);
      upstream.destroy();
      await waitFor(() => shared.total === 0, 5_000, 'the slot to be released');
      expect(shared.clientCount('10.0.0.9')).toBe(0);
      expect(other.admit(socket(), '10.0.0.9', 'test', { firstBytes: false })).toBe(true);
    } finally {
      limits.close();
      other.close();
    }
  });

  it('an address with no room in the shared table is admitted, counted by its thread, and that is logged once', async () => {
    const shared = SharedCounts.create({ slots: 1 });
    const log = recordingLogger();
    const limits = new ConnectionLimits({ maxConnections: 10, maxPerClient: 1, handshakeTimeoutMs: 10_000 }, log, undefined, undefined, { shared });
    try {
      expect(limits.admit(socket(), '10.0.0.1', 'test', { firstBytes: false })).toBe(true);
      expect(limits.admit(socket(), '10.0.0.2', 'test', { firstBytes: false })).toBe(true);
      expect(limits.admit(socket(), '10.0.0.3', 'test', { firstBytes: false })).toBe(true);
      expect(limits.admit(socket(), '10.0.0.3', 'test', { firstBytes: false })).toBe(false);
      const warnings = log.records.filter((r) => r.level === 'warn' && /no room in the table/.test(r.msg ?? ''));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.msg).toMatch(/^connection from 10\.0\.0\.2 counted against connections\.maxPerClient in this relay thread only/);
      expect(shared.total).toBe(3);
    } finally {
      limits.close();
    }
  });

  it('without shared counts each limits object counts alone, as before', () => {
    const a = new ConnectionLimits(settings, recordingLogger());
    const b = new ConnectionLimits(settings, recordingLogger());
    try {
      expect(a.describe()).not.toMatch(/relay threads/);
      for (let i = 0; i < 2; i++) expect(a.admit(socket(), '10.0.0.1', 'test', { firstBytes: false })).toBe(true);
      expect(b.admit(socket(), '10.0.0.1', 'test', { firstBytes: false })).toBe(true);
      expect(a.admit(socket(), '10.0.0.1', 'test', { firstBytes: false })).toBe(false);
      expect(a.activeInAll).toBe(2);
    } finally {
      a.close();
      b.close();
    }
  });
});
