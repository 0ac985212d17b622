import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { isUnknownId, latin1, toEventData, unknownId, type IdentityMark } from '@imspect/sdk';
import { dataValue, describeError, type EventData, type EventDataValue } from '@imspect/sdk';
import { opposite, type Direction, type Endpoint, type EventDraft, type ImEvent, type ServerEndpoint } from '@imspect/sdk';
import type { PluginLogger } from '@imspect/sdk';
import type { Frame, ProtocolSession } from '@imspect/sdk';
import { uuidv7 } from '../runtime/ids.js';
import { isPromiseLike, type PluginHost } from '../runtime/plugin-host.js';
import type { EventSink } from './event-sink.js';
import type { IdentityRecords } from './identity-records.js';
import { BoundLogger } from './bound-logger.js';
import { idleSweepFor, type IdleWatch } from './idle-sweep.js';
import { localUserKey } from './local-users.js';
import { noticeClient } from './responses.js';
import type { FrameDecision, Policy } from './policy.js';
import type { ProtocolRegistry, RegisteredProtocol } from './protocols.js';
import { acceptClientTls, connectUpstreamTls, TlsRefusal } from '../tls/handshake.js';
import { TlsInterceptor, type TlsDecision } from '../tls/interceptor.js';
import type { TurnBudget } from './turn-budget.js';
import {
  connectTarget,
  httpRequestHead,
  socks4Target,
  isTlsClientHello,
  judgeFirstBytes,
  sniffOicqTcp,
  unreadableAction,
  type OicqHeader,
  type UnreadableKind,
  type UnreadablePolicyConfig,
} from './unreadable.js';

export interface RelayOptions {
  idleTimeoutMs: number;
  sniffTimeoutMs: number;
  /** Frame-level detail in the operational log. */
  debug: boolean;
  /** A replay: a policy `disconnect` is logged, but the recorded connection goes on to its end. */
  keepDisconnected?: boolean;
  /** `policy.unreadable`: what happens to traffic imspect cannot read (default: log). */
  unreadable?: UnreadablePolicyConfig;
}

export interface RelayDeps {
  /** Time for new events, in ms since the epoch: the wall clock live, the capture's time when replaying. */
  now?: () => number;
  registry: ProtocolRegistry;
  policy: Policy;
  sink: EventSink;
  log: PluginLogger;
  options: RelayOptions;
  /** TLS interception (live connections); without it, TLS is relayed unread as in a replay. */
  tls?: TlsInterceptor;
  /** Logins seen per client address, offered to sessions (`SessionContext.identity`) and fed by login events. */
  identity?: IdentityRecords;
  /** The parse budget per event-loop turn shared by the flows reading sockets; without one they are not paced. */
  turnBudget?: TurnBudget;
}

export interface ConnectionInfo {
  id: string;
  client: Endpoint;
  server: ServerEndpoint;
  /** Protocol forced by the listener; otherwise chosen by port, then by sniffing. */
  protocol?: string;
  /** Client bytes already read (e.g. sent right behind a SOCKS request). */
  initialClientData?: Uint8Array;
  /** The stream is joined mid-way (a capture that missed the start). */
  midstream?: boolean;
  /** The address the client reached imspect at (forward listeners), for protocols that redirect clients. */
  listener?: ServerEndpoint;
  /** The forward listener sent the client the protocol's greeting in the server's place. */
  greeted?: boolean;
  /** The client came through imspect's proxy listeners: a SOCKS5 or HTTP CONNECT tunnel, or a plain HTTP proxy request. */
  via?: 'socks5' | 'http-connect' | 'http-proxy';
}

/** Most protocol errors one connection logs before it only counts them. */
const MAX_LOGGED_ERRORS = 20;
/** A parsed chunk at least this large makes its flow yield to the other connections before reading on. */
const YIELD_AFTER_BYTES = 16 * 1024;
/** How long a client disconnected by policy may keep its side open after it was sent the reply. */
const DISCONNECT_GRACE_MS = 5_000;
/** `client version` from a login event's data (`client` and `version`), for the console's who-is-online list. */
export function clientVersionOf(data: EventData | undefined): string | undefined {
  const parts = [dataValue(data, 'client'), dataValue(data, 'version')].filter((v) => v !== undefined && v !== '');
  return parts.length > 0 ? parts.join(' ') : undefined;
}

/** The words of a circumvention event's reason. */
function describeWays(ways: readonly string[], protocol: string): string {
  const words: Record<string, string> = {
    'odd-port': 'on a port that is not its own',
    http: 'inside HTTP requests',
    'http-connect': "through imspect's HTTP CONNECT proxy",
    'http-proxy': "through imspect's HTTP proxy",
    socks5: "through imspect's SOCKS5 proxy",
  };
  return `${protocol} ${ways.map((way) => words[way] ?? way).join(', ')}`;
}

/** Bytes held back while sniffing before giving up and relaying unparsed. */
const MAX_SNIFF_BYTES = 4096;

/**
 * One proxied TCP connection: two sockets, one protocol session, two flows. Frames are forwarded in order as
 * soon as they are complete; policy may drop or rewrite them; events go to the sink.
 */
export class ProxyConnection {
  readonly id: string;
  readonly client: Endpoint;
  readonly server: ServerEndpoint;
  protocol: RegisteredProtocol | undefined;
  session: ProtocolSession | undefined;
  readonly log: PluginLogger;
  readonly startedAt = Date.now();
  private readonly flows: Record<Direction, Flow>;
  private errorsLogged = 0;
  /** Set while the protocol is being sniffed: its time limit (the bytes seen so far wait in the flows' inboxes). */
  private sniffTimer: NodeJS.Timeout | undefined;
  private readonly midstream: boolean;
  /** A login event came from this connection: its ids need no mark even when it was joined mid-way. */
  private sawLogin = false;
  private readonly greeted: boolean;
  private readonly listener: ServerEndpoint | undefined;
  private readonly via: ConnectionInfo['via'];
  /**
   * Set while the first bytes on a port that names a protocol are checked for what that protocol cannot read
   * (TLS, QQ, HTTP it does not claim) or another protocol recognises.
   */
  private probing: RegisteredProtocol | undefined;
  /** TLS not intercepted was judged by `policy.unreadable` (once per connection). */
  private tlsReported = false;
  /** The circumvention event, until the local user is known (see {@link circumventionEvent}). */
  private heldCircumvention: ImEvent | undefined;
  /**
   * Why the connection's content is not visible, when it is encrypted: a TLS port, after STARTTLS, or a TLS
   * ClientHello where the port's protocol was expected (judged by `policy.unreadable`).
   */
  encrypted: 'tls-port' | 'starttls' | 'tls' | undefined;
  /** TLS was decrypted by imspect: on a TLS port, or after STARTTLS; the name the client was shown. */
  intercepted: { how: 'tls-port' | 'starttls'; name: string } | undefined;
  /** The first protocol errors, kept for summaries (replay). */
  readonly protocolErrors: Array<{ direction: Direction; code: string; message: string }> = [];
  private closed = false;
  /** The operational log's open line is written once, when the connection's handling is decided. */
  private openLogged = false;
  /** Why imspect closed the connection (error, idle, policy, shutdown, TLS refusal); first one wins. */
  private closeReason: string | undefined;
  /** The side that ended or dropped the connection first, when imspect did not close it. */
  private firstGone: 'client' | 'server' | undefined;
  /** This connection's user in the policy's LocalUsers (the key it is counted under), while it is open. */
  private localUser: string | undefined;
  /** The local id `localUser` was built from. */
  private localUserId: string | undefined;
  /** The plain sockets under intercepted TLS ones. */
  private rawSockets: Duplex[] = [];
  /** This connection in the shared idle sweep (`connections.idleTimeoutMs`), while it is open. */
  private idleWatch: IdleWatch | undefined;
  private closeListeners: Array<() => void> = [];
  bytes: Record<Direction, number> = { outgoing: 0, incoming: 0 };
  eventCount = 0;
  /** The client software the user logged in with, as the protocol reported it (`client` / `version` in a login event's data). */
  clientVersion: string | undefined;

  /** The protected user of this connection as last seen in its events (login, nick change); undefined before. */
  get localId(): string | undefined {
    return this.lastLocalId;
  }

  private lastLocalId: string | undefined;

