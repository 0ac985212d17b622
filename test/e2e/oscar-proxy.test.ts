/**
 * ICQ/AIM (OSCAR) end to end: `imspect start` as a user runs it, a scripted authorizer and BOS server pair on two
 * free ports (test/support/oscar-service.ts) and a scripted client over real sockets. Once through a forward
 * listener (upstream: the authorizer): imspect greets the client in the server's place, rewrites the BOS address
 * in the BUCP reply to its own and routes the cookie's connection to the real BOS server. Once through SOCKS5
 * (recognised from the first bytes, the ports being unknown): nothing is rewritten. A filter plugin blocks one
 * message (the client gets a well-formed incoming ICBM instead, the BOS server never sees it) and every file
 * offer (the client also gets a rendezvous cancel); a content plugin masks a word (the BOS server gets the
 * re-encoded FLAP). Everything must be in the CSV logs with the right ids, directions and types.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytes, clientTlvs, fileOffer, flap, receiveIm, sendIm, snac, tlv, typing, u32, ucs2 } from '../../packages/plugin-oscar/test/helpers.js';
import { OscarSession } from '../../packages/plugin-oscar/src/session.js';
import { readCsvLogs, type CsvLogRow } from '../support/csv-logs.js';
import { startImspect, type RunningImspect } from '../support/imspect-process.js';
import { flapKind, OscarClient, startOscarService, tlvMap, until, type OscarService } from '../support/oscar-service.js';
import { socksConnect } from '../support/socks5.js';

const FILTER_PLUGIN = `
export default {
  [Symbol.for('imspect.plugin')]: true,
  name: 'no-forbidden',
  kind: 'filter',
  setup: () => ({
    check(event) {
      if (event.protocol !== 'oscar') return { action: 'pass' };
      if (event.type === 'message' && /forbidden/.test(event.text ?? '')) return { action: 'block', categories: ['test-forbidden'], respond: 'imspect: your message was blocked' };
      if (event.type === 'file') return { action: 'block', categories: ['test-files'], respond: 'imspect: file transfers are not allowed' };
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
      return event.protocol === 'oscar' && event.text && event.text.includes('secret') ? event.text.replaceAll('secret', '******') : undefined;
    },
  }),
};
`;

/** The events a fresh session reads from bytes imspect wrote to the client. */
function eventsIn(bytes: Buffer) {
  const session = new OscarSession({ client: { ip: '127.0.0.1', port: 1 }, server: { host: 'x', port: 1 }, maxFrameSize: 70_000, midstream: true });
  return session.push('incoming', bytes).flatMap((f) => f.events ?? []);
}

interface Conversation {
  /** What the BOS address in the authorizer's reply said. */
  bosAddress: string;
  /** The sign-on cookie the authorizer handed out. */
  cookie: Buffer;
  /** Client FLAPs that must reach the BOS server, in order, as they must arrive. */
  expectedAtBos: Buffer[];
  /** What the client received on the BOS connection. */
  atClient: OscarClient;
  /** FLAPs the BOS server sent after sign-on. */
  sentByBos: Buffer[];
}

