/**
 * An explicit HTTP proxy for IM clients set up with one: it tunnels (`CONNECT host:port`, RFC 9110 §9.3.6) and,
 * unless configured not to, relays plain requests with an absolute URI (`POST http://host/path`, RFC 9112 §3.2.2),
 * as browsers and MSN Messenger's HTTP gateway send them. The request parser does no I/O: feed it the client's
 * bytes, it says what to answer.
 */
import { timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/** Longest request head (request line and headers) read before answering 431. */
export const MAX_REQUEST_HEAD = 8192;

export type HttpConnectStep =
  /** Need more bytes. */
  | { kind: 'more' }
  /** Answer `status` and close: the client may not go on. */
  | { kind: 'reject'; status: number; reason: string; headers?: Record<string, string> }
  /** Connect to `host:port`; `rest` are bytes the client already sent after the request head. */
  | { kind: 'connect'; host: string; port: number; username?: string; rest: Uint8Array }
  /**
   * A plain request with an absolute URI to `host:port`: relay it and the requests after it (see
   * `HttpProxyUpstream`); `data` is everything the client sent so far, the request head included.
   */
  | { kind: 'forward'; host: string; port: number; username?: string; data: Uint8Array };

export interface HttpProxyCredentials {
  username: string;
  password: string;
}

/** Longest method name accepted; real ones (CONNECT, OPTIONS) are far shorter. */
const MAX_METHOD = 16;

export class HttpConnectRequest {
  private chunks: Buffer[] = [];
  private length = 0;
  private done = false;

  constructor(
    private readonly users: readonly HttpProxyCredentials[] | undefined,
    /** Relay plain requests with an absolute `http://` URI too (else they get 405). */
    private readonly plainRequests = false,
  ) {}

  push(chunk: Uint8Array): HttpConnectStep {
    if (this.done) return { kind: 'more' };
    const piece = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const before = this.length;
    this.chunks.push(piece);
    this.length += piece.length;
    const all = this.chunks.length === 1 ? piece : Buffer.concat(this.chunks, this.length);
    this.chunks = [all];
    // What cannot become a request line is answered at once (garbage, a TLS ClientHello sent to the plain
    // listener), rather than left waiting for a head end that never comes.
    const lineEnd = all.indexOf(0x0a);
    const firstLine = all.subarray(0, lineEnd < 0 ? all.length : lineEnd).toString('latin1');
    const notRequest = requestLineProblem(firstLine, lineEnd >= 0);
    if (notRequest) return this.finish({ kind: 'reject', status: 400, reason: notRequest });
    const head = findHeadEnd(all, Math.max(0, before - 2));
    if (!head) {
      if (this.length > MAX_REQUEST_HEAD) return this.finish({ kind: 'reject', status: 431, reason: `request head longer than ${MAX_REQUEST_HEAD} bytes` });
      return { kind: 'more' };
    }
    if (head.restStart > MAX_REQUEST_HEAD) return this.finish({ kind: 'reject', status: 431, reason: `request head longer than ${MAX_REQUEST_HEAD} bytes` });
    return this.finish(this.judge(all.subarray(0, head.headEnd).toString('latin1'), all.subarray(head.restStart), all));
  }

  private finish(step: HttpConnectStep): HttpConnectStep {
    this.done = true;
    this.chunks = [];
    return step;
  }

  private judge(head: string, rest: Uint8Array, all: Uint8Array): HttpConnectStep {
    // Lines end in CRLF, or in a bare LF as some clients send them (RFC 9112 §2.2 lets a recipient accept that).
    const [requestLine = '', ...headerLines] = head.split(/\r?\n/);
    const match = /^([A-Za-z]+) (\S+) HTTP\/1\.[01]$/.exec(requestLine);
    if (!match) return { kind: 'reject', status: 400, reason: `not an HTTP/1.x request line: ${JSON.stringify(requestLine.slice(0, 80))}` };
    const [, method, target] = match as unknown as [string, string, string];
    const uri = method !== 'CONNECT' && this.plainRequests ? parseAbsoluteHttpUri(target) : undefined;
    if (method !== 'CONNECT' && !uri) {
      if (this.plainRequests)
        return { kind: 'reject', status: 400, reason: `${method} ${JSON.stringify(target.slice(0, 80))} refused: a proxy request needs an absolute http:// URI` };
      return { kind: 'reject', status: 405, reason: `method ${method} refused: this proxy only tunnels (CONNECT)`, headers: { Allow: 'CONNECT' } };
    }
    const authority = uri ?? parseAuthority(target);
    if (!authority) return { kind: 'reject', status: 400, reason: `bad CONNECT target ${JSON.stringify(target.slice(0, 80))}` };
    const headers = new Map<string, string>();
    for (const line of headerLines) {
      const colon = line.indexOf(':');
      if (colon <= 0) return { kind: 'reject', status: 400, reason: `malformed header line ${JSON.stringify(line.slice(0, 80))}` };
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const auth = checkProxyAuthorization(this.users, headers.get('proxy-authorization'));
    if (auth.kind === 'reject') return auth;
    const username = auth.username;
    if (uri) return { kind: 'forward', host: uri.host, port: uri.port, ...(username !== undefined ? { username } : {}), data: all };
    return { kind: 'connect', host: authority.host, port: authority.port, ...(username !== undefined ? { username } : {}), rest };
  }
}

/** The challenge a client without valid credentials gets. */
const CHALLENGE = { 'Proxy-Authenticate': 'Basic realm="imspect", charset="UTF-8"' };

/**
 * Basic authentication (`Proxy-Authorization`) when users are configured: the user it names, or the 407 to
 * answer. Without users, anyone the listener's allow list admits passes.
 */
export function checkProxyAuthorization(
  users: readonly HttpProxyCredentials[] | undefined,
  header: string | undefined,
): { kind: 'ok'; username?: string } | (HttpConnectStep & { kind: 'reject' }) {
  if (!users || users.length === 0) return { kind: 'ok' };
  const credentials = parseBasic(header);
  if (!credentials) return { kind: 'reject', status: 407, reason: 'proxy authentication required', headers: CHALLENGE };
  const ok = users.some((u) => safeEqual(u.username, credentials.username) && safeEqual(u.password, credentials.password));
  if (!ok) return { kind: 'reject', status: 407, reason: `authentication failed for user ${JSON.stringify(credentials.username)}`, headers: CHALLENGE };
  return { kind: 'ok', username: credentials.username };
}

/** An absolute `http://` request target (RFC 9112 §3.2.2). */
export interface AbsoluteHttpUri {
  host: string;
  port: number;
  /** `host[:port]` as the Host field of the relayed request carries it. */
  authority: string;
  /** The path and query, as the origin server is sent them. */
  originForm: string;
}

/** `http://host[:port][/path][?query]`; undefined for anything else (https, user info, a fragment, a bad port). */
export function parseAbsoluteHttpUri(target: string): AbsoluteHttpUri | undefined {
  const match = /^http:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]+)(?::(\d{1,5}))?([/?][^\s#]*)?$/i.exec(target);
  if (!match) return undefined;
  const bracketed = match[1]!.startsWith('[');
  const host = bracketed ? match[1]!.slice(1, -1) : match[1]!;
  if (bracketed && isIP(host) !== 6) return undefined;
  const port = match[2] === undefined ? 80 : Number(match[2]);
  if (port < 1 || port > 65535) return undefined;
  const path = match[3] ?? '/';
  return { host, port, authority: `${match[1]!}${match[2] === undefined ? '' : `:${port}`}`, originForm: path.startsWith('?') ? `/${path}` : path };
}

/**
 * Where the head ends: the first empty line, whether lines end in CRLF or in a bare LF. `headEnd` is the end of
 * the last header line (without its line end), `restStart` the first byte after the empty line. The search starts
 * at `from`, two bytes before the newly received ones, so that a line end cut across two reads is found.
 */
export function findHeadEnd(bytes: Buffer, from: number): { headEnd: number; restStart: number } | undefined {
  for (let lf = bytes.indexOf(0x0a, from); lf >= 0; lf = bytes.indexOf(0x0a, lf + 1)) {
    // The line ending at this LF is empty when the byte before it (or before its CR) is the previous line's LF.
    const lineStart = lf > 0 && bytes[lf - 1] === 0x0d ? lf - 1 : lf;
    if (lineStart > 0 && bytes[lineStart - 1] === 0x0a) {
      const headEnd = lineStart >= 2 && bytes[lineStart - 2] === 0x0d ? lineStart - 2 : lineStart - 1;
      return { headEnd, restStart: lf + 1 };
    }
  }
  return undefined;
}

/**
 * Why `line` (the request line so far; `complete` once its LF has arrived) cannot be an HTTP/1.x request line
 * (`METHOD target HTTP/1.x`), or undefined while it still may be one. Bytes that no request line holds (a TLS
 * record's 0x16, control characters, a method that is not letters) decide at once.
 */
export function requestLineProblem(line: string, complete: boolean): string | undefined {
  const text = complete && line.endsWith('\r') ? line.slice(0, -1) : line;
  const shown = JSON.stringify(text.slice(0, 80));
  if (text.length > 0 && text.charCodeAt(0) === 0x16) return 'a TLS handshake (ClientHello) was sent: this listener speaks plain HTTP CONNECT, no TLS';
  if (complete) {
    const match = /^([A-Za-z]+) [\x21-\x7e\x80-\xff]+ HTTP\/1\.[01]$/.exec(text);
    return match && match[1]!.length <= MAX_METHOD ? undefined : `not an HTTP/1.x request line: ${shown}`;
  }
  const space = text.indexOf(' ');
  const method = space < 0 ? text : text.slice(0, space);
  if (!/^[A-Za-z]*$/.test(method) || method.length > MAX_METHOD) return `not an HTTP/1.x request line: ${shown}`;
  if (space < 0) return undefined;
  const afterMethod = text.slice(space + 1);
  const second = afterMethod.indexOf(' ');
  const target = second < 0 ? afterMethod : afterMethod.slice(0, second);
  if (!/^[\x21-\x7e\x80-\xff]*$/.test(target) || second === 0) return `not an HTTP/1.x request line: ${shown}`;
  if (second < 0) return undefined;
  const version = afterMethod.slice(second + 1);
  // The version is `HTTP/1.0` or `HTTP/1.1`, optionally followed by the CR of the line end.
  const possible = ['HTTP/1.0\r', 'HTTP/1.1\r'].some((v) => v.startsWith(version));
  return possible ? undefined : `not an HTTP/1.x request line: ${shown}`;
}

/** `host:port` or `[v6]:port`; the port is required (RFC 9110 authority-form). */
export function parseAuthority(target: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]/@]+)):(\d{1,5})$/.exec(target);
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port < 1 || port > 65535) return undefined;
  if (match[1] !== undefined) return isIP(match[1]) === 6 ? { host: match[1], port } : undefined;
  return { host: match[2]!, port };
}

function parseBasic(header: string | undefined): HttpProxyCredentials | undefined {
  const match = header ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null;
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const STATUS_TEXT: Record<number, string> = {
  200: 'Connection established',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
  502: 'Bad Gateway',
  504: 'Gateway Timeout',
};

/** A complete response head (and a one-line text body for errors, so a person with curl sees why). */
export function httpResponse(status: number, headers: Record<string, string> = {}, body?: string): Buffer {
  const lines = [`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  if (body !== undefined) {
    lines.push('Content-Type: text/plain; charset=utf-8', `Content-Length: ${Buffer.byteLength(body) + 1}`, 'Connection: close');
    return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}\n`);
  }
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`);
}

/** The status a client gets when the upstream connect fails. */
export function statusForError(error: NodeJS.ErrnoException): number {
  if (error.code === 'DESTINATION_REFUSED') return 403;
  return error.code === 'ETIMEDOUT' ? 504 : 502;
}
