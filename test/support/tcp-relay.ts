/**
 * A TCP relay the test controls, between imspect and a database: `cut()` drops every connection and refuses
 * new ones (the database is "down" as far as imspect can tell), `restore()` lets connections through again;
 * `reset()` aborts every relayed connection with a TCP RST (ECONNRESET on imspect's side, as when a firewall or
 * a restarting database tears connections down) and keeps accepting new ones.
 */
import net from 'node:net';

export interface TcpRelay {
  port: number;
  /** Connections relayed so far. */
  readonly connections: number;
  /** Bytes relayed from imspect to the database so far (a write in progress makes it grow). */
  readonly bytesUp: number;
  /** Connections open through the relay now. */
  readonly open: number;
  cut(): void;
  /** Aborts every open connection with RST on both sides; new connections are still let through. Returns how many. */
  reset(): number;
  restore(): void;
  close(): Promise<void>;
}

/** `localAddress`: the address the relay connects from (e.g. 127.0.0.2, so imspect sees another client machine). */
export async function startTcpRelay(target: { host: string; port: number }, options: { localAddress?: string } = {}): Promise<TcpRelay> {
  const open = new Set<net.Socket>();
  let down = false;
  let count = 0;
  let bytesUp = 0;
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  const server = net.createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    count++;
    const upstream = net.connect({ port: target.port, host: target.host, ...(options.localAddress ? { localAddress: options.localAddress } : {}) });
    open.add(client);
    open.add(upstream);
    const pair = { client, upstream };
    pairs.add(pair);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
      pairs.delete(pair);
    };
    client.on('data', (chunk: Buffer) => (bytesUp += chunk.length));
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    get connections() {
      return count;
    },
    get bytesUp() {
      return bytesUp;
    },
    get open() {
      return pairs.size;
    },
    reset() {
      const n = pairs.size;
      for (const { client, upstream } of pairs) {
        // resetAndDestroy: SO_LINGER 0 then close, so the peer gets RST (ECONNRESET), not an orderly FIN.
        client.resetAndDestroy();
        upstream.resetAndDestroy();
        open.delete(client);
        open.delete(upstream);
      }
      pairs.clear();
      return n;
    },
    cut() {
      down = true;
      for (const socket of open) socket.destroy();
      open.clear();
      pairs.clear();
    },
    restore() {
      down = false;
    },
    async close() {
      down = true;
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
