import net from 'node:net';
import { describe, expect, it } from 'vitest';
import type { Socks5ListenerConfig } from '../src/config/schema.js';
import { REPLY, Socks5Handshake, connectReply, type SocksStep } from '../src/net/socks5.js';
import { closeServer, connect, listen, readAll, readBytes } from './helpers.js';
import { listenerHarness } from './listener-harness.js';

const GREETING_NOAUTH = [5, 1, 0];
const GREETING_USERPASS = [5, 2, 0, 2];

function userPass(user: string, pass: string): number[] {
  return [1, user.length, ...Buffer.from(user), pass.length, ...Buffer.from(pass)];
}

function requestIPv4(ip: string, port: number, command = 1): number[] {
  return [5, command, 0, 1, ...ip.split('.').map(Number), port >> 8, port & 0xff];
}

function requestDomain(host: string, port: number): number[] {
  return [5, 1, 0, 3, host.length, ...Buffer.from(host, 'latin1'), port >> 8, port & 0xff];
}

function requestIPv6(bytes: number[], port: number): number[] {
  return [5, 1, 0, 4, ...bytes, port >> 8, port & 0xff];
}

/** Steps in a comparable form. */
function plain(steps: SocksStep[]): unknown[] {
  return steps.map((s) => {
    if (s.kind === 'reply') return { kind: 'reply', reply: [...s.reply] };
    if (s.kind === 'reject') return { kind: 'reject', reply: s.reply ? [...s.reply] : undefined };
    if (s.kind === 'connect') return { kind: 'connect', request: s.request, rest: [...s.rest] };
    return s;
  });
}

/**
 * Feeds `bytes` cut at the given offsets, as the listener does: once the handshake says connect (or reject),
 * later bytes belong to the relay, so they are appended to `rest` (and dropped after a reject).
 */
function feed(handshake: Socks5Handshake, bytes: number[], cuts: number[] = []): unknown[] {
  const steps: SocksStep[] = [];
  let after: number[] | undefined;
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    const piece = bytes.slice(from, cut);
    from = cut;
    if (after) {
      after.push(...piece);
      continue;
    }
    const got = handshake.push(Uint8Array.from(piece));
    steps.push(...got);
    const last = got[got.length - 1];
    if (last?.kind === 'connect') after = [...last.rest];
    else if (last?.kind === 'reject') after = [];
  }
  const out = plain(steps);
  const last = steps[steps.length - 1];
  if (last?.kind === 'connect') (out[out.length - 1] as { rest: number[] }).rest = after!;
  return out;
}

