import net from 'node:net';
import { describe, expect, it } from 'vitest';
import type { HttpConnectListenerConfig } from '../src/config/schema.js';
import { HttpConnectRequest, MAX_REQUEST_HEAD, parseAuthority, type HttpConnectStep } from '../src/net/http-connect.js';
import { closeServer, listen, readAll, readBytes, sleep, waitFor } from './helpers.js';
import { listenerHarness } from './listener-harness.js';

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

function plain(step: HttpConnectStep): unknown {
  return step.kind === 'connect' ? { ...step, rest: Buffer.from(step.rest).toString('latin1') } : step;
}

/** Feeds `text` cut at `cuts`; returns the first decisive step. */
function feed(text: string, cuts: number[] = [], users?: Array<{ username: string; password: string }>): unknown {
  const request = new HttpConnectRequest(users);
  const bytes = Buffer.from(text, 'latin1');
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    const step = request.push(bytes.subarray(from, cut));
    from = cut;
    if (step.kind !== 'more') {
      if (step.kind === 'connect') return plain({ ...step, rest: Buffer.concat([step.rest, bytes.subarray(from)]) });
      return plain(step);
    }
  }
  return { kind: 'more' };
}

describe('HttpConnectRequest', () => {
  const GOOD = 'CONNECT irc.example.org:6667 HTTP/1.1\r\nHost: irc.example.org:6667\r\nUser-Agent: test\r\n\r\n';

  it('a CONNECT request, with the bytes sent behind it', () => {
    expect(feed(`${GOOD}NICK a\r\n`)).toEqual({ kind: 'connect', host: 'irc.example.org', port: 6667, rest: 'NICK a\r\n' });
    expect(feed('CONNECT [2001:db8::7]:5222 HTTP/1.0\r\n\r\n')).toEqual({ kind: 'connect', host: '2001:db8::7', port: 5222, rest: '' });
  });

  it('every split of the request gives the same result', () => {
    const text = `${GOOD}PASS x\r\n`;
    const whole = feed(text);
    for (let cut = 0; cut <= text.length; cut++) expect(feed(text, [cut]), `cut at ${cut}`).toEqual(whole);
    for (let a = 1; a < GOOD.length; a += 7) for (let b = a; b <= text.length; b += 5) expect(feed(text, [a, b])).toEqual(whole);
  });

  it('nothing is decided before the head is complete', () => {
    expect(feed(GOOD.slice(0, -1))).toEqual({ kind: 'more' });
  });

  it('refuses what is not a tunnel: this is never an open HTTP proxy', () => {
    expect(feed('GET http://example.org/ HTTP/1.1\r\nHost: example.org\r\n\r\n')).toMatchObject({ kind: 'reject', status: 405, headers: { Allow: 'CONNECT' } });
    expect(feed('hello\r\n\r\n')).toMatchObject({ kind: 'reject', status: 400 });
    for (const target of ['irc.example.org', 'irc.example.org:0', 'irc.example.org:70000', '[::1', '[not-v6]:80', 'a/b:80', 'user@host:80']) {
      expect(feed(`CONNECT ${target} HTTP/1.1\r\n\r\n`), target).toMatchObject({ kind: 'reject', status: 400 });
    }
    expect(feed('CONNECT a:1 HTTP/1.1\r\nno colon here\r\n\r\n')).toMatchObject({ kind: 'reject', status: 400 });
  });

  it('accepts lines ended by a bare LF, as some clients send them, and mixed line ends', () => {
    const expected = { kind: 'connect', host: 'irc.example.org', port: 6667, rest: 'NICK a\n' };
    const lf = 'CONNECT irc.example.org:6667 HTTP/1.1\nHost: irc.example.org:6667\n\nNICK a\n';
    expect(feed(lf)).toEqual(expected);
    for (let cut = 0; cut <= lf.length; cut++) expect(feed(lf, [cut]), `cut at ${cut}`).toEqual(expected);
    expect(feed('CONNECT irc.example.org:6667 HTTP/1.1\r\nHost: x\n\r\nNICK a\n')).toEqual(expected);
    expect(feed('CONNECT irc.example.org:6667 HTTP/1.1\n\r\nNICK a\n')).toEqual(expected);
    expect(feed('CONNECT a.example:5222 HTTP/1.1\nProxy-Authorization: ' + basic('u', 'p') + '\n\n', [], [{ username: 'u', password: 'p' }])).toMatchObject({
      kind: 'connect',
      username: 'u',
    });
  });

  it('what cannot become a request line is refused at once, without waiting for an end of head', () => {
    // A TLS ClientHello's first bytes (record type 0x16, version 3.1), as a client configured for TLS sends them.
    const clientHello = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]).toString('latin1');
    expect(feed(clientHello)).toMatchObject({ kind: 'reject', status: 400, reason: expect.stringContaining('TLS') });
    for (const garbage of [
      'hello world again',
      '\x00\x01\x02',
      'CONNECT  a:1',
      'CONNECT a:1 FTP',
      'CONNECT a:1 HTTP/2',
      'CONNECT a\x7f:1',
      `${'A'.repeat(17)}`,
      'CONNECT a:1 HTTP/1.1\rX',
    ]) {
      expect(feed(garbage), JSON.stringify(garbage)).toMatchObject({ kind: 'reject', status: 400 });
    }
    // A complete first line that is no request line: refused when its LF arrives, not 15 s later.
    expect(feed('hello\n')).toMatchObject({ kind: 'reject', status: 400, reason: expect.stringContaining('"hello"') });
    // Every prefix of a good request still waits for more.
    const good = 'CONNECT irc.example.org:6667 HTTP/1.1\r\nHost: irc.example.org:6667\r\n\r';
    for (let end = 0; end <= good.length; end++) expect(feed(good.slice(0, end)), `prefix ${end}`).toEqual({ kind: 'more' });
  });

  it('a head longer than the limit is refused without waiting for its end', () => {
    const huge = `CONNECT a:1 HTTP/1.1\r\nX: ${'y'.repeat(MAX_REQUEST_HEAD)}`;
    expect(feed(huge)).toMatchObject({ kind: 'reject', status: 431 });
    expect(feed(`${huge}\r\n\r\n`, [100, 5000])).toMatchObject({ kind: 'reject', status: 431 });
  });

  it('basic authentication when users are configured', () => {
    const users = [{ username: 'alice', password: 'sécret:1' }];
    const auth = (value?: string) => feed(`CONNECT a.example:5222 HTTP/1.1\r\n${value ? `Proxy-Authorization: ${value}\r\n` : ''}\r\n`, [], users);
    expect(auth()).toMatchObject({ kind: 'reject', status: 407, headers: { 'Proxy-Authenticate': expect.stringContaining('Basic') } });
    expect(auth(basic('alice', 'wrong'))).toMatchObject({ kind: 'reject', status: 407 });
    expect(auth(basic('alice', 'sécret:'))).toMatchObject({ kind: 'reject', status: 407 });
    expect(auth(basic('bob', 'sécret:1'))).toMatchObject({ kind: 'reject', status: 407 });
    expect(auth('Bearer abc')).toMatchObject({ kind: 'reject', status: 407 });
    expect(auth(basic('alice', 'sécret:1'))).toEqual({ kind: 'connect', host: 'a.example', port: 5222, username: 'alice', rest: '' });
  });

  it('parseAuthority', () => {
    expect(parseAuthority('198.18.0.1:1863')).toEqual({ host: '198.18.0.1', port: 1863 });
    expect(parseAuthority('[::1]:80')).toEqual({ host: '::1', port: 80 });
    expect(parseAuthority('::1:80')).toBeUndefined();
  });
});

