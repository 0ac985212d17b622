/**
 * HTTP/1.x message heads (RFC 9112): the start line and header fields of one request or response, how its body
 * is delimited, and rewriting a head in place (a new target, a new Content-Length) without touching the rest of
 * its bytes. No I/O; bad input is an error value, never an exception.
 */
import { encodeUtf8, latin1 } from './bytes.js';

/**
 * How the body after a head is delimited (RFC 9112 §6.3): no body, a Content-Length, chunked, until the server
 * closes the connection (a response without a length), or no more HTTP at all: a 2xx answer to CONNECT or a 101
 * (Switching Protocols) turns the connection into a tunnel of another protocol.
 */
export type HttpBodyFraming = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'close' } | { kind: 'tunnel' };

export interface HttpHead {
  readonly type: 'request' | 'response';
  /** A request's method; for a response, the method of the request it answers (`''` when that is unknown). */
  readonly method: string;
  /** A request's target as sent (origin form `/path?query`, absolute form `http://host/path`, ...); `''` for a response. */
  readonly target: string;
  /** A response's status code; 0 for a request. */
  readonly status: number;
  /** `HTTP/1.1` or `HTTP/1.0`. */
  readonly version: string;
  /** Header fields in order, names as sent; values trimmed, folded lines joined with a space. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: HttpBodyFraming;
}

/** The value of the first field named `name` (case-insensitive), or undefined. */
export function httpHeader(head: Pick<HttpHead, 'headers'>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of head.headers) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

export type HttpHeadResult = { ok: true; head: HttpHead } | { ok: false; problem: string; reason: 'bad-magic' | 'bad-length' };

const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e\x80-\xff]+) (HTTP\/1\.[01])$/;
const STATUS_LINE = /^(HTTP\/1\.[01]) (\d{3})(?: [\x09\x20-\x7e\x80-\xff]*)?$/;
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Parses a complete head (start line, header lines, the empty line; leading empty lines allowed before a
 * request line). `requestMethod` is, for a response, the method of the request it answers: a HEAD answer has no
 * body, a 2xx CONNECT answer starts a tunnel.
 */
export function parseHttpHead(raw: Uint8Array, type: 'request' | 'response', requestMethod = ''): HttpHeadResult {
  const lines = latin1(raw).split('\n');
  let index = 0;
  // RFC 9112 §2.2: empty lines before a request line are ignored.
  while (index < lines.length && (lines[index] === '' || lines[index] === '\r')) index++;
  const strip = (line: string) => (line.endsWith('\r') ? line.slice(0, -1) : line);
  const startLine = strip(lines[index] ?? '');
  const shown = JSON.stringify(startLine.slice(0, 80));
  let method = requestMethod;
  let target = '';
  let status = 0;
  let version: string;
  if (type === 'request') {
    const match = REQUEST_LINE.exec(startLine);
    if (!match) return { ok: false, problem: `not an HTTP/1.x request line: ${shown}`, reason: 'bad-magic' };
    [, method, target, version] = match as unknown as [string, string, string, string];
  } else {
    const match = STATUS_LINE.exec(startLine);
    if (!match) return { ok: false, problem: `not an HTTP/1.x status line: ${shown}`, reason: 'bad-magic' };
    version = match[1]!;
    status = Number(match[2]);
  }
  const headers: Array<[string, string]> = [];
  for (index++; index < lines.length; index++) {
    const line = strip(lines[index]!);
    if (line === '') break;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      // obs-fold (RFC 9112 §5.2): a continuation of the previous field's value.
      const last = headers.at(-1);
      if (!last) return { ok: false, problem: 'a folded header line before any header', reason: 'bad-magic' };
      last[1] = `${last[1]} ${line.trim()}`.trim();
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!FIELD_NAME.test(name)) return { ok: false, problem: `malformed header line ${JSON.stringify(line.slice(0, 80))}`, reason: 'bad-magic' };
    headers.push([name, line.slice(colon + 1).trim()]);
  }
  const body = bodyFraming(type, method, status, version, headers);
  if (typeof body === 'string') return { ok: false, problem: body, reason: 'bad-length' };
  return { ok: true, head: { type, method, target, status, version, headers, body } };
}

