/**
 * Forward listeners whose protocol routes connections itself (`ProtocolHooks.routeForward`): the listener reads
 * the client's first bytes, asks the router, connects to the server it names (or its own upstream), and hands
 * the bytes over as the connection's first client data together with the listener's address.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ForwardListenerConfig } from '../src/config/schema.js';
import { startListener, type AcceptedConnection } from '../src/net/listeners.js';
import type { ForwardRoute } from '@imspect/sdk';
import { closeServer, connect, listen, recordingLogger, waitFor } from './helpers.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function server(): Promise<{ port: number; accepted: net.Socket[] }> {
  const accepted: net.Socket[] = [];
  const s = net.createServer((socket) => {
    accepted.push(socket);
    socket.on('error', () => undefined);
  });
  const port = await listen(s);
  cleanups.push(async () => {
    for (const socket of accepted) socket.destroy();
    await closeServer(s);
  });
  return { port, accepted };
}

async function forward(
  upstreamPort: number,
  router: ((first: Uint8Array, client: { ip: string; port: number }) => ForwardRoute) | undefined,
  handshakeTimeoutMs = 2_000,
  greeting?: Uint8Array,
) {
  const accepted: AcceptedConnection[] = [];
  const seen: string[] = [];
  const config: ForwardListenerConfig = { type: 'forward', host: '127.0.0.1', port: 0, upstream: { host: '127.0.0.1', port: upstreamPort }, allow: ['127.0.0.0/8'] };
  const log = recordingLogger();
  const listener = await startListener(config, {
    log,
    connectTimeoutMs: 2_000,
    handshakeTimeoutMs,
    onConnection: (a) => accepted.push(a),
    forwardRouter: () => {
      if (!router) return undefined;
      const routed = (first: Uint8Array, client: { ip: string; port: number }) => {
        seen.push(Buffer.from(first).toString('latin1'));
        return router(first, client);
      };
      return greeting ? Object.assign(routed, { greeting }) : routed;
    },
  });
  cleanups.push(async () => {
    for (const a of accepted) {
      a.client.destroy();
      a.upstream.destroy();
    }
    await listener.close();
  });
  return { listener, accepted, seen, log };
}

describe('forward listener routing', () => {
  it('connects to the server the router names, once a whole first line is there, and passes the bytes on', async () => {
    const fallback = await server();
    const real = await server();
    const { listener, accepted, seen } = await forward(fallback.port, (first) => (first.includes(0x0a) ? { host: '127.0.0.1', port: real.port } : 'more'));
    const client = await connect(listener.address.port);
    cleanups.push(async () => void client.destroy());
    client.write('USR 1 a@b.c ');
    await new Promise((r) => setTimeout(r, 50));
    expect(accepted).toHaveLength(0);
    client.write('cookie\r\n');
    await waitFor(() => accepted.length === 1, 2_000, 'the routed connection');
    expect(accepted[0]!.destination).toEqual({ host: '127.0.0.1', port: real.port });
    expect(Buffer.from(accepted[0]!.initialClientData!).toString()).toBe('USR 1 a@b.c cookie\r\n');
    expect(accepted[0]!.listenerAddress).toEqual({ host: '127.0.0.1', port: listener.address.port });
    expect(seen.at(-1)).toBe('USR 1 a@b.c cookie\r\n');
    await waitFor(() => real.accepted.length === 1, 2_000, 'the real server to be reached');
    expect(fallback.accepted).toHaveLength(0);
  });

  it("no answer, a router that throws, or a client that says nothing: the listener's own upstream", async () => {
    const fallback = await server();
    const cases: Array<[string, (first: Uint8Array) => ForwardRoute, string | undefined]> = [
      ['undefined', () => undefined, 'VER 1 MSNP8 CVR0\r\n'],
      [
        'throws',
        () => {
          throw new Error('router bug');
        },
        'VER 1 MSNP8 CVR0\r\n',
      ],
      ['more forever (capped)', () => 'more', 'x'.repeat(5000)],
      ['silent client (timeout)', () => 'more', undefined],
    ];
    for (const [label, router, data] of cases) {
      const { listener, accepted, log } = await forward(fallback.port, router, 300);
      const client = await connect(listener.address.port);
      cleanups.push(async () => void client.destroy());
      if (data !== undefined) client.write(data);
      await waitFor(() => accepted.length === 1, 3_000, `${label}: the connection`);
      expect(accepted[0]!.destination, label).toEqual({ host: '127.0.0.1', port: fallback.port });
      if (data !== undefined) expect(Buffer.from(accepted[0]!.initialClientData!).toString(), label).toBe(data);
      else expect(accepted[0]!.initialClientData, label).toBeUndefined();
      if (label === 'throws') expect(log.records.some((r) => r.msg?.includes('forward routing failed'))).toBe(true);
    }
  });

  it('without a router the upstream connect is not deferred', async () => {
    const fallback = await server();
    const { listener, accepted } = await forward(fallback.port, undefined);
    const client = await connect(listener.address.port);
    cleanups.push(async () => void client.destroy());
    await waitFor(() => accepted.length === 1, 2_000, 'the connection before any byte');
    expect(accepted[0]!.initialClientData).toBeUndefined();
    expect(accepted[0]!.listenerAddress).toEqual({ host: '127.0.0.1', port: listener.address.port });
  });

  it('a protocol whose server speaks first: the listener greets the client at once, and says so on the connection', async () => {
    const fallback = await server();
    const real = await server();
    const greeting = Buffer.from('HELLO\n');
    const { listener, accepted } = await forward(fallback.port, (first) => (first.includes(0x0a) ? { host: '127.0.0.1', port: real.port } : 'more'), 2_000, greeting);
    const client = await connect(listener.address.port);
    cleanups.push(async () => void client.destroy());
    const received: Buffer[] = [];
    client.on('data', (chunk: Buffer) => received.push(chunk));
    // The client waits for the greeting before it says anything, as OSCAR clients wait for the FLAP hello.
    await waitFor(() => Buffer.concat(received).equals(greeting), 2_000, 'the greeting');
    expect(accepted).toHaveLength(0);
    client.write('cookie\n');
    await waitFor(() => accepted.length === 1, 2_000, 'the routed connection');
    expect(accepted[0]!.destination).toEqual({ host: '127.0.0.1', port: real.port });
    expect(accepted[0]!.greeted).toBe(true);
    // Without a greeting, nothing is sent and the connection is not marked.
    const plain = await forward(fallback.port, () => undefined);
    const other = await connect(plain.listener.address.port);
    cleanups.push(async () => void other.destroy());
    other.write('x\n');
    await waitFor(() => plain.accepted.length === 1, 2_000, 'the plain connection');
    expect(plain.accepted[0]!.greeted).toBeUndefined();
  });
});
