/**
 * A line-based client for the TLS tests: through imspect's SOCKS5 listener, then TLS with the trust the test
 * gives it (imspect's CA, the real server's CA, or neither).
 */
import type net from 'node:net';
import tls from 'node:tls';

export { socksConnect } from './socks5.js';

export interface LineClient {
  socket: net.Socket | tls.TLSSocket;
  lines: string[];
  send(line: string): void;
  waitFor(pattern: RegExp, what: string, ms?: number): Promise<string>;
  /** Replaces the socket (after STARTTLS). */
  use(socket: net.Socket | tls.TLSSocket): void;
  close(): void;
}

export function lineClient(socket: net.Socket | tls.TLSSocket): LineClient {
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let rest = '';
  const onData = (chunk: Buffer) => {
    rest += chunk.toString('utf8');
    const parts = rest.split(/\r?\n/);
    rest = parts.pop()!;
    lines.push(...parts);
    for (const wake of waiters) wake();
  };
  const client: LineClient = {
    socket,
    lines,
    send: (line) => client.socket.write(`${line}\r\n`),
    waitFor: (pattern, what, ms = 10_000) =>
      new Promise((resolve, reject) => {
        let seen = 0;
        const check = () => {
          for (; seen < lines.length; seen++) {
            if (pattern.test(lines[seen]!)) {
              const line = lines[seen]!;
              lines.splice(0, seen + 1);
              cleanup();
              resolve(line);
              return;
            }
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${what}; lines: ${JSON.stringify(lines)}`));
        }, ms);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
    use(next) {
      client.socket.off('data', onData);
      client.socket = next;
      next.on('data', onData);
    },
    close: () => client.socket.destroy(),
  };
  socket.on('data', onData);
  socket.on('error', () => undefined);
  return client;
}

/** TLS over `socket` as a client trusting only `ca` (PEM list); rejects with the verification error. */
export function startTls(socket: net.Socket, servername: string, ca: string[]): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const secure = tls.connect({ socket, servername, ca });
    secure.once('secureConnect', () => {
      secure.off('error', reject);
      resolve(secure);
    });
    secure.once('error', reject);
  });
}
