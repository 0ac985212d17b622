/**
 * A streaming framer for one direction of an HTTP/1.x connection (RFC 9112): the head of each message as one
 * item, then its body in pieces as they arrive (views of the pushed chunks, never buffered), so a proxy can
 * relay any body of any size while it reads the heads. A session that wants a body whole (a small message it
 * must parse) asks for it with {@link HttpFramer.wholeBody} right after the head, within a limit checked against
 * the head's Content-Length before anything is buffered.
 *
 * Bad input is an item, never an exception: a head longer than the limit comes out `too-large` and the rest of
 * the stream as `rest`; bytes that are no HTTP (a start line that cannot be one, a length that cannot be known)
 * come out `skipped` to the end of the stream, since HTTP cannot be resynchronised; after a tunnel starts (a 2xx
 * answer to CONNECT, 101 Switching Protocols) the bytes are `tunnel`. Every byte pushed comes out exactly once.
 */
import { ByteQueue } from './byte-queue.js';
import type { Framer, RestItem, SkippedItem, TooLargeItem } from './framer.js';
import { latin1 } from './bytes.js';
import { parseHttpHead, type HttpHead } from './http-message.js';

/** A message head: start line, header lines and the empty line (and any empty lines before a request line). */
export interface HttpHeadItem {
  kind: 'head';
  raw: Uint8Array;
  head: HttpHead;
}

/**
 * A piece of a message body as it arrived (for chunked bodies: the chunk-size lines, data, line ends and
 * trailers as they are on the wire); `last` on the piece that ends the body. A body asked for whole is one item.
 */
export interface HttpBodyItem {
  kind: 'body';
  raw: Uint8Array;
  last: boolean;
}

/** Bytes after a tunnel started (CONNECT accepted, protocol switched): not HTTP any more. */
export interface HttpTunnelItem {
  kind: 'tunnel';
  raw: Uint8Array;
}

/** Bytes that cannot be framed as HTTP; `problem` says why (on the first piece). */
export interface HttpSkippedItem extends SkippedItem {
  problem: string;
}

export type HttpFramerItem = HttpHeadItem | HttpBodyItem | HttpTunnelItem | TooLargeItem | RestItem | HttpSkippedItem;

export interface HttpFramerOptions {
  /** Which direction this is: requests (client to server) or responses. */
  type: 'request' | 'response';
  /** Longest head (start line and headers) buffered; a longer one comes out `too-large`. */
  maxHeadBytes: number;
}

const LF = 0x0a;
const CR = 0x0d;
/** Longest chunk-size line (with extensions) or trailer line. */
const MAX_CHUNK_LINE = 4096;
/** Requests whose answers are still to come, kept for a response framer (pipelining is rare, and bounded). */
const MAX_EXPECTED = 256;
/** Longest method name that is still taken for the start of a request line. */
const MAX_METHOD = 24;
/** A complete first line that can start a message (the head's own parser checks the rest). */
const REQUEST_START = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,24} [\x21-\x7e\x80-\xff]+ HTTP\/1\.[01]\r?\n$/;
const STATUS_START = /^HTTP\/1\.[01] \d{3}(?:[ \t][^\r\n]*)?\r?\n$/;

const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkEnd,
  Trailer,
  Close,
  Tunnel,
  TooLarge,
  Skip,
}

export class HttpFramer implements Framer<HttpFramerItem> {
  readonly type: 'request' | 'response';
  readonly maxHeadBytes: number;
  private readonly queue = new ByteQueue();
  private state = State.Head;
  /** Body bytes still to come (Content-Length), or of the current chunk's data. */
  private remaining = 0;
  /** The body of the current message is to come out whole. */
  private whole = false;
  /** Whether any of the current body was handed out (a body can be asked for whole only before that). */
  private bodyStarted = false;
  /** Head state: where the current line starts, and how far the search for a line feed got. */
  private lineStart = 0;
  private scanned = 0;
  /** Head state: a non-empty line (the start line) has been seen. */
  private startSeen = false;
  /** A message head has been handed out (bytes skipped before any are `leading`). */
  private framedAny = false;
  private skipFirst = true;
  /** Methods of the requests whose responses are still to come (response framers). */
  private readonly expected: string[] = [];

