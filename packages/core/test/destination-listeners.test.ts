/**
 * The destination policy through the listeners, with the "client is on the gateway" decision injected so that
 * a 127.0.0.1 client counts as a LAN client (the network-namespace test in test/e2e/destination-policy.test.ts
 * does the same with a real remote client). A service on the gateway's loopback must see no connection:
 * SOCKS5 answers 0x02 (not allowed by ruleset), HTTP CONNECT 403, a forward listener whose protocol routes the
 * client to such an address closes the client; each refusal is logged with client, destination, address and rule.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ListenerConfig } from '../src/config/schema.js';
import { DEFAULT_DESTINATIONS, DestinationPolicy } from '../src/net/destination-policy.js';
import { startListener, type AcceptedConnection } from '../src/net/listeners.js';
import { REPLY } from '../src/net/socks5.js';
import type { ForwardRoute } from '@imspect/sdk';
import { closeServer, connect, listen, readBytes, recordingLogger, waitFor } from './helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A service on the gateway's loopback (a database, say): counts the connections it gets. */
async function loopbackService(): Promise<{ port: number; connections: () => number }> {
  let count = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    count++;
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  const port = await listen(server);
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await closeServer(server);
  });
  return { port, connections: () => count };
}

/** A listener whose clients all count as remote; `servicePort` is an allowed port, so the address decides. */
async function listener(config: ListenerConfig, servicePort: number, router?: (first: Uint8Array) => ForwardRoute) {
  const log = recordingLogger();
  const accepted: AcceptedConnection[] = [];
  const destinations = new DestinationPolicy({ ...DEFAULT_DESTINATIONS, extraPorts: [servicePort] }, { isGatewayClient: () => false });
  const running = await startListener(config, {
    log,
    connectTimeoutMs: 2_000,
    onConnection: (a) => accepted.push(a),
    destinations,
    ...(router ? { forwardRouter: () => router } : {}),
  });
  cleanups.push(async () => {
    for (const a of accepted) {
      a.client.destroy();
      a.upstream.destroy();
    }
    await running.close();
  });
  return { port: running.address.port, log, accepted };
}

async function client(port: number): Promise<net.Socket> {
  const socket = await connect(port);
  socket.on('error', () => undefined);
  cleanups.push(() => void socket.destroy());
  return socket;
}

function refusals(log: ReturnType<typeof recordingLogger>): Array<Record<string, unknown> & { msg?: string | undefined }> {
  return log.records
    .filter((r) => r.level === 'warn' && (r.obj as { code?: string }).code === 'DESTINATION_REFUSED')
    .map((r) => ({ ...(r.obj as Record<string, unknown>), msg: r.msg }));
}

const socksRequest = (atyp: number, address: number[], port: number) => [5, 1, 0, atyp, ...address, port >> 8, port & 0xff];
const domain = (name: string) => [name.length, ...Buffer.from(name)];

describe('SOCKS5 listener: destination policy', () => {
  it.each([
    ['IPv4 127.0.0.1', (port: number) => socksRequest(1, [127, 0, 0, 1], port)],
    ['IPv6 ::1', (port: number) => socksRequest(4, [...new Array<number>(15).fill(0), 1], port)],
    ['IPv6 ::ffff:127.0.0.1', (port: number) => socksRequest(4, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1], port)],
    ['domain localhost', (port: number) => socksRequest(3, domain('localhost'), port)],
    ['domain 2130706433', (port: number) => socksRequest(3, domain('2130706433'), port)],
    ['domain 0x7f.1', (port: number) => socksRequest(3, domain('0x7f.1'), port)],
    ['domain 127.1', (port: number) => socksRequest(3, domain('127.1'), port)],
    ['IPv4 0.0.0.0', (port: number) => socksRequest(1, [0, 0, 0, 0], port)],
  ])('a remote client asking for the gateway loopback as %s gets 0x02 and the service sees nothing', async (_what, request) => {
    const service = await loopbackService();
    const socks = await listener({ type: 'socks5', host: '127.0.0.1', port: 0, allow: ['127.0.0.0/8'] }, service.port);
    const socket = await client(socks.port);
    socket.write(Uint8Array.from([5, 1, 0, ...request(service.port)]));
    expect([...(await readBytes(socket, 12))]).toEqual([5, 0, 5, REPLY.notAllowed, 0, 1, 0, 0, 0, 0, 0, 0]);
    expect(service.connections()).toBe(0);
    expect(socks.accepted).toHaveLength(0);
    const [refusal] = refusals(socks.log);
    expect(refusal).toMatchObject({ client: `127.0.0.1:${socket.localPort}`, resolved: expect.stringMatching(/^(127\.0\.0\.1|::1|0\.0\.0\.0)$/) });
    expect(['loopback', 'unspecified']).toContain(refusal!['rule']);
    expect(String(refusal!['server'])).toMatch(new RegExp(`:${service.port}$`));
    expect(refusal!.msg).toMatch(/^destination .* refused by rule (loopback|unspecified): /);
  });

  it('a port outside the allowed set is refused with 0x02 before any connect', async () => {
    const service = await loopbackService();
    const socks = await listener({ type: 'socks5', host: '127.0.0.1', port: 0, allow: ['127.0.0.0/8'] }, 1);
    const socket = await client(socks.port);
    socket.write(Uint8Array.from([5, 1, 0, ...socksRequest(3, domain('localhost'), service.port)]));
    expect([...(await readBytes(socket, 12))].slice(2, 4)).toEqual([5, REPLY.notAllowed]);
    expect(refusals(socks.log)[0]).toMatchObject({ rule: 'ports' });
    expect(service.connections()).toBe(0);
  });
});

