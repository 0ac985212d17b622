import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Direction, Endpoint, EventDraft, Frame, ImEvent, PluginLogger, ProtocolSession, ServerEndpoint } from '@imspect/sdk';
import type { PluginHost } from '../runtime/plugin-host.js';
import { BoundLogger } from './bound-logger.js';
import { EventCompletion } from './event-completion.js';
import { Flow } from './flow.js';
import { idleSweepFor, type IdleWatch } from './idle-sweep.js';
import { chooseAtStart, chooseProtocol, type Choosing, type ProtocolDecision, type StartDecision } from './protocol-choice.js';
import type { RegisteredProtocol } from './protocols.js';
import { refuse, respond } from './replies.js';
import { StreamPort } from './stream-port.js';
import { directTls, encryptedEvent, startTls, type TlsSteps } from './tls-takeover.js';
import { unreadableAction, type OicqHeader, type UnreadableKind } from './unreadable.js';
import type { ConnectionInfo, RelayDeps } from './relay-deps.js';

export { clientVersionOf } from './event-completion.js';

export type { ConnectionInfo, RelayDeps, RelayOptions } from './relay-deps.js';

/**
 * The connection a socket belongs to. The socket listeners are shared by every connection (an emitter calls them
 * with `this` set to itself): closures per socket cost a function and a context each, for thousands of idle
 * connections. Plain sockets under intercepted TLS keep theirs: their errors are still the connection's.
 */
const OWNER = Symbol('imspect.connection');

interface OwnedSocket extends Duplex {
  [OWNER]?: ProxyConnection;
}

function onClientError(this: OwnedSocket, error: NodeJS.ErrnoException): void {
  this[OWNER]!.destroy(`client socket error: ${error.code ?? error.message}`);
}

function onServerError(this: OwnedSocket, error: NodeJS.ErrnoException): void {
  this[OWNER]!.destroy(`server socket error: ${error.code ?? error.message}`);
}

function onSocketClose(this: OwnedSocket): void {
  this[OWNER]!.socketClosed(this);
}

type CloseListener = (connection: ProxyConnection) => void;

