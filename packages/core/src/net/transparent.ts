/**
 * The transparent listener: the gateway's firewall redirects IM ports to it (iptables/nftables REDIRECT), so the
 * client never configured a proxy. The destination is the one the client asked for, read back from netfilter.
 */
import type net from 'node:net';
import { isIP } from 'node:net';
import os from 'node:os';
import type { TransparentListenerConfig } from '../config/schema.js';
import { ImspectError } from '@imspect/sdk';
import { unmapIPv4 } from './allow-list.js';
import type { HandlerDeps } from './listeners.js';
import { originalDestination, originalDestinationUnsupported, type OriginalDestination } from './original-destination.js';
import { connectAllowed, handOver } from './upstream.js';
import type { SharedUpstreamPorts } from './upstream-ports.js';

/**
 * `ip:port` of the upstream sockets transparent listeners opened. A connection arriving from one of them is
 * imspect's own upstream connection sent back to it (a redirect rule on the OUTPUT chain): relaying it again
 * would loop for ever.
 */
const ownUpstreams = new Set<string>();
/** Upstream connects still in progress, by destination `ip|port`. */
const pendingConnects = new Map<string, Set<Promise<net.Socket>>>();

export function handleTransparent(config: TransparentListenerConfig, deps: HandlerDeps) {
  const name = `transparent ${config.host}:${config.port}`;
  const unsupported = originalDestinationUnsupported();
  if (unsupported) throw new ImspectError(`cannot start the transparent listener on ${config.host}:${config.port}: ${unsupported}`, { code: 'TRANSPARENT_UNSUPPORTED' });
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
    if (isImspectItself(destination, socket)) {
      refuse(`its original destination ${target} is imspect itself (no redirect happened, or a loop)`, { server: target });
      return;
    }
    const relay = () => {
      const local = isLocalAddress(clientAddress.ip);
      if (ownUpstreams.has(endpointKey(clientAddress.ip, clientAddress.port)) || (local && deps.upstreamPorts?.isOwn(clientAddress.port))) {
        refuse(`it is imspect's own upstream connection sent back to imspect (a loop): redirect forwarded traffic (PREROUTING), and exclude imspect's user from OUTPUT rules`, {
          server: target,
        });
        return;
      }
      connectTo(socket, clientAddress, destination, deps, name);
    };
    // Only a client on this host can be imspect's own upstream socket. That socket's connect may still be pending
    // when this accept arrives (it completes once imspect accepted it): wait for imspect's pending connects to the
    // same destination, then decide.
    const local = isLocalAddress(clientAddress.ip);
    const pending = local ? pendingConnects.get(endpointKey(destination.host, destination.port)) : undefined;
    if (pending && pending.size > 0) void Promise.allSettled([...pending]).then(relay);
    else if (local && deps.upstreamPorts && deps.upstreamPorts.pending > 0) void otherThreadsSettled(deps.upstreamPorts, clientAddress.port, deps.connectTimeoutMs).then(relay);
    else relay();
  };
}

function connectTo(socket: net.Socket, clientAddress: { ip: string; port: number }, destination: OriginalDestination, deps: HandlerDeps, name: string): void {
  const who = `${clientAddress.ip}:${clientAddress.port}`;
  const target = `${destination.host}:${destination.port}`;
  const destinationKey = endpointKey(destination.host, destination.port);
  // The client was going there anyway, but the policy still applies: the firewall may redirect more than it should.
  const connecting = connectAllowed(deps.destinations, destination.host, destination.port, clientAddress.ip, deps.connectTimeoutMs);
  let pending = pendingConnects.get(destinationKey);
  if (!pending) pendingConnects.set(destinationKey, (pending = new Set()));
  pending.add(connecting);
  const settled = () => {
    pending.delete(connecting);
    if (pending.size === 0) pendingConnects.delete(destinationKey);
  };
  const connected = deps.upstreamPorts?.connecting();
  connecting.then(
    (upstream) => {
      const key = endpointKey(upstream.localAddress ?? '', upstream.localPort ?? 0);
      // Kept until the socket is closed: a looped connection is recognised even after its client gave up.
      ownUpstreams.add(key);
      const closed = deps.upstreamPorts?.opened(upstream.localPort ?? 0);
      upstream.once('close', () => {
        ownUpstreams.delete(key);
        closed?.();
      });
      connected?.();
      settled();
    },
    () => {
      connected?.();
      settled();
    },
  );
  handOver(
    socket,
    connecting,
    deps.log,
    { listener: name, client: who, server: target },
    (upstream) =>
      deps.onConnection({
        client: socket,
        upstream,
        clientAddress,
        destination: { host: destination.host, port: destination.port },
        listener: name,
      }),
    () => socket.destroy(),
  );
}

/**
 * Relay threads: another thread's upstream connect may be this very connection (its SYN was redirected back and
 * reached this thread's socket), its port not yet marked. Waits until no thread has a connect in progress, or the
 * port shows up as an upstream's, or the connect timeout passes; only for clients on the gateway itself.
 */
async function otherThreadsSettled(ports: SharedUpstreamPorts, clientPort: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (ports.pending > 0 && !ports.isOwn(clientPort) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
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
