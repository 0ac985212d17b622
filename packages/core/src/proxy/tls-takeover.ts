/**
 * TLS in a connection: on a TLS port from the first byte, or after a frame accepted STARTTLS. What the TLS rules
 * say is done: intercepted (imspect terminates both sides and the protocol is parsed on the decrypted bytes),
 * passed through (relayed unread, judged by `policy.unreadable`), or refused.
 */
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { describeError, type Direction, type EventDraft, type ImEvent, type PluginLogger, type ProtocolSession, type ServerEndpoint } from '@imspect/sdk';
import type { PluginHost } from '../runtime/plugin-host.js';
import { acceptClientTls, connectUpstreamTls, TlsRefusal } from '../tls/handshake.js';
import { TlsInterceptor, type TlsDecision } from '../tls/interceptor.js';
import type { RelayDeps } from './relay-deps.js';
import type { Flow } from './flow.js';
import type { RegisteredProtocol } from './protocols.js';
import type { StreamPort } from './stream-port.js';
import { unreadableAction } from './unreadable.js';

/** The connection's state TLS takeover reads and sets (ProxyConnection's public members). */
export interface TlsParty {
  readonly log: PluginLogger;
  readonly deps: RelayDeps;
  readonly server: ServerEndpoint;
  readonly protocol: RegisteredProtocol | undefined;
  readonly session: ProtocolSession | undefined;
  readonly host: PluginHost;
  readonly bytes: Record<Direction, number>;
  readonly clientSocket: Duplex;
  readonly upstreamSocket: Duplex;
  encrypted: 'tls-port' | 'starttls' | 'tls' | undefined;
  intercepted: { how: 'tls-port' | 'starttls'; name: string } | undefined;
  eventCount: number;
  flow(direction: Direction): Flow;
  port(direction: Direction): StreamPort;
  completeEvent(draft: EventDraft, direction: Direction): ImEvent;
  switchToRaw(reason: string): void;
  destroy(reason: string): void;
}

/** The connection's own steps TLS takeover starts (private to ProxyConnection, handed over as callbacks). */
export interface TlsSteps {
  /** Parse with the protocol from here on. */
  begin(protocol: RegisteredProtocol): void;
  /** Relay unparsed from here on; `reason` is logged. */
  beginRaw(reason: string): void;
  /** The connection's open line, once. */
  logOpen(): void;
  /** The TLS sockets take the plain ones' place (which are kept, to destroy with them). */
  replaceSockets(client: Duplex, server: Duplex, raw: Duplex[]): void;
  /** True the first time: TLS not intercepted is judged once per connection. */
  firstTlsReport(): boolean;
}

/** What the TLS rules say for this connection (live only). */
function tlsDecision(conn: TlsParty): TlsDecision | undefined {
  return conn.deps.tls?.decide({ protocol: conn.protocol?.name, host: conn.server.host, port: conn.server.port, name: streamTo(conn) });
}

/** The server name the session learned inside the protocol (XMPP stream `to`), if it offers one. */
function streamTo(conn: TlsParty): string | undefined {
  try {
    const name = conn.session?.streamTo;
    return typeof name === 'string' ? name : undefined;
  } catch (error) {
    conn.log.error({ plugin: conn.protocol?.name, hook: 'streamTo', err: error }, 'protocol session failed to report its server name');
    return undefined;
  }
}

/**
 * Records that a conversation went by encrypted and unread (`tls`: a replay found TLS records from the first
 * byte on a port no plugin knows as a TLS port).
 */
export function encryptedEvent(conn: TlsParty, how: 'tls-port' | 'starttls' | 'tls', why: string, blocked = false): void {
  const event = conn.completeEvent(
    // The local user is rarely known before TLS; the server name the client asked for says where it went.
    { type: 'encrypted', subtype: how, localId: conn.session?.localId ?? '', remoteId: streamTo(conn) ?? conn.server.host, data: { reason: why } },
    'outgoing',
  );
  if (blocked) {
    event.filtered = true;
    event.categories = ['unreadable'];
  }
  conn.eventCount++;
  conn.deps.sink.accept([event]);
}

/**
 * TLS of the connection's protocol that is not intercepted, judged by `policy.unreadable` (kind `tls`): the
 * `encrypted` event unless `allow`; `block` marks it blocked and closes the connection. True: relay it.
 */
function unreadTls(conn: TlsParty, steps: TlsSteps, how: 'tls-port' | 'starttls', why: string): boolean {
  const action = unreadableAction(conn.deps.options.unreadable, conn.protocol?.name, 'tls');
  // Both directions may carry an accepted upgrade (each frame says so): one event per connection.
  if (action === 'allow' || !steps.firstTlsReport()) return true;
  encryptedEvent(conn, how, action === 'block' ? `${why}; blocked (policy.unreadable)` : why, action === 'block');
  if (action !== 'block' || conn.deps.options.keepDisconnected) return true;
  conn.log.info({ protocol: conn.protocol?.name }, `connection blocked: ${why} (policy.unreadable: block)`);
  conn.destroy('policy: unreadable tls blocked');
  return false;
}

