/**
 * How the messages benchmark reaches the bench server: straight to a port (a relay in front of it), through a
 * SOCKS5 proxy (imspect), and optionally TLS on top. Each returns a connected socket for `openSessions`.
 */
import net from 'node:net';
import tls from 'node:tls';
import { HOST } from '../relay/irc-server.js';

function connected(socket) {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

/** SOCKS5 CONNECT (no authentication) to 127.0.0.1:`port` through the proxy at 127.0.0.1:`proxyPort`. */
export async function socks5(proxyPort, port, track) {
  const socket = net.connect({ host: HOST, port: proxyPort, noDelay: true });
  track?.(socket);
  await connected(socket);
  socket.write(Buffer.from([5, 1, 0]));
  await new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    let stage = 0;
    const fail = (error) => {
      socket.off('data', onData);
      socket.destroy();
      reject(error);
    };
    const onData = (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (stage === 0 && buffered.length >= 2) {
        if (buffered[0] !== 5 || buffered[1] !== 0) return fail(new Error(`SOCKS5: no acceptable method (${buffered.subarray(0, 2).toString('hex')})`));
        buffered = buffered.subarray(2);
        stage = 1;
        socket.write(Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, port >> 8, port & 255]));
      }
      if (stage === 1 && buffered.length >= 10) {
        socket.off('data', onData);
        socket.off('error', fail);
        // Replies with IPv4 bound addresses are 10 bytes; nothing follows before the client speaks.
        if (buffered[1] !== 0) return fail(new Error(`SOCKS5: connect refused (reply ${buffered[1]})`));
        resolve();
      }
    };
    socket.on('data', onData);
    socket.once('error', fail);
  });
  return socket;
}

/** TLS over `socket` (or a new connection to `port`), trusting only `ca`, for the name `servername`. */
export function startTls({ socket, port, ca, servername = 'localhost', track }) {
  return new Promise((resolve, reject) => {
    const secure = tls.connect({ ...(socket ? { socket } : { host: HOST, port }), ca, servername, noDelay: true });
    track?.(secure);
    secure.once('error', reject);
    secure.once('secureConnect', () => {
      secure.off('error', reject);
      resolve(secure);
    });
  });
}

/** A `dial` for openSessions: to `port` directly, or through SOCKS5 at `proxyPort`; TLS when `ca` is given. */
export function dialer({ port, proxyPort, ca, track }) {
  return async () => {
    let socket;
    if (proxyPort !== undefined) socket = await socks5(proxyPort, port, track);
    else if (!ca) {
      socket = net.connect({ host: HOST, port, noDelay: true });
      track?.(socket);
      await connected(socket);
    }
    return ca ? startTls({ socket, port, ca, track }) : socket;
  };
}
