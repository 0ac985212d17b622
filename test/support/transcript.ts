/**
 * Plays one recorded TCP conversation (a capture's connection) over real sockets: the server plays the recorded
 * server's bytes, the client the client's, each waiting for the other side's recorded bytes before going on. So a
 * test can run any protocol's real traffic to a server on any port, through any proxy.
 */
import net from 'node:net';
import type { CapturedChunk } from '../../packages/core/src/capture/index.js';

export interface TranscriptServer {
  port: number;
  /** What the server received, per connection. */
  received: Buffer[];
  close(): Promise<void>;
}

/** Plays `side`'s chunks on `socket`, waiting for the other side's recorded bytes in between; ends the socket after. */
export async function playSide(socket: net.Socket, chunks: readonly CapturedChunk[], side: 'outgoing' | 'incoming', timeoutMs = 10_000): Promise<Buffer> {
  const received: Buffer[] = [];
  let have = 0;
  let wake: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    received.push(chunk);
    have += chunk.length;
    wake?.();
  });
  socket.on('end', () => wake?.());
  let expected = 0;
  for (const chunk of chunks) {
    if (chunk.direction === side) {
      if (!socket.writable) break;
      socket.write(chunk.data);
      continue;
    }
    expected += chunk.data.length;
    const deadline = Date.now() + timeoutMs;
    while (have < expected && !socket.readableEnded && !socket.destroyed) {
      if (Date.now() > deadline) throw new Error(`transcript: ${side} side waited for ${expected} bytes, got ${have}`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
    }
  }
  socket.end();
  return Buffer.concat(received);
}

/** A server on 127.0.0.1 (`port`, or a free one) that plays the recorded server side to each client. */
export async function startTranscriptServer(chunks: readonly CapturedChunk[], port = 0): Promise<TranscriptServer> {
  const received: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    const index = received.push(Buffer.alloc(0)) - 1;
    void playSide(socket, chunks, 'incoming').then(
      (bytes) => (received[index] = bytes),
      () => socket.destroy(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** An HTTP CONNECT tunnel to `host:port` through `proxy`: resolves with the socket once the proxy answered 200. */
export function httpConnect(proxy: { host: string; port: number }, host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(proxy);
    let head = Buffer.alloc(0);
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('CONNECT: closed by the proxy before its reply')));
    socket.on('connect', () => socket.write(`CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`));
    const onReadable = () => {
      for (let chunk: Buffer | null; (chunk = socket.read() as Buffer | null) !== null; ) head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('readable', onReadable);
      socket.off('error', reject);
      const status = head.subarray(0, head.indexOf('\r\n')).toString('latin1');
      if (!/^HTTP\/1\.[01] 200/.test(status)) return reject(new Error(`CONNECT refused: ${status}`));
      // Bytes the server sent first, right behind the reply, stay for whoever reads next.
      if (head.length > end + 4) socket.unshift(head.subarray(end + 4));
      resolve(socket);
    };
    socket.on('readable', onReadable);
  });
}
