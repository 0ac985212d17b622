/**
 * The MSN sessions carried by the HTTP gateway, shared by every HTTP connection of the plugin: one MSN session is
 * many short requests, on one keep-alive connection or on several, and each response names the session id the
 * next request must carry. A session is found by any of its recent ids; it keeps the MSNP state (`MsnSession`:
 * who the local user is, the switchboard's participants, the version) across those requests, and the replies
 * imspect owes its client until a response of the session can carry them.
 *
 * Bounded and expiring: sessions idle for longer than the idle time are forgotten, and past the limit the least
 * recently used go first. No I/O, no timers: the clock is read when the map is used.
 */
import type { Endpoint, ServerEndpoint } from '@imspect/sdk';
import { MsnSession, type MsnSessionOptions } from './session.js';

/** A session's ids kept for lookups: the newest, and a few before it (a request retried after a broken connection). */
const IDS_PER_SESSION = 4;
/** Bytes of replies waiting for a response of a session (notices and blocked replies are short and rate-limited). */
const MAX_QUEUED_BYTES = 64 * 1024;

export interface GatewaySessionsOptions {
  /** Most sessions remembered (default 10,000). */
  maxSessions?: number;
  /** A session not used for this long is forgotten (default 10 minutes; clients poll every few seconds). */
  idleMs?: number;
  now?: () => number;
}

/** One MSN session over the gateway: a notification server or a switchboard session. */
export class GatewaySession {
  /** The MSNP state, fed each request's and response's body as one stream per direction. */
  readonly msn: MsnSession;
  /** The ids the gateway gave it, oldest first. */
  readonly ids: string[] = [];
  /** `GW-IP` of the last response: where the client sends its next request. */
  gatewayIp: string | undefined;
  closed = false;
  lastUsed: number;
  private queued: Uint8Array[] = [];
  private queuedBytes = 0;

  constructor(
    /** `NS` or `SB` from the open request; undefined when the session was joined mid-way. */
    readonly server: 'NS' | 'SB' | undefined,
    msn: MsnSession,
    now: number,
  ) {
    this.msn = msn;
    this.lastUsed = now;
  }

  /** MSNP bytes for the client (a reply, a notice), to be appended to the body of the session's next response. */
  queue(bytes: Uint8Array): boolean {
    if (this.queuedBytes + bytes.byteLength > MAX_QUEUED_BYTES) return false;
    this.queued.push(bytes);
    this.queuedBytes += bytes.byteLength;
    return true;
  }

  /** What is queued for the client, taken. */
  takeQueued(): Uint8Array[] {
    const out = this.queued;
    this.queued = [];
    this.queuedBytes = 0;
    return out;
  }

  get hasQueued(): boolean {
    return this.queued.length > 0;
  }
}

export class GatewaySessions {
  private readonly byId = new Map<string, GatewaySession>();
  private readonly sessions = new Set<GatewaySession>();
  private readonly maxSessions: number;
  private readonly idleMs: number;
  private readonly now: () => number;

  constructor(
    private readonly sessionOptions: MsnSessionOptions,
    options: GatewaySessionsOptions = {},
  ) {
    this.maxSessions = options.maxSessions ?? 10_000;
    this.idleMs = options.idleMs ?? 10 * 60_000;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.sessions.size;
  }

  /**
   * A new session (an open request, or an id not seen before). `server` is the MSN server it goes to (the open
   * request's `IP`), which login and logout events name as the other party, as over TCP.
   */
  open(kind: 'NS' | 'SB' | undefined, client: Endpoint, server: ServerEndpoint, maxFrameSize: number): GatewaySession {
    const now = this.now();
    this.prune(now);
    // Without a listener and routes: the client never connects to the servers a gateway session names (XFR, RNG);
    // it asks the gateway to, so nothing is rewritten.
    const { routes: _routes, ...options } = this.sessionOptions;
    const session = new GatewaySession(kind, new MsnSession({ client, server, maxFrameSize }, options), now);
    this.sessions.add(session);
    return session;
  }

  /** The live session with this id (touched: it stays remembered), or undefined. */
  find(id: string): GatewaySession | undefined {
    const session = this.byId.get(id);
    if (!session) return undefined;
    const now = this.now();
    if (session.closed || now - session.lastUsed > this.idleMs) {
      this.forget(session);
      return undefined;
    }
    this.touch(session, now);
    return session;
  }

  /** The gateway named `id` for the session's next request. */
  remember(session: GatewaySession, id: string): void {
    if (session.closed) return;
    const owner = this.byId.get(id);
    if (owner && owner !== session) this.dropId(owner, id);
    if (!session.ids.includes(id)) {
      session.ids.push(id);
      while (session.ids.length > IDS_PER_SESSION) this.byId.delete(session.ids.shift()!);
    }
    this.byId.set(id, session);
    this.touch(session, this.now());
  }

  /** The gateway closed the session (`Session=close`). */
  close(session: GatewaySession): void {
    session.closed = true;
    this.forget(session);
  }

  private touch(session: GatewaySession, now: number): void {
    session.lastUsed = now;
    // Insertion order is recency order: the first sessions are the least recently used.
    this.sessions.delete(session);
    this.sessions.add(session);
  }

  private dropId(session: GatewaySession, id: string): void {
    const at = session.ids.indexOf(id);
    if (at >= 0) session.ids.splice(at, 1);
    this.byId.delete(id);
  }

  private forget(session: GatewaySession): void {
    for (const id of session.ids) if (this.byId.get(id) === session) this.byId.delete(id);
    session.ids.length = 0;
    this.sessions.delete(session);
  }

  /** Forgets idle sessions (the least recently used come first, so the walk stops at the first live one), then the oldest while full. */
  private prune(now: number): void {
    for (const session of this.sessions) {
      if (now - session.lastUsed <= this.idleMs) break;
      this.forget(session);
    }
    for (const session of this.sessions) {
      if (this.sessions.size < this.maxSessions) break;
      this.forget(session);
    }
  }
}
