import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { ForwardListenerConfig, ListenerConfig, Socks5ListenerConfig } from '../config/schema.js';
import { describeError } from '@imspect/sdk';
import type { PluginLogger } from '@imspect/sdk';
import type { Endpoint } from '@imspect/sdk';
import type { ForwardRoute } from '@imspect/sdk';
import { AllowList, unmapIPv4 } from './allow-list.js';
import type { ConnectionLimits } from './connection-limits.js';
import { REPLY, Socks5Handshake, connectReply, replyForError } from './socks5.js';
import { connectAllowed, connectUpstream, handOver } from './upstream.js';
import { DEFAULT_DESTINATIONS, DestinationPolicy } from './destination-policy.js';
import { handleHttpConnect } from './http-connect-listener.js';
import { handleTransparent } from './transparent.js';
import type { SharedUpstreamPorts } from './upstream-ports.js';

/** What a listener hands over once it knows where a client wants to go and the upstream socket is open. */
export interface AcceptedConnection {
  client: net.Socket;
  /** The server's socket; for plain HTTP proxying, a stream that relays each request to its server. */
  upstream: Duplex;
  clientAddress: { ip: string; port: number };
  destination: { host: string; port: number };
  protocol?: string;
  initialClientData?: Uint8Array;
  listener: string;
  /** Forward listeners: the address the client reached imspect at (for protocols that redirect clients). */
  listenerAddress?: { host: string; port: number };
  /** The listener sent the client its protocol's greeting (`ProtocolHooks.forwardGreeting`). */
  greeted?: boolean;
  /** The proxy handshake the client used: a SOCKS5 or HTTP CONNECT tunnel, or a plain HTTP proxy request. */
  via?: 'socks5' | 'http-connect' | 'http-proxy';
}

/** A forward listener's router, with the greeting to send the client first when its protocol's server speaks first. */
export type ForwardRouter = ((firstBytes: Uint8Array, client: Endpoint) => ForwardRoute) & { greeting?: Uint8Array };

export interface ListenerDeps {
  log: PluginLogger;
  connectTimeoutMs: number;
  /** Longest a SOCKS client may take to say where it wants to go (default 15 s). */
  handshakeTimeoutMs?: number;
  onConnection(accepted: AcceptedConnection): void;
  /** Connections are held (paused) until this settles, e.g. until root privileges are dropped. */
  acceptAfter?: Promise<unknown>;
  /**
   * For a forward listener whose protocol routes connections itself (`ProtocolHooks.routeForward`, e.g. MSN
   * switchboards): the router. The listener then reads the client's first bytes before connecting upstream.
   * Asked at the listener's first connection (after `acceptAfter`), when the protocols are set up.
   */
  forwardRouter?(config: ForwardListenerConfig): ForwardRouter | undefined;
  /** Connection limits shared by all listeners (total, per client, silent clients); none: unlimited. */
  limits?: ConnectionLimits;
  /**
   * Where clients may be connected to (`destinations`); default: the schema's defaults with no protocol ports.
   * A function is asked at each use (the engine's depends on the protocols, set up after the ports are bound).
   */
  destinations?: DestinationPolicy | (() => DestinationPolicy);
  /**
   * Bind with SO_REUSEPORT: relay threads each bind the same address and the kernel spreads new connections
   * over them. Only sockets of the same user may join, so a process of another user cannot take a share.
   */
  reusePort?: boolean;
  /** Relay threads: the transparent listeners' upstream ports of every thread (loop detection, transparent.ts). */
  upstreamPorts?: SharedUpstreamPorts;
}

/** The dependencies handlers get: the destination policy is always there. */
export type HandlerDeps = Omit<ListenerDeps, 'destinations'> & { readonly destinations: DestinationPolicy };

/** Most client bytes a forward listener reads while its protocol's router asks for more. */
const MAX_ROUTE_BYTES = 4096;

export interface RunningListener {
  config: ListenerConfig;
  /** e.g. `socks5://127.0.0.1:1080`. */
  url: string;
  address: net.AddressInfo;
  close(): Promise<void>;
}

/** Longest a SOCKS client may take to say where it wants to go. */
const HANDSHAKE_TIMEOUT_MS = 15_000;

/** An accepted socket's last-resort error listener: one function for all (`this` is the socket), not a closure each. */
function destroyOnError(this: net.Socket): void {
  this.destroy();
}

