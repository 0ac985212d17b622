/**
 * Policy on Yahoo end to end: a scripted YMSG server that logs users in and relays private messages and file
 * offers between them, YMSG clients over real sockets, `imspect start` with the real first-party filters
 * (filter-badwords with a word list, filter-acl denying alice -> carol, filter-policy blocking file transfers and
 * contact additions and denying clients older than 6.0), the blocked reply and the monitoring notice. alice goes
 * through imspect (SOCKS5); bob and carol connect directly. bob never sees a blocked message and sees bad words
 * masked (the packet's length field right); alice gets every reply as a YMSG message and the notice once; an old
 * client is disconnected at its AUTHRESP; every blocked event is in the CSV log with `filtered` and categories.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readYmsg, ymsg } from '../../packages/plugin-yahoo/test/helpers.js';
import { readCsvLogs, type CsvLogRow } from '../support/csv-logs.js';
import { startImspect, type RunningImspect } from '../support/imspect-process.js';
import { socksConnect } from '../support/socks5.js';

const NOTICE = 'Your activities are being logged';
/** The default blocked reply: the filters' categories and what was stopped, inside the conversation. */
const BLOCKED = (category: string, what: string) => `Blocked (${category}): ${what}`;
const MESSAGE = 0x06;
const FILETRANS_15 = 0xdc;
const ADDBUDDY = 0x83;

interface Packet {
  service: number;
  pairs: Array<[string, string]>;
  raw: Buffer;
}

/** Cuts a byte stream into YMSG packets by their length field. */
class PacketReader {
  private buffer = Buffer.alloc(0);
  constructor(private readonly onPacket: (packet: Packet) => void) {}
  push(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    while (this.buffer.length >= 20) {
      const size = 20 + this.buffer.readUInt16BE(8);
      if (this.buffer.length < size) return;
      const raw = Buffer.from(this.buffer.subarray(0, size));
      this.buffer = this.buffer.subarray(size);
      const read = readYmsg(raw);
      this.onPacket({ service: read.service, pairs: read.pairs, raw });
    }
  }
}

const value = (p: Packet, key: number) => p.pairs.find(([k]) => k === String(key))?.[1];
const s2c = (service: number, pairs: ReadonlyArray<readonly [number, string]>) => ymsg({ service, status: 1, sessionId: 0x5eed, version: [0, 0, 0, 0], pairs });
const c2s = (service: number, pairs: ReadonlyArray<readonly [number, string]>) => ymsg({ service, sessionId: 0x5eed, version: [0, 16, 0, 0], pairs });