/**
 * A connection to a port where `protocol` (already the connection's) runs inside TLS. Intercepted: the client's
 * handshake is held until the real server's certificate is checked (with the client's SNI as the name when it
 * sends one), then the protocol is parsed on the decrypted bytes.
 */
export function directTls(conn: TlsParty, steps: TlsSteps, protocol: RegisteredProtocol): void {
  steps.logOpen();
  const decision = tlsDecision(conn);
  const port = conn.server.port;
  if (!decision || decision.action === 'passthrough') {
    conn.encrypted = 'tls-port';
    const why = decision ? `TLS port ${port} passed through${decision.note ? `: ${decision.note}` : ''}` : `TLS port ${port}: encrypted, not intercepted`;
    if (unreadTls(conn, steps, 'tls-port', why)) steps.beginRaw(`TLS port ${port}: encrypted, passed through`);
    return;
  }
  if (decision.action === 'block') {
    conn.log.warn({ protocol: protocol.name }, `TLS connection refused: tls rules say block for ${conn.server.host}:${port}`);
    conn.destroy('TLS blocked by rule');
    return;
  }
  const outgoing = conn.port('outgoing');
  const incoming = conn.port('incoming');
  outgoing.detach();
  incoming.detach();
  const tls = conn.deps.tls!;
  const authority = tls.authority!;
  const fallback = TlsInterceptor.nameFor(conn.server.host) ?? 'localhost';
  const clientRaw = conn.clientSocket;
  const upstreamRaw = conn.upstreamSocket;
  let upstream: Promise<TLSSocket> | undefined;
  let upstreamError: unknown;
  const connectUpstream = (name: string) =>
    (upstream ??= connectUpstreamTls(upstreamRaw, { name, verify: decision.verify, secureContext: tls.upstreamContext, timeoutMs: tls.config.handshakeTimeoutMs }).catch(
      (error: unknown) => {
        upstreamError = error;
        throw error;
      },
    ));
  const run = async () => {
    const context = (await authority.leafFor(fallback)).context;
    // Wrapped in the same turn as the release: no byte can slip past both.
    for (const chunk of outgoing.release().reverse()) clientRaw.unshift(chunk);
    incoming.release();
    const client = await acceptClientTls(clientRaw, {
      context,
      timeoutMs: tls.config.handshakeTimeoutMs,
      // The client named the server: check the real one under that name before answering with a certificate.
      contextForName: async (sni) => {
        const name = TlsInterceptor.nameFor(sni, conn.server.host) ?? fallback;
        await connectUpstream(name);
        return (await authority.leafFor(name)).context;
      },
    }).catch((error: unknown) => {
      // The client's handshake was cut because the real server was refused: that is the reason to log.
      throw upstreamError ?? error;
    });
    const name = TlsInterceptor.nameFor(client.servername, conn.server.host) ?? fallback;
    const server = await connectUpstream(name);
    return { client: client.socket, server, name };
  };
  run().then(
    ({ client, server, name }) => {
      switchSockets(conn, steps, client, server);
      conn.intercepted = { how: 'tls-port', name };
      conn.log.info({ protocol: protocol.name, name }, 'TLS intercepted');
      steps.begin(protocol);
    },
    (error: unknown) => tlsFailed(conn, error),
  );
}

function tlsFailed(conn: TlsParty, error: unknown): void {
  const reason = error instanceof TlsRefusal ? error.message : describeError(error);
  const code = error instanceof TlsRefusal ? error.code : 'TLS_FAILED';
  conn.log.warn({ protocol: conn.protocol?.name, code }, `TLS interception failed, connection closed: ${reason}`);
  conn.destroy(reason);
}

/** From here on the flows read and write the TLS sockets. */
function switchSockets(conn: TlsParty, steps: TlsSteps, client: Duplex, server: Duplex): void {
  const sentBefore = conn.bytes.outgoing;
  let hungUp = false;
  const onHangUp = () => {
    // Most TLS libraries check the certificate after the handshake and just hang up when they do not trust it.
    if (hungUp || conn.bytes.outgoing !== sentBefore) return;
    hungUp = true;
    conn.log.warn(
      { protocol: conn.protocol?.name, name: conn.intercepted?.name },
      'the client closed the TLS connection without sending anything: it probably does not trust the imspect CA (imspect ca export)',
    );
  };
  client.once('end', onHangUp);
  client.once('close', onHangUp);
  const raw = [conn.clientSocket, conn.upstreamSocket];
  client.once('close', () => raw[0]!.destroy());
  server.once('close', () => raw[1]!.destroy());
  steps.replaceSockets(client, server, raw);
  conn.port('outgoing').attach(client, server);
  conn.port('incoming').attach(server, client);
}