  constructor(
    /** The client's side: the accepted socket, or the TLS socket over it once intercepted. */
    public clientSocket: Duplex,
    public upstreamSocket: Duplex,
    info: ConnectionInfo,
    readonly deps: RelayDeps,
  ) {
    this.id = info.id;
    this.midstream = info.midstream === true;
    this.greeted = info.greeted === true;
    this.listener = info.listener;
    this.via = info.via;
    // Frozen copies: every event of the connection shares them, and filters get events deeply frozen.
    this.client = Object.freeze({ ...info.client });
    this.server = Object.freeze({ ...info.server });
    this.log = new BoundLogger(deps.log, { conn: this.id, client: `${info.client.ip}:${info.client.port}`, server: `${info.server.host}:${info.server.port}` });
    this.flows = {
      outgoing: new Flow(this, 'outgoing', clientSocket, upstreamSocket),
      incoming: new Flow(this, 'incoming', upstreamSocket, clientSocket),
    };
    for (const socket of [clientSocket, upstreamSocket]) {
      // Replaying a capture runs the same connection over in-memory streams: only real sockets have these.
      if (socket instanceof Socket) socket.setNoDelay(true);
      this.watch(socket, socket === clientSocket ? 'client' : 'server');
    }
    if (deps.options.idleTimeoutMs > 0 && (clientSocket instanceof Socket || upstreamSocket instanceof Socket)) {
      // One process-wide sweep rather than a timer per socket (see idle-sweep.ts). It reads the current sockets,
      // so the TLS sockets are timed once they take over.
      this.idleWatch = idleSweepFor(deps.options.idleTimeoutMs).watch(
        () => socketTraffic(this.clientSocket) + socketTraffic(this.upstreamSocket),
        () => this.closeIdle(),
      );
    }
    const initial = info.initialClientData && info.initialClientData.length > 0 ? Buffer.from(info.initialClientData) : undefined;
    if (initial) this.flows.outgoing.receive(initial);
    const forced = info.protocol ? deps.registry.get(info.protocol) : undefined;
    if (info.protocol && !forced) this.log.warn({ protocol: info.protocol }, `protocol "${info.protocol}" is not loaded; relaying unparsed`);
    const tlsPortOf = deps.registry.isTlsPort(info.server.port);
    const chosen = forced ?? deps.registry.forPort(info.server.port);
    if (tlsPortOf && (!chosen || chosen === tlsPortOf)) this.directTls(tlsPortOf);
    else if (forced || (chosen && (this.midstream || deps.options.sniffTimeoutMs === 0))) this.begin(chosen!);
    else if (chosen) this.probe(chosen);
    else if (deps.options.sniffTimeoutMs > 0 && deps.registry.all.length > 0) this.sniff();
    else this.beginRaw('no protocol for this port');
  }

  private watch(socket: Duplex, side: 'client' | 'server'): void {
    socket.on('error', (error: NodeJS.ErrnoException) => this.destroy(`${side} socket error: ${error.code ?? error.message}`));
    socket.on('close', () => {
      // A plain socket under an intercepted TLS one: the TLS socket reports the close.
      if (socket === this.clientSocket || socket === this.upstreamSocket) this.onSocketClose();
    });
  }

  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  /** Calls the protocol's hooks and its session's and frames' (the engine's plugin host, via the registry). */
  get host(): PluginHost {
    return this.deps.registry.host;
  }

  private begin(protocol: RegisteredProtocol): void {
    this.protocol = protocol;
    try {
      this.session = this.host.call('protocol', protocol.name, protocol.hooks, 'createSession', {
        client: this.client,
        server: this.server,
        maxFrameSize: protocol.maxFrameSize,
        ...(this.midstream ? { midstream: true } : {}),
        ...(this.listener ? { listener: { ...this.listener } } : {}),
        ...(this.greeted ? { greeted: true } : {}),
        ...(this.deps.identity ? { identity: this.deps.identity } : {}),
      });
    } catch (error) {
      this.log.error({ plugin: protocol.name, hook: 'createSession', err: error }, 'protocol session could not start; relaying unparsed');
      this.beginRaw('createSession failed');
      return;
    }
    this.logOpen();
    this.flows.outgoing.start('parse');
    this.flows.incoming.start('parse');
  }

  private beginRaw(reason: string): void {
    this.logOpen(reason);
    this.flows.outgoing.start('raw');
    this.flows.incoming.start('raw');
  }

  /**
   * Watches the first bytes (either side) until a protocol recognises them, the limit is reached, the stream
   * ends, or time runs out. The flows hold the bytes meanwhile; nothing is forwarded before the decision.
   */
  private sniff(): void {
    this.sniffTimer = setTimeout(() => this.decideSniff(undefined, 'no protocol recognised the first bytes in time'), this.deps.options.sniffTimeoutMs);
    this.sniffTimer.unref?.();
    this.inspectSniff('outgoing');
  }

  /**
   * A port that names a protocol: its first bytes are looked at before the protocol's session starts (either
   * side's first bytes usually decide at once). TLS, QQ and an HTTP request the protocol does not claim (on one of
   * the protocol's own ports) are unreadable; bytes another protocol recognises are parsed by it; anything else
   * goes to the port's protocol as before.
   */
  private probe(protocol: RegisteredProtocol): void {
    this.probing = protocol;
    this.sniffTimer = setTimeout(() => this.endProbe(protocol), this.deps.options.sniffTimeoutMs);
    this.sniffTimer.unref?.();
    this.inspectSniff('outgoing');
  }

  private endProbe(protocol: RegisteredProtocol, how?: string): void {
    if (!this.sniffTimer) return;
    clearTimeout(this.sniffTimer);
    this.sniffTimer = undefined;
    this.probing = undefined;
    // Before the session starts: its first frames may already name the user the event is then filed under.
    this.circumventionEvent(protocol.name, how ?? '');
    this.begin(protocol);
  }

  /** A flow still waiting for the protocol received a chunk. */
  sniffChunk(direction: Direction): void {
    if (this.sniffTimer) this.inspectSniff(direction);
  }

  /** A flow's source ended before the protocol was known. */
  sniffEnded(): void {
    if (this.probing) this.endProbe(this.probing);
    else this.decideSniff(undefined, 'stream ended before a protocol was recognised');
  }

  private inspectSniff(direction: Direction): void {
    const seen = this.flows[direction].waiting;
    const first = seen.length === 1 ? seen[0]! : Buffer.concat(seen);
    if (first.length === 0) return;
    if (this.probing) {
      this.inspectProbe(this.probing, first, direction);
      return;
    }
    const protocol = this.deps.registry.sniff(first, direction);
    if (protocol) {
      this.decideSniff(protocol, '', direction === 'outgoing' ? first : undefined);
      return;
    }
    if (direction === 'outgoing') {
      // Decided now rather than at the sniff time: other HTTP and TLS on ports like 80 and 443 must not wait.
      const verdict = judgeFirstBytes(first);
      // A tunnel to an IM port through someone else's proxy: what goes inside cannot be read here.
      const via = verdict?.kind === 'not-im' ? verdict.what : undefined;
      const tunnel = via === 'http' ? connectTarget(first) : via === 'socks4' ? socks4Target(first) : undefined;
      const tunnelled = tunnel ? (this.deps.registry.forPort(tunnel.port) ?? this.deps.registry.isTlsPort(tunnel.port)) : undefined;
      if (tunnel && tunnelled) {
        const request = via === 'socks4' ? 'SOCKS4' : 'CONNECT';
        this.unreadable('proxy', tunnelled.name, `${tunnelled.name} through a proxy imspect does not run (${request} ${tunnel.host}:${tunnel.port})`, undefined, tunnel);
        return;
      }
      if (verdict?.kind === 'not-im') {
        const what = {
          tls: 'a TLS handshake (not intercepted)',
          http: 'an HTTP request no protocol claims',
          socks5: 'a SOCKS5 greeting (a proxy imspect does not run)',
          socks4: 'a SOCKS4 request (a proxy imspect does not run)',
        };
        this.decideSniff(undefined, `${what[verdict.what]}: not IM`);
        return;
      }
      if (verdict?.kind === 'qq') {
        this.unreadable('qq', 'qq', `QQ (OICQ) on port ${this.server.port}: recognised, not parsed`, verdict.header);
        return;
      }
    }
    if (first.length >= MAX_SNIFF_BYTES) this.decideSniff(undefined, 'no protocol recognised the first bytes');
  }

