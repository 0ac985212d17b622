/**
 * The SOCKS5 handshake (RFC 1928, with RFC 1929 username/password) as a parser that does no I/O: feed it
 * the client's bytes, it says what to answer and when the request is complete.
 */

export const SOCKS_VERSION = 5;
export const AUTH_NONE = 0x00;
export const AUTH_USERPASS = 0x02;
export const AUTH_NO_ACCEPTABLE = 0xff;

export const REPLY = {
  succeeded: 0x00,
  generalFailure: 0x01,
  notAllowed: 0x02,
  networkUnreachable: 0x03,
  hostUnreachable: 0x04,
  connectionRefused: 0x05,
  ttlExpired: 0x06,
  commandNotSupported: 0x07,
  addressTypeNotSupported: 0x08,
} as const;

export interface SocksCredentials {
  username: string;
  password: string;
}

export interface SocksRequest {
  host: string;
  port: number;
  addressType: 'ipv4' | 'domain' | 'ipv6';
}

export type SocksStep =
  /** Need more bytes. */
  | { kind: 'more' }
  /** Send `reply`, keep reading. */
  | { kind: 'reply'; reply: Uint8Array }
  /** Send `reply` (if any), then close: the client may not go on. */
  | { kind: 'reject'; reply?: Uint8Array; reason: string }
  /** Handshake done: connect to `request`; `rest` are bytes the client already sent after the request. */
  | { kind: 'connect'; request: SocksRequest; rest: Uint8Array };

const enum State {
  Greeting,
  Auth,
  Request,
  Done,
}

export class Socks5Handshake {
  private state = State.Greeting;
  private buffer: Uint8Array = new Uint8Array(0);

  constructor(private readonly users: readonly SocksCredentials[] | undefined) {}

  /** The username the client authenticated with, if any. */
  username: string | undefined;

  push(chunk: Uint8Array): SocksStep[] {
    this.buffer = this.buffer.length === 0 ? chunk : concat(this.buffer, chunk);
    const steps: SocksStep[] = [];
    for (;;) {
      const step = this.step();
      if (step.kind === 'more') return steps;
      steps.push(step);
      if (step.kind !== 'reply') return steps;
    }
  }

  private step(): SocksStep {
    const b = this.buffer;
    switch (this.state) {
      case State.Greeting: {
        if (b.length < 2) return { kind: 'more' };
        if (b[0] !== SOCKS_VERSION) return { kind: 'reject', reason: `not a SOCKS5 greeting (version byte ${b[0]})` };
        const count = b[1]!;
        if (count === 0) return { kind: 'reject', reply: Uint8Array.of(5, AUTH_NO_ACCEPTABLE), reason: 'client offered no authentication method' };
        if (b.length < 2 + count) return { kind: 'more' };
        const methods = b.subarray(2, 2 + count);
        this.buffer = b.subarray(2 + count);
        if (this.users && this.users.length > 0) {
          if (!methods.includes(AUTH_USERPASS)) {
            return { kind: 'reject', reply: Uint8Array.of(5, AUTH_NO_ACCEPTABLE), reason: 'username/password required, client did not offer it' };
          }
          this.state = State.Auth;
          return { kind: 'reply', reply: Uint8Array.of(5, AUTH_USERPASS) };
        }
        if (!methods.includes(AUTH_NONE)) {
          return { kind: 'reject', reply: Uint8Array.of(5, AUTH_NO_ACCEPTABLE), reason: 'client offered no method this listener accepts' };
        }
        this.state = State.Request;
        return { kind: 'reply', reply: Uint8Array.of(5, AUTH_NONE) };
      }
      case State.Auth: {
        if (b.length < 2) return { kind: 'more' };
        if (b[0] !== 1) return { kind: 'reject', reply: Uint8Array.of(1, 1), reason: `bad username/password sub-negotiation version ${b[0]}` };
        const userLength = b[1]!;
        if (b.length < 3 + userLength) return { kind: 'more' };
        const passLength = b[2 + userLength]!;
        if (b.length < 3 + userLength + passLength) return { kind: 'more' };
        const username = Buffer.from(b.subarray(2, 2 + userLength)).toString('utf8');
        const password = Buffer.from(b.subarray(3 + userLength, 3 + userLength + passLength)).toString('utf8');
        this.buffer = b.subarray(3 + userLength + passLength);
        const ok = this.users?.some((u) => safeEqual(u.username, username) && safeEqual(u.password, password)) ?? false;
        if (!ok) return { kind: 'reject', reply: Uint8Array.of(1, 1), reason: `authentication failed for user ${JSON.stringify(username)}` };
        this.username = username;
        this.state = State.Request;
        return { kind: 'reply', reply: Uint8Array.of(1, 0) };
      }
      case State.Request: {
        if (b.length < 5) return { kind: 'more' };
        if (b[0] !== SOCKS_VERSION) return { kind: 'reject', reason: `bad request version ${b[0]}` };
        const addressType = b[3];
        let length: number;
        if (addressType === 1) length = 4 + 4 + 2;
        else if (addressType === 4) length = 4 + 16 + 2;
        else if (addressType === 3) length = 4 + 1 + b[4]! + 2;
        else return { kind: 'reject', reply: failureReply(REPLY.addressTypeNotSupported), reason: `address type ${addressType} not supported` };
        if (b.length < length) return { kind: 'more' };
        if (b[1] !== 1) {
          return { kind: 'reject', reply: failureReply(REPLY.commandNotSupported), reason: `only CONNECT is supported (command ${b[1]})` };
        }
        const port = (b[length - 2]! << 8) | b[length - 1]!;
        let host: string;
        let type: SocksRequest['addressType'];
        if (addressType === 1) {
          host = Array.from(b.subarray(4, 8)).join('.');
          type = 'ipv4';
        } else if (addressType === 4) {
          host = ipv6ToString(b.subarray(4, 20));
          type = 'ipv6';
        } else {
          host = Buffer.from(b.subarray(5, 5 + b[4]!)).toString('latin1');
          type = 'domain';
          if (host.length === 0 || /[\s\0/]/.test(host)) {
            return { kind: 'reject', reply: failureReply(REPLY.hostUnreachable), reason: `bad host name ${JSON.stringify(host)}` };
          }
        }
        this.state = State.Done;
        const rest = b.subarray(length);
        this.buffer = new Uint8Array(0);
        return { kind: 'connect', request: { host, port, addressType: type }, rest };
      }
      case State.Done:
        return { kind: 'more' };
    }
  }
}