  constructor(options: HttpFramerOptions) {
    this.type = options.type;
    this.maxHeadBytes = Number.isFinite(options.maxHeadBytes) && options.maxHeadBytes >= 16 ? Math.floor(options.maxHeadBytes) : 16;
  }

  get buffered(): number {
    return this.queue.length;
  }

  /** True between messages: nothing of a message is held or being handed out. */
  get idle(): boolean {
    return this.state === State.Head && this.queue.length === 0;
  }

  /** True once the stream is no HTTP any more (skipped, too large, tunnel): the rest is handed out as it comes. */
  get passing(): boolean {
    return this.state === State.Tunnel || this.state === State.TooLarge || this.state === State.Skip;
  }

  push(chunk: Uint8Array): void {
    this.queue.push(chunk);
  }

  /** Response framers: a request with this method was sent; its response is the next one (HEAD and CONNECT matter). */
  expect(method: string): void {
    if (this.expected.length < MAX_EXPECTED) this.expected.push(method);
  }

  /** From now on the stream is a tunnel (the other direction saw the tunnel start: 101, or CONNECT accepted). */
  startTunnel(): void {
    if (this.state === State.TooLarge || this.state === State.Skip) return;
    this.state = State.Tunnel;
  }

  /**
   * Asks for the body of the head just handed out as one item, when it has a Content-Length of at most
   * `maxBytes`: the bytes are then held until the body is complete. False (the body comes in pieces) otherwise.
   */
  wholeBody(maxBytes: number): boolean {
    if (this.state !== State.Length || this.bodyStarted || this.remaining > maxBytes) return false;
    this.whole = true;
    return true;
  }

  next(): HttpFramerItem | undefined {
    const queue = this.queue;
    switch (this.state) {
      case State.Head:
        return this.nextHead();
      case State.Length:
      case State.ChunkData: {
        if (this.whole) {
          if (queue.length < this.remaining) return undefined;
          this.whole = false;
          const raw = queue.take(this.remaining);
          this.remaining = 0;
          return this.bodyPiece(raw);
        }
        const n = Math.min(this.remaining, queue.contiguous);
        if (n === 0) return undefined;
        this.remaining -= n;
        return this.bodyPiece(queue.take(n));
      }
      case State.ChunkSize:
      case State.Trailer:
        return this.nextChunkLine();
      case State.ChunkEnd: {
        if (queue.length === 0) return undefined;
        const first = queue.byteAt(0);
        if (first === LF) return this.afterChunkEnd(queue.take(1));
        if (first !== CR) return this.skipRest('bad-length', 'a chunk is not followed by its line end');
        if (queue.length < 2) return undefined;
        if (queue.byteAt(1) !== LF) return this.skipRest('bad-length', 'a chunk is not followed by its line end');
        return this.afterChunkEnd(queue.take(2));
      }
      case State.Close: {
        const n = queue.contiguous;
        return n === 0 ? undefined : { kind: 'body', raw: queue.take(n), last: false };
      }
      case State.Tunnel: {
        const n = queue.contiguous;
        return n === 0 ? undefined : { kind: 'tunnel', raw: queue.take(n) };
      }
      case State.TooLarge: {
        const n = queue.contiguous;
        return n === 0 ? undefined : { kind: 'rest', raw: queue.take(n), complete: false };
      }
      case State.Skip: {
        const n = queue.contiguous;
        if (n === 0) return undefined;
        return { kind: 'skipped', raw: queue.take(n), first: false, leading: !this.framedAny, reason: 'bad-magic', problem: '' };
      }
    }
  }