  private inspectProbe(protocol: RegisteredProtocol, first: Uint8Array, direction: Direction): void {
    // The server spoke first: no TLS, HTTP or QQ client waits for that.
    if (direction === 'incoming') {
      this.endProbe(protocol);
      return;
    }
    if (isTlsClientHello(first)) {
      this.unreadable('tls', protocol.name, `TLS on ${protocol.name}'s port ${this.server.port}: encrypted, not intercepted`);
      return;
    }
    const oicq = sniffOicqTcp(first);
    if (oicq !== undefined && oicq !== 'partial') {
      this.unreadable('qq', 'qq', `QQ (OICQ) on ${protocol.name}'s port ${this.server.port}: recognised, not parsed`, oicq);
      return;
    }
    const http = httpRequestHead(first);
    const claimedBy = http !== 'partial' ? this.deps.registry.sniff(first, direction) : undefined;
    if (claimedBy && claimedBy !== protocol && !this.claims(protocol, first)) {
      this.endProbe(claimedBy, 'odd-port');
      return;
    }
    if (http === 'complete' && !claimedBy && protocol.hooks.ports.includes(this.server.port)) {
      this.unreadable('unknown', protocol.name, `an HTTP request on ${protocol.name}'s port ${this.server.port}, not ${protocol.name}`);
      return;
    }
    const undecided = http === 'partial' || oicq === 'partial' || (first[0] === 0x16 && first.length < 6);
    if (!undecided || first.length >= MAX_SNIFF_BYTES) this.endProbe(protocol, http === 'complete' && claimedBy === protocol ? 'http' : undefined);
  }

  /** The protocol's own sniff recognises the bytes (a throwing or missing sniff does not). */
  private claims(protocol: RegisteredProtocol, first: Uint8Array): boolean {
    if (!protocol.hooks.sniff) return false;
    try {
      return this.host.call('protocol', protocol.name, protocol.hooks, 'sniff', first, 'outgoing') === true;
    } catch {
      return false;
    }
  }

  /** `outgoingFirst`: the client's bytes so far, when the caller has already joined them. */
  private decideSniff(protocol: RegisteredProtocol | undefined, reason: string, outgoingFirst?: Buffer): void {
    if (!this.sniffTimer) return;
    clearTimeout(this.sniffTimer);
    this.sniffTimer = undefined;
    if (!protocol) {
      this.beginRaw(reason);
      return;
    }
    // Recognised on a port that names no protocol: IM on an odd port (through a proxy or not), maybe inside HTTP.
    const seen = this.flows.outgoing.waiting;
    const first = outgoingFirst ?? (seen.length === 1 ? seen[0]! : Buffer.concat(seen));
    // A whole request line (the head may still be arriving) that is HTTP's.
    const inHttp = first.includes(0x0a) && httpRequestHead(first) !== 'no';
    this.circumventionEvent(protocol.name, inHttp ? 'odd-port,http' : 'odd-port');
    this.begin(protocol);
  }

  /**
   * One `other`/`circumvention` event per connection where IM took a way around the IM ports: `how` lists
   * `odd-port` (recognised on a port that names no protocol, or another protocol's), `http` (carried in HTTP
   * requests) and the proxy the client used (`http-connect`, `http-proxy`, `socks5`). Dated now, it is held
   * until the protocol names the local user (so the archive files it under that user), or the connection ends.
   */
  private circumventionEvent(protocol: string, how: string): void {
    const ways = how === '' ? [] : how.split(',');
    if (this.via === 'http-connect' || this.via === 'http-proxy' || (this.via === 'socks5' && ways.length > 0)) ways.push(this.via);
    if (ways.length === 0) return;
    this.heldCircumvention = this.completeEvent(
      {
        type: 'other',
        subtype: 'circumvention',
        localId: '',
        remoteId: this.server.host,
        data: { protocol, how: ways.join(','), port: this.server.port, reason: describeWays(ways, protocol) },
      },
      'outgoing',
    );
    this.heldCircumvention.protocol = protocol;
  }

  /** Accepts the held circumvention event, for `localId` (the first local user seen, or none at the end). */
  private releaseCircumvention(localId: string): void {
    const event = this.heldCircumvention;
    if (!event) return;
    this.heldCircumvention = undefined;
    event.localId = localId;
    // Ids per network (IRC): the network the session learned since.
    const network = event.network ?? this.session?.network;
    if (network !== undefined) event.network = String(network);
    this.eventCount++;
    this.deps.sink.accept([event]);
  }

  /**
   * Traffic imspect recognises but cannot read (TLS it does not intercept, QQ, HTTP on an IM port): what
   * `policy.unreadable` says for `protocol` is done. `allow`: relayed, no event; `log`: relayed, one event;
   * `block`: one event marked blocked, then the connection is closed (a replay goes on to the capture's end).
   */
  private unreadable(kind: UnreadableKind, protocol: string, reason: string, qq?: OicqHeader, tunnel?: { host: string; port: number }): void {
    clearTimeout(this.sniffTimer);
    this.sniffTimer = undefined;
    this.probing = undefined;
    const action = unreadableAction(this.deps.options.unreadable, protocol, kind);
    if (kind === 'tls') {
      // Judged here once, whatever the action: nothing later reports this TLS again (nor answers into it).
      this.encrypted = 'tls';
      this.tlsReported = true;
    }
    if (action !== 'allow') {
      const odd = kind === 'qq' && ![8000, 80, 443].includes(this.server.port) ? ['odd-port'] : [];
      const ways = [...odd, ...(tunnel ? ['foreign-proxy'] : []), ...(this.via ? [this.via] : [])];
      const event = this.completeEvent(
        {
          type: kind === 'tls' ? 'encrypted' : 'other',
          subtype: kind === 'tls' ? 'tls' : 'unreadable',
          localId: qq ? String(qq.qqNumber) : '',
          remoteId: tunnel?.host ?? this.server.host,
          data: {
            protocol,
            kind,
            ...(tunnel ? { proxy: `${this.server.host}:${this.server.port}`, target: `${tunnel.host}:${tunnel.port}` } : {}),
            action,
            reason: action === 'block' ? `${reason}; blocked (policy.unreadable)` : reason,
            ...(ways.length > 0 ? { how: ways.join(',') } : {}),
            ...(qq ? { qqNumber: qq.qqNumber, command: qq.command, version: qq.version } : {}),
          },
        },
        'outgoing',
      );
      // The event is about the connection, not a plugin's frame: it names what was recognised (qq, the port's protocol).
      event.protocol = protocol;
      if (action === 'block') {
        event.filtered = true;
        event.categories = ['unreadable'];
      }
      this.eventCount++;
      this.deps.sink.accept([event]);
    }
    if (action === 'block' && !this.deps.options.keepDisconnected) {
      this.logOpen(reason);
      this.log.info({ kind, protocol }, `connection blocked: ${reason} (policy.unreadable: block)`);
      this.destroy(`policy: unreadable ${kind} blocked`);
      return;
    }
    this.beginRaw(reason);
  }

  /** What the TLS rules say for this connection (live only). */
  private tlsDecision(): TlsDecision | undefined {
    return this.deps.tls?.decide({ protocol: this.protocol?.name, host: this.server.host, port: this.server.port, name: this.streamTo() });
  }

  /** The server name the session learned inside the protocol (XMPP stream `to`), if it offers one. */
  private streamTo(): string | undefined {
    try {
      const name = this.session?.streamTo;
      return typeof name === 'string' ? name : undefined;
    } catch (error) {
      this.log.error({ plugin: this.protocol?.name, hook: 'streamTo', err: error }, 'protocol session failed to report its server name');
      return undefined;
    }
  }

  /**
   * The one info line per connection opened (client, server and id come from the child logger's bindings):
   * written once the protocol is decided, so it can name it; `unparsed` says why the bytes are relayed unread.
   */
  private logOpen(unparsed?: string): void {
    if (this.openLogged) return;
    this.openLogged = true;
    this.log.info({ protocol: this.protocol?.name ?? null, ...(unparsed === undefined ? {} : { unparsed }) }, 'connection open');
  }

  /**
   * Records that a conversation went by encrypted and unread (`tls`: a replay found TLS records from the first
   * byte on a port no plugin knows as a TLS port).
   */
  encryptedEvent(how: 'tls-port' | 'starttls' | 'tls', why: string, blocked = false): void {
    const event = this.completeEvent(
      // The local user is rarely known before TLS; the server name the client asked for says where it went.
      { type: 'encrypted', subtype: how, localId: this.session?.localId ?? '', remoteId: this.streamTo() ?? this.server.host, data: { reason: why } },
      'outgoing',
    );
    if (blocked) {
      event.filtered = true;
      event.categories = ['unreadable'];
    }
    this.eventCount++;
    this.deps.sink.accept([event]);
  }

