import net from 'node:net';
import { afterEach } from 'vitest';
import type { ListenerConfig } from '../src/config/schema.js';
import { startListener, type AcceptedConnection, type ListenerDeps } from '../src/net/listeners.js';
import { ProxyConnection } from '../src/proxy/connection.js';
import { TurnBudget } from '../src/proxy/turn-budget.js';
import { EventSink } from '../src/proxy/event-sink.js';
import { Policy } from '../src/proxy/policy.js';
import { ProtocolRegistry } from '../src/proxy/protocols.js';
import { closeServer, connect, listen, recordingLogger } from './helpers.js';

/**
 * What the listener tests share: an echo server, a listener whose accepted connections are relayed unparsed
 * (no protocol plugin loaded), and clients; everything they open is closed after each test. Call it inside a
 * `describe`, so its `afterEach` belongs there.
 */
export function listenerHarness() {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** An echo server; returns its port. */
  async function echoServer(): Promise<number> {
    const sockets = new Set<net.Socket>();
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
      socket.pipe(socket);
    });
    const port = await listen(server);
    cleanups.push(async () => {
      for (const s of sockets) s.destroy();
      await closeServer(server);
    });
    return port;
  }

  async function relayingListener(config: ListenerConfig, deps: Pick<Partial<ListenerDeps>, 'acceptAfter' | 'handshakeTimeoutMs' | 'limits'> = {}, idleTimeoutMs = 0) {
    const accepted: AcceptedConnection[] = [];
    const log = recordingLogger();
    const turnBudget = new TurnBudget();
    const registry = new ProtocolRegistry([], {}, log);
    const policy = new Policy([], [], { failMode: 'open', hookTimeoutMs: 1_000 }, log);
    const sink = new EventSink([], { batchSize: 10, flushIntervalMs: 10, retryMaxDelayMs: 10, writeTimeoutMs: 100 }, log);
    const listener = await startListener(config, {
      log,
      connectTimeoutMs: 2_000,
      ...deps,
      onConnection: (a) => {
        accepted.push(a);
        new ProxyConnection(
          a.client,
          a.upstream,
          { id: String(accepted.length), client: a.clientAddress, server: a.destination, ...(a.initialClientData ? { initialClientData: a.initialClientData } : {}) },
          { registry, policy, sink, log, options: { idleTimeoutMs, sniffTimeoutMs: 0, debug: false }, turnBudget },
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
    return { listener, accepted, log };
  }

  async function client(port: number): Promise<net.Socket> {
    const socket = await connect(port);
    socket.on('error', () => undefined);
    cleanups.push(() => void socket.destroy());
    return socket;
  }

  return { cleanups, echoServer, relayingListener, client };
}