export async function startListener(config: ListenerConfig, deps: ListenerDeps): Promise<RunningListener> {
  const allow = new AllowList(config.allow);
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
  const given = deps.destinations ?? new DestinationPolicy(DEFAULT_DESTINATIONS);
  const handle = handlerFor(config, {
    ...deps,
    get destinations() {
      return typeof given === 'function' ? given() : given;
    },
  });
  server.on('connection', (socket) => {
    socket.on('error', destroyOnError);
    if (deps.limits?.dropIfExhausted(socket, `${config.type} ${config.host}:${config.port}`)) return;
    if (deps.acceptAfter) {
      const held = deps.acceptAfter;
      held.then(
        () => accept(socket),
        () => socket.destroy(),
      );
      return;
    }
    accept(socket);
  });
  const accept = (socket: net.Socket) => {
    if (socket.destroyed) return;
    const ip = unmapIPv4(socket.remoteAddress ?? '');
    if (!allow.allows(ip)) {
      deps.log.warn({ listener: config.type, client: ip }, `connection from ${ip} refused: not in the listener's allow list`);
      socket.destroy();
      return;
    }
    // Listeners with no proxy handshake of their own: the client must send something within the handshake time.
    const firstBytes = config.type === 'forward' || config.type === 'transparent';
    if (deps.limits && !deps.limits.admit(socket, ip, `${config.type} ${config.host}:${config.port}`, { firstBytes })) return;
    handle(socket, { ip, port: socket.remotePort ?? 0 });
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // A large backlog: a gateway sees bursts of logins when a network comes up.
    server.listen({ host: config.host, port: config.port, backlog: 1024, ...(deps.reusePort ? { reusePort: true } : {}) }, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((error: NodeJS.ErrnoException) => {
    const hint = error.code === 'EADDRINUSE' ? 'the port is in use' : error.code === 'EACCES' ? 'permission denied (ports below 1024 need root)' : describeError(error);
    throw Object.assign(new Error(`cannot listen on ${config.host}:${config.port} (${config.type}): ${hint}`), { code: error.code });
  });
  server.on('error', (error: NodeJS.ErrnoException) => {
    if (deps.limits?.acceptFailed(error, `${config.type} ${config.host}:${config.port}`)) return;
    deps.log.error({ err: error, listener: config.type }, 'listener error');
  });
  const address = server.address() as net.AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    config,
    address,
    url: `${config.type}://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
      }),
  };
}

function handlerFor(config: ListenerConfig, deps: HandlerDeps): (socket: net.Socket, clientAddress: { ip: string; port: number }) => void {
  switch (config.type) {
    case 'socks5':
      return handleSocks(config, deps);
    case 'forward':
      return handleForward(config, deps);
    case 'transparent':
      return handleTransparent(config, deps);
    case 'http-connect':
      return handleHttpConnect(config, deps);
  }
}

function handleForward(config: ForwardListenerConfig, deps: HandlerDeps) {
  // Asked at the first connection: the protocol plugins are set up by then (after the ports were bound).
  let router: ForwardRouter | undefined | null = null;
  const routerNow = () => (router === null ? (router = deps.forwardRouter?.(config)) : router);
  const connect = (socket: net.Socket, clientAddress: { ip: string; port: number }, destination: { host: string; port: number }, first: Buffer | undefined, greeted = false) => {
    const { host, port } = destination;
    // The listener's upstream is the administrator's choice; a server the protocol named (MSN XFR/RNG, chosen
    // by the remote server) is judged like any client request.
    const routed = destination !== config.upstream;
    handOver(
      socket,
      routed ? connectAllowed(deps.destinations, host, port, clientAddress.ip, deps.connectTimeoutMs) : connectUpstream(host, port, deps.connectTimeoutMs),
      deps.log,
      { client: `${clientAddress.ip}:${clientAddress.port}`, server: `${host}:${port}` },
      (upstream) =>
        deps.onConnection({
          client: socket,
          upstream,
          clientAddress,
          destination: { host, port },
          ...(config.protocol ? { protocol: config.protocol } : {}),
          ...(first && first.length > 0 ? { initialClientData: first } : {}),
          listener: `forward ${config.host}:${config.port}`,
          listenerAddress: { host: unmapIPv4(socket.localAddress ?? config.host), port: socket.localPort ?? config.port },
          ...(greeted ? { greeted: true } : {}),
        }),
      () => socket.destroy(),
    );
  };
  // The protocol picks the server from the client's first bytes (an MSN switchboard cookie, ...).
  return (socket: net.Socket, clientAddress: { ip: string; port: number }) => {
    const router = routerNow();
    if (!router) {
      connect(socket, clientAddress, config.upstream, undefined);
      return;
    }
    const greeting = router.greeting;
    // Everything the client sent so far: the first chunk as it came, joined with later ones only when the
    // protocol asks for more.
    let seen: Buffer | undefined;
    let decided = false;
    const decide = (route: ForwardRoute) => {
      if (decided) return;
      decided = true;
      clearTimeout(timer);
      // Nothing of the routing (the first bytes, the timer) stays with the relayed socket.
      socket.off('close', stopTimer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.pause();
      const destination = route === undefined || route === 'more' ? config.upstream : route;
      connect(socket, clientAddress, destination, seen, greeting !== undefined);
    };
    const onData = (chunk: Buffer) => {
      const first = (seen = seen ? Buffer.concat([seen, chunk]) : chunk);
      let route: ForwardRoute;
      try {
        route = router(first, clientAddress);
      } catch (error) {
        deps.log.error({ err: error, hook: 'routeForward' }, 'forward routing failed; using the listener upstream');
        route = undefined;
      }
      if (route === 'more' && first.length < MAX_ROUTE_BYTES) return;
      decide(route);
    };
    const onEnd = () => decide(undefined);
    const timer = setTimeout(() => decide(undefined), deps.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS);
    const stopTimer = () => clearTimeout(timer);
    socket.once('close', stopTimer);
    socket.on('data', onData);
    socket.once('end', onEnd);
    // The server speaks first in this protocol, and its clients wait for that before saying what routing needs.
    if (greeting !== undefined) socket.write(greeting);
    socket.resume();
  };
}

function handleSocks(config: Socks5ListenerConfig, deps: HandlerDeps) {
  return (socket: net.Socket, clientAddress: { ip: string; port: number }) => {
    const handshake = new Socks5Handshake(config.users);
    const who = `${clientAddress.ip}:${clientAddress.port}`;
    let timer: NodeJS.Timeout | undefined;
    const startTimer = () => {
      timer = setTimeout(() => {
        deps.log.warn({ client: who }, 'SOCKS handshake timed out');
        socket.destroy();
      }, deps.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS);
    };
    startTimer();
    const stopTimer = () => clearTimeout(timer);
    socket.once('close', stopTimer);
    // The server socket allows half-open connections (for the relay), so a client that gives up mid-handshake
    // would otherwise hold it open until the timeout. After a refusal, the timer cuts a client that stays.
    const onEnd = () => socket.destroy();
    socket.once('end', onEnd);
    const onData = (chunk: Buffer) => {
      for (const step of handshake.push(chunk)) {
        if (step.kind === 'reply') socket.write(step.reply);
        else if (step.kind === 'reject') {
          socket.off('data', onData);
          deps.log.warn({ client: who }, `SOCKS request refused: ${step.reason}`);
          if (step.reply) socket.end(step.reply);
          else socket.destroy();
          return;
        } else if (step.kind === 'connect') {
          clearTimeout(timer);
          socket.off('data', onData);
          // A client may half-close right after its request; from here on, that end is the relay's business.
          socket.off('end', onEnd);
          socket.pause();
          const { host, port } = step.request;
          handOver(
            socket,
            connectAllowed(deps.destinations, host, port, clientAddress.ip, deps.connectTimeoutMs),
            deps.log,
            { client: who, server: `${host}:${port}` },
            (upstream) => {
              // The handshake is over: nothing of it (parser, timer, these closures) stays with the relayed socket.
              socket.off('close', stopTimer);
              socket.write(connectReply(REPLY.succeeded, unmapIPv4(upstream.localAddress ?? '0.0.0.0'), upstream.localPort ?? 0));
              deps.onConnection({
                client: socket,
                upstream,
                clientAddress,
                destination: { host, port },
                via: 'socks5',
                ...(step.rest.length > 0 ? { initialClientData: step.rest } : {}),
                listener: `socks5 ${config.host}:${config.port}`,
              });
            },
            (error) => {
              socket.end(connectReply(replyForError(error)));
              socket.once('end', onEnd);
              socket.resume();
              startTimer();
            },
          );
          return;
        }
      }
    };
    socket.on('data', onData);
    socket.resume();
  };
}
