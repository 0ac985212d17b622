/**
 * Where a new MSN connection that reached imspect through a forward listener really belongs.
 *
 * Through a forward listener, imspect rewrites the server addresses in `XFR` and `RNG` to its own, so the
 * client's next connection (to a notification server or a switchboard) comes back to imspect. This map,
 * shared by all sessions of the plugin, remembers the real server: by the switchboard cookie for `XFR ... SB`
 * and `RNG` (the client presents it in `USR`/`ANS`), and by the client's address for `XFR ... NS` (the client
 * reconnects and starts with `VER`). For MSN's HTTP gateway, whose responses name the gateway address of the next
 * request (`GW-IP`, rewritten to imspect's), by the session id that request carries. Entries expire, and the map
 * is bounded.
 */
import { latin1, type Endpoint, type ForwardRoute, type ServerEndpoint } from '@imspect/sdk';
import { parseGatewayTarget } from './gateway.js';

const DEFAULT_TTL_MS = 5 * 60_000;
const MAX_ENTRIES = 10_000;
/** The first line of an MSN client is short; more without a line feed is not an MSN client line. */
const MAX_FIRST_LINE = 1024;

interface Entry {
  server: ServerEndpoint;
  expires: number;
}

export class MsnRoutes {
  private readonly byCookie = new Map<string, Entry>();
  private readonly byClient = new Map<string, Entry>();
  /** HTTP gateway sessions: the gateway address (`GW-IP`) each session id's next request belongs to. */
  private readonly byGatewaySession = new Map<string, Entry>();

  constructor(
    private readonly ttlMs = DEFAULT_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** A switchboard invitation (`XFR ... SB`, `RNG`): the cookie's real server. */
  rememberCookie(cookie: string, server: ServerEndpoint): void {
    this.put(this.byCookie, cookie, server);
  }

  /** A notification-server redirect (`XFR ... NS`): the client's next connection goes there. */
  rememberClient(clientIp: string, server: ServerEndpoint): void {
    this.put(this.byClient, clientIp, server);
  }

  /** An HTTP gateway response (`X-MSN-Messenger`): the request carrying `sessionId` goes to that gateway. */
  rememberGateway(sessionId: string, server: ServerEndpoint): void {
    this.put(this.byGatewaySession, sessionId, server);
  }

  get size(): number {
    return this.byCookie.size + this.byClient.size + this.byGatewaySession.size;
  }

  /**
   * The real server for a new client connection, from the client's first line: `USR trid email cookie` or
   * `ANS trid email cookie sessid` on a switchboard, anything else (`VER ...`) after an `XFR ... NS`.
   */
  route(firstBytes: Uint8Array, client: Endpoint): ForwardRoute {
    const lf = firstBytes.indexOf(0x0a);
    if (lf < 0) return firstBytes.byteLength < MAX_FIRST_LINE ? 'more' : undefined;
    const words = latin1(firstBytes.subarray(0, lf))
      .replace(/\r$/, '')
      .split(' ')
      .filter((w) => w.length > 0);
    const command = (words[0] ?? '').toUpperCase();
    // An HTTP request (MSN's HTTP gateway through a forward listener): to the gateway its session id was last
    // answered by, else the listener's upstream.
    if (/^HTTP\/1\.[01]$/.test(words.at(-1) ?? '') && words.length === 3) {
      const sessionId = parseGatewayTarget(words[1]!)?.sessionId;
      return sessionId === undefined ? undefined : this.take(this.byGatewaySession, sessionId, false);
    }
    if ((command === 'USR' && words.length === 4) || (command === 'ANS' && words.length === 5)) {
      const entry = this.take(this.byCookie, words[3]!, false);
      if (entry) return entry;
    }
    return this.take(this.byClient, client.ip, true);
  }

  private put(map: Map<string, Entry>, key: string, server: ServerEndpoint): void {
    const now = this.now();
    if (map.size >= MAX_ENTRIES) {
      for (const [k, e] of map) if (e.expires <= now) map.delete(k);
      // Still full: forget the oldest (insertion order).
      while (map.size >= MAX_ENTRIES) map.delete(map.keys().next().value!);
    }
    map.delete(key);
    map.set(key, { server: { ...server }, expires: now + this.ttlMs });
  }

  /** A switchboard cookie can be presented more than once (several endpoints answer one RNG); an NS redirect once. */
  private take(map: Map<string, Entry>, key: string, once: boolean): ServerEndpoint | undefined {
    const entry = map.get(key);
    if (!entry) return undefined;
    if (entry.expires <= this.now()) {
      map.delete(key);
      return undefined;
    }
    if (once) map.delete(key);
    return { ...entry.server };
  }
}

/** `host:port` -> endpoint; undefined when it is not one. */
export function parseHostPort(text: string): ServerEndpoint | undefined {
  const m = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

export function formatHostPort(endpoint: ServerEndpoint): string {
  return endpoint.host.includes(':') ? `[${endpoint.host}]:${endpoint.port}` : `${endpoint.host}:${endpoint.port}`;
}
