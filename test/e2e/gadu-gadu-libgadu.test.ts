/**
 * Gadu-Gadu end to end with a real client: Debian's libgadu (test/support/gg-client.c, built by the test) logs
 * in through `imspect start` to a scripted server that follows the documented protocol, once through a forward
 * listener speaking libgadu's 8.0 protocol (0x2e, as in the capture) and once through SOCKS5 speaking its default
 * 11.0 protocol buffers (the protocol recognised from the server's welcome, since the server is not on 8074).
 * A filter plugin blocks a message (libgadu gets a "blocked" acknowledgement and a notice as a message; the
 * server never sees it) and file offers (libgadu gets GG_DCC7_REJECT); a content plugin masks a word (the
 * server gets the re-encoded GG_SEND_MSG80, plain and HTML parts, or GG_SEND_MSG110, both fields). Everything
 * must be in the CSV logs.
 *
 * libgadu speaks no SOCKS5 (only HTTP proxies), so for the SOCKS5 run a local shim accepts the client's
 * connection and opens it through imspect's SOCKS5 listener.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readCsvLogs, type CsvLogRow } from '../support/csv-logs.js';
import { describeWithService } from '../support/e2e.js';
import { buildGgClient, GgClient, ggPacket, libgaduMissing, protobufBytes, startGgServer, u32 } from '../support/gg-endpoints.js';
import { startImspect, type RunningImspect } from '../support/imspect-process.js';

const FILTER_PLUGIN = `
export default {
  [Symbol.for('imspect.plugin')]: true,
  name: 'gg-policy',
  kind: 'filter',
  setup: () => ({
    check(event) {
      if (event.protocol !== 'gadu-gadu') return { action: 'pass' };
      if (event.type === 'message' && /forbidden/.test(event.text ?? '')) {
        return { action: 'block', categories: ['test-forbidden'], respond: 'imspect: your message was blocked' };
      }
      if (event.type === 'file') return { action: 'block', categories: ['test-files'], respond: 'imspect: file transfers are blocked' };
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

/** GG_RECV_MSG80 from `from`: HTML, then CP1250 plain text, offsets from the start of the body. */
function recvMsg80(from: number, seq: number, html: string, plain: Buffer): Buffer {
  const h = Buffer.from(html, 'utf8');
  const offsetPlain = 24 + h.length + 1;
  return ggPacket(0x2e, u32(from), u32(seq), u32(1_765_000_000), u32(0x08), u32(offsetPlain), u32(offsetPlain + plain.length + 1), h, Buffer.from([0]), plain, Buffer.from([0]));
}

/** Parses a GG_SEND_MSG80 body: recipient, HTML and CP1250 plain parts by their offsets. */
function readSendMsg80(body: Buffer) {
  const offsetPlain = body.readUInt32LE(12);
  return {
    recipient: body.readUInt32LE(0),
    html: body.subarray(20, body.indexOf(0, 20)).toString('utf8'),
    plain: body.subarray(offsetPlain, body.indexOf(0, offsetPlain)),
  };
}

/**
 * Opens `client`'s connection through the SOCKS5 listener at `socksPort` to 127.0.0.1:`serverPort` (no
 * authentication, CONNECT to an IPv4 address), then relays both ways. The server speaks first: bytes that
 * arrive with the SOCKS reply are passed on, none are lost before the relay starts.
 */
function viaSocks(client: net.Socket, socksPort: number, serverPort: number): void {
  client.pause();
  const upstream = net.connect({ host: '127.0.0.1', port: socksPort });
  upstream.on('error', () => client.destroy());
  client.on('error', () => upstream.destroy());
  let buffered = Buffer.alloc(0);
  let stage = 0;
  const onData = (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    if (stage === 0 && buffered.length >= 2) {
      buffered = buffered.subarray(2);
      stage = 1;
      upstream.write(Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, serverPort >> 8, serverPort & 255]));
    }
    if (stage === 1 && buffered.length >= 10) {
      upstream.off('data', onData);
      if (buffered[1] !== 0) return client.destroy();
      if (buffered.length > 10) client.write(buffered.subarray(10));
      upstream.pipe(client);
      client.pipe(upstream);
    }
  };
  upstream.on('data', onData);
  upstream.on('connect', () => upstream.write(Buffer.from([5, 1, 0])));
}

const missing = libgaduMissing();

