/**
 * Plain HTTP proxying through the http-connect listener (requests with an absolute URI): the request parser's
 * decision, and end to end over real sockets: requests relayed in origin form with Host from the URI and the proxy's
 * own fields removed, a client that names another server in its next request (as MSN's gateway client does),
 * pipelined requests answered in order, bodies streamed, credentials checked on every request, refusals by the
 * destination policy answered in turn and logged.
 */
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpFramer } from '@imspect/sdk';
import type { HttpConnectListenerConfig } from '../src/config/schema.js';
import { DEFAULT_DESTINATIONS, DestinationPolicy } from '../src/net/destination-policy.js';
import { HttpConnectRequest, parseAbsoluteHttpUri } from '../src/net/http-connect.js';
import { startListener, type AcceptedConnection } from '../src/net/listeners.js';
import { ProxyConnection } from '../src/proxy/connection.js';
import { TurnBudget } from '../src/proxy/turn-budget.js';
import { EventSink } from '../src/proxy/event-sink.js';
import { Policy } from '../src/proxy/policy.js';
import { ProtocolRegistry } from '../src/proxy/protocols.js';
import { closeServer, connect, listen, recordingLogger, waitFor } from './helpers.js';

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('plain proxy requests: the decision', () => {
  const decide = (text: string, users?: Array<{ username: string; password: string }>, plain = true) => {
    const step = new HttpConnectRequest(users, plain).push(Buffer.from(text, 'latin1'));
    return step.kind === 'forward' ? { ...step, data: Buffer.from(step.data).toString('latin1') } : step;
  };

  it('a request with an absolute http:// URI is relayed, with every byte the client sent', () => {
    const text = 'POST http://gateway.messenger.hotmail.com/gateway/gateway.dll?Action=open&Server=NS&IP=messenger.hotmail.com HTTP/1.1\r\nContent-Length: 3\r\n\r\nVER';
    expect(decide(text)).toEqual({ kind: 'forward', host: 'gateway.messenger.hotmail.com', port: 80, data: text });
    expect(decide('GET http://[2001:db8::1]:8080/x HTTP/1.0\r\n\r\n')).toMatchObject({ kind: 'forward', host: '2001:db8::1', port: 8080 });
  });

  it('refuses what it cannot relay: origin form, https, user info; 405 when plain requests are off', () => {
    expect(decide('GET / HTTP/1.1\r\nHost: x\r\n\r\n')).toMatchObject({ kind: 'reject', status: 400 });
    expect(decide('GET https://example.org/ HTTP/1.1\r\n\r\n')).toMatchObject({ kind: 'reject', status: 400 });
    expect(decide('GET http://user@example.org/ HTTP/1.1\r\n\r\n')).toMatchObject({ kind: 'reject', status: 400 });
    expect(decide('GET http://example.org/ HTTP/1.1\r\n\r\n', undefined, false)).toMatchObject({ kind: 'reject', status: 405, headers: { Allow: 'CONNECT' } });
  });

  it('checks the proxy credentials when users are configured', () => {
    const users = [{ username: 'alice', password: 'pw' }];
    expect(decide('GET http://example.org/ HTTP/1.1\r\n\r\n', users)).toMatchObject({ kind: 'reject', status: 407 });
    expect(decide(`GET http://example.org/ HTTP/1.1\r\nProxy-Authorization: ${basic('alice', 'pw')}\r\n\r\n`, users)).toMatchObject({ kind: 'forward', username: 'alice' });
  });

  it('reads absolute URIs', () => {
    expect(parseAbsoluteHttpUri('http://207.46.110.18/gateway/gateway.dll?SessionID=1.2')).toEqual({
      host: '207.46.110.18',
      port: 80,
      authority: '207.46.110.18',
      originForm: '/gateway/gateway.dll?SessionID=1.2',
    });
    expect(parseAbsoluteHttpUri('http://example.org:8080')).toMatchObject({ port: 8080, authority: 'example.org:8080', originForm: '/' });
    expect(parseAbsoluteHttpUri('http://example.org?q=1')).toMatchObject({ originForm: '/?q=1' });
    for (const bad of ['http://example.org:0/', 'http://example.org:99999/', 'http://[not-v6]/', 'ftp://example.org/', 'http://a/b#frag', '/path']) {
      expect(parseAbsoluteHttpUri(bad), bad).toBeUndefined();
    }
  });
});