describe('Socks5Handshake', () => {
  it('no authentication, IPv4 CONNECT', () => {
    const h = new Socks5Handshake(undefined);
    expect(feed(h, GREETING_NOAUTH)).toEqual([{ kind: 'reply', reply: [5, 0] }]);
    expect(feed(h, requestIPv4('192.0.2.7', 6667))).toEqual([{ kind: 'connect', request: { host: '192.0.2.7', port: 6667, addressType: 'ipv4' }, rest: [] }]);
  });

  it('domain and IPv6 requests', () => {
    const d = new Socks5Handshake(undefined);
    expect(feed(d, [...GREETING_NOAUTH, ...requestDomain('irc.example.org', 443)])).toEqual([
      { kind: 'reply', reply: [5, 0] },
      { kind: 'connect', request: { host: 'irc.example.org', port: 443, addressType: 'domain' }, rest: [] },
    ]);
    const v6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    const h = new Socks5Handshake(undefined);
    expect(feed(h, [...GREETING_NOAUTH, ...requestIPv6(v6, 5222)])).toEqual([
      { kind: 'reply', reply: [5, 0] },
      { kind: 'connect', request: { host: '2001:db8::1', port: 5222, addressType: 'ipv6' }, rest: [] },
    ]);
    const loop = new Socks5Handshake(undefined);
    const steps = feed(loop, [...GREETING_NOAUTH, ...requestIPv6([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 1)]);
    expect((steps[1] as { request: { host: string } }).request.host).toBe('::1');
    for (const [bytes, text] of [
      [[0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], '1::'],
      [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], '::'],
      [[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0, 0, 0, 0, 0xab, 0xcd], 'fe80::1234:0:0:abcd'],
    ] as const) {
      const x = new Socks5Handshake(undefined);
      const s = feed(x, [...GREETING_NOAUTH, ...requestIPv6([...bytes], 1)]);
      const host = (s[1] as { request: { host: string } }).request.host;
      expect(net.isIPv6(host), host).toBe(true);
      expect(host).toBe(text);
    }
  });

  it('username/password: good', () => {
    const h = new Socks5Handshake([{ username: 'alice', password: 's3cret' }]);
    expect(feed(h, GREETING_USERPASS)).toEqual([{ kind: 'reply', reply: [5, 2] }]);
    expect(feed(h, userPass('alice', 's3cret'))).toEqual([{ kind: 'reply', reply: [1, 0] }]);
    expect(h.username).toBe('alice');
    expect(feed(h, requestIPv4('10.1.2.3', 80))).toEqual([{ kind: 'connect', request: { host: '10.1.2.3', port: 80, addressType: 'ipv4' }, rest: [] }]);
  });

  it('username/password: bad password, unknown user, prefix of the password', () => {
    for (const [user, pass] of [
      ['alice', 'wrong'],
      ['bob', 's3cret'],
      ['alice', 's3cre'],
      ['alice', 's3cret!'],
    ] as const) {
      const h = new Socks5Handshake([{ username: 'alice', password: 's3cret' }]);
      expect(feed(h, [...GREETING_USERPASS, ...userPass(user, pass), ...requestIPv4('10.0.0.1', 1)]), `${user}/${pass}`).toEqual([
        { kind: 'reply', reply: [5, 2] },
        { kind: 'reject', reply: [1, 1] },
      ]);
      expect(h.username).toBeUndefined();
    }
  });

  it('a listener with users refuses a client that only offers no-auth; without users, one that only offers user/pass', () => {
    expect(feed(new Socks5Handshake([{ username: 'a', password: 'b' }]), GREETING_NOAUTH)).toEqual([{ kind: 'reject', reply: [5, 0xff] }]);
    expect(feed(new Socks5Handshake(undefined), [5, 1, 2])).toEqual([{ kind: 'reject', reply: [5, 0xff] }]);
    expect(feed(new Socks5Handshake(undefined), [5, 0])).toEqual([{ kind: 'reject', reply: [5, 0xff] }]);
  });

  it('not SOCKS5 at all', () => {
    expect(feed(new Socks5Handshake(undefined), [4, 1, 0, 80, 127, 0, 0, 1, 0])).toEqual([{ kind: 'reject', reply: undefined }]);
    expect(feed(new Socks5Handshake(undefined), [...Buffer.from('GET / HTTP/1.1\r\n')])).toEqual([{ kind: 'reject', reply: undefined }]);
  });

  it('unsupported command and address type', () => {
    const bind = feed(new Socks5Handshake(undefined), [...GREETING_NOAUTH, ...requestIPv4('10.0.0.1', 21, 2)]);
    expect(bind[1]).toEqual({ kind: 'reject', reply: [5, REPLY.commandNotSupported, 0, 1, 0, 0, 0, 0, 0, 0] });
    const udp = feed(new Socks5Handshake(undefined), [...GREETING_NOAUTH, ...requestIPv4('10.0.0.1', 53, 3)]);
    expect(udp[1]).toEqual({ kind: 'reject', reply: [5, 7, 0, 1, 0, 0, 0, 0, 0, 0] });
    const atyp = feed(new Socks5Handshake(undefined), [...GREETING_NOAUTH, 5, 1, 0, 9, 1, 2, 3, 4, 0, 80]);
    expect(atyp[1]).toEqual({ kind: 'reject', reply: [5, REPLY.addressTypeNotSupported, 0, 1, 0, 0, 0, 0, 0, 0] });
    const empty = feed(new Socks5Handshake(undefined), [...GREETING_NOAUTH, ...requestDomain('', 80)]);
    expect(empty[1]).toEqual({ kind: 'reject', reply: [5, REPLY.hostUnreachable, 0, 1, 0, 0, 0, 0, 0, 0] });
  });

  it('pipelined greeting, auth, request and data: the data comes back as rest', () => {
    const h = new Socks5Handshake([{ username: 'u', password: 'p' }]);
    const data = [...Buffer.from('NICK alice\r\n')];
    expect(feed(h, [...GREETING_USERPASS, ...userPass('u', 'p'), ...requestDomain('irc.example.org', 6667), ...data])).toEqual([
      { kind: 'reply', reply: [5, 2] },
      { kind: 'reply', reply: [1, 0] },
      { kind: 'connect', request: { host: 'irc.example.org', port: 6667, addressType: 'domain' }, rest: data },
    ]);
  });

  it('every split of a valid handshake gives the same steps', () => {
    const cases: Array<{ users?: Array<{ username: string; password: string }>; bytes: number[] }> = [
      { bytes: [...GREETING_NOAUTH, ...requestIPv4('198.51.100.2', 1863), 0x41, 0x42] },
      { bytes: [...GREETING_NOAUTH, ...requestDomain('chat.example', 5222), 0x0a] },
      { bytes: [...GREETING_NOAUTH, ...requestIPv6([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5], 80)] },
      { users: [{ username: 'alice', password: 'pw' }], bytes: [...GREETING_USERPASS, ...userPass('alice', 'pw'), ...requestIPv4('10.0.0.9', 6667), 1, 2, 3] },
      { users: [{ username: 'alice', password: 'pw' }], bytes: [...GREETING_USERPASS, ...userPass('alice', 'bad'), ...requestIPv4('10.0.0.9', 6667)] },
    ];
    for (const { users, bytes } of cases) {
      const whole = feed(new Socks5Handshake(users), bytes);
      // One cut at every offset, and two cuts at every pair of offsets.
      for (let i = 1; i < bytes.length; i++) {
        expect(feed(new Socks5Handshake(users), bytes, [i]), `cut at ${i}`).toEqual(whole);
        for (let j = i + 1; j < bytes.length; j++) expect(feed(new Socks5Handshake(users), bytes, [i, j]), `cuts at ${i},${j}`).toEqual(whole);
      }
      // Byte by byte.
      expect(feed(new Socks5Handshake(users), bytes, bytes.map((_, i) => i).slice(1))).toEqual(whole);
    }
  });

  it('needs more bytes: nothing is decided early', () => {
    const h = new Socks5Handshake(undefined);
    expect(feed(h, [5])).toEqual([]);
    expect(feed(h, [2, 1])).toEqual([]);
    expect(feed(h, [0])).toEqual([{ kind: 'reply', reply: [5, 0] }]);
    expect(feed(h, [5, 1, 0, 3, 10, 0x61])).toEqual([]);
  });
});