describeWithService('Gadu-Gadu end to end: libgadu through imspect to a scripted server', missing, () => {
  let dir: string;
  let proxy: RunningImspect;
  let server: Awaited<ReturnType<typeof startGgServer>>;
  let shim: net.Server;
  let rows: CsvLogRow[];
  let exe: string;
  const clients: GgClient[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-gg-'));
    exe = buildGgClient(dir);
    server = await startGgServer();
    for (const [name, code, kind] of [
      ['gg-policy', FILTER_PLUGIN, 'filter'],
      ['mask-secret', MASK_PLUGIN, 'content'],
    ] as const) {
      await mkdir(path.join(dir, 'plugins', name), { recursive: true });
      await writeFile(
        path.join(dir, 'plugins', name, 'package.json'),
        JSON.stringify({ name: `imspect-plugin-${name}`, type: 'module', main: 'index.js', imspect: { kind, host: '^0.1.0' } }),
      );
      await writeFile(path.join(dir, 'plugins', name, 'index.js'), code);
    }
    await writeFile(path.join(dir, 'plan.pdf'), Buffer.alloc(31337, 0x25));
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
    const forwardPort = Number(urls.find((u) => !u.protocol.startsWith('socks'))!.port);
    const socksPort = Number(urls.find((u) => u.protocol.startsWith('socks'))!.port);
    expect(proxy.stdout()).toContain('gadu-gadu (protocol)');

    // The SOCKS5 shim: each connection the client opens goes through imspect's SOCKS5 listener to the server.
    shim = net.createServer((socket) => viaSocks(socket, socksPort, server.port));
    await new Promise<void>((resolve) => shim.listen(0, '127.0.0.1', resolve));
    const shimPort = (shim.address() as net.AddressInfo).port;

    // 1001 logs in as libgadu's 8.0 protocol (0x2e, as in the capture), 3003 with its default 11.0 one.
    await converse(0, forwardPort, 1001, 0x2e);
    await converse(1, shimPort, 3003);

    expect(await proxy.stop()).toBe(0);
    rows = await readCsvLogs(path.join(dir, 'data/logs'));
  }, 90_000);

  async function converse(index: number, port: number, uin: number, protocolVersion?: number): Promise<void> {
    const client = new GgClient(exe, '127.0.0.1', port, uin, 'hunter2-password', protocolVersion);
    clients.push(client);
    await client.waitFor(/^connected$/, 'the login');
    client.command('typing 1002 4');
    await client.waitFor(/^sent /, 'the typing notification');
    client.command('msg 1002 hello bob, zażółć gęślą jaźń ✓');
    await client.waitFor(index === 0 ? /^ack 2 1002 / : /^ack110 1 /, 'the server acknowledging the first message');
    // Blocked: never reaches the server; libgadu gets a "blocked" acknowledgement and the notice.
    client.command('msg 1002 this is forbidden talk');
    await client.waitFor(/^ack 1 1002 /, 'the "blocked" acknowledgement from imspect');
    await client.waitFor(/^msg 1002 8 imspect: your message was blocked$/, 'the notice');
    // Masked: the server gets the message re-encoded (8.0: both parts and offsets; 11.0: both fields).
    client.command('msg 1002 my secret plan');
    await client.waitFor(index === 0 ? /^ack 2 1002 / : /^ack110 1 /, 'the server acknowledging the masked message', 2);
    if (index === 0) {
      client.command(`file 1002 ${path.join(dir, 'plan.pdf')}`);
      // The refusal ends the offer at once (the notice text is rate-limited: the user was just told once).
      await client.waitFor(/^dcc7-reject 2$/, 'GG_DCC7_REJECT for the blocked file offer');
    }
    const connection = server.connections[index]!;
    connection.send(recvMsg80(1002, 4242, '<span style="color:#000000; ">cześć, <b>co</b> słychać?</span>', Buffer.from('cze\x9c\xe6, co s\xb3ycha\xe6?', 'latin1')));
    await client.waitFor(/^msg 1002 8 cze/, 'the message from the server');
    const code = await client.quit();
    expect(code).toBe(0);
  }

  afterAll(async () => {
    for (const client of clients) client.kill();
    if (proxy) await proxy.stop();
    await server?.close();
    await new Promise<void>((resolve) => (shim ? shim.close(() => resolve()) : resolve()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('libgadu logs in and talks through both listeners; the blocked message, masked text and refused offer behave', () => {
    expect(clients[0]!.lines).toContain('msg 1002 8 cześć, co słychać?');
    expect(clients[1]!.lines).toContain('msg 1002 8 cześć, co słychać?');
    const atServer = server.connections[0]!.received.packets;
    const messages = atServer.filter((p) => p.type === 0x2d).map((p) => readSendMsg80(p.body));
    // The blocked message never reached the server; the masked one did, both parts re-encoded.
    expect(messages.map((m) => m.plain.toString('latin1'))).toEqual(['hello bob, za\xbf\xf3\xb3\xe6 g\xea\x9cl\xb9 ja\x9f\xf1 ?', 'my ****** plan']);
    expect(messages[1]!.html).toContain('my ****** plan');
    expect(messages[1]!.html).not.toContain('secret');
    expect(messages.every((m) => m.recipient === 1002)).toBe(true);
    // The file offer (GG_DCC7_NEW) was stopped at imspect; its id request was not.
    expect(atServer.some((p) => p.type === 0x23)).toBe(true);
    expect(atServer.some((p) => p.type === 0x20)).toBe(false);
    // 3003 speaks 11.0: its messages are GG_SEND_MSG110, the first as sent, the second masked in both fields.
    const sent110 = server.connections[1]!.received.packets.filter((p) => p.type === 0x7d);
    expect(sent110.map((p) => protobufBytes(p.body, 5)?.toString('utf8'))).toEqual(['hello bob, zażółć gęślą jaźń ✓', 'my ****** plan']);
    expect(protobufBytes(sent110[1]!.body, 6)?.toString('utf8')).toContain('my ****** plan');
    expect(server.connections[1]!.received.packets.filter((p) => p.type === 0x2d)).toHaveLength(0);
  });

  it('logs the login, typing, messages both ways, the blocked ones and the logout with GG numbers as ids', () => {
    const one = (want: Partial<CsvLogRow>, label: string) => {
      const matches = rows.filter((row) => Object.entries({ protocol: 'gadu-gadu', localDir: '1001', ...want }).every(([k, v]) => row[k as keyof CsvLogRow] === v));
      expect(matches, `${label}\nrows: ${JSON.stringify(rows, null, 1)}`).toHaveLength(1);
      return matches[0]!;
    };
    const login = one({ remoteDir: '127.0.0.1', type: 5, outgoing: false }, 'login');
    expect(login.data).toMatch(/^client=Gadu-Gadu%20Client version=[\d.]+ protocol-version=GG_LOGIN80 status=online$/);
    const login105 = rows.find((r) => r.localDir === '3003' && r.type === 5)!;
    expect(login105.data).toMatch(/^client=GG-Phoenix version=[\d.]+ protocol-version=GG_LOGIN105 status=online$/);
    expect(JSON.stringify(rows)).not.toContain('hunter2');
    one({ remoteDir: '1002', type: 3, outgoing: true, subtype: 'active' }, 'typing');
    one({ remoteDir: '1002', type: 1, outgoing: true, filtered: false, text: 'hello bob, zażółć gęślą jaźń ✓' }, 'message out, HTML part intact');
    expect(one({ remoteDir: '1002', type: 1, outgoing: true, filtered: true, text: 'this is forbidden talk' }, 'blocked message').categories).toContain('test-forbidden');
    one({ remoteDir: '1002', type: 1, outgoing: true, text: 'my secret plan', deliveredText: 'my ****** plan' }, 'rewritten message');
    const offer = one({ remoteDir: '1002', type: 2, outgoing: true, subtype: 'dcc7' }, 'refused file offer');
    expect(offer.filtered).toBe(true);
    expect(offer.eventData).toBe('plan.pdf 31337');
    one({ remoteDir: '1002', type: 1, outgoing: false, text: 'cześć, co słychać?' }, 'message in');
    one({ remoteDir: '127.0.0.1', type: 6, outgoing: true, text: 'do zobaczenia' }, 'logout with its description');
    // 3003 came through SOCKS5.
    const socks = rows.filter((r) => r.localDir === '3003').map((r) => [r.type, r.outgoing, r.remoteDir, r.text]);
    expect(socks).toEqual(
      expect.arrayContaining([
        [5, false, '127.0.0.1', ''],
        [3, true, '1002', ''],
        [1, true, '1002', 'hello bob, zażółć gęślą jaźń ✓'],
        [1, true, '1002', 'this is forbidden talk'],
        [1, true, '1002', 'my secret plan'],
        [1, false, '1002', 'cześć, co słychać?'],
        [6, true, '127.0.0.1', 'do zobaczenia'],
      ]),
    );
    expect(new Set(rows.map((r) => r.eventId)).size).toBe(rows.length);
  });
});