/** The reply to a CONNECT request: `code` from {@link REPLY}, bound address as IPv4 or IPv6. */
export function connectReply(code: number, boundAddress = '0.0.0.0', boundPort = 0): Uint8Array {
  const v6 = boundAddress.includes(':');
  const out = new Uint8Array(v6 ? 22 : 10);
  out.set([5, code, 0, v6 ? 4 : 1]);
  if (v6) out.set(ipv6ToBytes(boundAddress), 4);
  else
    out.set(
      boundAddress.split('.').map((n) => Number(n) & 0xff),
      4,
    );
  out[out.length - 2] = (boundPort >> 8) & 0xff;
  out[out.length - 1] = boundPort & 0xff;
  return out;
}

function failureReply(code: number): Uint8Array {
  return connectReply(code);
}

/** Maps a connect error to the SOCKS reply code a client understands. */
export function replyForError(error: NodeJS.ErrnoException): number {
  switch (error.code) {
    case 'DESTINATION_REFUSED':
      return REPLY.notAllowed;
    case 'ECONNREFUSED':
      return REPLY.connectionRefused;
    case 'ENETUNREACH':
      return REPLY.networkUnreachable;
    case 'EHOSTUNREACH':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return REPLY.hostUnreachable;
    case 'ETIMEDOUT':
      return REPLY.ttlExpired;
    default:
      return REPLY.generalFailure;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function safeEqual(a: string, b: string): boolean {
  // Constant time over the longer string, so response timing does not reveal how much of a password matched.
  const length = Math.max(a.length, b.length);
  let diff = a.length ^ b.length;
  for (let i = 0; i < length; i++) diff |= (a.charCodeAt(i) || 0) ^ (b.charCodeAt(i) || 0);
  return diff === 0;
}

function ipv6ToString(bytes: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups
    .join(':')
    .replace(/(^|:)0(:0)+(:|$)/, '::')
    .replace(/:{3,}/, '::');
}

function ipv6ToBytes(address: string): Uint8Array {
  const out = new Uint8Array(16);
  const [head, tail] = address.split('::') as [string, string | undefined];
  const parse = (part: string | undefined) =>
    part
      ? part
          .split(':')
          .filter(Boolean)
          .map((g) => parseInt(g, 16))
      : [];
  const h = parse(head);
  const t = parse(tail);
  const groups = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  groups.slice(0, 8).forEach((g, i) => {
    out[i * 2] = (g >> 8) & 0xff;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}
