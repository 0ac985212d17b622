import net from 'node:net';
import { ImspectError, describeError } from '../sdk/errors.js';
import type { PluginLogger } from '../sdk/plugin.js';
import { holdWhileConnecting } from './connection-limits.js';

/** Connects to the real server; fails with the system error code (ECONNREFUSED, ETIMEDOUT, ...) on failure. */
export function connectUpstream(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, allowHalfOpen: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new ImspectError(`connect to ${host}:${port} timed out after ${timeoutMs} ms`, { code: 'ETIMEDOUT' }), { errno: 0 }));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    });
  });
}

/**
 * What every listener does once it knows the destination: when the upstream connect succeeds and the paused
 * client is still there, `connected` hands the pair on and the client is resumed (a client gone meanwhile has its
 * upstream closed); when it fails, the failure is logged with `context` and `failed` answers the client.
 */
export function handOver(
  client: net.Socket,
  connecting: Promise<net.Socket>,
  log: PluginLogger,
  context: Record<string, unknown>,
  connected: (upstream: net.Socket) => void,
  failed: (error: NodeJS.ErrnoException) => void,
): void {
  // The upstream socket counts against the client's connection slot from now until it is closed.
  holdWhileConnecting(client, connecting);
  connecting.then(
    (upstream) => {
      if (client.destroyed) {
        upstream.destroy();
        return;
      }
      connected(upstream);
      client.resume();
    },
    (error: NodeJS.ErrnoException) => {
      log.warn({ ...context, code: error.code }, `upstream connect failed: ${describeError(error)}`);
      failed(error);
    },
  );
}