/** RFC 9112 §6.3; a string is why the length cannot be known (the message cannot be framed). */
function bodyFraming(type: 'request' | 'response', method: string, status: number, version: string, headers: ReadonlyArray<readonly [string, string]>): HttpBodyFraming | string {
  if (type === 'response') {
    if (status === 101 || (method.toUpperCase() === 'CONNECT' && status >= 200 && status < 300)) return { kind: 'tunnel' };
    if ((status >= 100 && status < 200) || status === 204 || status === 304 || method.toUpperCase() === 'HEAD') return { kind: 'none' };
  }
  const codings: string[] = [];
  const lengths = new Set<string>();
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    if (key === 'transfer-encoding') {
      for (const coding of value.split(',')) if (coding.trim() !== '') codings.push(coding.trim().toLowerCase());
    } else if (key === 'content-length') {
      for (const part of value.split(',')) lengths.add(part.trim());
    }
  }
  if (codings.length > 0 && version !== 'HTTP/1.0') {
    if (codings.at(-1) === 'chunked') return { kind: 'chunked' };
    // A request whose last coding is not chunked has no knowable length; a response runs until close.
    return type === 'request' ? `Transfer-Encoding "${codings.join(', ')}" does not end in chunked` : { kind: 'close' };
  }
  if (lengths.size > 1) return `conflicting Content-Length values ${JSON.stringify([...lengths].join(', '))}`;
  if (lengths.size === 1) {
    const value = [...lengths][0]!;
    if (!/^\d{1,15}$/.test(value)) return `Content-Length ${JSON.stringify(value.slice(0, 40))} is not a byte count`;
    const length = Number(value);
    return length === 0 ? { kind: 'none' } : { kind: 'length', length };
  }
  return type === 'request' ? { kind: 'none' } : { kind: 'close' };
}

export interface HttpHeadChanges {
  /** A new request target (the method and version stay). */
  target?: string;
  /** Fields to set: an existing field of that name (case-insensitive) gets the value in place, else it is added last. */
  set?: Readonly<Record<string, string>>;
  /** Fields to remove (case-insensitive names), with their folded continuation lines. */
  remove?: readonly string[];
}

/**
 * The head `raw` with `changes` applied; every other byte (line ends, field order, spelling) stays as it was.
 * `raw` must be a complete head as {@link parseHttpHead} accepted it.
 */
export function rewriteHttpHead(raw: Uint8Array, changes: HttpHeadChanges): Uint8Array {
  const text = latin1(raw);
  const lines = text.split('\n');
  // The last element is '' (after the final LF); the one before it is the empty line ending the head.
  const out: string[] = [];
  const setKeys = new Map(Object.entries(changes.set ?? {}).map(([name, value]) => [name.toLowerCase(), { name, value, done: false }]));
  const remove = new Set((changes.remove ?? []).map((name) => name.toLowerCase()));
  let startSeen = false;
  let dropping = false;
  let endIndex = -1;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const bare = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (!startSeen) {
      if (bare === '') {
        out.push(line);
        continue;
      }
      startSeen = true;
      if (changes.target !== undefined && !bare.startsWith('HTTP/')) {
        const first = bare.indexOf(' ');
        const last = bare.lastIndexOf(' ');
        out.push(`${bare.slice(0, first + 1)}${changes.target}${bare.slice(last)}${line.endsWith('\r') ? '\r' : ''}`);
      } else out.push(line);
      continue;
    }
    if (bare === '') {
      endIndex = i;
      break;
    }
    if (bare.startsWith(' ') || bare.startsWith('\t')) {
      if (!dropping) out.push(line);
      continue;
    }
    const colon = bare.indexOf(':');
    const key = bare.slice(0, colon).toLowerCase();
    dropping = remove.has(key);
    if (dropping) continue;
    const change = setKeys.get(key);
    if (change && !change.done) {
      change.done = true;
      out.push(`${bare.slice(0, colon)}: ${change.value}${line.endsWith('\r') ? '\r' : ''}`);
      dropping = true; // a folded continuation of the old value goes with it
      continue;
    }
    if (change?.done) {
      dropping = true; // a second field of a name that was set
      continue;
    }
    out.push(line);
  }
  const eol = text.includes('\r\n') ? '\r' : '';
  for (const change of setKeys.values()) if (!change.done) out.push(`${change.name}: ${change.value}${eol}`);
  const tail = endIndex >= 0 ? lines.slice(endIndex) : ['', ''];
  return latin1Bytes([...out, ...tail].join('\n'));
}

/** Latin-1 text back to bytes (one byte per character), as the head was read. */
function latin1Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

/** A complete HTTP/1.1 response head and body (`Content-Length` set from the body). */
export function httpResponseBytes(status: number, reason: string, headers: ReadonlyArray<readonly [string, string]>, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const lines = [`HTTP/1.1 ${status} ${reason}`, ...headers.map(([name, value]) => `${name}: ${value}`), `Content-Length: ${body.byteLength}`, '', ''];
  const head = encodeUtf8(lines.join('\r\n'));
  const out = new Uint8Array(head.byteLength + body.byteLength);
  out.set(head, 0);
  out.set(body, head.byteLength);
  return out;
}