  /**
   * TLS of the connection's protocol that is not intercepted, judged by `policy.unreadable` (kind `tls`): the
   * `encrypted` event unless `allow`; `block` marks it blocked and closes the connection. True: relay it.
   */
  private unreadTls(how: 'tls-port' | 'starttls', why: string): boolean {
    const action = unreadableAction(this.deps.options.unreadable, this.protocol?.name, 'tls');
    // Both directions may carry an accepted upgrade (each frame says so): one event per connection.
    if (action === 'allow' || this.tlsReported) return true;
    this.tlsReported = true;
    this.encryptedEvent(how, action === 'block' ? `${why}; blocked (policy.unreadable)` : why, action === 'block');
    if (action !== 'block' || this.deps.options.keepDisconnected) return true;
    this.log.info({ protocol: this.protocol?.name }, `connection blocked: ${why} (policy.unreadable: block)`);
    this.destroy('policy: unreadable tls blocked');
    return false;
  }

  /**
   * A connection to a port where the protocol runs inside TLS. Intercepted: the client's handshake is held until
   * the real server's certificate is checked (with the client's SNI as the name when it sends one), then the
   * protocol is parsed on the decrypted bytes.
   */
  private directTls(protocol: RegisteredProtocol): void {
    this.protocol = protocol;
    this.logOpen();
    const decision = this.tlsDecision();
    if (!decision || decision.action === 'passthrough') {
      this.encrypted = 'tls-port';
      const why = decision ? `TLS port ${this.server.port} passed through${decision.note ? `: ${decision.note}` : ''}` : `TLS port ${this.server.port}: encrypted, not intercepted`;
      if (this.unreadTls('tls-port', why)) this.beginRaw(`TLS port ${this.server.port}: encrypted, passed through`);
      return;
    }
    if (decision.action === 'block') {
      this.log.warn({ protocol: protocol.name }, `TLS connection refused: tls rules say block for ${this.server.host}:${this.server.port}`);
      this.destroy('TLS blocked by rule');
      return;
    }
    this.flows.outgoing.detach();
    this.flows.incoming.detach();
    const tls = this.deps.tls!;
    const authority = tls.authority!;
    const fallback = TlsInterceptor.nameFor(this.server.host) ?? 'localhost';
    const clientRaw = this.clientSocket;
    const upstreamRaw = this.upstreamSocket;
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
      for (const chunk of this.flows.outgoing.release().reverse()) clientRaw.unshift(chunk);
      this.flows.incoming.release();
      const client = await acceptClientTls(clientRaw, {
        context,
        timeoutMs: tls.config.handshakeTimeoutMs,
        // The client named the server: check the real one under that name before answering with a certificate.
        contextForName: async (sni) => {
          const name = TlsInterceptor.nameFor(sni, this.server.host) ?? fallback;
          await connectUpstream(name);
          return (await authority.leafFor(name)).context;
        },
      }).catch((error: unknown) => {
        // The client's handshake was cut because the real server was refused: that is the reason to log.
        throw upstreamError ?? error;
      });
      const name = TlsInterceptor.nameFor(client.servername, this.server.host) ?? fallback;
      const server = await connectUpstream(name);
      return { client: client.socket, server, name };
    };
    run().then(
      ({ client, server, name }) => {
        this.switchSockets(client, server);
        this.intercepted = { how: 'tls-port', name };
        this.log.info({ protocol: protocol.name, name }, 'TLS intercepted');
        this.begin(protocol);
      },
      (error: unknown) => this.tlsFailed(error),
    );
  }

  private tlsFailed(error: unknown): void {
    const reason = error instanceof TlsRefusal ? error.message : describeError(error);
    const code = error instanceof TlsRefusal ? error.code : 'TLS_FAILED';
    this.log.warn({ protocol: this.protocol?.name, code }, `TLS interception failed, connection closed: ${reason}`);
    this.destroy(reason);
  }

  /** From here on the flows read and write the TLS sockets. */
  private switchSockets(client: Duplex, server: Duplex): void {
    const sentBefore = this.bytes.outgoing;
    let hungUp = false;
    const onHangUp = () => {
      // Most TLS libraries check the certificate after the handshake and just hang up when they do not trust it.
      if (hungUp || this.bytes.outgoing !== sentBefore) return;
      hungUp = true;
      this.log.warn(
        { protocol: this.protocol?.name, name: this.intercepted?.name },
        'the client closed the TLS connection without sending anything: it probably does not trust the imspect CA (imspect ca export)',
      );
    };
    client.once('end', onHangUp);
    client.once('close', onHangUp);
    const raw = [this.clientSocket, this.upstreamSocket];
    client.once('close', () => raw[0]!.destroy());
    server.once('close', () => raw[1]!.destroy());
    this.rawSockets = raw;
    this.clientSocket = client;
    this.upstreamSocket = server;
    this.watch(client, 'client');
    this.watch(server, 'server');
    this.flows.outgoing.attach(client, server);
    this.flows.incoming.attach(server, client);
  }

  /**
   * Frame `upgrade` in `direction` accepted STARTTLS. Returns a promise while the TLS sessions are being set up
   * (the flows are detached meanwhile), or undefined when the connection is relayed unread (no interception).
   * `upgradeBytes` is the accepting frame as it is to be forwarded; `after`, what followed it (already TLS).
   */
  startTls(direction: Direction, upgradeBytes: Uint8Array[], after: Uint8Array[]): Promise<void> | undefined {
    const decision = this.tlsDecision();
    if (!decision || decision.action === 'passthrough') {
      this.flows[direction].writeNow([...upgradeBytes, ...after]);
      this.encrypted = 'starttls';
      const why = decision ? `STARTTLS passed through${decision.note ? `: ${decision.note}` : ''}` : 'STARTTLS: the rest of the connection is encrypted, not intercepted';
      if (this.unreadTls('starttls', why)) this.switchToRaw('connection switched to TLS');
      return undefined;
    }
    if (decision.action === 'block') {
      this.log.warn({ protocol: this.protocol?.name }, `STARTTLS refused: tls rules say block for ${this.server.host}:${this.server.port}; connection closed`);
      this.destroy('STARTTLS blocked by rule');
      return Promise.resolve();
    }
    const tls = this.deps.tls!;
    const authority = tls.authority!;
    const other = direction === 'outgoing' ? 'incoming' : 'outgoing';
    // Bytes behind the accepting frame, and anything the other side sent meanwhile, are TLS records already.
    this.flows[other].detach();
    this.flows[direction].detach();
    const clientRaw = this.clientSocket;
    const upstreamRaw = this.upstreamSocket;
    const clientFlow = this.flows.outgoing;
    const serverFlow = this.flows.incoming;
    /** What a side sent after the accepting frame: TLS records, in order. */
    const tlsStart = (flow: Flow) => (flow.direction === direction ? [...after, ...flow.release()] : flow.release());
    const name = TlsInterceptor.nameFor(this.streamTo(), this.server.host) ?? 'localhost';
    const run = async () => {
      // A client-side accepting frame goes to the server first; a server-side one (XMPP <proceed/>, IRC 670)
      // is held until the real server's TLS is up and checked, so a refused server never gets the client's secrets.
      if (direction === 'outgoing') for (const bytes of upgradeBytes) upstreamRaw.write(bytes);
      for (const chunk of tlsStart(serverFlow).reverse()) upstreamRaw.unshift(chunk);
      const server = await connectUpstreamTls(upstreamRaw, { name, verify: decision.verify, secureContext: tls.upstreamContext, timeoutMs: tls.config.handshakeTimeoutMs });
      const context = (await authority.leafFor(name)).context;
      if (direction === 'incoming') for (const bytes of upgradeBytes) clientRaw.write(bytes);
      for (const chunk of tlsStart(clientFlow).reverse()) clientRaw.unshift(chunk);
      try {
        const client = await acceptClientTls(clientRaw, {
          context,
          timeoutMs: tls.config.handshakeTimeoutMs,
          // Only the name the real server was verified under: a certificate for whatever a client puts in its
          // SNI would vouch for a server nobody checked (and let any client make imspect mint without end).
          contextForName: async () => context,
        });
        if (client.servername && TlsInterceptor.nameFor(client.servername) !== name) {
          this.log.info(
            { protocol: this.protocol?.name, sni: client.servername, name },
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
        this.switchSockets(client, server);
        this.intercepted = { how: 'starttls', name: shown };
        const session = this.session;
        if (session?.tlsIntercepted && this.protocol) {
          try {
            this.host.call('session', this.protocol.name, session, 'tlsIntercepted');
          } catch (error) {
            this.log.error({ plugin: this.protocol.name, hook: 'tlsIntercepted', err: error }, 'protocol session failed to resume after TLS; relaying unparsed');
            this.switchToRaw('tlsIntercepted failed');
          }
        } else {
          this.switchToRaw('the protocol does not parse after STARTTLS');
        }
        this.log.info({ protocol: this.protocol?.name, name: shown }, 'STARTTLS intercepted');
      },
      (error: unknown) => this.tlsFailed(error),
    );
  }

  flow(direction: Direction): Flow {
    return this.flows[direction];
  }

  /** A policy decision is pending in either direction: events of frames received so far are still to come. */
  get pending(): boolean {
    return this.flows.outgoing.pending || this.flows.incoming.pending;
  }

  /** Resolves once neither direction has a decision pending or a chunk unprocessed (see {@link Flow.whenIdle}). */
  async settled(): Promise<void> {
    for (;;) {
      const waiting = this.flows.outgoing.whenIdle() ?? this.flows.incoming.whenIdle();
      if (!waiting) return;
      await waiting;
    }
  }

  /** Both directions stop parsing and relay bytes as they come (STARTTLS, or a parser that failed). */
  switchToRaw(reason: string): void {
    this.log.info({ protocol: this.protocol?.name, reason }, 'relaying the rest of the connection unparsed');
    this.flows.outgoing.toRaw();
    this.flows.incoming.toRaw();
  }

  completeEvent(draft: EventDraft, direction: Direction): ImEvent {
    const id = uuidv7();
    const at = isoTime(this.deps.now ? this.deps.now() : Date.now());
    const protocol = this.protocol?.name ?? 'unknown';
    const localId = String(draft.localId ?? '');
    const remoteId = String(draft.remoteId ?? '');
    const network = draft.network ?? this.session?.network;
    const { conversation, text } = draft;
    let event: ImEvent;
    if (draft.subtype === undefined && network !== undefined && conversation !== undefined && text !== undefined) {
      // A line to a group, the commonest event, as one literal with its members in the order they are otherwise
      // added: one object (kept in the journal's memory window) rather than one plus a grown property store.
      event = {
        id,
        at,
        protocol,
        direction: draft.direction ?? direction,
        type: draft.type,
        localId,
        remoteId,
        client: this.client,
        server: this.server,
        filtered: false,
        categories: [],
        network: String(network),
        conversation,
        text,
      };
    } else {
      event = {
        id,
        at,
        protocol,
        direction: draft.direction ?? direction,
        type: draft.type,
        localId,
        remoteId,
        client: this.client,
        server: this.server,
        filtered: false,
        categories: [],
      };
      if (draft.subtype !== undefined) event.subtype = draft.subtype;
      if (network !== undefined) event.network = String(network);
      if (conversation !== undefined) event.conversation = conversation;
      if (text !== undefined) event.text = text;
    }
    if (draft.file !== undefined) event.file = Object.freeze({ ...draft.file });
    let data = draft.data !== undefined ? toEventData(draft.data) : undefined;
    // Only what a protocol session read is about a user; an `encrypted` note is about the connection.
    const marked = data?.identity === 'inferred' || data?.identity === 'unknown';
    if (marked || (this.midstream && !this.sawLogin && this.session !== undefined && event.type !== 'encrypted')) data = this.markIdentity(event, data);
    // A copy with only text, number and flag values (a JavaScript plugin is not type-checked), frozen: filters
    // read it, nothing changes it.
    if (data !== undefined) event.data = Object.freeze(data);
    if (draft.messageKey !== undefined) event.messageKey = String(draft.messageKey);
    if (event.type === 'login' && event.data !== undefined) this.clientVersion = clientVersionOf(event.data) ?? this.clientVersion;
    if ((event.type === 'login' || event.type === 'logout') && this.deps.identity) this.deps.identity.record(event, this.client.ip);
    const users = this.deps.policy.localUsers;
    if (event.localId.length > 0) {
      this.lastLocalId = event.localId;
      if (this.heldCircumvention) this.releaseCircumvention(event.localId);
    }
    if (users && !this.closed && event.localId !== this.localUserId) {
      // Only when the user's id changes (login, nick change): no key built per event.
      this.localUserId = event.localId;
      this.localUser = users.move(this.localUser, localUserKey(event.protocol, event.localId, this.server));
    }
    return event;
  }

  /**
   * A connection joined mid-way whose login was not seen (or an event its session marked itself, e.g. after
   * lost bytes): its ids come from other evidence. An id the session
   * could not tell is looked up among the logins seen from the same client address (`inferred`), else made
   * from that address (`unknown`, `*@ip`); an id the session read from the traffic is `inferred`. Never dropped.
   */
  private markIdentity(event: ImEvent, data: EventData | undefined): EventData | undefined {
    if (event.type === 'login' && !isUnknownId(event.localId)) {
      this.sawLogin = true;
      return data;
    }
    // The session's own mark stands, unless core can name the user it could not.
    let mark: IdentityMark = data?.identity === 'unknown' ? 'unknown' : 'inferred';
    if (isUnknownId(event.localId)) {
      const known = this.deps.identity?.localUser(this.client.ip, event.protocol);
      if (known !== undefined) {
        event.localId = known;
        mark = 'inferred';
      } else {
        event.localId = unknownId(this.client.ip);
        mark = 'unknown';
      }
    }
    // `data` is the event's own fresh copy (toEventData), not yet frozen: marked in place.
    const marked = (data ?? {}) as Record<string, EventDataValue>;
    marked['identity'] = mark;
    return marked;
  }

  protocolError(direction: Direction, code: string, message: string): void {
    this.errorsLogged++;
    if (this.protocolErrors.length < MAX_LOGGED_ERRORS) this.protocolErrors.push({ direction, code, message });
    if (this.errorsLogged <= MAX_LOGGED_ERRORS) {
      this.log.warn({ protocol: this.protocol?.name, direction, code }, `protocol error: ${message}`);
      if (this.errorsLogged === MAX_LOGGED_ERRORS) this.log.warn('further protocol errors on this connection are not logged');
    }
  }

  /** Bytes for the local client, e.g. a policy notice; false when the protocol cannot answer (now). */
  respond(text: string, about: ImEvent): boolean {
    const session = this.session;
    if (session?.respondLater && this.protocol && !this.encrypted && this.later(session, text, about)) return true;
    if (!session?.respond) return false;
    return this.injectBuilt(() => this.host.call('session', this.protocol!.name, session, 'respond', text, about), 'respond', 'incoming', 'could not build a response');
  }

  /** The session takes `text` to deliver inside what the server sends next (HTTP transports); false: it cannot. */
  private later(session: ProtocolSession, text: string, about: ImEvent): boolean {
    try {
      return this.host.call('session', this.protocol!.name, session, 'respondLater', text, about) === true;
    } catch (error) {
      this.log.error({ plugin: this.protocol?.name, hook: 'respondLater', err: error }, 'could not queue a response');
      return false;
    }
  }

  /**
   * A blocked frame's refusal goes back to its sender (the client for an outgoing frame, the server for an
   * incoming one), through the flow towards that side so it is ordered with what already went there.
   */
  refuse(frame: Frame, direction: Direction): void {
    if (!frame.refusal) return;
    this.injectBuilt(() => this.host.call('frame', this.protocol!.name, frame, 'refusal'), 'refusal', opposite(direction), 'could not build the refusal of a blocked frame');
  }

  /**
   * Bytes a plugin hook builds (a response, a refusal) written between two frames of the flow `towards`; false
   * when there is nothing to write: no protocol, encrypted, the hook failed or built no bytes.
   */
  private injectBuilt(build: () => Uint8Array | undefined, hook: 'respond' | 'refusal', towards: Direction, failure: string): boolean {
    if (!this.protocol || this.encrypted) return false;
    let bytes: Uint8Array | undefined;
    try {
      bytes = build();
    } catch (error) {
      this.log.error({ plugin: this.protocol.name, hook, err: error }, failure);
      return false;
    }
    if (!(bytes instanceof Uint8Array) || bytes.length === 0) return false;
    this.flows[towards].inject(bytes);
    return true;
  }

  /**
   * Policy refused this client: nothing more is forwarded either way; the client gets what was already written
   * (the reply) and then the end of the stream; the server connection is closed.
   */
  disconnect(reason: string): void {
    if (this.disconnecting) return;
    if (this.deps.options.keepDisconnected) {
      this.log.info({ protocol: this.protocol?.name, reason }, 'policy would disconnect the client here (replay: the capture goes on)');
      return;
    }
    this.disconnecting = true;
    this.closeReason ??= `policy: ${reason}`;
    this.log.info({ protocol: this.protocol?.name, reason }, 'disconnecting the client: policy');
    this.clientSocket.end();
    this.upstreamSocket.destroy();
    // The client has the reply and the end of the stream; one that keeps its side open is cut after a while.
    setTimeout(() => this.clientSocket.destroy(), DISCONNECT_GRACE_MS).unref?.();
  }

  /** Set once policy disconnected the client: flows write nothing more. */
  disconnecting = false;

  /** One side finished sending: pass the half-close on once everything before it is forwarded. */
  endOf(direction: Direction): void {
    this.firstGone ??= direction === 'outgoing' ? 'client' : 'server';
    const target = direction === 'outgoing' ? this.upstreamSocket : this.clientSocket;
    if (!target.destroyed) target.end();
  }

  /** No traffic either way for `connections.idleTimeoutMs`: said at info level, since the user sees a drop. */
  private closeIdle(): void {
    if (this.closed) return;
    this.log.info({ idleTimeoutMs: this.deps.options.idleTimeoutMs }, `connection closed: no traffic for ${this.deps.options.idleTimeoutMs} ms (connections.idleTimeoutMs)`);
    this.destroy('idle timeout');
  }

  destroy(reason: string): void {
    clearTimeout(this.sniffTimer);
    if (this.closed) return;
    this.releaseCircumvention('');
    this.closeReason ??= reason;
    this.log.debug({ reason }, 'connection closing');
    this.clientSocket.destroy();
    this.upstreamSocket.destroy();
    for (const socket of this.rawSockets) socket.destroy();
  }

  /** Ends both directions gracefully (shutdown): what was received is forwarded first. */
  end(): void {
    if (this.closed) return;
    this.closeReason ??= 'shutdown';
    this.clientSocket.end();
    this.upstreamSocket.end();
  }

  /**
   * A socket closed. After a graceful end in both directions the other socket is closing too; otherwise (reset,
   * error) the other side is cut at once, since nothing more can cross.
   */
  private onSocketClose(): void {
    const clientClosed = this.clientSocket.closed;
    const upstreamClosed = this.upstreamSocket.closed;
    if (!clientClosed || !upstreamClosed) {
      this.firstGone ??= clientClosed ? 'client' : 'server';
      const other = clientClosed ? this.upstreamSocket : this.clientSocket;
      // A client being disconnected by policy still has its reply to receive: it is ending, not cut.
      if (!(this.flows.outgoing.hasEnded && this.flows.incoming.hasEnded) && !(this.disconnecting && other === this.clientSocket)) other.destroy();
      return;
    }
    if (this.closed) return;
    this.releaseCircumvention('');
    this.closed = true;
    if (this.idleWatch) idleSweepFor(this.deps.options.idleTimeoutMs).unwatch(this.idleWatch);
    this.idleWatch = undefined;
    this.localUser = this.deps.policy.localUsers?.move(this.localUser, undefined);
    // A reset while a filter decides: the frames already received still become events (the policy's hook
    // timeout bounds the wait). The close is reported after them, so its count and the listeners (the
    // engine's shutdown waits for them before closing the loggers) see every event.
    if (this.pending) void this.settled().then(() => this.reportClosed());
    else this.reportClosed();
  }

  private reportClosed(): void {
    // The one info line per connection closed: what went through, and why it ended (out = client to server).
    this.log.info(
      {
        protocol: this.protocol?.name ?? null,
        bytesOut: this.bytes.outgoing,
        bytesIn: this.bytes.incoming,
        events: this.eventCount,
        durationMs: Date.now() - this.startedAt,
        reason: this.closeReason ?? `${this.firstGone ?? 'client'} closed`,
        ...(this.encrypted ? { encrypted: this.encrypted } : {}),
        ...(this.intercepted ? { intercepted: this.intercepted.how } : {}),
      },
      'connection closed',
    );
    for (const listener of this.closeListeners) listener();
  }
}

/**
 * One direction of a connection: reads from `source`, parses, judges and writes to `target`, in order.
 * While an asynchronous policy decision is pending, or `target` is full, `source` is paused.
 */
/** Bytes a socket has read and written: any change is traffic for the idle timeout. In-memory streams (replay) have none. */
function socketTraffic(socket: Duplex): number {
  return socket instanceof Socket ? socket.bytesRead + socket.bytesWritten : 0;
}

/** The stash of a flow that is not detached: shared, never written (detach replaces it with the inbox). */
const EMPTY: Buffer[] = [];

class Flow {
  private mode: 'wait' | 'parse' | 'raw' = 'wait';
  /** Chunks received and not yet given to the parser (held while busy or before the mode is known). */
  private inbox: Buffer[] = [];
  /** Chunks given to the parser whose bytes it has not yet returned as frames: what to forward if it fails. */
  private held: Buffer[] = [];
  private heldBytes = 0;
  private busy = false;
  private ended = false;
  private finished = false;
  private pauses = new Set<'target' | 'policy' | 'yield' | 'journal' | 'turn'>();
  /** Chunks wait in `inbox` for the next turn's budget (see {@link TurnBudget}). */
  private deferred = false;
  /** Reading from a socket: shares the relay's turn budget. A replay's flows never wait (their events carry the capture's time). */
  private budget: TurnBudget | undefined;
  private readonly conn: ProxyConnection;
  private readonly onData = (chunk: Buffer) => this.receive(chunk);
  private readonly onEnd = () => this.sourceEnded();
  private readonly onDrain = () => this.resume('target');
  /** Bytes lost (capture gaps) since the last chunk received, and the chunks that follow a loss. */
  private lostBefore = 0;
  /** Made at the first gap: only replays of captures with losses have any. */
  private gaps: WeakMap<Buffer, number> | undefined;
  /** While detached: bytes that arrive before the TLS socket takes the source over. */
  private stash: Buffer[] = EMPTY;
  private readonly onStash = (chunk: Buffer) => {
    this.stash.push(chunk);
  };
  /** Callers of {@link whenIdle}, resolved once nothing is pending. */
  private idleWaiters: Array<() => void> | undefined;

  constructor(
    conn: ProxyConnection,
    readonly direction: Direction,
    private source: Duplex,
    private target: Duplex,
  ) {
    this.conn = conn;
    this.budget = source instanceof Socket ? this.conn.deps.turnBudget : undefined;
    this.listen();
  }

  private listen(): void {
    this.source.on('data', this.onData);
    this.source.on('end', this.onEnd);
    this.target.on('drain', this.onDrain);
    // A paused socket still emits 'end' when its buffer is empty: a client that half-closed right after its
    // SOCKS request did so before this listener existed.
    if (this.source.readableEnded) this.ended = true;
  }

  /** Reads `source` and writes `target` from now on (the TLS sockets once intercepted). */
  attach(source: Duplex, target: Duplex): void {
    this.source = source;
    this.target = target;
    this.budget = source instanceof Socket ? this.conn.deps.turnBudget : undefined;
    this.listen();
    // Waiting for the old target to drain means nothing for the new one.
    this.pauses.delete('target');
    if (this.pauses.size === 0) source.resume();
    else source.pause();
  }

  /**
   * Stops parsing the current source (a TLS handshake is about to take it over): what was received and not
   * processed, and whatever arrives until {@link release}, is kept as the start of the TLS stream.
   */
  detach(): void {
    this.source.off('data', this.onData);
    this.source.off('end', this.onEnd);
    this.target.off('drain', this.onDrain);
    this.stash = this.inbox;
    this.inbox = [];
    // Deferred chunks are in the stash now; the TLS socket reads on once attached.
    this.deferred = false;
    this.pauses.delete('turn');
    this.source.on('data', this.onStash);
    this.source.pause();
  }

  /** The bytes kept since {@link detach}; the source is left paused, for the TLS socket to read. */
  release(): Buffer[] {
    this.source.off('data', this.onStash);
    this.source.pause();
    const stash = this.stash;
    this.stash = EMPTY;
    return stash;
  }

  /** Writes bytes now, whatever the flow is doing (the frame accepting STARTTLS, when passed through). */
  writeNow(chunks: Uint8Array[]): void {
    this.write(chunks);
  }

  /** The chunks received and not yet processed: while the protocol is sniffed, every byte seen so far. */
  get waiting(): readonly Buffer[] {
    return this.inbox;
  }

  get hasEnded(): boolean {
    return this.ended;
  }

  /** The source sent its last byte (a socket's 'end', or the end of a replayed stream). */
  sourceEnded(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.mode === 'wait') this.conn.sniffEnded();
    else if (!this.busy && !this.deferred) this.finish();
  }

  start(mode: 'parse' | 'raw'): void {
    this.mode = mode;
    this.process();
  }

  /**
   * `bytesMissing` bytes of this direction were lost (a capture's gap): the session hears of it right before
   * the next chunk is parsed (`ProtocolSession.gap`), in order with the chunks still waiting.
   */
  gap(bytesMissing: number): void {
    if (this.mode === 'raw' || bytesMissing <= 0) return;
    this.lostBefore += bytesMissing;
  }

  receive(chunk: Buffer): void {
    if (this.lostBefore > 0) {
      (this.gaps ??= new WeakMap()).set(chunk, this.lostBefore);
      this.lostBefore = 0;
    }
    this.conn.bytes[this.direction] += chunk.length;
    if (this.mode === 'raw' && !this.busy && this.inbox.length === 0) {
      this.write([chunk]);
      return;
    }
    this.inbox.push(chunk);
    if (this.mode === 'wait') this.conn.sniffChunk(this.direction);
    else if (!this.busy) this.process();
  }

  /** Stops parsing: whatever the parser held is forwarded as it arrived, then everything else unparsed. */
  toRaw(): void {
    if (this.mode === 'raw') return;
    this.mode = 'raw';
    // While a policy decision is pending, frames that came before the held bytes are still to be forwarded:
    // the held bytes follow them in afterAsync.
    if (this.busy) return;
    this.flushHeld();
    this.process();
  }

  private flushHeld(): void {
    if (this.heldBytes === 0) return;
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    this.write(held);
  }

  /** Writes bytes that are not from the stream (a response), between two frames. */
  inject(bytes: Uint8Array): void {
    this.write([bytes]);
  }

  /** A policy decision is pending, or received chunks wait for the next turn: events are still to come. */
  get pending(): boolean {
    return this.busy || this.deferred;
  }

  /**
   * Resolves once no policy decision is pending and every chunk received so far is processed (its events are
   * in the sink); undefined when that is already so. A replay waits for it before going on, and before ending
   * a connection, so asynchronous decisions cannot lose the last events.
   */
  whenIdle(): Promise<void> | undefined {
    if (!this.pending) return undefined;
    return new Promise((resolve) => (this.idleWaiters ??= []).push(resolve));
  }

  private settle(): void {
    if (!this.idleWaiters || this.pending) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = undefined;
    for (const resolve of waiters) resolve();
  }

  /** The next turn's budget is here (called by the {@link TurnBudget}). */
  runDeferred(): void {
    if (!this.deferred) return;
    this.deferred = false;
    this.resume('turn');
    this.process();
  }

  private process(): void {
    if (this.busy || this.mode === 'wait' || this.deferred) return;
    while (this.inbox.length > 0) {
      if (this.mode === 'raw') {
        this.write([this.inbox.shift()!]);
        continue;
      }
      if (this.budget?.exhausted) {
        // This turn's budget is spent: wait for the next one, reading nothing more meanwhile.
        this.deferred = true;
        this.pause('turn');
        this.budget.wait(this);
        return;
      }
      const chunk = this.inbox.shift()!;
      this.budget?.charge(chunk.length);
      const lost = this.gaps?.get(chunk);
      const pending = lost === undefined ? this.parse(chunk) : this.afterGap(lost, chunk);
      if (!pending && chunk.length >= YIELD_AFTER_BYTES && !this.pauses.has('yield')) {
        // A large chunk took a while to parse: let the other connections have a turn before reading more
        // from this one, so one bulk sender cannot stall everyone's chat for seconds.
        this.pause('yield');
        setImmediate(() => this.resume('yield'));
      }
      if (pending) {
        this.busy = true;
        this.pause('policy');
        pending.then(
          () => this.afterAsync(),
          (error: unknown) => {
            this.conn.log.error({ err: error }, 'frame handling failed');
            this.afterAsync();
          },
        );
        return;
      }
    }
    if (this.ended) this.finish();
    this.settle();
  }

  private afterAsync(): void {
    this.busy = false;
    if (this.mode === 'raw') this.flushHeld();
    this.resume('policy');
    this.process();
  }

  /** Parses one chunk and handles its frames; returns a promise only when policy answered asynchronously. */
  private parse(chunk: Buffer): Promise<void> | undefined {
    const session = this.conn.session!;
    const protocol = this.conn.protocol!;
    // Held from here on: if the parser fails, these bytes are forwarded as they came.
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    let frames: Frame[];
    try {
      frames = this.conn.host.call('session', protocol.name, session, 'push', this.direction, chunk);
    } catch (error) {
      this.conn.log.error({ plugin: protocol.name, hook: 'push', err: error }, 'protocol parser failed');
      this.conn.switchToRaw(`parser failed: ${describeError(error)}`);
      return undefined;
    }
    const consumed = frameBytes(frames);
    if (consumed === undefined) {
      this.conn.log.error({ plugin: protocol.name, hook: 'push' }, 'protocol parser returned something that is not a list of frames');
      this.conn.switchToRaw('parser returned no frames');
      return undefined;
    }
    if (consumed > this.heldBytes) {
      // The parser returned bytes it was never given: its frames cannot be trusted, the held bytes can.
      this.conn.log.error({ plugin: protocol.name, hook: 'push', consumed, held: this.heldBytes }, 'protocol parser returned more bytes than it received');
      this.conn.switchToRaw('parser accounting error');
      return undefined;
    }
    this.dropHeld(consumed);
    if (this.heldBytes > protocol.maxFrameSize + chunk.length) {
      this.conn.log.error({ plugin: protocol.name, held: this.heldBytes, max: protocol.maxFrameSize }, 'protocol parser holds more than its frame limit');
      const pendingFrames = this.handleFrames(frames, 0, []);
      if (pendingFrames) return pendingFrames.then(() => this.conn.switchToRaw('parser exceeded its frame limit'));
      this.conn.switchToRaw('parser exceeded its frame limit');
      return undefined;
    }
    return this.handleFrames(frames, 0, []);
  }

  /** Tells the session of lost bytes (what it held comes back as frames), then parses the chunk after them. */
  private afterGap(lost: number, chunk: Buffer): Promise<void> | undefined {
    const session = this.conn.session!;
    const protocol = this.conn.protocol!;
    if (session.gap) {
      let frames: Frame[];
      try {
        frames = this.conn.host.call('session', protocol.name, session, 'gap', this.direction, lost);
      } catch (error) {
        this.conn.log.error({ plugin: protocol.name, hook: 'gap', err: error }, 'protocol parser failed at a gap');
        this.inbox.unshift(chunk);
        this.conn.switchToRaw(`parser failed: ${describeError(error)}`);
        return undefined;
      }
      const consumed = frameBytes(frames);
      if (consumed === undefined || consumed > this.heldBytes) {
        this.conn.log.error({ plugin: protocol.name, hook: 'gap' }, 'protocol parser returned bytes it did not hold at a gap');
        this.inbox.unshift(chunk);
        this.conn.switchToRaw('parser accounting error');
        return undefined;
      }
      this.dropHeld(consumed);
      const pending = this.handleFrames(frames, 0, []);
      if (pending) return pending.then(() => (this.mode === 'parse' ? this.parse(chunk) : (this.inbox.unshift(chunk), undefined)));
    }
    return this.parse(chunk);
  }

  private dropHeld(count: number): void {
    this.heldBytes -= count;
    while (count > 0) {
      const first = this.held[0]!;
      if (first.length <= count) {
        this.held.shift();
        count -= first.length;
      } else {
        this.held[0] = first.subarray(count);
        count = 0;
      }
    }
  }

  private handleFrames(frames: Frame[], start: number, out: Uint8Array[]): Promise<void> | undefined {
    const conn = this.conn;
    for (let i = start; i < frames.length; i++) {
      const frame = frames[i]!;
      if (conn.deps.options.debug) this.debugFrame(frame);
      if (frame.error) conn.protocolError(this.direction, frame.error.code, frame.error.message);
      if (!frame.events || frame.events.length === 0) {
        out.push(frame.replacement ?? frame.raw);
      } else {
        const events = completeAll(conn, frame.events, this.direction);
        const policy = conn.deps.policy;
        const decision = policy.isEmpty || policy.passesUnseen(events) ? NO_DECISION : policy.decide(events);
        if (isPromiseLike(decision)) {
          // Forward what is decided so far, keep the frame's view alive until the decision arrives.
          this.write(out);
          return decision.then((d) => {
            const next: Uint8Array[] = [];
            this.apply(frame, events, d, next);
            if (frame.upgrade === 'tls') return this.upgrade(frames, i, next, 0);
            return this.handleFrames(frames, i + 1, next);
          });
        }
        const before = out.length;
        this.apply(frame, events, decision, out);
        if (frame.upgrade === 'tls') return this.upgrade(frames, i, out, before);
        continue;
      }
      if (frame.upgrade === 'tls') return this.upgrade(frames, i, out, out.length - 1);
    }
    this.write(out);
    return undefined;
  }

  /**
   * Frame `index` switched the connection to TLS (`out[upgradeAt..]` is what it forwards). What the parser made
   * of the bytes after it is no protocol: those are TLS records. Core then intercepts (the session goes on with
   * the decrypted bytes), or relays the rest of the connection unread.
   */
  private upgrade(frames: Frame[], index: number, out: Uint8Array[], upgradeAt: number): Promise<void> | undefined {
    const after: Uint8Array[] = [];
    // Copied: the parser may reuse the memory behind its frames once the session reads decrypted bytes.
    for (let i = index + 1; i < frames.length; i++) after.push(Buffer.from(frames[i]!.raw));
    // Bytes the parser still holds came after the upgrade frame: TLS records too (core's own chunks, not copied).
    for (const held of this.held) after.push(held);
    this.dropHeld(this.heldBytes);
    this.write(out.slice(0, upgradeAt));
    return this.conn.startTls(this.direction, out.slice(upgradeAt), after);
  }

  private apply(frame: Frame, events: ImEvent[], decision: FrameDecision, out: Uint8Array[]): void {
    const conn = this.conn;
    if (decision.block) {
      conn.log.info({ events: events.map((e) => ({ type: e.type, localId: e.localId, remoteId: e.remoteId, categories: e.categories })) }, 'frame blocked by policy');
      conn.refuse(frame, this.direction);
      if (decision.responses.length > 0) {
        // A response to an incoming frame goes to the same socket as the frames before it: those go first.
        this.write(out);
        out.length = 0;
        // About the event that was stopped, so the reply can go to its conversation.
        const about = events.find((e) => e.filtered) ?? events[0]!;
        for (const text of decision.responses) conn.respond(text, about);
      }
      if (decision.disconnect) conn.disconnect(decision.reason ?? 'policy');
    } else if (decision.text !== undefined) {
      let rewritten: Uint8Array | undefined;
      try {
        if (frame.rewrite) rewritten = conn.host.call('frame', conn.protocol!.name, frame, 'rewrite', decision.text);
      } catch (error) {
        conn.log.error({ plugin: conn.protocol?.name, hook: 'rewrite', err: error }, 'rewrite failed; original frame forwarded');
      }
      if (rewritten) out.push(rewritten);
      else {
        for (const event of events) delete event.deliveredText;
        conn.log.warn({ protocol: conn.protocol?.name }, 'a content plugin changed the text, but this frame cannot be rewritten; forwarded as it was');
        out.push(frame.replacement ?? frame.raw);
      }
    } else {
      out.push(frame.replacement ?? frame.raw);
    }
    if (!decision.block && conn.session?.respond && conn.deps.policy.noticeActive) {
      // The monitoring notice follows the frame that made it due (a login, a first message).
      conn.deps.policy.offerNotice(
        events,
        (text, about) => {
          this.write(out);
          out.length = 0;
          return conn.respond(text, about);
        },
        noticeClient(conn.session.clientId, conn.client.ip),
      );
    }
    conn.eventCount += events.length;
    conn.deps.sink.accept(events);
    if (conn.deps.sink.blocked && !this.pauses.has('journal')) {
      // The journal is full and configured to block: relaying waits until the loggers catch up.
      this.pause('journal');
      void conn.deps.sink.whenUnblocked().then(() => this.resume('journal'));
    }
  }

  private write(chunks: Uint8Array[]): void {
    // The events of these frames reach the journal's file before the frames reach the other side.
    this.conn.deps.sink.commit();
    if (chunks.length === 0 || this.target.destroyed || this.conn.disconnecting) return;
    const merged = mergeAdjacent(chunks);
    let ok = true;
    if (merged.length === 1) ok = this.target.write(merged[0]!);
    else {
      this.target.cork();
      for (const chunk of merged) ok = this.target.write(chunk) && ok;
      this.target.uncork();
    }
    if (!ok) this.pause('target');
  }

  private pause(reason: 'target' | 'policy' | 'yield' | 'journal' | 'turn'): void {
    if (this.pauses.size === 0) this.source.pause();
    this.pauses.add(reason);
  }

  private resume(reason: 'target' | 'policy' | 'yield' | 'journal' | 'turn'): void {
    if (!this.pauses.delete(reason)) return;
    if (this.pauses.size === 0 && !this.source.destroyed) this.source.resume();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.mode === 'parse' && this.conn.session?.end) {
      const session = this.conn.session;
      try {
        const frames = this.conn.host.call('session', this.conn.protocol!.name, session, 'end', this.direction);
        let consumed = 0;
        for (const frame of frames) consumed += frame.raw.length;
        if (consumed <= this.heldBytes) {
          this.dropHeld(consumed);
          this.write(frames.map((f) => f.raw));
        }
      } catch (error) {
        this.conn.log.error({ plugin: this.conn.protocol?.name, hook: 'end', err: error }, 'protocol parser failed at end of stream');
      }
    }
    if (this.heldBytes > 0) {
      this.write(this.held);
      this.held = [];
      this.heldBytes = 0;
    }
    this.conn.endOf(this.direction);
  }

  private debugFrame(frame: Frame): void {
    // A frame that carries a password is never shown, not even in part.
    const preview =
      frame.secret === true
        ? '(withheld: it carries a secret)'
        : latin1(frame.raw.subarray(0, 160)).replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
    this.conn.log.debug({ direction: this.direction, bytes: frame.raw.length, events: frame.events?.length ?? 0, frame: preview }, 'frame');
  }
}

