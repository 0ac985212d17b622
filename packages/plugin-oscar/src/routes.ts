/**
 * What a cookie stands for, shared by all sessions of the plugin: the authorizer (or a service redirect) hands
 * the client a cookie and a server; the client's next connection presents the cookie.
 *
 * - Identity: the screen name and client the authorizer accepted, so the BOS connection knows its local user
 *   (also for SOCKS5 and transparent connections, where nothing is rewritten).
 * - Forward listeners: the real server behind a server address imspect rewrote to its own; `route` picks it from
 *   the client's first FLAP.
 *
 * Entries expire, and the map is bounded.
 */
import type { Endpoint, ForwardRoute, ServerEndpoint } from '@imspect/sdk';
import { Channel, FLAP_HEADER_BYTES, FLAP_MARKER } from './flap.js';
import type { ClientInfo } from './login.js';
import { findTlv, readTlvs } from './tlv.js';

const DEFAULT_TTL_MS = 5 * 60_000;
const MAX_ENTRIES = 10_000;
/** A sign-on FLAP with its cookie is a few hundred bytes; the listener gives at most 4 KiB. */
const MAX_FIRST_FLAP = 4096;

export interface CookieEntry {
  /** The real server, when imspect rewrote the address the client was given. */
  server?: ServerEndpoint;
  /** Normalised screen name or UIN. */
  localId?: string;
  client?: ClientInfo;
  /** A BOS cookie from the authorizer, or a service cookie from a redirect. */
  kind: 'bos' | 'service';
  expires: number;
}

export class OscarRoutes {
  private readonly cookies = new Map<string, CookieEntry>();

  constructor(
    private readonly ttlMs = DEFAULT_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.cookies.size;
  }

  remember(cookie: Uint8Array, entry: Omit<CookieEntry, 'expires'>): void {
    const now = this.now();
    const key = cookieKey(cookie);
    if (this.cookies.size >= MAX_ENTRIES) {
      for (const [k, e] of this.cookies) if (e.expires <= now) this.cookies.delete(k);
      while (this.cookies.size >= MAX_ENTRIES) this.cookies.delete(this.cookies.keys().next().value!);
    }
    this.cookies.delete(key);
    this.cookies.set(key, { ...entry, expires: now + this.ttlMs });
  }

  /** The entry of a cookie, if known and not expired. */
  lookup(cookie: Uint8Array): CookieEntry | undefined {
    const key = cookieKey(cookie);
    const entry = this.cookies.get(key);
    if (entry === undefined) return undefined;
    if (entry.expires <= this.now()) {
      this.cookies.delete(key);
      return undefined;
    }
    return entry;
  }

  /** The real server for a new forward connection, from the client's sign-on FLAP and its cookie (TLV 6). */
  route(firstBytes: Uint8Array, _client: Endpoint): ForwardRoute {
    if (firstBytes.length < FLAP_HEADER_BYTES) return firstBytes[0] === undefined || firstBytes[0] === FLAP_MARKER ? 'more' : undefined;
    if (firstBytes[0] !== FLAP_MARKER || firstBytes[1] !== Channel.SIGNON) return undefined;
    const size = FLAP_HEADER_BYTES + ((firstBytes[4]! << 8) | firstBytes[5]!);
    if (size > MAX_FIRST_FLAP) return undefined;
    if (firstBytes.length < size) return 'more';
    const flap = firstBytes.subarray(0, size);
    const list = readTlvs(flap, FLAP_HEADER_BYTES + 4, size);
    const cookie = findTlv(list.tlvs, 0x0006);
    if (cookie === undefined) return undefined;
    const server = this.lookup(flap.subarray(cookie.valueStart, cookie.valueEnd))?.server;
    return server === undefined ? undefined : { ...server };
  }
}

function cookieKey(cookie: Uint8Array): string {
  return Buffer.from(cookie.buffer, cookie.byteOffset, cookie.byteLength).toString('base64');
}
