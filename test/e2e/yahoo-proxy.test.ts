/**
 * Yahoo Messenger end to end: `imspect start` as a user runs it, a scripted YMSG server on a free port and a
 * scripted YMSG client over real sockets, once through a forward listener and once through SOCKS5 (the protocol
 * recognised from the first bytes, since the server is not on 5050). A filter plugin blocks one message (the
 * client gets a notice as a YMSG message, the server never sees it); a content plugin masks a word (the server
 * gets the re-encoded packet). Everything must be in the CSV logs with the right ids, directions and types.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readYmsg, ymsg } from '../../packages/plugin-yahoo/test/helpers.js';
import { readCsvLogs, type CsvLogRow } from '../support/csv-logs.js';
import { startImspect, type RunningImspect } from '../support/imspect-process.js';
import { socksConnect } from '../support/socks5.js';

const FILTER_PLUGIN = `
export default {
  [Symbol.for('imspect.plugin')]: true,
  name: 'no-forbidden',
  kind: 'filter',
  setup: () => ({
    check(event) {
      if (event.protocol === 'yahoo' && event.type === 'message' && /forbidden/.test(event.text ?? '')) {
        return { action: 'block', categories: ['test-forbidden'], respond: 'imspect: your message was blocked' };
      }
      return { action: 'pass' };
    },
  }),
};
`;

const MASK_PLUGIN = `
export default {
  [Symbol.for('imspect.plugin')]: true,
  name: 'mask-secret',
  kind: 'content',
  setup: () => ({
    transform(event) {
      return event.text && event.text.includes('secret') ? event.text.replaceAll('secret', '******') : undefined;
    },
  }),
};
`;

/** A byte stream that collects YMSG packets as they complete. */
class PacketStream {
  private buffer = Buffer.alloc(0);
  readonly packets: Buffer[] = [];
  readonly chunks: Buffer[] = [];
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffer = Buffer.concat([this.buffer, chunk]);
    while (this.buffer.length >= 20) {
      const size = 20 + this.buffer.readUInt16BE(8);
      if (this.buffer.length < size) break;
      this.packets.push(this.buffer.subarray(0, size));
      this.buffer = this.buffer.subarray(size);
    }
  }
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The scripted YMSG server: records what it receives, sends what the test tells it to. */
async function startYmsgServer() {
  const connections: Array<{ socket: net.Socket; received: PacketStream }> = [];
  const server = net.createServer((socket) => {
    const received = new PacketStream();
    socket.on('data', (chunk) => received.push(chunk));
    socket.on('end', () => socket.end());
    socket.on('error', () => undefined);
    connections.push({ socket, received });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const S = 0x00c0ffee;
const V16 = [0, 16, 0, 0] as const;
const c2s = (service: number, pairs: ReadonlyArray<readonly [number, string]>, status = 0) => ymsg({ service, status, sessionId: S, version: V16, pairs });
const s2c = (service: number, pairs: ReadonlyArray<readonly [number, string]>, status = 1) => ymsg({ service, status, sessionId: S, version: [0, 0, 0, 0], pairs });

describe('Yahoo Messenger end to end through imspect', () => {
  let dir: string;
  let proxy: RunningImspect;
  let server: Awaited<ReturnType<typeof startYmsgServer>>;
  let forwardPort: number;
  let socksPort: number;
  let started: number;
  let rows: CsvLogRow[];
  const sentByServer: Buffer[][] = [[], []];
  const expectedAtServer: Buffer[][] = [[], []];
  const atClient: PacketStream[] = [new PacketStream(), new PacketStream()];
  let notice: Buffer | undefined;

  beforeAll(async () => {
    started = Date.now();
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-yahoo-'));
    server = await startYmsgServer();
    for (const [name, code] of [
      ['no-forbidden', FILTER_PLUGIN],
      ['mask-secret', MASK_PLUGIN],
    ] as const) {
      await mkdir(path.join(dir, 'plugins', name), { recursive: true });
      const kind = name === 'no-forbidden' ? 'filter' : 'content';
      await writeFile(
        path.join(dir, 'plugins', name, 'package.json'),
        JSON.stringify({ name: `imspect-plugin-${name}`, type: 'module', main: 'index.js', imspect: { kind, host: '^0.1.0' } }),
      );
      await writeFile(path.join(dir, 'plugins', name, 'index.js'), code);
    }
    await writeFile(
      path.join(dir, 'imspect.config.json'),
      JSON.stringify({
        dataDir: 'data',
        pluginFolders: ['plugins'],
        listeners: [
          { type: 'forward', host: '127.0.0.1', port: 0, upstream: { host: '127.0.0.1', port: server.port } },
          { type: 'socks5', host: '127.0.0.1', port: 0 },
        ],
        loggers: { flushIntervalMs: 10 },
        log: { format: 'json' },
      }),
    );
    proxy = await startImspect([], { cwd: dir });
    const urls = [...proxy.stdout().matchAll(/listening: (\S+)/g)].map((m) => new URL(m[1]!));
    forwardPort = Number(urls.find((u) => u.protocol.startsWith('forward') || !u.protocol.startsWith('socks'))!.port);
    socksPort = Number(urls.find((u) => u.protocol.startsWith('socks'))!.port);
    expect(proxy.stdout()).toContain('yahoo (protocol)');

    // Conversation 1 (forward listener): alice.
    await converse(0, net.connect({ host: '127.0.0.1', port: forwardPort }), 'alice');
    // Conversation 2 (SOCKS5 to the same server): carol.
    await converse(1, await socksConnect({ host: '127.0.0.1', port: socksPort }, '127.0.0.1', server.port), 'carol');

    expect(await proxy.stop()).toBe(0);
    rows = await readCsvLogs(path.join(dir, 'data/logs'));
  }, 60_000);

  async function converse(index: number, client: net.Socket, me: string): Promise<void> {
    client.on('data', (chunk) => atClient[index]!.push(chunk));
    if (client.connecting) await new Promise((resolve) => client.once('connect', resolve));
    const expected = expectedAtServer[index]!;
    const fromClient = (packet: Buffer, reaches: Buffer | null = packet) => {
      client.write(packet);
      if (reaches) expected.push(reaches);
    };
    const fromServer = async (packet: Buffer) => {
      await until(() => server.connections[index] !== undefined, 'the server connection');
      server.connections[index]!.socket.write(packet);
      sentByServer[index]!.push(packet);
    };
    const serverHas = (n: number) => until(() => (server.connections[index]?.received.packets.length ?? 0) >= n, `the server to receive ${n} packets`);
    const clientHas = (n: number) => until(() => atClient[index]!.packets.length >= n, `the client to receive ${n} packets`);

    fromClient(c2s(0x4c, []));
    fromClient(c2s(0x57, [[1, me]]));
    await serverHas(2);
    await fromServer(
      s2c(0x57, [
        [1, me],
        [94, 'challenge'],
      ]),
    );
    await clientHas(1);
    fromClient(
      c2s(0x54, [
        [0, me],
        [1, me],
        [2, me],
        [135, '9.0.0.2162'],
      ]),
    );
    await serverHas(3);
    await fromServer(
      Buffer.concat([
        s2c(0x55, [
          [87, 'Friends:bob'],
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
    await clientHas(3);

    fromClient(
      c2s(
        0x4b,
        [
          [49, 'TYPING'],
          [1, me],
          [14, ' '],
          [13, '1'],
          [5, 'bob'],
        ],
        0x16,
      ),
    );
    fromClient(
      c2s(
        0x06,
        [
          [1, me],
          [5, 'bob'],
          [14, 'hello bob, ça va? ✓'],
          [97, '1'],
        ],
        0x5a55aa56,
      ),
    );
    if (index === 0) {
      // Blocked: never reaches the server; the client gets a notice instead.
      const before = atClient[0]!.packets.length;
      fromClient(
        c2s(
          0x06,
          [
            [1, me],
            [5, 'bob'],
            [14, 'this is forbidden talk'],
            [97, '1'],
          ],
          0x5a55aa56,
        ),
        null,
      );
      await clientHas(before + 1);
      notice = atClient[0]!.packets[before];
      // Rewritten: the server gets the masked text with the right length.
      fromClient(
        c2s(
          0x06,
          [
            [1, me],
            [5, 'bob'],
            [14, 'my secret plan'],
            [97, '1'],
          ],
          0x5a55aa56,
        ),
        c2s(
          0x06,
          [
            [1, me],
            [5, 'bob'],
            [14, 'my ****** plan'],
            [97, '1'],
          ],
          0x5a55aa56,
        ),
      );
      fromClient(
        c2s(0x1d, [
          [1, me],
          [53, 'bob'],
          [53, 'dave'],
          [57, 'room-7'],
          [14, 'conference hello'],
          [97, '1'],
        ]),
      );
      fromClient(
        c2s(0xdc, [
          [1, me],
          [5, 'bob'],
          [265, 'XFER$$'],
          [222, '1'],
          [266, '1'],
          [27, 'plan.pdf'],
          [28, '31337'],
        ]),
      );
      fromClient(
        c2s(
          0x4b,
          [
            [49, 'WEBCAMINVITE'],
            [1, me],
            [14, ' '],
            [13, '0'],
            [5, 'bob'],
          ],
          0x11,
        ),
      );
    }
    const sent = expected.length;
    await serverHas(sent);
    const atClientBefore = atClient[index]!.packets.length;
    await fromServer(
      s2c(0x06, [
        [5, me],
        [4, 'bob'],
        [14, 'hi there 你好'],
        [97, '1'],
      ]),
    );
    if (index === 0) {
      await fromServer(
        s2c(0x1d, [
          [1, me],
          [57, 'room-7'],
          [3, 'dave'],
          [14, 'from dave'],
          [97, '1'],
        ]),
      );
      await fromServer(
        s2c(0x46, [
          [5, me],
          [4, 'bob'],
          [20, 'http://fs.example/f/photo.jpg?t=1'],
          [27, 'photo.jpg'],
          [28, '2048'],
        ]),
      );
    }
    await clientHas(atClientBefore + (index === 0 ? 3 : 1));
    fromClient(c2s(0x02, []));
    await serverHas(sent + 1);
    client.end();
    await new Promise((resolve) => client.once('close', resolve));
  }

  afterAll(async () => {
    if (proxy) await proxy.stop();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('relays every packet unchanged except the blocked one (dropped) and the rewritten one (re-encoded)', () => {
    for (const index of [0, 1]) {
      expect(server.connections[index]!.received.bytes().equals(Buffer.concat(expectedAtServer[index]!)), `connection ${index}: bytes at the server`).toBe(true);
    }
    // The server's packets reach the client as sent (plus, on the first connection, the notice before them).
    expect(atClient[1]!.bytes().equals(Buffer.concat(sentByServer[1]!))).toBe(true);
    const clientBytes = atClient[0]!.bytes();
    expect(clientBytes.equals(Buffer.concat([...sentByServer[0]!.slice(0, 2), notice!, ...sentByServer[0]!.slice(2)]))).toBe(true);
    const rewritten = readYmsg(server.connections[0]!.received.packets.find((p) => p.includes(Buffer.from('plan')))!);
    expect(rewritten.pairs).toEqual([
      ['1', 'alice'],
      ['5', 'bob'],
      ['14', 'my ****** plan'],
      ['97', '1'],
    ]);
  });

  it('answers a blocked message with a well-formed YMSG message in the server session', () => {
    const read = readYmsg(notice!);
    expect(read.service).toBe(0x06);
    expect(read.sessionId).toBe(S);
    expect(read.pairs).toEqual([
      ['5', 'alice'],
      ['4', 'bob'],
      ['14', 'imspect: your message was blocked'],
      ['97', '1'],
    ]);
  });

  it('logs messages both ways, typing, conference, file offers, webcam, login and logout with the right ids', () => {
    const base = { protocol: 'yahoo', localDir: 'alice' };
    const one = (want: Partial<CsvLogRow>, label: string) => {
      const matches = rows.filter((row) => Object.entries({ ...base, ...want }).every(([k, v]) => row[k as keyof CsvLogRow] === v));
      expect(matches, `${label}\nrows: ${JSON.stringify(rows, null, 1)}`).toHaveLength(1);
      return matches[0]!;
    };
    const now = Math.floor(Date.now() / 1000);
    for (const row of rows) {
      expect(row.unixTime).toBeGreaterThanOrEqual(Math.floor(started / 1000));
      expect(row.unixTime).toBeLessThanOrEqual(now);
      expect(row.server).toBe(`127.0.0.1:${server.port}`);
    }
    // The AUTHRESP said the client's version (key 135); the login repeats it with the client's YMSG dialect.
    expect(one({ remoteDir: '127.0.0.1', type: 11, outgoing: true, subtype: 'client' }, 'client report').data).toBe('version=9.0.0.2162 protocol-version=YMSG16');
    expect(one({ remoteDir: '127.0.0.1', type: 5, outgoing: false }, 'login').data).toBe('version=9.0.0.2162 protocol-version=YMSG16');
    one({ remoteDir: 'bob', type: 3, outgoing: true, subtype: 'active' }, 'typing');
    one({ remoteDir: 'bob', type: 1, outgoing: true, filtered: false, text: 'hello bob, ça va? ✓' }, 'message out, UTF-8 intact');
    const blocked = one({ remoteDir: 'bob', type: 1, outgoing: true, filtered: true, text: 'this is forbidden talk' }, 'blocked message');
    expect(blocked.categories).toContain('test-forbidden');
    one({ remoteDir: 'bob', type: 1, outgoing: true, text: 'my secret plan', deliveredText: 'my ****** plan' }, 'rewritten message');
    one({ remoteDir: 'room-7', type: 1, outgoing: true, subtype: 'conference', conversation: 'room-7', text: 'conference hello' }, 'conference out');
    const conf = one({ remoteDir: 'room-7', type: 1, outgoing: false, subtype: 'conference', text: 'from dave' }, 'conference in');
    expect(conf.data).toBe('from=dave participants=bob,dave');
    const offer = one({ remoteDir: 'bob', type: 2, outgoing: true, subtype: 'filetrans15' }, 'file offer out');
    expect(offer.eventData).toBe('plan.pdf 31337');
    expect(one({ remoteDir: 'bob', type: 2, outgoing: false, subtype: 'filetransfer' }, 'file offer in').eventData).toBe('photo.jpg 2048');
    one({ remoteDir: 'bob', type: 4, outgoing: true, subtype: 'invite' }, 'webcam invitation');
    one({ remoteDir: 'bob', type: 1, outgoing: false, text: 'hi there 你好' }, 'message in');
    one({ remoteDir: '127.0.0.1', type: 6, outgoing: true }, 'logout');
    // carol came through SOCKS5.
    const carol = rows.filter((r) => r.localDir === 'carol');
    expect(carol.map((r) => [r.type, r.outgoing, r.remoteDir, r.text]).sort()).toEqual(
      [
        [11, true, '127.0.0.1', ''],
        // Yahoo on a port that is not its own (the test server's), through imspect's SOCKS5 proxy.
        [11, true, '127.0.0.1', ''],
        [5, false, '127.0.0.1', ''],
        // The LOGON's buddy record: bob online.
        [9, false, 'bob', ''],
        [3, true, 'bob', ''],
        [1, true, 'bob', 'hello bob, ça va? ✓'],
        [1, false, 'bob', 'hi there 你好'],
        [6, true, '127.0.0.1', ''],
      ].sort(),
    );
    expect(rows.filter((r) => r.subtype === 'circumvention').map((r) => `${r.localDir} ${r.data}`)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^alice protocol=yahoo how=odd-port /), expect.stringMatching(/^carol protocol=yahoo how=odd-port,socks5 /)]),
    );
    expect(one({ localDir: 'alice', remoteDir: 'bob', type: 9, subtype: 'status' }, 'bob online').data).toBe('status=online protocol-status=0');
    expect(rows).toHaveLength(14 + 7 + 2);
    expect(new Set(rows.map((r) => r.eventId)).size).toBe(rows.length);
  });
});