let lastIsoMs = -1;
let lastIso = '';

/**
 * ISO time, formatted once per millisecond: a busy connection makes many events in the same one. A capture's
 * times have fractions of a millisecond, which Date drops: the whole millisecond is the key.
 */
function isoTime(ms: number): string {
  const whole = Math.trunc(ms);
  if (whole !== lastIsoMs) {
    lastIsoMs = whole;
    lastIso = new Date(whole).toISOString();
  }
  return lastIso;
}

const NO_DECISION: FrameDecision = Object.freeze({ block: false, responses: [] }) as FrameDecision;

/** A frame's events, completed: no callback per frame, and an array of their number (most frames carry one). */
function completeAll(conn: ProxyConnection, drafts: readonly EventDraft[], direction: Direction): ImEvent[] {
  if (drafts.length === 1) return [conn.completeEvent(drafts[0]!, direction)];
  const events = new Array<ImEvent>(drafts.length);
  for (let i = 0; i < drafts.length; i++) events[i] = conn.completeEvent(drafts[i]!, direction);
  return events;
}

/** The bytes a parser's frames account for, in one pass; undefined when it returned no list of frames. */
function frameBytes(frames: unknown): number | undefined {
  if (!Array.isArray(frames)) return undefined;
  let bytes = 0;
  for (const frame of frames as Array<Frame | undefined>) {
    if (!(frame?.raw instanceof Uint8Array)) return undefined;
    bytes += frame.raw.length;
  }
  return bytes;
}

/** Consecutive views of one buffer become one view, so a chunk of many pass-through frames is one write. */
function mergeAdjacent(chunks: Uint8Array[]): Uint8Array[] {
  if (chunks.length < 2) return chunks;
  const out: Uint8Array[] = [];
  // The run being merged: its first chunk and its length; one view is made per run, not per chunk joined.
  let first = chunks[0]!;
  let length = first.length;
  const flush = () => {
    if (length === 0) return;
    out.push(length === first.length ? first : new Uint8Array(first.buffer, first.byteOffset, length));
  };
  for (let i = 1; i < chunks.length; i++) {
    const next = chunks[i]!;
    if (next.length === 0) continue;
    if (next.buffer === first.buffer && first.byteOffset + length === next.byteOffset) {
      length += next.length;
    } else {
      flush();
      first = next;
      length = next.length;
    }
  }
  flush();
  return out;
}