interface Seen {
  server: string;
  method: string;
  url: string;
  host: string | undefined;
  proxyAuthorization: string | undefined;
  proxyConnection: string | undefined;
  body: string;
}

describe('plain proxy requests through the listener', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** An origin server on loopback that answers every request with its own name, the path and the body it got. */
  async function origin(name: string, seen: Seen[], host = '127.0.0.1'): Promise<number> {
    const server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        seen.push({
          server: name,
          method: request.method!,
          url: request.url!,
          host: request.headers.host,
          proxyAuthorization: request.headers['proxy-authorization'],
          proxyConnection: request.headers['proxy-connection'] as string | undefined,
          body,
        });
        const text = `${name} ${request.url} ${body.length}`;
        // A slow answer now and then, so a request for the next server really has to wait its turn.
        setTimeout(() => response.end(text), request.url?.includes('slow') ? 150 : 0);
      });
    });
    const port = await new Promise<number>((resolve) => server.listen(0, host, () => resolve((server.address() as net.AddressInfo).port)));
    cleanups.push(async () => {
      server.closeAllConnections();
      await closeServer(server);
    });
    return port;
  }

  async function proxy(extra: Partial<HttpConnectListenerConfig> = {}, destinations = new DestinationPolicy(DEFAULT_DESTINATIONS)) {
    const log = recordingLogger();
    const turnBudget = new TurnBudget();
    const registry = new ProtocolRegistry([], {}, log);
    const policy = new Policy([], [], { failMode: 'open', hookTimeoutMs: 1_000 }, log);
    const sink = new EventSink([], { batchSize: 10, flushIntervalMs: 10, retryMaxDelayMs: 10, writeTimeoutMs: 100 }, log);
    const accepted: AcceptedConnection[] = [];
    const config: HttpConnectListenerConfig = { type: 'http-connect', host: '127.0.0.1', port: 0, allow: ['127.0.0.0/8'], ...extra };
    const listener = await startListener(config, {
      log,
      connectTimeoutMs: 2_000,
      destinations,
      onConnection: (a) => {
        accepted.push(a);
        new ProxyConnection(
          a.client,
          a.upstream,
          { id: String(accepted.length), client: a.clientAddress, server: a.destination, ...(a.initialClientData ? { initialClientData: a.initialClientData } : {}) },
          { registry, policy, sink, log, options: { idleTimeoutMs: 0, sniffTimeoutMs: 0, debug: false }, turnBudget },
        );
      },
    });
    cleanups.push(async () => {
      for (const a of accepted) {
        a.client.destroy();
        a.upstream.destroy();
      }
      await listener.close();
    });
    return { port: listener.address.port, log, accepted };
  }

  /** A client connection that collects complete responses (status and body). */
  async function client(port: number) {
    const socket = await connect(port);
    socket.on('error', () => undefined);
    cleanups.push(() => void socket.destroy());
    const framer = new HttpFramer({ type: 'response', maxHeadBytes: 65536 });
    const responses: Array<{ status: number; head: string; body: string }> = [];
    let ended = false;
    socket.on('data', (chunk: Buffer) => {
      framer.push(chunk);
      for (let item = framer.next(); item; item = framer.next()) {
        if (item.kind === 'head') responses.push({ status: item.head.status, head: Buffer.from(item.raw).toString('latin1'), body: '' });
        else if (item.kind === 'body') responses.at(-1)!.body += Buffer.from(item.raw).toString('latin1');
      }
    });
    socket.on('end', () => (ended = true));
    const request = (method: string, url: string, body = '', headers: Record<string, string> = {}) => {
      framer.expect(method);
      const lines = [`${method} ${url} HTTP/1.1`, 'Host: wrong.invalid', 'Proxy-Connection: Keep-Alive', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
      if (body) lines.push(`Content-Length: ${body.length}`);
      return `${lines.join('\r\n')}\r\n\r\n${body}`;
    };
    return { socket, responses, request, ended: () => ended };
  }

  it('relays requests in origin form to the server each URI names, switching servers on one connection, answers in order', async () => {
    const seen: Seen[] = [];
    const a = await origin('A', seen);
    const b = await origin('B', seen);
    const { port, accepted } = await proxy();
    const c = await client(port);
    // One after the other, as a client that waits for each response; then pipelined, across the two servers.
    c.socket.write(c.request('GET', `http://127.0.0.1:${a}/first`));
    await waitFor(() => c.responses.length === 1);
    c.socket.write(c.request('POST', `http://127.0.0.1:${b}/gateway/gateway.dll?SessionID=1.2`, 'VER 1 MSNP8 CVR0\r\n'));
    await waitFor(() => c.responses.length === 2);
    c.socket.write(
      c.request('GET', `http://127.0.0.1:${b}/slow`) + c.request('POST', `http://localhost:${a}/next`, 'x'.repeat(70_000)) + c.request('HEAD', `http://127.0.0.1:${a}/head`),
    );
    await waitFor(() => c.responses.length === 5);
    expect(c.responses.map((r) => `${r.status} ${r.body}`)).toEqual([
      '200 A /first 0',
      '200 B /gateway/gateway.dll?SessionID=1.2 18',
      '200 B /slow 0',
      '200 A /next 70000',
      '200 ',
    ]);
    expect(seen.map((s) => `${s.server} ${s.method} ${s.url} ${s.host}`)).toEqual([
      `A GET /first 127.0.0.1:${a}`,
      `B POST /gateway/gateway.dll?SessionID=1.2 127.0.0.1:${b}`,
      `B GET /slow 127.0.0.1:${b}`,
      `A POST /next localhost:${a}`,
      `A HEAD /head 127.0.0.1:${a}`,
    ]);
    expect(seen.every((s) => s.proxyConnection === undefined && s.proxyAuthorization === undefined)).toBe(true);
    // One relayed connection for the client, whatever the servers.
    expect(accepted).toHaveLength(1);
    expect(accepted[0]!.destination).toEqual({ host: '127.0.0.1', port: a });
  });

  it('a first request whose body is still arriving when the head is read goes through whole', async () => {
    const seen: Seen[] = [];
    const a = await origin('A', seen);
    const { port } = await proxy();
    const c = await client(port);
    const body = 'b'.repeat(200_000);
    const request = c.request('POST', `http://127.0.0.1:${a}/upload`, body);
    c.socket.write(request.slice(0, 100));
    await new Promise((r) => setTimeout(r, 50));
    c.socket.write(request.slice(100));
    await waitFor(() => c.responses.length === 1);
    expect(c.responses[0]!.body).toBe('A /upload 200000');
    expect(seen[0]!.body).toBe(body);
  });

  it('checks the credentials on every request and never passes them on', async () => {
    const seen: Seen[] = [];
    const a = await origin('A', seen);
    const { port, log } = await proxy({ users: [{ username: 'alice', password: 'pw' }] });
    const c = await client(port);
    c.socket.write(c.request('GET', `http://127.0.0.1:${a}/ok`, '', { 'Proxy-Authorization': basic('alice', 'pw') }));
    await waitFor(() => c.responses.length === 1);
    c.socket.write(c.request('GET', `http://127.0.0.1:${a}/no`, '', { 'Proxy-Authorization': basic('alice', 'wrong') }));
    await waitFor(() => c.ended());
    expect(c.responses.map((r) => r.status)).toEqual([200, 407]);
    expect(c.responses[1]!.head).toContain('Proxy-Authenticate: Basic');
    expect(seen.map((s) => s.url)).toEqual(['/ok']);
    expect(seen[0]!.proxyAuthorization).toBeUndefined();
    expect(log.records.some((r) => r.msg?.includes('authentication failed for user "alice"'))).toBe(true);
  });

  it('a server the destination policy refuses gets no connection: 403 in turn, logged with its rule, the connection ends', async () => {
    const seen: Seen[] = [];
    const a = await origin('A', seen);
    // A service the policy denies (its network is in denyNetworks), on another loopback address.
    const forbidden = await origin('forbidden', seen, '127.0.0.2');
    const destinations = new DestinationPolicy({ ...DEFAULT_DESTINATIONS, denyNetworks: ['127.0.0.2/32'] }, { isGatewayClient: () => true });
    const { port, log } = await proxy({}, destinations);
    const c = await client(port);
    c.socket.write(c.request('GET', `http://127.0.0.1:${a}/slow`) + c.request('GET', `http://127.0.0.2:${forbidden}/secret`));
    await waitFor(() => c.ended());
    expect(c.responses.map((r) => `${r.status} ${r.body.trim()}`)).toEqual(['200 A /slow 0', `403 cannot connect to 127.0.0.2:${forbidden}: not allowed by the gateway`]);
    expect(seen.map((s) => s.server)).toEqual(['A']);
    const refusal = log.records.find((r) => r.msg?.startsWith(`destination 127.0.0.2:${forbidden} refused by rule`));
    expect(refusal, JSON.stringify(log.records)).toBeDefined();
  });

  it('a request in origin form on a proxied connection gets 400 after the responses owed, and the connection ends', async () => {
    const seen: Seen[] = [];
    const a = await origin('A', seen);
    const { port } = await proxy();
    const c = await client(port);
    c.socket.write(`${c.request('GET', `http://127.0.0.1:${a}/slow`)}GET /relative HTTP/1.1\r\nHost: x\r\n\r\n`);
    c.responses.length = 0;
    await waitFor(() => c.ended());
    expect(c.responses.map((r) => r.status)).toEqual([200, 400]);
  });

  it('a first request to a refused destination gets 403 at once', async () => {
    const destinations = new DestinationPolicy({ ...DEFAULT_DESTINATIONS, denyNetworks: ['127.0.0.3/32'] }, { isGatewayClient: () => true });
    const { port } = await proxy({}, destinations);
    const c = await client(port);
    c.socket.write(c.request('GET', 'http://127.0.0.3/'));
    await waitFor(() => c.ended());
    expect(c.responses.map((r) => r.status)).toEqual([403]);
  });

  it('with plainRequests: false only CONNECT is served', async () => {
    const { port } = await proxy({ plainRequests: false });
    const socket = await connect(port);
    socket.write('GET http://127.0.0.3/ HTTP/1.1\r\nHost: 127.0.0.3\r\n\r\n');
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.on('close', () => resolve(text));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 405 Method Not Allowed\r\nAllow: CONNECT\r\n/);
  });

  it('a server that closes ends the client connection after its response', async () => {
    const server = net.createServer((socket) => {
      socket.once('data', () => socket.end('HTTP/1.0 200 OK\r\n\r\nuntil the close'));
    });
    const serverPort = await listen(server);
    cleanups.push(() => closeServer(server));
    const { port } = await proxy();
    const c = await client(port);
    c.socket.write(c.request('GET', `http://127.0.0.1:${serverPort}/`));
    await waitFor(() => c.ended());
    expect(c.responses.map((r) => `${r.status} ${r.body}`)).toEqual(['200 until the close']);
  });
});