describe('HTTP CONNECT listener: destination policy', () => {
  it.each(['127.0.0.1', '[::1]', '[::ffff:127.0.0.1]', 'localhost', '2130706433', '127.1', '0.0.0.0'])(
    'CONNECT %s:<service> from a remote client: 403 and the service sees nothing',
    async (host) => {
      const service = await loopbackService();
      const proxy = await listener({ type: 'http-connect', host: '127.0.0.1', port: 0, allow: ['127.0.0.0/8'] }, service.port);
      const socket = await client(proxy.port);
      const localPort = socket.localPort;
      const chunks: Buffer[] = [];
      let closed = false;
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.once('close', () => (closed = true));
      socket.write(`CONNECT ${host}:${service.port} HTTP/1.1\r\nHost: ${host}:${service.port}\r\n\r\n`);
      const answer = () => Buffer.concat(chunks).toString();
      await waitFor(() => answer().includes('\r\n'), 5_000, 'the status line');
      expect(answer()).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
      // The client is closed after the answer, whose body says why.
      await waitFor(() => closed, 5_000, 'the client closed');
      expect(answer()).toContain('not allowed by the gateway');
      expect(service.connections()).toBe(0);
      expect(refusals(proxy.log)[0]).toMatchObject({ client: `127.0.0.1:${localPort}`, server: `${host.replace(/^\[|\]$/g, '')}:${service.port}` });
    },
  );
});

describe('forward listener: servers a protocol names are judged', () => {
  it('a route to the gateway loopback (a server-sent XFR) closes the client; the service sees nothing', async () => {
    const service = await loopbackService();
    const upstream = await loopbackService();
    const forward = await listener(
      { type: 'forward', host: '127.0.0.1', port: 0, upstream: { host: '127.0.0.1', port: upstream.port }, allow: ['127.0.0.0/8'] },
      service.port,
      () => ({ host: '127.0.0.1', port: service.port }),
    );
    const socket = await client(forward.port);
    let closed = false;
    socket.once('close', () => (closed = true));
    socket.write('USR 1 TWN I alice@example.com\r\n');
    await waitFor(() => closed || service.connections() > 0, 5_000, 'the client closed or the service reached');
    expect(service.connections()).toBe(0);
    expect(closed).toBe(true);
    expect(forward.accepted).toHaveLength(0);
    expect(refusals(forward.log)[0]).toMatchObject({ rule: 'loopback', resolved: '127.0.0.1', server: `127.0.0.1:${service.port}` });
  });

  it("the listener's own upstream is the administrator's choice: allowed even on loopback", async () => {
    const upstream = await loopbackService();
    const forward = await listener(
      { type: 'forward', host: '127.0.0.1', port: 0, upstream: { host: '127.0.0.1', port: upstream.port }, allow: ['127.0.0.0/8'] },
      1,
      () => undefined,
    );
    const socket = await client(forward.port);
    socket.write('VER 1 MSNP8\r\n');
    await waitFor(() => upstream.connections() === 1 && forward.accepted.length === 1, 5_000, 'the upstream connection');
    expect(refusals(forward.log)).toEqual([]);
  });
});

describe('names are resolved once, by the policy', () => {
  it('connects to an allowed address of the answer (falling back across them) without a second lookup', async () => {
    const service = await loopbackService();
    const asked: string[] = [];
    // ::1 first, where nothing listens on the service's port: the connection falls back to 127.0.0.1.
    const lookup = async (host: string) => {
      asked.push(host);
      return [
        { address: '::1', family: 6 },
        { address: '127.0.0.1', family: 4 },
      ];
    };
    const log = recordingLogger();
    const accepted: AcceptedConnection[] = [];
    const running = await startListener(
      { type: 'socks5', host: '127.0.0.1', port: 0, allow: ['127.0.0.0/8'] },
      { log, connectTimeoutMs: 2_000, onConnection: (a) => accepted.push(a), destinations: new DestinationPolicy(DEFAULT_DESTINATIONS, { lookup }) },
    );
    cleanups.push(async () => {
      for (const a of accepted) {
        a.client.destroy();
        a.upstream.destroy();
      }
      await running.close();
    });
    const socket = await client(running.address.port);
    socket.write(Uint8Array.from([5, 1, 0, ...socksRequest(3, domain('im.example'), service.port)]));
    expect([...(await readBytes(socket, 12))].slice(2, 4)).toEqual([5, REPLY.succeeded]);
    await waitFor(() => service.connections() === 1, 5_000, 'the service connection');
    expect(asked).toEqual(['im.example']);
    // The connection keeps the name the client asked for (events, TLS names); only the address was fixed.
    expect(accepted[0]!.destination).toEqual({ host: 'im.example', port: service.port });
    expect((accepted[0]!.upstream as net.Socket).remoteAddress).toBe('127.0.0.1');
  });
});
