/**
 * An explicit HTTP proxy that only tunnels (`CONNECT host:port`, RFC 9110 §9.3.6), for IM clients set up with
 * an HTTP proxy. The request parser does no I/O: feed it the client's bytes, it says what to answer.
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
  | { kind: 'connect'; host: string; port: number; username?: string; rest: Uint8Array };

export interface HttpProxyCredentials {
  username: string;
  password: string;
}

const HEAD_END = Buffer.from('\r\n\r\n');

export class HttpConnectRequest {
  private chunks: Buffer[] = [];
  private length = 0;
  private done = false;

  constructor(private readonly users: readonly HttpProxyCredentials[] | undefined) {}

  push(chunk: Uint8Array): HttpConnectStep {
    if (this.done) return { kind: 'more' };
    const piece = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.chunks.push(piece);
    this.length += piece.length;
    const all = this.chunks.length === 1 ? piece : Buffer.concat(this.chunks, this.length);
    this.chunks = [all];
    // A head may only end in bytes just received or up to three before them.
    const end = all.indexOf(HEAD_END, Math.max(0, this.length - piece.length - 3));
    if (end < 0) {
      if (this.length > MAX_REQUEST_HEAD) return this.finish({ kind: 'reject', status: 431, reason: `request head longer than ${MAX_REQUEST_HEAD} bytes` });
      return { kind: 'more' };
    }
    if (end + 4 > MAX_REQUEST_HEAD) return this.finish({ kind: 'reject', status: 431, reason: `request head longer than ${MAX_REQUEST_HEAD} bytes` });
    const head = all.subarray(0, end).toString('latin1');
    return this.finish(this.judge(head, all.subarray(end + 4)));
  }

  private finish(step: HttpConnectStep): HttpConnectStep {
    this.done = true;
    this.chunks = [];
    return step;
  }

  private judge(head: string, rest: Uint8Array): HttpConnectStep {
    const [requestLine = '', ...headerLines] = head.split('\r\n');
    const match = /^([A-Za-z]+) (\S+) HTTP\/1\.[01]$/.exec(requestLine);
    if (!match) return { kind: 'reject', status: 400, reason: `not an HTTP/1.x request line: ${JSON.stringify(requestLine.slice(0, 80))}` };
    const [, method, target] = match as unknown as [string, string, string];
    if (method !== 'CONNECT') {
      return { kind: 'reject', status: 405, reason: `method ${method} refused: this proxy only tunnels (CONNECT)`, headers: { Allow: 'CONNECT' } };
    }
    const authority = parseAuthority(target);
    if (!authority) return { kind: 'reject', status: 400, reason: `bad CONNECT target ${JSON.stringify(target.slice(0, 80))}` };
    const headers = new Map<string, string>();
    for (const line of headerLines) {
      const colon = line.indexOf(':');
      if (colon <= 0) return { kind: 'reject', status: 400, reason: `malformed header line ${JSON.stringify(line.slice(0, 80))}` };
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    let username: string | undefined;
    if (this.users && this.users.length > 0) {
      const credentials = parseBasic(headers.get('proxy-authorization'));
      const challenge = { 'Proxy-Authenticate': 'Basic realm="imspect", charset="UTF-8"' };
      if (!credentials) return { kind: 'reject', status: 407, reason: 'proxy authentication required', headers: challenge };
      const ok = this.users.some((u) => safeEqual(u.username, credentials.username) && safeEqual(u.password, credentials.password));
      if (!ok) return { kind: 'reject', status: 407, reason: `authentication failed for user ${JSON.stringify(credentials.username)}`, headers: challenge };
      username = credentials.username;
    }
    return { kind: 'connect', host: authority.host, port: authority.port, ...(username !== undefined ? { username } : {}), rest };
  }
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