  /** Everything held, as one buffer (undefined when nothing is); the framer starts afresh. */
  end(): Uint8Array | undefined {
    const size = this.queue.length;
    const out = size === 0 ? undefined : this.queue.take(size);
    this.state = State.Head;
    this.remaining = 0;
    this.whole = false;
    this.bodyStarted = false;
    this.resetHeadScan();
    this.expected.length = 0;
    this.skipFirst = true;
    this.framedAny = false;
    return out;
  }

  private resetHeadScan(): void {
    this.lineStart = 0;
    this.scanned = 0;
    this.startSeen = false;
  }

  private nextHead(): HttpFramerItem | undefined {
    const queue = this.queue;
    if (queue.length === 0) return undefined;
    const limit = Math.min(queue.length, this.maxHeadBytes);
    for (;;) {
      const lf = queue.indexOf(LF, this.scanned, limit);
      if (lf < 0) {
        this.scanned = limit;
        break;
      }
      const empty = lf === this.lineStart || (lf === this.lineStart + 1 && queue.byteAt(this.lineStart) === CR);
      this.scanned = lf + 1;
      if (!empty) {
        if (!this.startSeen) {
          this.startSeen = true;
          const problem = this.startLineProblem(this.lineStart, lf + 1);
          if (problem) return this.skipRest('bad-magic', problem);
        }
      } else if (this.startSeen) {
        return this.headComplete(lf + 1);
      }
      this.lineStart = lf + 1;
    }
    if (!this.startSeen && queue.length > this.lineStart) {
      // Decide early on bytes that cannot start a request or status line (binary, TLS, another protocol).
      const problem = this.startLineProblem(this.lineStart, Math.min(queue.length, this.lineStart + MAX_METHOD + 1), true);
      if (problem) return this.skipRest('bad-magic', problem);
    }
    if (queue.length >= this.maxHeadBytes) {
      this.state = State.TooLarge;
      this.resetHeadScan();
      return { kind: 'too-large', raw: queue.take(this.maxHeadBytes) };
    }
    return undefined;
  }