describe('connectReply', () => {
  it('encodes IPv4 and IPv6 bound addresses', () => {
    expect([...connectReply(REPLY.succeeded, '127.0.0.1', 0x1234)]).toEqual([5, 0, 0, 1, 127, 0, 0, 1, 0x12, 0x34]);
    expect([...connectReply(REPLY.connectionRefused)]).toEqual([5, 5, 0, 1, 0, 0, 0, 0, 0, 0]);
    expect([...connectReply(0, '::1', 80)]).toEqual([5, 0, 0, 4, ...new Array(15).fill(0), 1, 0, 80]);
    expect([...connectReply(0, '2001:db8::2:1', 1)]).toEqual([5, 0, 0, 4, 0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 0, 1]);
  });
});

describe('SOCKS5 listener', () => {
  const { cleanups, echoServer, relayingListener, client } = listenerHarness();

  /** A SOCKS listener whose accepted connections are relayed unparsed (no protocol plugin loaded). */
  function socksListener(extra: Partial<Socks5ListenerConfig> = {}, handshakeTimeoutMs?: number) {
    const config: Socks5ListenerConfig = { type: 'socks5', host: '127.0.0.1', port: 0, allow: ['127.0.0.0/8'], ...extra };
    return relayingListener(config, handshakeTimeoutMs ? { handshakeTimeoutMs } : {});
  }

  it('connects through to the destination and relays data', async () => {
    const echoPort = await echoServer();
    const { listener, accepted } = await socksListener();
    expect(listener.url).toBe(`socks5://127.0.0.1:${listener.address.port}`);
    const socket = await client(listener.address.port);
    socket.write(Uint8Array.from(GREETING_NOAUTH));
    expect([...(await readBytes(socket, 2))]).toEqual([5, 0]);
    socket.write(Uint8Array.from(requestIPv4('127.0.0.1', echoPort)));
    const reply = await readBytes(socket, 10);
    expect([...reply.subarray(0, 4)]).toEqual([5, 0, 0, 1]);
    expect([...reply.subarray(4, 8)]).toEqual([127, 0, 0, 1]);
    expect(reply.length).toBe(10);
    socket.write('hello through socks\n');
    expect((await readBytes(socket, 20)).toString()).toBe('hello through socks\n');
    expect(accepted).toHaveLength(1);
    expect(accepted[0]!.destination).toEqual({ host: '127.0.0.1', port: echoPort });
    expect(accepted[0]!.clientAddress).toEqual({ ip: '127.0.0.1', port: socket.localPort });
    expect(accepted[0]!.initialClientData).toBeUndefined();
  });

  it('pipelined: greeting, auth, request and first data in one write', async () => {
    const echoPort = await echoServer();
    const { listener, accepted } = await socksListener({ users: [{ username: 'alice', password: 'pw' }] });
    const socket = await client(listener.address.port);
    socket.write(Uint8Array.from([...GREETING_USERPASS, ...userPass('alice', 'pw'), ...requestDomain('localhost', echoPort), ...Buffer.from('early')]));
    const answer = await readBytes(socket, 2 + 2 + 10);
    expect([...answer.subarray(0, 5)]).toEqual([5, 2, 1, 0, 5]);
    expect(answer[5]).toBe(0);
    expect(Buffer.from(accepted[0]!.initialClientData!).toString()).toBe('early');
    expect(accepted[0]!.destination).toEqual({ host: 'localhost', port: echoPort });
    expect((await readBytes(socket, 5)).toString()).toBe('early');
  });

  it('pipelined request, data and half-close: the data still crosses and the answer comes back', async () => {
    const echoPort = await echoServer();
    const { listener } = await socksListener();
    const socket = await connect(listener.address.port, { allowHalfOpen: true });
    socket.on('error', () => undefined);
    cleanups.push(() => void socket.destroy());
    const all = readAll(socket);
    socket.end(Uint8Array.from([...GREETING_NOAUTH, ...requestIPv4('127.0.0.1', echoPort), ...Buffer.from('ping\n')]));
    const bytes = await all;
    expect([...bytes.subarray(0, 4)]).toEqual([5, 0, 5, 0]);
    expect(bytes.subarray(12).toString()).toBe('ping\n');
  });

  it('bad password: refused with 1,1 and closed', async () => {
    const { listener, accepted } = await socksListener({ users: [{ username: 'alice', password: 'pw' }] });
    const socket = await client(listener.address.port);
    const all = readAll(socket);
    socket.write(Uint8Array.from([...GREETING_USERPASS, ...userPass('alice', 'nope'), ...requestIPv4('127.0.0.1', 1)]));
    expect([...(await all)]).toEqual([5, 2, 1, 1]);
    expect(accepted).toHaveLength(0);
  });

  it('connection refused upstream: reply code 5', async () => {
    // A port that was just free: nothing listens there.
    const probe = net.createServer();
    const deadPort = await listen(probe);
    await closeServer(probe);
    const { listener, accepted } = await socksListener();
    const socket = await client(listener.address.port);
    const all = readAll(socket);
    socket.write(Uint8Array.from([...GREETING_NOAUTH, ...requestIPv4('127.0.0.1', deadPort)]));
    const bytes = [...(await all)];
    expect(bytes.slice(0, 2)).toEqual([5, 0]);
    expect(bytes.slice(2)).toEqual([5, REPLY.connectionRefused, 0, 1, 0, 0, 0, 0, 0, 0]);
    expect(accepted).toHaveLength(0);
    // The refused client's socket is released (close() waits for every accepted socket).
    const started = Date.now();
    await listener.close();
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('connection refused upstream: a client that keeps its connection open is cut after the handshake timeout', async () => {
    const probe = net.createServer();
    const deadPort = await listen(probe);
    await closeServer(probe);
    const { listener } = await socksListener({}, 200);
    const socket = await connect(listener.address.port, { allowHalfOpen: true });
    socket.on('error', () => undefined);
    cleanups.push(() => void socket.destroy());
    socket.write(Uint8Array.from([...GREETING_NOAUTH, ...requestIPv4('127.0.0.1', deadPort)]));
    expect([...(await readBytes(socket, 12))].slice(2, 4)).toEqual([5, REPLY.connectionRefused]);
    const started = Date.now();
    await listener.close();
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('unsupported command: reply 7 and close', async () => {
    const { listener } = await socksListener();
    const socket = await client(listener.address.port);
    const all = readAll(socket);
    socket.write(Uint8Array.from([...GREETING_NOAUTH, ...requestIPv4('127.0.0.1', 9, 2)]));
    expect([...(await all)]).toEqual([5, 0, 5, 7, 0, 1, 0, 0, 0, 0, 0, 0]);
  });

  it('a refused client that keeps its connection open is cut after the handshake timeout', async () => {
    const { listener } = await socksListener({ users: [{ username: 'alice', password: 'pw' }] }, 200);
    // allowHalfOpen: the client does not answer the relay's end with its own.
    const socket = await connect(listener.address.port, { allowHalfOpen: true });
    socket.on('error', () => undefined);
    cleanups.push(() => void socket.destroy());
    socket.write(Uint8Array.from([...GREETING_USERPASS, ...userPass('alice', 'nope')]));
    expect([...(await readBytes(socket, 4))]).toEqual([5, 2, 1, 1]);
    const started = Date.now();
    await listener.close();
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('a client that says nothing is cut after the handshake timeout', async () => {
    const { listener, log } = await socksListener({}, 100);
    const socket = await client(listener.address.port);
    const all = readAll(socket);
    expect((await all).length).toBe(0);
    expect(log.records.some((r) => r.msg === 'SOCKS handshake timed out')).toBe(true);
  });

  it('a client outside the allow list is refused before any byte is read', async () => {
    const echoPort = await echoServer();
    const { listener, accepted, log } = await socksListener({ allow: ['10.0.0.0/8'] });
    const socket = await client(listener.address.port);
    const all = readAll(socket);
    socket.write(Uint8Array.from([...GREETING_NOAUTH, ...requestIPv4('127.0.0.1', echoPort)]));
    expect((await all).length).toBe(0);
    expect(accepted).toHaveLength(0);
    expect(log.records.some((r) => r.level === 'warn' && /refused: not in the listener's allow list/.test(r.msg ?? ''))).toBe(true);
  });

  it('a client that gives up mid-handshake does not hold its socket open until the handshake timeout', async () => {
    const { listener } = await socksListener();
    const socket = await client(listener.address.port);
    socket.write(Uint8Array.from([5, 1]));
    await new Promise((r) => setTimeout(r, 20));
    socket.end();
    // close() resolves once every accepted socket is closed; the handshake timeout is 15 s.
    const started = Date.now();
    await listener.close();
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