/**
 * Frame `upgrade` in `direction` accepted STARTTLS. Returns a promise while the TLS sessions are being set up
 * (the flows are detached meanwhile), or undefined when the connection is relayed unread (no interception).
 * `upgradeBytes` is the accepting frame as it is to be forwarded; `after`, what followed it (already TLS).
 */
export function startTls(conn: TlsParty, steps: TlsSteps, direction: Direction, upgradeBytes: Uint8Array[], after: Uint8Array[]): Promise<void> | undefined {
  const decision = tlsDecision(conn);
  if (!decision || decision.action === 'passthrough') {
    conn.flow(direction).writeNow([...upgradeBytes, ...after]);
    conn.encrypted = 'starttls';
    const why = decision ? `STARTTLS passed through${decision.note ? `: ${decision.note}` : ''}` : 'STARTTLS: the rest of the connection is encrypted, not intercepted';
    if (unreadTls(conn, steps, 'starttls', why)) conn.switchToRaw('connection switched to TLS');
    return undefined;
  }
  if (decision.action === 'block') {
    conn.log.warn({ protocol: conn.protocol?.name }, `STARTTLS refused: tls rules say block for ${conn.server.host}:${conn.server.port}; connection closed`);
    conn.destroy('STARTTLS blocked by rule');
    return Promise.resolve();
  }
  const tls = conn.deps.tls!;
  const authority = tls.authority!;
  const other = direction === 'outgoing' ? 'incoming' : 'outgoing';
  // Bytes behind the accepting frame, and anything the other side sent meanwhile, are TLS records already.
  conn.port(other).detach();
  conn.port(direction).detach();
  const clientRaw = conn.clientSocket;
  const upstreamRaw = conn.upstreamSocket;
  /** What a side sent after the accepting frame: TLS records, in order. */
  const tlsStart = (side: Direction) => (side === direction ? [...after, ...conn.port(side).release()] : conn.port(side).release());
  const name = TlsInterceptor.nameFor(streamTo(conn), conn.server.host) ?? 'localhost';
  const run = async () => {
    // A client-side accepting frame goes to the server first; a server-side one (XMPP <proceed/>, IRC 670)
    // is held until the real server's TLS is up and checked, so a refused server never gets the client's secrets.
    if (direction === 'outgoing') for (const bytes of upgradeBytes) upstreamRaw.write(bytes);
    for (const chunk of tlsStart('incoming').reverse()) upstreamRaw.unshift(chunk);
    const server = await connectUpstreamTls(upstreamRaw, { name, verify: decision.verify, secureContext: tls.upstreamContext, timeoutMs: tls.config.handshakeTimeoutMs });
    const context = (await authority.leafFor(name)).context;
    if (direction === 'incoming') for (const bytes of upgradeBytes) clientRaw.write(bytes);
    for (const chunk of tlsStart('outgoing').reverse()) clientRaw.unshift(chunk);
    try {
      const client = await acceptClientTls(clientRaw, {
        context,
        timeoutMs: tls.config.handshakeTimeoutMs,
        // Only the name the real server was verified under: a certificate for whatever a client puts in its
        // SNI would vouch for a server nobody checked (and let any client make imspect mint without end).
        contextForName: async () => context,
      });
      if (client.servername && TlsInterceptor.nameFor(client.servername) !== name) {
        conn.log.info(
          { protocol: conn.protocol?.name, sni: client.servername, name },
          'the client asked for another name than the one it named in the protocol; it was shown the verified one',
        );
      }
      return { client: client.socket, server, shown: name };
    } catch (error) {
      server.destroy();
      throw error;
    }
  };
  return run().then(
    ({ client, server, shown }) => {
      switchSockets(conn, steps, client, server);
      conn.intercepted = { how: 'starttls', name: shown };
      const session = conn.session;
      if (session?.tlsIntercepted && conn.protocol) {
        try {
          conn.host.call('session', conn.protocol.name, session, 'tlsIntercepted');
        } catch (error) {
          conn.log.error({ plugin: conn.protocol.name, hook: 'tlsIntercepted', err: error }, 'protocol session failed to resume after TLS; relaying unparsed');
          conn.switchToRaw('tlsIntercepted failed');
        }
      } else {
        conn.switchToRaw('the protocol does not parse after STARTTLS');
      }
      conn.log.info({ protocol: conn.protocol?.name, name: shown }, 'STARTTLS intercepted');
    },
    (error: unknown) => tlsFailed(conn, error),
  );
}