  /** Why the line in `[start, end)` cannot begin an HTTP start line of this direction (`partial`: more may follow). */
  private startLineProblem(start: number, end: number, partial = false): string | undefined {
    const queue = this.queue;
    const length = end - start;
    if (!partial) {
      const line = latin1(queue.peek(end).subarray(start));
      const pattern = this.type === 'response' ? STATUS_START : REQUEST_START;
      return pattern.test(line) ? undefined : `not an HTTP/1.x ${this.type === 'response' ? 'status' : 'request'} line: ${JSON.stringify(line.slice(0, 80))}`;
    }
    if (this.type === 'response') {
      const prefix = 'HTTP/';
      for (let i = 0; i < Math.min(length, prefix.length); i++) {
        if (queue.byteAt(start + i) !== prefix.charCodeAt(i)) return 'not an HTTP/1.x status line';
      }
      return undefined;
    }
    for (let i = 0; i < length; i++) {
      const byte = queue.byteAt(start + i);
      if (byte === 0x20) return i === 0 ? 'not an HTTP/1.x request line' : undefined;
      const letter = (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || byte === 0x2d || byte === 0x5f;
      if (!letter || i >= MAX_METHOD) return 'not an HTTP/1.x request line';
    }
    return undefined;
  }

  private headComplete(end: number): HttpFramerItem {
    const raw = this.queue.take(end);
    this.resetHeadScan();
    const method = this.type === 'response' ? (this.expected[0] ?? '') : '';
    const parsed = parseHttpHead(raw, this.type, method);
    if (!parsed.ok) {
      this.state = State.Skip;
      const item: HttpSkippedItem = { kind: 'skipped', raw, first: this.skipFirst, leading: !this.framedAny, reason: parsed.reason, problem: parsed.problem };
      this.skipFirst = false;
      return item;
    }
    const head = parsed.head;
    this.framedAny = true;
    // An interim response (100 Continue, 103) answers nothing yet; the final one follows.
    if (this.type === 'response' && !(head.status >= 100 && head.status < 200 && head.status !== 101)) this.expected.shift();
    if (this.type === 'request' && head.method.toUpperCase() === 'CONNECT') this.state = State.Tunnel;
    else this.beginBody(head);
    return { kind: 'head', raw, head };
  }

  private beginBody(head: HttpHead): void {
    this.bodyStarted = false;
    this.whole = false;
    switch (head.body.kind) {
      case 'none':
        this.state = State.Head;
        return;
      case 'length':
        this.state = State.Length;
        this.remaining = head.body.length;
        return;
      case 'chunked':
        this.state = State.ChunkSize;
        return;
      case 'close':
        this.state = State.Close;
        return;
      case 'tunnel':
        this.state = State.Tunnel;
        return;
    }
  }

  private bodyPiece(raw: Uint8Array): HttpBodyItem {
    this.bodyStarted = true;
    if (this.remaining > 0) return { kind: 'body', raw, last: false };
    if (this.state === State.ChunkData) {
      this.state = State.ChunkEnd;
      return { kind: 'body', raw, last: false };
    }
    this.state = State.Head;
    return { kind: 'body', raw, last: true };
  }

  private afterChunkEnd(raw: Uint8Array): HttpBodyItem {
    this.state = State.ChunkSize;
    return { kind: 'body', raw, last: false };
  }

  /** A chunk-size line, or a trailer line (the empty one ends the body). */
  private nextChunkLine(): HttpFramerItem | undefined {
    const queue = this.queue;
    const limit = Math.min(queue.length, MAX_CHUNK_LINE);
    const lf = queue.indexOf(LF, this.scanned, limit);
    if (lf < 0) {
      this.scanned = limit;
      if (queue.length >= MAX_CHUNK_LINE) return this.skipRest('bad-length', `a chunk-size or trailer line longer than ${MAX_CHUNK_LINE} bytes`);
      return undefined;
    }
    this.scanned = 0;
    const raw = queue.take(lf + 1);
    this.bodyStarted = true;
    if (this.state === State.Trailer) {
      const empty = raw.byteLength === 1 || (raw.byteLength === 2 && raw[0] === CR);
      if (!empty) return { kind: 'body', raw, last: false };
      this.state = State.Head;
      return { kind: 'body', raw, last: true };
    }
    let size = 0;
    let digits = 0;
    for (; digits < raw.byteLength; digits++) {
      const value = hexValue(raw[digits]!);
      if (value < 0) break;
      size = size * 16 + value;
    }
    const after = raw[digits];
    const valid = digits > 0 && digits <= 13 && (after === CR || after === LF || after === 0x3b || after === 0x20 || after === 0x09);
    if (!valid) {
      // The line is handed out as the start of the skipped rest: it is no chunk size.
      this.state = State.Skip;
      this.skipFirst = false;
      return { kind: 'skipped', raw, first: true, leading: false, reason: 'bad-length', problem: 'a chunk-size line that is not a hexadecimal size' };
    }
    if (size === 0) this.state = State.Trailer;
    else {
      this.state = State.ChunkData;
      this.remaining = size;
    }
    return { kind: 'body', raw, last: false };
  }

  /** The rest of the stream cannot be framed: hand it out as skipped, starting with what is held. */
  private skipRest(reason: 'bad-magic' | 'bad-length', problem: string): HttpSkippedItem | undefined {
    this.state = State.Skip;
    this.resetHeadScan();
    const n = this.queue.contiguous;
    const first = this.skipFirst;
    this.skipFirst = false;
    if (n === 0) return undefined;
    return { kind: 'skipped', raw: this.queue.take(n), first, leading: !this.framedAny, reason, problem };
  }
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  return -1;
}