/** A YMSG server: VERIFY, AUTH, AUTHRESP (LIST and LOGON), and MESSAGE / FILETRANS_15 relayed to key 5's user. */
async function startYmsgServer() {
  const users = new Map<string, net.Socket>();
  /** Every packet each user's connection sent the server, by user. */
  const received = new Map<string, Packet[]>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let me = '';
    const reader = new PacketReader((packet) => {
      const who = value(packet, 1) ?? me;
      if (who) (received.get(who) ?? received.set(who, []).get(who)!).push(packet);
      switch (packet.service) {
        case 0x4c:
          socket.write(s2c(0x4c, []));
          break;
        case 0x57:
          me = value(packet, 1) ?? '';
          socket.write(
            s2c(0x57, [
              [1, me],
              [94, 'challenge=='],
            ]),
          );
          break;
        case 0x54:
          users.set(me, socket);
          socket.write(
            Buffer.concat([
              s2c(0x55, [
                [87, 'Friends:bob,carol'],
                [3, me],
              ]),
              s2c(0x01, [
                [0, me],
                [1, me],
                [7, 'bob'],
                [10, '0'],
              ]),
            ]),
          );
          break;
        case MESSAGE:
        case FILETRANS_15: {
          const to = users.get(value(packet, 5) ?? '');
          const pairs = packet.pairs.filter(([k]) => k !== '1' && k !== '5' && k !== '0').map(([k, v]) => [Number(k), v] as const);
          to?.write(s2c(packet.service, [[5, value(packet, 5)!], [4, me], ...pairs]));
          break;
        }
        case ADDBUDDY:
          socket.write(
            s2c(ADDBUDDY, [
              [1, me],
              [7, value(packet, 7) ?? ''],
              [66, '0'],
            ]),
          );
          break;
        case 0x02:
          socket.end();
          break;
      }
    });
    socket.on('data', (chunk) => reader.push(chunk));
    socket.on('close', () => {
      if (users.get(me) === socket) users.delete(me);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    received,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A YMSG client: sends packets, waits for what the server (or imspect) sends it. */
class YmsgClient {
  readonly inbox: Packet[] = [];
  private waiters: Array<{ match: (p: Packet) => boolean; resolve: (p: Packet) => void }> = [];
  readonly closed: Promise<void>;
  constructor(readonly socket: net.Socket) {
    const reader = new PacketReader((packet) => {
      const waiter = this.waiters.find((w) => w.match(packet));
      if (waiter) {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter.resolve(packet);
      } else this.inbox.push(packet);
    });
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }
  send(service: number, pairs: ReadonlyArray<readonly [number, string]>): void {
    this.socket.write(c2s(service, pairs));
  }
  next(match: (p: Packet) => boolean, what: string, ms = 10_000): Promise<Packet> {
    const index = this.inbox.findIndex(match);
    if (index >= 0) return Promise.resolve(this.inbox.splice(index, 1)[0]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; inbox: ${JSON.stringify(this.inbox.map((p) => [p.service, p.pairs]))}`)), ms);
      this.waiters.push({ match, resolve: (p) => (clearTimeout(timer), resolve(p)) });
    });
  }
  /** The next private message whose text matches. */
  message(text: string, what: string): Promise<Packet> {
    return this.next((p) => p.service === MESSAGE && value(p, 14) === text, what);
  }
}

async function connect(port: number, socks?: number): Promise<YmsgClient> {
  if (socks === undefined) {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new YmsgClient(socket);
  }
  return new YmsgClient(await socksConnect({ host: '127.0.0.1', port: socks }, '127.0.0.1', port));
}

/** VERIFY, AUTH, AUTHRESP with the client's version; resolves on the server's LOGON. */
async function login(client: YmsgClient, me: string, version: string): Promise<void> {
  client.send(0x4c, []);
  await client.next((p) => p.service === 0x4c, 'VERIFY');
  client.send(0x57, [[1, me]]);
  await client.next((p) => p.service === 0x57, 'the challenge');
  client.send(0x54, [
    [0, me],
    [2, me],
    [1, me],
    [135, version],
  ]);
  await client.next((p) => p.service === 0x01, 'LOGON');
}

describe('policy on Yahoo end to end through imspect (real filters, scripted YMSG server)', () => {
  let server: Awaited<ReturnType<typeof startYmsgServer>>;
  let dir: string;
  let proxy: RunningImspect | undefined;
  let socks: number;
  let alice: YmsgClient;
  let bob: YmsgClient;
  let carol: YmsgClient;
  const aliceSays = (to: string, text: string) =>
    alice.send(MESSAGE, [
      [1, 'alice'],
      [5, to],
      [14, text],
      [97, '1'],
    ]);
  const fromImspect = (c: YmsgClient) => c.inbox.filter((p) => p.service === MESSAGE && value(p, 4) === 'imspect');

  beforeAll(async () => {
    server = await startYmsgServer();
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-e2e-policy-yahoo-'));
    await writeFile(path.join(dir, 'words.txt'), '# bad words\ndarn\nheck\n');
    await writeFile(path.join(dir, 'acl.txt'), 'deny alice carol\nallow all\n');
    await writeFile(
      path.join(dir, 'imspect.config.json'),
      JSON.stringify({
        dataDir: 'data',
        listeners: [{ type: 'socks5', host: '127.0.0.1', port: 0 }],
        ports: { [String(server.port)]: 'yahoo' },
        plugins: {
          'filter-badwords': { options: { file: 'words.txt', blockCount: 2 } },
          'filter-acl': { options: { file: 'acl.txt' } },
          'filter-policy': { options: { block: { file: true, contact: true }, clients: [{ protocol: 'yahoo', minVersion: '6.0' }] } },
        },
        responses: { blocked: { rateLimitSeconds: 0 }, notice: { enabled: true, everyDays: 7, text: NOTICE } },
        loggers: { flushIntervalMs: 10 },
        log: { level: 'info', format: 'json' },
      }),
    );
    proxy = await startImspect([], { cwd: dir });
    socks = Number(new URL(/listening: (\S+)/.exec(proxy.stdout())![1]!).port);
    bob = await connect(server.port);
    await login(bob, 'bob', '9.0.0.2162');
    carol = await connect(server.port);
    await login(carol, 'carol', '9.0.0.2162');
  }, 60_000);

  afterAll(async () => {
    for (const c of [alice, bob, carol]) c?.socket.destroy();
    await proxy?.stop();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('alice gets the monitoring notice once, after the LOGON, as a YMSG message from imspect', async () => {
    alice = await connect(server.port, socks);
    await login(alice, 'alice', '9.0.0.2162');
    const notice = await alice.message(NOTICE, 'the monitoring notice');
    expect(readYmsg(notice.raw)).toMatchObject({ service: MESSAGE, sessionId: 0x5eed });
    expect(notice.pairs).toEqual([
      ['5', 'alice'],
      ['4', 'imspect'],
      ['14', NOTICE],
      ['97', '1'],
    ]);
  });

  it('bob gets bad words masked (length field right) and never a blocked message; alice gets the reply', async () => {
    aliceSays('bob', 'oh DARN it');
    const masked = await bob.message('oh **** it', 'the masked message at bob');
    expect(value(masked, 4)).toBe('alice');
    // The packet imspect sent the server: the length field matches the new body (readYmsg checks it).
    const atServer = server.received.get('alice')!.filter((p) => p.service === MESSAGE);
    expect(readYmsg(atServer.at(-1)!.raw).pairs).toEqual([
      ['1', 'alice'],
      ['5', 'bob'],
      ['14', 'oh **** it'],
      ['97', '1'],
    ]);

    aliceSays('bob', 'darn and heck');
    const reply = await alice.message(BLOCKED('2 badwords', 'message "darn and heck" to bob'), 'the blocked reply');
    expect(reply.pairs).toEqual([
      ['5', 'alice'],
      ['4', 'bob'],
      ['14', BLOCKED('2 badwords', 'message "darn and heck" to bob')],
      ['97', '1'],
    ]);
  });

  it('the file offer and a contact addition are blocked by filter-policy; the ACL keeps alice from carol', async () => {
    alice.send(FILETRANS_15, [
      [1, 'alice'],
      [5, 'bob'],
      [265, 'XFER$$'],
      [222, '1'],
      [266, '1'],
      [27, 'budget.xls'],
      [28, '4321'],
    ]);
    expect(value(await alice.message(BLOCKED('policy file', 'file "budget.xls" to bob'), 'the file reply'), 4)).toBe('bob');
    alice.send(ADDBUDDY, [
      [1, 'alice'],
      [7, 'erin'],
      [65, 'Friends'],
      [14, 'add me'],
    ]);
    expect(value(await alice.message(BLOCKED('policy contact', 'contact to erin'), 'the contact reply'), 4)).toBe('erin');
    aliceSays('carol', 'hello carol');
    expect(value(await alice.message(BLOCKED('acl', 'message "hello carol" to carol'), 'the ACL reply'), 4)).toBe('carol');

    aliceSays('bob', 'after the offer');
    await bob.message('after the offer', 'the sentinel at bob');
    aliceSays('carol', 'hello again');
    await alice.message(BLOCKED('acl', 'message "hello again" to carol'), 'the second ACL reply');
    // Nothing blocked reached the server, so neither bob nor carol saw it.
    const atServer = server.received.get('alice')!;
    expect(atServer.map((p) => p.service).filter((s) => s === FILETRANS_15 || s === ADDBUDDY)).toEqual([]);
    expect(atServer.map((p) => value(p, 14)).filter((t) => t !== undefined)).toEqual(['oh **** it', 'after the offer']);
    expect(bob.inbox.filter((p) => p.service === FILETRANS_15 || /darn|heck/i.test(value(p, 14) ?? ''))).toEqual([]);
    expect(carol.inbox.filter((p) => p.service === MESSAGE)).toEqual([]);
    expect(fromImspect(alice)).toEqual([]); // the notice came once
  });

  it("no notice again on alice's next connection", async () => {
    alice.send(0x02, []);
    await alice.closed;
    alice = await connect(server.port, socks);
    await login(alice, 'alice', '9.0.0.2162');
    aliceSays('bob', 'back again');
    await bob.message('back again', 'alice back at bob');
    await new Promise((r) => setTimeout(r, 100));
    expect(fromImspect(alice)).toEqual([]);
  });

  it('a Yahoo client older than the policy allows is disconnected at its AUTHRESP (the server never sees it)', async () => {
    const dave = await connect(server.port, socks);
    dave.send(0x4c, []);
    await dave.next((p) => p.service === 0x4c, 'VERIFY');
    dave.send(0x57, [[1, 'dave']]);
    await dave.next((p) => p.service === 0x57, 'the challenge');
    dave.send(0x54, [
      [0, 'dave'],
      [2, 'dave'],
      [1, 'dave'],
      [135, '5, 5, 0, 1244'],
    ]);
    await dave.closed;
    // Before the LOGON a client shows nothing it is sent: dave gets nothing more, only the close.
    expect(dave.inbox).toEqual([]);
    expect(server.received.get('dave')!.map((p) => p.service)).toEqual([0x57]);
    expect(proxy!.stderr()).toContain('client 5.5.0.1244 on yahoo denied: version 6.0 or newer is required');
  });

  it('logs every blocked event with filtered and its categories, and the client reports', async () => {
    alice.send(0x02, []);
    bob.send(0x02, []);
    carol.send(0x02, []);
    await Promise.all([alice.closed, bob.closed, carol.closed]);
    await new Promise((r) => setTimeout(r, 200));
    expect(await proxy!.stop(), proxy!.stderr()).toBe(0);
    proxy = undefined;
    const rows = await readCsvLogs(path.join(dir, 'data', 'logs'));
    const one = (want: Partial<CsvLogRow>, label: string): CsvLogRow => {
      const found = rows.filter((r) => Object.entries({ protocol: 'yahoo', ...want }).every(([k, v]) => r[k as keyof CsvLogRow] === v));
      expect(found, `${label}: ${JSON.stringify(rows, null, 1)}`).toHaveLength(1);
      return found[0]!;
    };
    expect(one({ localDir: 'alice', type: 1, text: 'oh DARN it' }, 'masked')).toMatchObject({
      filtered: false,
      categories: '1 badwords',
      deliveredText: 'oh **** it',
      remoteDir: 'bob',
    });
    expect(one({ localDir: 'alice', type: 1, text: 'darn and heck' }, 'blocked')).toMatchObject({ filtered: true, categories: '2 badwords', deliveredText: '' });
    expect(one({ localDir: 'alice', type: 2 }, 'file offer')).toMatchObject({ filtered: true, categories: 'policy file', remoteDir: 'bob', eventData: 'budget.xls 4321' });
    expect(one({ localDir: 'alice', type: 9, subtype: 'add' }, 'contact addition')).toMatchObject({
      filtered: true,
      categories: 'policy contact',
      remoteDir: 'erin',
      subtype: 'add',
      data: 'group=Friends',
    });
    expect(one({ localDir: 'alice', type: 1, text: 'hello carol' }, 'ACL')).toMatchObject({ filtered: true, categories: 'acl', remoteDir: 'carol' });
    expect(one({ localDir: 'alice', type: 1, text: 'after the offer' }, 'passed')).toMatchObject({ filtered: false, categories: '' });
    const dave = one({ localDir: 'dave', type: 11 }, 'the denied client');
    expect(dave).toMatchObject({ filtered: true, categories: 'policy client', subtype: 'client', outgoing: true, data: 'version=5.5.0.1244 protocol-version=YMSG16' });
    expect(rows.filter((r) => r.localDir === 'dave')).toHaveLength(1);
    expect(rows.filter((r) => r.localDir === 'alice' && r.type === 5).map((r) => r.data)).toEqual([
      'version=9.0.0.2162 protocol-version=YMSG16',
      'version=9.0.0.2162 protocol-version=YMSG16',
    ]);
  });
});
