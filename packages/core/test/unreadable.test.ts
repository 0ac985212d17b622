import { describe, expect, it } from 'vitest';
import { connectTarget, httpRequestHead, socks4Target, isTlsClientHello, judgeFirstBytes, parseOicqPacket, sniffOicqTcp, unreadableAction } from '../src/proxy/unreadable.js';
import { sleep, waitFor } from './helpers.js';
import { lineProtocol, relayFixtures } from './relay-harness.js';

/** One client packet of ndpi-oicq.pcap (QQ number 1444875387, command 1: log out), as its UDP datagram carried it. */
const OICQ_LOGOUT = Buffer.from('023b0b00010031561f0c7b00000000000000006b1293101de8332d4cd86b893d44950ca6f8e426f2f1ae3503', 'hex');
/** The same packet over TCP: a 16-bit length (counting itself) in front. */
const OICQ_TCP = Buffer.concat([Buffer.from([0, OICQ_LOGOUT.length + 2]), OICQ_LOGOUT]);
/** The start of a TLS ClientHello: handshake record, TLS 1.0 record version, length, ClientHello. */
const CLIENT_HELLO = Buffer.concat([Buffer.from('160301003a0100003603035f', 'hex'), Buffer.alloc(50, 7)]);

describe('first-byte detectors', () => {
  it('OICQ: the capture packet is read (number, command), over UDP and TCP, cut anywhere', () => {
    expect(parseOicqPacket(OICQ_LOGOUT)).toEqual({ version: 0x3b0b, command: 1, sequence: 0x31, qqNumber: 1444875387 });
    expect(sniffOicqTcp(OICQ_TCP)).toMatchObject({ qqNumber: 1444875387 });
    // Without the length counting itself, as some clients send it.
    expect(sniffOicqTcp(Buffer.concat([Buffer.from([0, OICQ_LOGOUT.length]), OICQ_LOGOUT]))).toMatchObject({ qqNumber: 1444875387 });
    for (let cut = 0; cut < OICQ_TCP.length; cut++) expect(sniffOicqTcp(OICQ_TCP.subarray(0, cut))).toBe('partial');
  });

  it('OICQ: not a packet without its start and end bytes, a known command, or with HTTP / IM bytes', () => {
    expect(parseOicqPacket(Buffer.concat([OICQ_LOGOUT.subarray(0, -1), Buffer.from([0x04])]))).toBeUndefined();
    const badCommand = Buffer.from(OICQ_LOGOUT);
    badCommand.writeUInt16BE(0x2000, 3);
    expect(parseOicqPacket(badCommand)).toBeUndefined();
    for (const text of ['GET / HTTP/1.1\r\nHost: weixin.qq.com\r\n\r\n', 'VER 1 MSNP8 CVR0\r\n', '<?xml version="1.0"?>', 'NICK bob\r\n', 'YMSG\x00\x10\x00\x00']) {
      expect(sniffOicqTcp(Buffer.from(text, 'latin1'))).toBeUndefined();
    }
  });

  it('HTTP request heads: complete at the blank line (CRLF or LF), partial before, no for other bytes', () => {
    const head = 'POST /upload HTTP/1.1\r\nHost: example.org\r\nContent-Length: 100000\r\n\r\n';
    expect(httpRequestHead(Buffer.from(head))).toBe('complete');
    expect(httpRequestHead(Buffer.from('GET / HTTP/1.0\n\n'))).toBe('complete');
    for (let cut = 0; cut < head.length - 1; cut++) expect(httpRequestHead(Buffer.from(head.slice(0, cut)))).toBe('partial');
    for (const text of ['VER 1 MSNP8 CVR0\r\n', 'NICK bob\r\n', 'USER a b c :d\r\n', '<stream:stream>', '*\x01\x00\x01'])
      expect(httpRequestHead(Buffer.from(text, 'latin1'))).toBe('no');
  });

  it('CONNECT targets: host (or bracketed IPv6) and port of a whole request head', () => {
    expect(connectTarget(Buffer.from('CONNECT messenger.hotmail.com:1863 HTTP/1.1\r\nHost: messenger.hotmail.com:1863\r\n\r\n'))).toEqual({
      host: 'messenger.hotmail.com',
      port: 1863,
    });
    expect(connectTarget(Buffer.from('CONNECT [2001:db8::1]:5222 HTTP/1.0\n\n'))).toEqual({ host: '2001:db8::1', port: 5222 });
    expect(connectTarget(Buffer.from('CONNECT a.example:1863 HTTP/1.1\r\n'))).toBeUndefined();
    expect(connectTarget(Buffer.from('GET http://a.example:1863/ HTTP/1.1\r\n\r\n'))).toBeUndefined();
    expect(connectTarget(Buffer.from('CONNECT a.example:99999 HTTP/1.1\r\n\r\n'))).toBeUndefined();
  });

  it('SOCKS4 and SOCKS4a CONNECT requests: their target, whole requests only', () => {
    const v4 = Buffer.from([4, 1, 0x07, 0x47, 65, 54, 227, 21, ...Buffer.from('bob'), 0]);
    expect(socks4Target(v4)).toEqual({ host: '65.54.227.21', port: 1863 });
    const v4a = Buffer.from([4, 1, 0x14, 0x66, 0, 0, 0, 1, 0, ...Buffer.from('talk.example.org'), 0]);
    expect(socks4Target(v4a)).toEqual({ host: 'talk.example.org', port: 5222 });
    for (let cut = 0; cut < v4a.length; cut++) expect(socks4Target(v4a.subarray(0, cut))).toBeUndefined();
    expect(socks4Target(Buffer.from([4, 2, 0x07, 0x47, 65, 54, 227, 21, 0]))).toBeUndefined(); // BIND
    expect(judgeFirstBytes(v4)).toEqual({ kind: 'not-im', what: 'socks4' });
  });

  it('TLS ClientHello and the verdicts on first bytes', () => {
    expect(isTlsClientHello(CLIENT_HELLO)).toBe(true);
    expect(isTlsClientHello(Buffer.from('170303', 'hex'))).toBe(false);
    expect(judgeFirstBytes(CLIENT_HELLO)).toEqual({ kind: 'not-im', what: 'tls' });
    expect(judgeFirstBytes(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n'))).toEqual({ kind: 'not-im', what: 'http' });
    expect(judgeFirstBytes(OICQ_TCP)).toMatchObject({ kind: 'qq', header: { qqNumber: 1444875387 } });
    expect(judgeFirstBytes(Buffer.from('GET / HTTP/1.1\r\n'))).toBeUndefined();
    // A SOCKS5 greeting to someone else's proxy: the client waits for the answer, so it is let go at once.
    expect(judgeFirstBytes(Buffer.from([5, 1, 0]))).toEqual({ kind: 'not-im', what: 'socks5' });
    expect(judgeFirstBytes(Buffer.from([5, 2, 0, 2]))).toEqual({ kind: 'not-im', what: 'socks5' });
    expect(judgeFirstBytes(Buffer.from([5, 2, 0]))).toBeUndefined();
    expect(judgeFirstBytes(Buffer.from([5, 1, 0x40]))).toBeUndefined();
  });

  it('policy.unreadable: one action, or per protocol, then per kind, then default (log when unset)', () => {
    expect(unreadableAction(undefined, 'msn', 'tls')).toBe('log');
    expect(unreadableAction('block', 'msn', 'tls')).toBe('block');
    const policy = { default: 'allow' as const, qq: 'block' as const, tls: 'log' as const };
    expect(unreadableAction(policy, 'qq', 'qq')).toBe('block');
    expect(unreadableAction(policy, 'msn', 'tls')).toBe('log');
    expect(unreadableAction(policy, 'msn', 'unknown')).toBe('allow');
    expect(unreadableAction({ qq: 'block' }, 'irc', 'unknown')).toBe('log');
  });
});

const { upstream, relay, client } = relayFixtures();

/** The line protocol, owning the upstream's port (an IM port) or no port at all (sniffing only). */
const imPortProtocol = (port: number) => ({ ...lineProtocol(), ports: [port], sniff: (first: Uint8Array) => Buffer.from(first).toString('latin1').startsWith('MSG ') });

describe('policy.unreadable on an IM port (TLS not intercepted, HTTP the protocol does not read)', () => {
  for (const [what, bytes, kind] of [
    ['TLS', CLIENT_HELLO, 'tls'],
    ['HTTP', Buffer.from('GET /index.html HTTP/1.1\r\nHost: example.org\r\n\r\n'), 'unknown'],
  ] as const) {
    it(`${what}, allow: relayed, no event`, async () => {
      const server = await upstream();
      const r = await relay(server.port, { protocol: imPortProtocol(server.port), sniffTimeoutMs: 5_000, unreadable: 'allow' });
      const c = await client(r.port);
      c.socket.end(bytes);
      expect(Buffer.compare(await c.ended, bytes)).toBe(0);
      await sleep(20);
      expect(r.events).toEqual([]);
    });

    it(`${what}, log: relayed, one event naming the port's protocol`, async () => {
      const server = await upstream();
      const r = await relay(server.port, { protocol: imPortProtocol(server.port), sniffTimeoutMs: 5_000, unreadable: { default: 'block', lines: 'log' } });
      const c = await client(r.port);
      c.socket.end(bytes);
      expect(Buffer.compare(await c.ended, bytes)).toBe(0);
      await waitFor(() => r.events.length > 0, 2_000, 'event');
      expect(r.events.map((e) => [e.type, e.subtype, e.protocol, e.data?.['kind'], e.data?.['action'], e.filtered])).toEqual([
        [kind === 'tls' ? 'encrypted' : 'other', kind === 'tls' ? 'tls' : 'unreadable', 'lines', kind, 'log', false],
      ]);
    });

    it(`${what}, block: closed before a byte reaches the server, one event marked blocked`, async () => {
      const server = await upstream();
      const r = await relay(server.port, { protocol: imPortProtocol(server.port), sniffTimeoutMs: 5_000, unreadable: { [kind]: 'block' } });
      const c = await client(r.port);
      c.socket.write(bytes);
      expect((await c.ended).length).toBe(0);
      await waitFor(() => r.events.length > 0, 2_000, 'event');
      expect(r.events.map((e) => [e.protocol, e.data?.['kind'], e.filtered, e.categories])).toEqual([['lines', kind, true, ['unreadable']]]);
      expect(Buffer.concat(server.received[0] ?? []).length).toBe(0);
    });
  }

  it('the protocol itself still reads its own bytes (no event), also when the first chunk is cut short', async () => {
    const server = await upstream();
    const r = await relay(server.port, { protocol: imPortProtocol(server.port), sniffTimeoutMs: 5_000, unreadable: 'block' });
    const c = await client(r.port);
    c.socket.write('MS');
    await sleep(20);
    c.socket.end('G bob hi\n');
    expect((await c.ended).toString()).toBe('MSG bob hi\n');
    expect(r.events.map((e) => `${e.type} ${e.text}`)).toEqual(['message hi', 'message hi']);
  });
});

describe('policy.unreadable for TLS of the protocol itself, not intercepted (a TLS port, STARTTLS)', () => {
  for (const action of ['allow', 'log', 'block'] as const) {
    it(`a TLS port, ${action}`, async () => {
      const server = await upstream();
      const r = await relay(server.port, { protocol: { ...lineProtocol(), ports: [], tlsPorts: [server.port] }, sniffTimeoutMs: 5_000, unreadable: { lines: action } });
      const c = await client(r.port);
      c.socket.end(CLIENT_HELLO);
      const back = await c.ended;
      expect(back.length).toBe(action === 'block' ? 0 : CLIENT_HELLO.length);
      if (action !== 'allow') await waitFor(() => r.events.length > 0, 2_000, 'event');
      else await sleep(30);
      expect(r.events.map((e) => [e.type, e.subtype, e.filtered])).toEqual(action === 'allow' ? [] : [['encrypted', 'tls-port', action === 'block']]);
      if (action === 'block') expect(Buffer.concat(server.received[0] ?? []).length).toBe(0);
    });

    it(`STARTTLS, ${action}`, async () => {
      const server = await upstream();
      const r = await relay(server.port, { protocol: { ...lineProtocol(), ports: [server.port] }, sniffTimeoutMs: 5_000, unreadable: { tls: action } });
      const c = await client(r.port);
      c.socket.write('MSG bob before\nTLS\n');
      if (action !== 'block') c.socket.end(CLIENT_HELLO);
      const back = await c.ended;
      // The echo of what crossed: the message, then (unless blocked) the upgrade line and the TLS bytes.
      if (action === 'block') expect(back.toString('latin1')).not.toContain('\x16\x03');
      else expect(back.subarray(-CLIENT_HELLO.length)).toEqual(CLIENT_HELLO);
      await waitFor(() => r.events.some((e) => e.type === 'message'), 2_000, 'message event');
      if (action !== 'allow') await waitFor(() => r.events.some((e) => e.type === 'encrypted'), 2_000, 'encrypted event');
      else await sleep(30);
      expect(r.events.filter((e) => e.type === 'encrypted').map((e) => [e.subtype, e.filtered])).toEqual(action === 'allow' ? [] : [['starttls', action === 'block']]);
      if (action === 'block') expect(r.connections[0]!.encrypted).toBe('starttls');
    });
  }
});

describe('a port given to a protocol in `ports` (as 80 to msn)', () => {
  it('other HTTP goes to the protocol as soon as its head is complete (no event), its body streamed', async () => {
    const server = await upstream();
    const r = await relay(server.port, {
      protocol: { ...lineProtocol(), sniff: () => false },
      ports: { [String(server.port)]: 'lines' },
      sniffTimeoutMs: 10_000,
      unreadable: 'block',
    });
    const c = await client(r.port);
    const started = Date.now();
    // The fake protocol frames lines: the body's line crosses as soon as it is whole.
    c.socket.write('POST /upload HTTP/1.1\r\nHost: example.org\r\nContent-Length: 1000000\r\n\r\nfirst part\n');
    await waitFor(
      () =>
        Buffer.concat(server.received[0] ?? [])
          .toString()
          .includes('first part'),
      5_000,
      'head and body start at the server',
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    c.socket.end();
    await c.ended;
    expect(r.connections[0]!.protocol?.name).toBe('lines');
    expect(r.events).toEqual([]);
  });
});

describe('sniffing a port that names no protocol', () => {
  it('other HTTP is decided at the end of its head: relayed at once, its body streamed, no event', async () => {
    const server = await upstream();
    const r = await relay(server.port, { protocol: { ...lineProtocol(), sniff: () => false }, sniffTimeoutMs: 10_000 });
    const c = await client(r.port);
    const started = Date.now();
    c.socket.write('POST /upload HTTP/1.1\r\nHost: example.org\r\nContent-Length: 1000000\r\n\r\nfirst part of the body');
    await waitFor(
      () =>
        Buffer.concat(server.received[0] ?? [])
          .toString()
          .includes('first part'),
      5_000,
      'head and body start at the server',
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    c.socket.end();
    await c.ended;
    expect(r.events).toEqual([]);
  });

  it("a SOCKS5 greeting to someone else's proxy is relayed at once (the client waits for the answer), no event", async () => {
    const server = await upstream();
    const r = await relay(server.port, { protocol: { ...lineProtocol(), sniff: () => false }, sniffTimeoutMs: 10_000 });
    const c = await client(r.port);
    c.socket.write(Buffer.from([5, 1, 0]));
    await waitFor(() => Buffer.concat(server.received[0] ?? []).length === 3, 5_000, 'greeting at the proxy');
    c.socket.end();
    await c.ended;
    expect(r.events).toEqual([]);
  });

  it('a TLS ClientHello nobody intercepts is relayed at once, no event', async () => {
    const server = await upstream();
    const r = await relay(server.port, { protocol: { ...lineProtocol(), sniff: () => false }, sniffTimeoutMs: 10_000 });
    const c = await client(r.port);
    c.socket.write(CLIENT_HELLO);
    await waitFor(() => Buffer.concat(server.received[0] ?? []).length === CLIENT_HELLO.length, 5_000, 'hello at the server');
    c.socket.end();
    await c.ended;
    expect(r.events).toEqual([]);
  });

  it('a CONNECT to an IM port through a proxy imspect does not run: unreadable (proxy), blocked when policy says so', async () => {
    const server = await upstream();
    const protocol = { ...lineProtocol(), ports: [1863], sniff: () => false };
    const r = await relay(server.port, { protocol, sniffTimeoutMs: 10_000, unreadable: { lines: 'block' } });
    const c = await client(r.port);
    c.socket.write('CONNECT messenger.example.com:1863 HTTP/1.1\r\nHost: messenger.example.com:1863\r\n\r\n');
    expect((await c.ended).length).toBe(0);
    await waitFor(() => r.events.length > 0, 2_000, 'event');
    expect(r.events.map((e) => [e.type, e.subtype, e.protocol, e.remoteId, e.data?.['kind'], e.data?.['target'], e.data?.['how'], e.filtered])).toEqual([
      ['other', 'unreadable', 'lines', 'messenger.example.com', 'proxy', 'messenger.example.com:1863', 'foreign-proxy', true],
    ]);
    expect(Buffer.concat(server.received[0] ?? []).length).toBe(0);
  });

  it('a SOCKS4 request to an IM port through a proxy imspect does not run: unreadable (proxy), logged and relayed', async () => {
    const server = await upstream();
    const r = await relay(server.port, { protocol: { ...lineProtocol(), ports: [1863], sniff: () => false }, sniffTimeoutMs: 10_000 });
    const c = await client(r.port);
    const request = Buffer.from([4, 1, 0x07, 0x47, 65, 54, 227, 21, 0]);
    c.socket.write(request);
    await waitFor(() => Buffer.concat(server.received[0] ?? []).length === request.length, 5_000, 'request at the proxy');
    c.socket.end();
    await c.ended;
    expect(r.events.map((e) => [e.protocol, e.remoteId, e.data?.['kind'], e.data?.['target'], e.data?.['action'], e.filtered])).toEqual([
      ['lines', '65.54.227.21', 'proxy', '65.54.227.21:1863', 'log', false],
    ]);
  });

  it('a CONNECT to a port no protocol names (a browser through its proxy) passes at once, no event', async () => {
    const server = await upstream();
    const r = await relay(server.port, { protocol: { ...lineProtocol(), ports: [1863], sniff: () => false }, sniffTimeoutMs: 10_000, unreadable: 'block' });
    const c = await client(r.port);
    const head = 'CONNECT www.example.com:443 HTTP/1.1\r\nHost: www.example.com:443\r\n\r\n';
    c.socket.write(head);
    await waitFor(() => Buffer.concat(server.received[0] ?? []).toString() === head, 5_000, 'head at the proxy');
    c.socket.end();
    await c.ended;
    expect(r.events).toEqual([]);
  });

  for (const action of ['log', 'block'] as const) {
    it(`QQ over TCP (${action}): one event with the QQ number; ${action === 'block' ? 'closed' : 'relayed'}`, async () => {
      const server = await upstream();
      const r = await relay(server.port, { protocol: { ...lineProtocol(), sniff: () => false }, sniffTimeoutMs: 10_000, unreadable: { qq: action } });
      const c = await client(r.port);
      c.socket.write(OICQ_TCP.subarray(0, 10));
      await sleep(20);
      c.socket.write(OICQ_TCP.subarray(10));
      if (action === 'log') c.socket.end();
      const back = await c.ended;
      expect(back.length).toBe(action === 'log' ? OICQ_TCP.length : 0);
      await waitFor(() => r.events.length > 0, 2_000, 'event');
      expect(r.events.map((e) => [e.type, e.subtype, e.protocol, e.localId, e.data?.['qqNumber'], e.filtered])).toEqual([
        ['other', 'unreadable', 'qq', '1444875387', 1444875387, action === 'block'],
      ]);
    });
  }
});