/** Most protocol errors one connection logs before it only counts them. */
const MAX_LOGGED_ERRORS = 20;
/** How long a client disconnected by policy may keep its side open after it was sent the reply. */
const DISCONNECT_GRACE_MS = 5_000;
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
  /** The flows' stream glue: the sockets they read and write. */
  private readonly ports: Record<Direction, StreamPort>;
  /** The events' completion and what it keeps per connection (local user, identity marks, circumvention). */
  private readonly events: EventCompletion;
  private errorsLogged = 0;
  /** Set while the protocol is being chosen: its time limit (the bytes seen so far wait in the flows' inboxes). */
  private sniffTimer: NodeJS.Timeout | undefined;
  /** How the protocol is being chosen while `sniffTimer` is set (see protocol-choice.ts). */
  private choosing: Choosing | undefined;
  private readonly midstream: boolean;
  private readonly greeted: boolean;
  private readonly listener: ServerEndpoint | undefined;
  private readonly via: ConnectionInfo['via'];
  /** TLS not intercepted was judged by `policy.unreadable` (once per connection). */
  private tlsReported = false;
  /** The connection's steps TLS takeover starts, made at its first use. */
  private tlsSteps: TlsSteps | undefined;
  /**
   * Why the connection's content is not visible, when it is encrypted: a TLS port, after STARTTLS, or a TLS
   * ClientHello where the port's protocol was expected (judged by `policy.unreadable`).
   */
  encrypted: 'tls-port' | 'starttls' | 'tls' | undefined;
  /** TLS was decrypted by imspect: on a TLS port, or after STARTTLS; the name the client was shown. */
  intercepted: { how: 'tls-port' | 'starttls'; name: string } | undefined;
  /** The first protocol errors, kept for summaries (replay); made at the first (most connections have none). */
  private firstErrors: Array<{ direction: Direction; code: string; message: string }> | undefined;
  private closed = false;
  /** The operational log's open line is written once, when the connection's handling is decided. */
  private openLogged = false;
  /** Why imspect closed the connection (error, idle, policy, shutdown, TLS refusal); first one wins. */
  private closeReason: string | undefined;
  /** The side that ended or dropped the connection first, when imspect did not close it. */
  private firstGone: 'client' | 'server' | undefined;
  /** The plain sockets under intercepted TLS ones. */
  private rawSockets: Duplex[] | undefined;
  /** This connection in the shared idle sweep (`connections.idleTimeoutMs`), while it is open. */
  private idleWatch: IdleWatch | undefined;
  /** Most connections have one listener (the engine's): an array only from the second. */
  private closeListeners: CloseListener | CloseListener[] | undefined;
  bytes: Record<Direction, number> = { outgoing: 0, incoming: 0 };
  eventCount = 0;

  /** The client software the user logged in with, as the protocol reported it (`client` / `version` in a login event's data). */
  get clientVersion(): string | undefined {
    return this.events.clientVersion;
  }

  /** The protected user of this connection as last seen in its events (login, nick change); undefined before. */
  get localId(): string | undefined {
    return this.events.lastLocalId;
  }

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
    this.events = new EventCompletion(deps, this.client, this.server, this.midstream, this.via, this);
    this.log = new BoundLogger(deps.log, { conn: this.id, client: `${info.client.ip}:${info.client.port}`, server: `${info.server.host}:${info.server.port}` });
    this.ports = { outgoing: new StreamPort(clientSocket, upstreamSocket), incoming: new StreamPort(upstreamSocket, clientSocket) };
    this.flows = {
      outgoing: this.ports.outgoing.connect(new Flow(this, 'outgoing', this.ports.outgoing)),
      incoming: this.ports.incoming.connect(new Flow(this, 'incoming', this.ports.incoming)),
    };
    for (const socket of [clientSocket, upstreamSocket]) {
      // Replaying a capture runs the same connection over in-memory streams: only real sockets have these.
      if (socket instanceof Socket) socket.setNoDelay(true);
      this.watch(socket, socket === clientSocket ? 'client' : 'server');
    }
    if (deps.options.idleTimeoutMs > 0 && (clientSocket instanceof Socket || upstreamSocket instanceof Socket)) {
      // One process-wide sweep rather than a timer per socket (see idle-sweep.ts). It reads the current sockets,
      // so the TLS sockets are timed once they take over.
      this.idleWatch = idleSweepFor(deps.options.idleTimeoutMs).watch(this);
    }
    const initial = info.initialClientData && info.initialClientData.length > 0 ? Buffer.from(info.initialClientData) : undefined;
    if (initial) this.flows.outgoing.receive(initial);
    const forced = info.protocol ? deps.registry.get(info.protocol) : undefined;
    if (info.protocol && !forced) this.log.warn({ protocol: info.protocol }, `protocol "${info.protocol}" is not loaded; relaying unparsed`);
    this.startWith(chooseAtStart({ port: info.server.port, forced, midstream: this.midstream, sniffTimeoutMs: deps.options.sniffTimeoutMs }, deps.registry));
  }

  private watch(socket: OwnedSocket, side: 'client' | 'server'): void {
    socket[OWNER] = this;
    socket.on('error', side === 'client' ? onClientError : onServerError);
    socket.on('close', onSocketClose);
  }

  /** @internal A socket of this connection closed (see {@link watch}). */
  socketClosed(socket: Duplex): void {
    // A plain socket under an intercepted TLS one: the TLS socket reports the close.
    if (socket === this.clientSocket || socket === this.upstreamSocket) this.onSocketClose();
  }

  /** `listener` is called with this connection: one function can serve every connection (the engine's). */
  onClose(listener: CloseListener): void {
    const listeners = this.closeListeners;
    if (listeners === undefined) this.closeListeners = listener;
    else if (typeof listeners === 'function') this.closeListeners = [listeners, listener];
    else listeners.push(listener);
  }

  /** @internal Bytes read and written on the current sockets, for the idle sweep: any change is traffic. */
  trafficCount(): number {
    return socketTraffic(this.clientSocket) + socketTraffic(this.upstreamSocket);
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
   * The first decision (protocol-choice.ts). `sniff` and `probe` look at the first bytes (either side) until they
   * decide, the stream ends, or time runs out; the flows hold the bytes meanwhile and nothing is forwarded.
   */
  private startWith(decision: StartDecision): void {
    switch (decision.kind) {
      case 'tls':
        this.protocol = decision.protocol;
        directTls(this, this.takeoverSteps(), decision.protocol);
        return;
      case 'sniff':
      case 'probe': {
        this.choosing = decision;
        this.sniffTimer = setTimeout(() => this.choose('timeout'), this.deps.options.sniffTimeoutMs);
        this.sniffTimer.unref?.();
        this.choose('outgoing');
        return;
      }
      default:
        this.carryOut(decision);
    }
  }

  /** Asks protocol-choice what `latest` (a side's bytes, its end, the time limit) decides, and does it. */
  private choose(latest: Direction | 'ended' | 'timeout'): void {
    const decision = chooseProtocol(
      this.choosing!,
      { port: this.server.port, latest, outgoing: this.flows.outgoing.waiting, incoming: this.flows.incoming.waiting },
      this.deps.registry,
    );
    if (decision.kind === 'wait') return;
    clearTimeout(this.sniffTimer);
    this.sniffTimer = undefined;
    this.choosing = undefined;
    this.carryOut(decision);
  }

  private carryOut(decision: Exclude<ProtocolDecision, { kind: 'wait' }>): void {
    switch (decision.kind) {
      case 'parse':
        // Before the session starts: its first frames may already name the user the event is then filed under.
        if (decision.ways !== undefined) this.events.holdCircumvention(decision.protocol.name, decision.ways, this.protocol?.name, this.session);
        this.begin(decision.protocol);
        return;
      case 'raw':
        this.beginRaw(decision.reason);
        return;
      case 'unreadable':
        this.unreadable(decision.what, decision.protocol, decision.reason, decision.qq, decision.tunnel);
        return;
    }
  }

  /** A flow still waiting for the protocol received a chunk. */
  sniffChunk(direction: Direction): void {
    if (this.sniffTimer) this.choose(direction);
  }

  /** A flow's source ended before the protocol was known. */
  sniffEnded(): void {
    if (this.sniffTimer) this.choose('ended');
  }

  /**
   * Traffic imspect recognises but cannot read (TLS it does not intercept, QQ, HTTP on an IM port): what
   * `policy.unreadable` says for `protocol` is done. `allow`: relayed, no event; `log`: relayed, one event;
   * `block`: one event marked blocked, then the connection is closed (a replay goes on to the capture's end).
   */
  private unreadable(kind: UnreadableKind, protocol: string, reason: string, qq?: OicqHeader, tunnel?: { host: string; port: number }): void {
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
    encryptedEvent(this, how, why, blocked);
  }

  /** What TLS takeover may do to this connection beyond its public members. */
  private takeoverSteps(): TlsSteps {
    this.tlsSteps ??= {
      begin: (protocol) => this.begin(protocol),
      beginRaw: (reason) => this.beginRaw(reason),
      logOpen: () => this.logOpen(),
      replaceSockets: (client, server, raw) => {
        this.rawSockets = raw;
        this.clientSocket = client;
        this.upstreamSocket = server;
        this.watch(client, 'client');
        this.watch(server, 'server');
      },
      firstTlsReport: () => {
        if (this.tlsReported) return false;
        this.tlsReported = true;
        return true;
      },
    };
    return this.tlsSteps;
  }

  /**
   * Frame `upgrade` in `direction` accepted STARTTLS. Returns a promise while the TLS sessions are being set up
   * (the flows are detached meanwhile), or undefined when the connection is relayed unread (no interception).
   * `upgradeBytes` is the accepting frame as it is to be forwarded; `after`, what followed it (already TLS).
   */
  startTls(direction: Direction, upgradeBytes: Uint8Array[], after: Uint8Array[]): Promise<void> | undefined {
    return startTls(this, this.takeoverSteps(), direction, upgradeBytes, after);
  }

  /** The first protocol errors (at most {@link MAX_LOGGED_ERRORS}), for summaries (replay). */
  get protocolErrors(): Array<{ direction: Direction; code: string; message: string }> {
    return this.firstErrors ?? [];
  }

  flow(direction: Direction): Flow {
    return this.flows[direction];
  }

  /** The sockets a direction's flow reads and writes (TLS takeover detaches and re-attaches them). */
  port(direction: Direction): StreamPort {
    return this.ports[direction];
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
    return this.events.complete(draft, direction, this.protocol?.name, this.session);
  }

  protocolError(direction: Direction, code: string, message: string): void {
    this.errorsLogged++;
    this.firstErrors ??= [];
    if (this.firstErrors.length < MAX_LOGGED_ERRORS) this.firstErrors.push({ direction, code, message });
    if (this.errorsLogged <= MAX_LOGGED_ERRORS) {
      this.log.warn({ protocol: this.protocol?.name, direction, code }, `protocol error: ${message}`);
      if (this.errorsLogged === MAX_LOGGED_ERRORS) this.log.warn('further protocol errors on this connection are not logged');
    }
  }

  /** Bytes for the local client, e.g. a policy notice; false when the protocol cannot answer (now). */
  respond(text: string, about: ImEvent): boolean {
    return respond(this, text, about);
  }

  /** A blocked frame's refusal goes back to its sender (see replies.ts). */
  refuse(frame: Frame, direction: Direction): void {
    refuse(this, frame, direction);
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

  /** @internal No traffic either way for `connections.idleTimeoutMs` (the idle sweep): said at info level, since the user sees a drop. */
  closeIdle(): void {
    if (this.closed) return;
    this.log.info({ idleTimeoutMs: this.deps.options.idleTimeoutMs }, `connection closed: no traffic for ${this.deps.options.idleTimeoutMs} ms (connections.idleTimeoutMs)`);
    this.destroy('idle timeout');
  }

  destroy(reason: string): void {
    clearTimeout(this.sniffTimer);
    if (this.closed) return;
    this.events.releaseCircumvention('', this.session);
    this.closeReason ??= reason;
    this.log.debug({ reason }, 'connection closing');
    this.clientSocket.destroy();
    this.upstreamSocket.destroy();
    if (this.rawSockets) for (const socket of this.rawSockets) socket.destroy();
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
    this.events.releaseCircumvention('', this.session);
    this.closed = true;
    if (this.idleWatch) idleSweepFor(this.deps.options.idleTimeoutMs).unwatch(this.idleWatch);
    this.idleWatch = undefined;
    this.events.close();
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
    const listeners = this.closeListeners;
    if (typeof listeners === 'function') listeners(this);
    else if (listeners) for (const listener of listeners) listener(this);
  }
}

/** Bytes a socket has read and written: any change is traffic for the idle timeout. In-memory streams (replay) have none. */
function socketTraffic(socket: Duplex): number {
  return socket instanceof Socket ? socket.bytesRead + socket.bytesWritten : 0;
}
