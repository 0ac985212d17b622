import net from 'node:net';
import { ImspectError } from '../sdk/errors.js';

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
