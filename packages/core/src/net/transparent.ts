/**
 * The transparent listener: the gateway's firewall redirects IM ports to it (iptables/nftables REDIRECT), so the
 * client never configured a proxy. The destination is the one the client asked for, read back from netfilter.
 */
import type net from 'node:net';
import { isIP } from 'node:net';
import os from 'node:os';
import type { TransparentListenerConfig } from '../config/schema.js';
import { describeError } from '../sdk/errors.js';
import { unmapIPv4 } from './allow-list.js';
import type { ListenerDeps } from './listeners.js';
import { originalDestination, type OriginalDestination } from './original-destination.js';
import { connectUpstream } from './upstream.js';

/**
 * `ip:port` of the upstream sockets transparent listeners opened. A connection arriving from one of them is
 * imspect's own upstream connection sent back to it (a redirect rule on the OUTPUT chain): relaying it again
 * would loop for ever.
 */
const ownUpstreams = new Set<string>();

export function handleTransparent(config: TransparentListenerConfig, deps: ListenerDeps) {
  const name = `transparent ${config.host}:${config.port}`;
  return (socket: net.Socket, clientAddress: { ip: string; port: number }) => {
    const who = `${clientAddress.ip}:${clientAddress.port}`;
    const refuse = (reason: string, extra: Record<string, unknown> = {}) => {
      deps.log.warn({ listener: name, client: who, ...extra }, `transparent connection from ${who} refused: ${reason}`);
      socket.destroy();
    };
    const lookup = originalDestination(socket);
    if (!lookup.ok) {
      refuse(`no original destination (${lookup.reason}); was the connection redirected by the firewall?`, { code: lookup.code });
      return;
    }
    const destination = lookup.destination;
    const target = `${destination.host}:${destination.port}`;
    if (ownUpstreams.has(endpointKey(clientAddress.ip, clientAddress.port))) {
      refuse(`it is imspect's own upstream connection redirected back to imspect (a loop); redirect only forwarded traffic (PREROUTING), not imspect's own (OUTPUT)`, { server: target });
      return;
    }
    if (isImspectItself(destination, socket)) {
      refuse(`its original destination ${target} is imspect itself (no redirect happened, or a loop)`, { server: target });
      return;
    }
    connectUpstream(destination.host, destination.port, deps.connectTimeoutMs).then(
      (upstream) => {
        if (socket.destroyed) {
          upstream.destroy();
          return;
        }
        const key = endpointKey(upstream.localAddress ?? '', upstream.localPort ?? 0);
        ownUpstreams.add(key);
        upstream.once('close', () => ownUpstreams.delete(key));
        deps.onConnection({
          client: socket,
          upstream,
          clientAddress,
          destination: { host: destination.host, port: destination.port },
          listener: name,
        });
        socket.resume();
      },
      (error: NodeJS.ErrnoException) => {
        deps.log.warn({ listener: name, client: who, server: target, code: error.code }, `upstream connect failed: ${describeError(error)}`);
        socket.destroy();
      },
    );
  };
}

function endpointKey(ip: string, port: number): string {
  return `${unmapIPv4(ip)}|${port}`;
}

/**
 * The destination is this listener: the client connected to imspect directly (nothing rewrote the destination,
 * so netfilter reports the listener's own address) or through a rule that points back at it.
 */
function isImspectItself(destination: OriginalDestination, socket: net.Socket): boolean {
  if (destination.port !== socket.localPort) return false;
  return destination.host === unmapIPv4(socket.localAddress ?? '') || isLocalAddress(destination.host);
}

function isLocalAddress(host: string): boolean {
  if (isIP(host) === 4 && host.startsWith('127.')) return true;
  if (host === '::1' || host === '0.0.0.0' || host === '::') return true;
  for (const addresses of Object.values(os.networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (unmapIPv4(address.address).toLowerCase() === host.toLowerCase()) return true;
    }
  }
  return false;
}