describe('http-connect listener', () => {
  const { echoServer, relayingListener, client } = listenerHarness();

  function proxy(extra: Partial<HttpConnectListenerConfig> = {}, acceptAfter?: Promise<unknown>, idleTimeoutMs = 0, handshakeTimeoutMs?: number) {
    const config: HttpConnectListenerConfig = { type: 'http-connect', host: '127.0.0.1', port: 0, allow: ['127.0.0.0/8'], ...extra };
    return relayingListener(config, { ...(acceptAfter ? { acceptAfter } : {}), ...(handshakeTimeoutMs ? { handshakeTimeoutMs } : {}) }, idleTimeoutMs);
  }

  it('tunnels to the destination, with data sent right behind the request', async () => {
    const echoPort = await echoServer();
    const { listener, accepted } = await proxy();
    expect(listener.url).toBe(`http-connect://127.0.0.1:${listener.address.port}`);
    const socket = await client(listener.address.port);
    socket.write(`CONNECT 127.0.0.1:${echoPort} HTTP/1.1\r\nHost: 127.0.0.1:${echoPort}\r\n\r\nearly `);
    const established = 'HTTP/1.1 200 Connection established\r\n\r\n';
    expect((await readBytes(socket, established.length + 6)).toString()).toBe(`${established}early `);
    socket.write('and late');
    expect((await readBytes(socket, 8)).toString()).toBe('and late');
    expect(accepted[0]!.destination).toEqual({ host: '127.0.0.1', port: echoPort });
    expect(accepted[0]!.clientAddress).toEqual({ ip: '127.0.0.1', port: socket.localPort });
  });

  it('a client outside the allowed networks gets nothing', async () => {
    const { listener, log } = await proxy({ allow: ['198.18.0.0/15'] });
    const socket = await client(listener.address.port);
    socket.write('CONNECT 127.0.0.1:1 HTTP/1.1\r\n\r\n');
    expect((await readAll(socket)).length).toBe(0);
    expect(log.records.some((r) => /refused: not in the listener's allow list/.test(r.msg ?? ''))).toBe(true);
  });

  it('requires basic authentication when users are configured', async () => {
    const echoPort = await echoServer();
    const { listener } = await proxy({ users: [{ username: 'alice', password: 'pw' }] });
    const denied = await client(listener.address.port);
    denied.write(`CONNECT 127.0.0.1:${echoPort} HTTP/1.1\r\n\r\n`);
    const answer = (await readAll(denied)).toString();
    expect(answer).toMatch(/^HTTP\/1\.1 407 Proxy Authentication Required\r\n/);
    expect(answer).toContain('Proxy-Authenticate: Basic realm="imspect"');
    const allowed = await client(listener.address.port);
    allowed.write(`CONNECT 127.0.0.1:${echoPort} HTTP/1.1\r\nProxy-Authorization: ${basic('alice', 'pw')}\r\n\r\n`);
    expect((await readBytes(allowed, 12)).toString()).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('with plainRequests: false, refuses plain HTTP proxying', async () => {
    const { listener } = await proxy({ plainRequests: false });
    const socket = await client(listener.address.port);
    socket.write('GET http://198.18.0.1/ HTTP/1.1\r\nHost: 198.18.0.1\r\n\r\n');
    expect((await readAll(socket)).toString()).toMatch(/^HTTP\/1\.1 405 Method Not Allowed\r\nAllow: CONNECT\r\n/);
  });

  it('an LF-only CONNECT request tunnels end to end', async () => {
    const echoPort = await echoServer();
    const { listener, accepted } = await proxy();
    const socket = await client(listener.address.port);
    socket.write(`CONNECT 127.0.0.1:${echoPort} HTTP/1.1\nHost: 127.0.0.1:${echoPort}\n\nearly `);
    const established = 'HTTP/1.1 200 Connection established\r\n\r\n';
    expect((await readBytes(socket, established.length + 6)).toString()).toBe(`${established}early `);
    socket.write('and late');
    expect((await readBytes(socket, 8)).toString()).toBe('and late');
    expect(accepted[0]!.destination).toEqual({ host: '127.0.0.1', port: echoPort });
  });

  it('garbage and a TLS ClientHello get 400 at once, long before the handshake timeout, with the reason logged', async () => {
    // A 10 min handshake timeout, far beyond the test timeout: the answers below arrive only if they are immediate.
    const { listener, log } = await proxy({}, undefined, 0, 600_000);
    const clientHello = Buffer.from([0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4, 0x03, 0x03, ...Buffer.alloc(32, 7)]);
    for (const [sent, why] of [
      [clientHello, /TLS handshake \(ClientHello\)/],
      [Buffer.from('hello there\n'), /not an HTTP\/1\.x request line: "hello there"/],
      [Buffer.from('\x00\x01garbage'), /not an HTTP\/1\.x request line/],
    ] as const) {
      const socket = await client(listener.address.port);
      socket.write(sent);
      expect((await readAll(socket)).toString('latin1')).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(
        log.records.some((r) => why.test(r.msg ?? '')),
        String(why),
      ).toBe(true);
    }
  });

  it('a refused upstream: 502, the client is closed promptly and the reason logged', async () => {
    const closedPort = await (async () => {
      const server = net.createServer();
      const port = await listen(server);
      await closeServer(server);
      return port;
    })();
    const { listener, log } = await proxy();
    const socket = await client(listener.address.port);
    const started = Date.now();
    socket.write(`CONNECT 127.0.0.1:${closedPort} HTTP/1.1\r\n\r\n`);
    expect((await readAll(socket)).toString()).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n[\s\S]*ECONNREFUSED/);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(log.records.some((r) => /upstream connect failed/.test(r.msg ?? ''))).toBe(true);
  });

  it('connections.idleTimeoutMs closes a tunnel that stays silent, not one that talks', async () => {
    const echoPort = await echoServer();
    const { listener } = await proxy({}, undefined, 400);
    const idle = await client(listener.address.port);
    const busy = await client(listener.address.port);
    for (const socket of [idle, busy]) {
      socket.write(`CONNECT 127.0.0.1:${echoPort} HTTP/1.1\r\n\r\n`);
      await readBytes(socket, 12);
    }
    const started = Date.now();
    const idleClosed = new Promise<number>((resolve) => idle.once('close', () => resolve(Date.now() - started)));
    let busyClosed = false;
    busy.once('close', () => (busyClosed = true));
    for (let i = 0; i < 8; i++) {
      await sleep(100);
      busy.write('x');
    }
    const idleMs = await idleClosed;
    expect(idleMs).toBeGreaterThanOrEqual(300);
    expect(busyClosed).toBe(false);
  });

  it('connections wait until acceptAfter settles (root is dropped before any is handled)', async () => {
    const echoPort = await echoServer();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const { listener, accepted } = await proxy({}, gate);
    const socket = await client(listener.address.port);
    socket.write(`CONNECT 127.0.0.1:${echoPort} HTTP/1.1\r\n\r\n`);
    await sleep(150);
    expect(accepted).toHaveLength(0);
    open();
    await waitFor(() => accepted.length === 1, 5_000, 'the held connection to be handled');
    expect((await readBytes(socket, 12)).toString()).toMatch(/^HTTP\/1\.1 200 /);
  });
});