describe('ICQ/AIM (OSCAR) end to end through imspect (scripted authorizer and BOS server)', () => {
  let dir: string;
  let proxy: RunningImspect;
  let service: OscarService;
  let forwardPort: number;
  let socksPort: number;
  let rows: CsvLogRow[];
  let stderr = '';
  let refused: { bosAddress: string; closedWithout: number } | undefined;
  const conversations: Conversation[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-oscar-'));
    // mallory's authorizer names a BOS server on a private network, which the destination policy refuses.
    service = await startOscarService((name) => (name === 'mallory' ? '10.255.255.1:5190' : undefined));
    for (const [name, code, kind] of [
      ['no-forbidden', FILTER_PLUGIN, 'filter'],
      ['mask-secret', MASK_PLUGIN, 'content'],
    ] as const) {
      await mkdir(path.join(dir, 'plugins', name), { recursive: true });
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
          { type: 'forward', host: '127.0.0.1', port: 0, upstream: { host: '127.0.0.1', port: service.authorizerPort }, protocol: 'oscar' },
          { type: 'socks5', host: '127.0.0.1', port: 0 },
        ],
        loggers: { flushIntervalMs: 10 },
        // Every blocked frame gets its reply (the default allows one per user a minute).
        responses: { blocked: { rateLimitSeconds: 0 } },
        log: { format: 'json' },
      }),
    );
    // --debug: every frame is previewed in the operational log, except those carrying a password or a cookie.
    proxy = await startImspect(['--debug'], { cwd: dir });
    const urls = [...proxy.stdout().matchAll(/listening: (\S+)/g)].map((m) => new URL(m[1]!));
    forwardPort = Number(urls.find((u) => !u.protocol.startsWith('socks'))!.port);
    socksPort = Number(urls.find((u) => u.protocol.startsWith('socks'))!.port);
    expect(proxy.stdout()).toContain('oscar (protocol)');

    // Through the forward listener: the client only ever dials imspect.
    conversations.push(
      await converse(
        'Some User',
        async () => net.connect({ host: '127.0.0.1', port: forwardPort }),
        async (address) => net.connect(parse(address)),
        true,
      ),
    );
    // Through SOCKS5: the client dials the real servers by way of the proxy.
    conversations.push(
      await converse(
        'carol',
        () => socksConnect({ host: '127.0.0.1', port: socksPort }, '127.0.0.1', service.authorizerPort),
        (address) => socksConnect({ host: '127.0.0.1', port: socksPort }, parse(address).host, parse(address).port),
        false,
      ),
    );
    // The hand-off is routed within the destination policy: a BOS server on a private network is refused.
    refused = await refusedHandOff('mallory');
    // Let the last frames reach the loggers before stopping.
    await new Promise((r) => setTimeout(r, 200));
    stderr = proxy.stderr();
    expect(await proxy.stop()).toBe(0);
    rows = await readCsvLogs(path.join(dir, 'data/logs'));
  }, 90_000);

  afterAll(async () => {
    if (proxy) await proxy.stop();
    await service?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Logs in through the forward listener, then presents the cookie: the routed connection must be refused. */
  async function refusedHandOff(me: string): Promise<{ bosAddress: string; closedWithout: number }> {
    const auth = new OscarClient(net.connect({ host: '127.0.0.1', port: forwardPort }));
    await auth.ready();
    await auth.waitFor((f) => f[1] === 1, 'the authorizer hello');
    auth.send(flap(1, 100, u32(1)));
    auth.send(snac(102, 0x17, 0x02, Buffer.concat([tlv(1, me), tlv(0x25, Buffer.alloc(16, 0xab)), ...clientTlvs()]), 2));
    const reply = await auth.waitFor((f) => flapKind(f).subtype === 0x03, 'the login reply');
    const tlvs = tlvMap(reply, 16);
    await auth.close();
    const client = new OscarClient(net.connect({ host: '127.0.0.1', port: forwardPort }));
    await client.ready();
    await client.waitFor((f) => f[1] === 1, 'the greeting');
    client.send(flap(1, 200, Buffer.concat([u32(1), tlv(6, tlvs.get(6)!)])));
    await new Promise<void>((resolve) => (client.socket.destroyed ? resolve() : client.socket.once('close', () => resolve())));
    return { bosAddress: tlvs.get(5)!.toString('latin1'), closedWithout: client.received.flaps.length - 1 };
  }

  function parse(address: string): { host: string; port: number } {
    const [host, port] = address.split(':');
    return { host: host!, port: Number(port) };
  }

  async function converse(me: string, dialAuthorizer: () => Promise<net.Socket>, dialBos: (address: string) => Promise<net.Socket>, policy: boolean): Promise<Conversation> {
    // Authorizer: hello, key request, key, MD5 login, reply with the BOS address and the cookie.
    const auth = new OscarClient(await dialAuthorizer());
    await auth.ready();
    await auth.waitFor((f) => f[1] === 1, 'the authorizer hello');
    auth.send(flap(1, 100, u32(1)));
    auth.send(snac(101, 0x17, 0x06, tlv(1, me), 1));
    await auth.waitFor((f) => flapKind(f).subtype === 0x07, 'the MD5 key');
    auth.send(snac(102, 0x17, 0x02, Buffer.concat([tlv(1, me), tlv(0x25, Buffer.alloc(16, 0xab)), tlv(0x4c, ''), ...clientTlvs()]), 2));
    const reply = await auth.waitFor((f) => flapKind(f).subtype === 0x03, 'the login reply');
    expect(reply.readUInt16BE(4), 'FLAP length of the reply').toBe(reply.length - 6);
    const tlvs = tlvMap(reply, 16);
    const bosAddress = tlvs.get(5)!.toString('latin1');
    const cookie = tlvs.get(6)!;
    await auth.close();
    // Only one hello reached the client, whoever said it.
    expect(auth.received.flaps.filter((f) => f[1] === 1)).toHaveLength(1);

    // BOS: hello, cookie, families; then the conversation.
    const client = new OscarClient(await dialBos(bosAddress));
    await client.ready();
    await client.waitFor((f) => f[1] === 1, 'the BOS hello');
    const expectedAtBos: Buffer[] = [];
    const fromClient = (bytes: Buffer, reaches: Buffer | null = bytes) => {
      client.send(bytes);
      if (reaches) expectedAtBos.push(reaches);
    };
    fromClient(flap(1, 200, Buffer.concat([u32(1), tlv(6, cookie)])));
    await client.waitFor((f) => flapKind(f).family === 1 && flapKind(f).subtype === 3, 'the families');
    const bos = service.bos.find((b) => b.user === me)!;
    const bosHas = (n: number) => until(() => bos.received.flaps.length >= n, `the BOS server to receive ${n} FLAPs`);

    fromClient(typing(201, 'Buddy', 2));
    fromClient(sendIm(202, 'Buddy', bytes('<HTML><BODY>hello buddy, ça va?</BODY></HTML>')));
    if (policy) {
      const before = client.received.flaps.length;
      fromClient(sendIm(203, 'Buddy', bytes('this is forbidden talk')), null);
      await until(() => client.received.flaps.length > before, 'the reply to the blocked message');
      fromClient(sendIm(204, 'Buddy', bytes('my secret plan')), sendIm(204, 'Buddy', bytes('my ****** plan')));
      const beforeOffer = client.received.flaps.length;
      fromClient(fileOffer(205, 'Buddy', 'plans.zip', 31337), null);
      await until(() => client.received.flaps.length >= beforeOffer + 2, 'the cancel and the reply to the blocked file offer');
    }
    await bosHas(expectedAtBos.length);
    const sentByBos = [receiveIm(0x5000, 'buddy', ucs2('hi there 你好'), 2), typing(0x5001, 'buddy', 0)];
    const atClientBefore = client.received.flaps.length;
    for (const f of sentByBos) bos.socket.write(f);
    await until(() => client.received.flaps.length >= atClientBefore + sentByBos.length, 'the BOS messages at the client');
    fromClient(flap(4, 206, Buffer.alloc(0)));
    await bosHas(expectedAtBos.length);
    await client.close();
    return { bosAddress, cookie, expectedAtBos, atClient: client, sentByBos };
  }

  it('forward: the BOS address is imspect’s, the cookie’s connection reached the real BOS; SOCKS5: nothing rewritten', () => {
    expect(conversations[0]!.bosAddress).toBe(`127.0.0.1:${forwardPort}`);
    expect(conversations[1]!.bosAddress).toBe(`127.0.0.1:${service.bosPort}`);
    expect(service.logins).toEqual(['Some User', 'carol', 'mallory']);
    expect(service.bos.map((b) => b.user)).toEqual(['Some User', 'carol']);
  });

  it('relays every FLAP unchanged except the blocked ones (dropped) and the rewritten one (re-encoded)', () => {
    for (const [index, conversation] of conversations.entries()) {
      const bos = service.bos[index]!;
      expect(bos.received.bytes().equals(Buffer.concat(conversation.expectedAtBos)), `connection ${index}: bytes at the BOS server`).toBe(true);
    }
    // SOCKS5: the client got exactly what the BOS server sent (its hello, the families, the two FLAPs).
    const carol = conversations[1]!.atClient.received.flaps;
    expect(carol.slice(-2).map((f) => f.toString('hex'))).toEqual(conversations[1]!.sentByBos.map((f) => f.toString('hex')));
  });

  it('answers a blocked message with an incoming ICBM from the buddy, and a blocked file offer with a rendezvous cancel', () => {
    const events = eventsIn(Buffer.concat(conversations[0]!.atClient.received.flaps));
    const fromImspect = events.filter((e) => e.type === 'message' && e.text?.startsWith('imspect:'));
    expect(fromImspect.map((e) => [e.remoteId, e.text])).toEqual([
      ['buddy', 'imspect: your message was blocked'],
      ['buddy', 'imspect: file transfers are not allowed'],
    ]);
    expect(events.filter((e) => e.subtype === 'rendezvous-cancel').map((e) => [e.remoteId, e.data])).toEqual([['buddy', { service: 'file-transfer' }]]);
  });

  it('logs login, client, messages both ways, typing, the file offer and logout with the right ids', () => {
    const one = (want: Partial<CsvLogRow>, label: string) => {
      const matches = rows.filter((row) => Object.entries({ protocol: 'oscar', localDir: 'someuser', ...want }).every(([k, v]) => row[k as keyof CsvLogRow] === v));
      expect(matches, `${label}\nrows: ${JSON.stringify(rows, null, 1)}`).toHaveLength(1);
      return matches[0]!;
    };
    expect(one({ type: 11, outgoing: true, subtype: 'client' }, 'client report').data).toBe('client=imspect-test-client version=5.9.0.3702 client-id=265 auth=md5');
    expect(one({ type: 5, outgoing: false }, 'login').data).toBe('client=imspect-test-client version=5.9.0.3702 client-id=265');
    one({ remoteDir: 'buddy', type: 3, outgoing: true, subtype: 'active' }, 'typing out');
    one({ remoteDir: 'buddy', type: 3, outgoing: false, subtype: 'done' }, 'typing in');
    one({ remoteDir: 'buddy', type: 1, outgoing: true, filtered: false, text: 'hello buddy, ça va?' }, 'message out');
    const blocked = one({ remoteDir: 'buddy', type: 1, outgoing: true, filtered: true, text: 'this is forbidden talk' }, 'blocked message');
    expect(blocked.categories).toContain('test-forbidden');
    one({ remoteDir: 'buddy', type: 1, outgoing: true, text: 'my secret plan', deliveredText: 'my ****** plan' }, 'rewritten message');
    const offer = one({ remoteDir: 'buddy', type: 2, outgoing: true, filtered: true }, 'file offer');
    expect(offer.eventData).toBe('plans.zip 31337');
    one({ remoteDir: 'buddy', type: 1, outgoing: false, text: 'hi there 你好' }, 'message in');
    one({ type: 6, outgoing: true }, 'logout');
    // carol came through SOCKS5, the protocol recognised from the first bytes.
    const carol = rows.filter((r) => r.localDir === 'carol');
    expect(carol.filter((r) => r.subtype === 'circumvention').every((r) => r.data.startsWith('protocol=oscar how=odd-port,socks5 '))).toBe(true);
    expect(carol.map((r) => [r.type, r.outgoing, r.remoteDir, r.text]).sort()).toEqual(
      [
        [11, true, '127.0.0.1', ''],
        // OSCAR on ports that are not its own (the scripted authorizer's and BOS server's), through SOCKS5.
        [11, true, '127.0.0.1', ''],
        [11, true, '127.0.0.1', ''],
        [5, false, '127.0.0.1', ''],
        [3, true, 'buddy', ''],
        [1, true, 'buddy', 'hello buddy, ça va?'],
        [1, false, 'buddy', 'hi there 你好'],
        [3, false, 'buddy', ''],
        [6, true, '127.0.0.1', ''],
      ].sort(),
    );
  });

  it('never shows a password hash or a cookie in the operational log, even with --debug', () => {
    // As the frame preview would escape them.
    const escaped = (bytes: Buffer) => [...bytes].map((b) => (b >= 0x20 && b <= 0x7e ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
    const frames = stderr.split('\n').filter((l) => l.includes('"msg":"frame"'));
    expect(frames.length).toBeGreaterThan(20);
    // Login request, reply and cookie sign-on of each conversation; mallory's login request and reply.
    expect(frames.filter((l) => l.includes('withheld'))).toHaveLength(8);
    expect(stderr).not.toContain(escaped(Buffer.alloc(8, 0xab)));
    for (const { cookie } of conversations) expect(stderr).not.toContain(escaped(cookie.subarray(0, 12)));
  });

  it('routes the hand-off within the destination policy: a BOS server on a private network is refused and logged', () => {
    expect(refused).toEqual({ bosAddress: `127.0.0.1:${forwardPort}`, closedWithout: 0 });
    expect(service.bos.some((b) => b.user === 'mallory')).toBe(false);
    expect(stderr).toMatch(/destination 10\.255\.255\.1(:5190)? refused by rule/);
  });
});
