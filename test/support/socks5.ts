/** A SOCKS5 client for the end-to-end tests, to reach a server through imspect's SOCKS5 listener. */
import net from 'node:net';

/** SOCKS5 CONNECT (no authentication) to `host:port` through `proxy`; an IPv4 literal goes as an IPv4 address. */
export function socksConnect(proxy: { host: string; port: number }, host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(proxy);
    let stage = 0;
    let buffered = Buffer.alloc(0);
    socket.once('error', reject);
    // Closed before the CONNECT reply (e.g. refused over a connection limit); a no-op once resolved.
    socket.once('close', () => reject(new Error('SOCKS: closed by the proxy before its reply')));
    socket.on('connect', () => socket.write(Buffer.from([5, 1, 0])));
    // Read in paused mode: the server's first bytes can arrive in the same chunk as the CONNECT reply (a server
    // that speaks first), and must stay buffered for whoever reads the socket next, not be emitted to nobody.
    const onReadable = () => {
      for (let chunk: Buffer | null; (chunk = socket.read() as Buffer | null) !== null; ) buffered = Buffer.concat([buffered, chunk]);
      if (stage === 0 && buffered.length >= 2) {
        if (buffered[1] !== 0) return reject(new Error('SOCKS: no acceptable method'));
        buffered = buffered.subarray(2);
        stage = 1;
        socket.write(Buffer.concat([Buffer.from([5, 1, 0]), address(host), Buffer.from([port >> 8, port & 255])]));
      }
      if (stage === 1 && buffered.length >= 10) {
        socket.off('readable', onReadable);
        socket.off('error', reject);
        if (buffered[1] !== 0) return reject(new Error(`SOCKS: connect refused (reply ${buffered[1]})`));
        if (buffered.length > 10) socket.unshift(buffered.subarray(10));
        resolve(socket);
      }
    };
    socket.on('readable', onReadable);
  });
}

/** The address type and address of a CONNECT request: IPv4 for an IPv4 literal, else a domain name. */
function address(host: string): Buffer {
  if (net.isIPv4(host)) return Buffer.from([1, ...host.split('.').map(Number)]);
  const name = Buffer.from(host);
  return Buffer.concat([Buffer.from([3, name.length]), name]);
}
