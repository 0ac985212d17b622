/**
 * The upstream side of a client that uses the http-connect listener as a plain HTTP proxy (requests with an
 * absolute URI, RFC 9112 §3.2.2): one stream the connection relays to, as it would to a socket, behind which each
 * request goes to the server its URI names. A client may name another server in its next request on the same
 * connection (MSN Messenger's gateway does: the first request goes to the gateway's name, the next ones to the
 * address its responses give), so the requests are read (`HttpFramer`): each head is checked (an absolute
 * `http://` URI, the proxy credentials when users are configured), rewritten for the origin server (origin-form
 * target, `Host` from the URI, the proxy's own fields removed), and sent to a connection to that server, opened
 * through the destination policy like a CONNECT. A request for another server waits until every response of the
 * current one has arrived (the responses are read too), so the client gets its responses in order; then the old
 * connection is closed and the new one opened. A refusal (no absolute URI, bad credentials, a destination the
 * policy refuses, a failed connect) is answered in turn as an HTTP error, and the connection ends after it.
 *
 * Bodies are relayed as they come, never held: a write's callback waits while its bytes wait for a connection, so
 * the client is paused meanwhile.
 */
import type net from 'node:net';
import { Duplex } from 'node:stream';
import { HttpFramer, httpHeader, rewriteHttpHead, describeError, type HttpHead, type PluginLogger } from '@imspect/sdk';
import { holdWhileConnecting } from './connection-limits.js';
import type { DestinationPolicy } from './destination-policy.js';
import { checkProxyAuthorization, httpResponse, MAX_REQUEST_HEAD, parseAbsoluteHttpUri, statusForError, type HttpProxyCredentials } from './http-connect.js';
import { connectAllowed, logConnectFailure } from './upstream.js';

export interface HttpProxyUpstreamOptions {
  /** The client's socket: each server connection counts against its connection slot. */
  client: net.Socket;
  clientIp: string;
  destinations: DestinationPolicy;
  connectTimeoutMs: number;
  users?: readonly HttpProxyCredentials[] | undefined;
  log: PluginLogger;
  /** Fields for the log lines (listener, client). */
  context: Record<string, unknown>;
}

/** One server connection and the requests sent on it. */
interface Leg {
  host: string;
  port: number;
  /** `host:port`, the host lower-cased: requests with the same key share the leg. */
  key: string;
  socket: net.Socket | undefined;
  /** Its responses, read to know when the last one is complete. */
  readonly responses: HttpFramer;
  /** Requests sent whose final responses are not complete. */
  outstanding: number;
  /** Bytes for the leg before it is connected (or while it waits its turn). */
  pending: Uint8Array[];
  /** The current response runs until the server closes (no length), or the leg became a tunnel (101). */
  untilClose: boolean;
  /** Given up (switched away from, refused): nothing it says reaches the client any more. */
  done: boolean;
}

/** After the current leg: another server, or an error answer that ends the connection. */
type Next = { kind: 'leg'; leg: Leg } | { kind: 'error'; response: Uint8Array };

export class HttpProxyUpstream extends Duplex {
  private readonly requests = new HttpFramer({ type: 'request', maxHeadBytes: MAX_REQUEST_HEAD });
  /** The leg whose responses the client gets now. */
  private active: Leg | undefined;
  /** What follows the active leg, in order, once its responses are complete. */
  private readonly nexts: Next[] = [];
  /** Where the bytes of the request being read go. */
  private target: Leg | undefined;
  /** An error is answered (or will be): the client's bytes are dropped from then on. */
  private refusing = false;
  /** The callback of a write whose bytes wait for a connection, or for a full socket to drain. */
  private held: (() => void) | undefined;
  /** Set while a write's bytes could not all be handed to a connected, writable socket. */
  private blocked = false;

  constructor(private readonly options: HttpProxyUpstreamOptions) {
    super({ allowHalfOpen: true });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.refusing) {
      callback();
      return;
    }
    this.blocked = false;
    this.requests.push(chunk);
    for (let item = this.requests.next(); item !== undefined; item = this.requests.next()) {
      if (this.refusing) continue; // read to the end of the chunk, dropped
      switch (item.kind) {
        case 'head':
          this.request(item.raw, item.head);
          break;
        case 'body':
        case 'tunnel':
          this.send(item.raw);
          break;
        case 'too-large':
          this.refuse(431, `request head longer than ${MAX_REQUEST_HEAD} bytes`);
          break;
        case 'skipped':
          this.refuse(400, `not an HTTP request: ${item.problem}`);
          break;
        default:
          break;
      }
    }
    if (this.blocked && !this.refusing) this.held = callback;
    else callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    // Every write was handed over (a held callback delays this): the client sent its last byte.
    const leg = this.target;
    if (leg?.socket && !leg.done) leg.socket.end();
    callback();
  }

  override _read(): void {
    const socket = this.active?.socket;
    if (socket?.isPaused()) socket.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    for (const leg of this.legs()) {
      leg.done = true;
      leg.socket?.destroy();
    }
    this.releaseHeld();
    callback(error);
  }

  private legs(): Leg[] {
    const out = this.active ? [this.active] : [];
    for (const next of this.nexts) if (next.kind === 'leg') out.push(next.leg);
    return out;
  }

  /** A request head: checked, rewritten for its server, and sent on that server's leg (a new one if it changed). */
  private request(raw: Uint8Array, head: HttpHead): void {
    if (head.method.toUpperCase() === 'CONNECT') {
      this.refuse(405, 'CONNECT must be the first request of a connection to the proxy', { Allow: 'GET, HEAD, POST, PUT, DELETE, OPTIONS' });
      return;
    }
    const uri = parseAbsoluteHttpUri(head.target);
    if (!uri) {
      this.refuse(400, `${head.method} ${JSON.stringify(head.target.slice(0, 80))} refused: a proxy request needs an absolute http:// URI`);
      return;
    }
    const auth = checkProxyAuthorization(this.options.users, httpHeader(head, 'proxy-authorization'));
    if (auth.kind === 'reject') {
      this.refuse(auth.status, auth.reason, auth.headers);
      return;
    }
    const key = `${uri.host.toLowerCase()}:${uri.port}`;
    let leg = this.target;
    if (!leg || leg.done || leg.key !== key || leg.untilClose) {
      leg = newLeg(uri.host, uri.port, key);
      if (!this.active) {
        this.active = leg;
        this.connect(leg);
      } else this.nexts.push({ kind: 'leg', leg });
      this.target = leg;
    }
    leg.outstanding++;
    leg.responses.expect(head.method);
    // The origin server gets the origin form, the URI's authority as Host, and none of the proxy's own fields.
    this.send(rewriteHttpHead(raw, { target: uri.originForm, set: { Host: uri.authority }, remove: ['proxy-authorization', 'proxy-connection'] }));
    this.maybeSwitch();
  }

  /** Bytes of the current request, to its leg's socket, or kept until the leg is connected and has its turn. */
  private send(bytes: Uint8Array): void {
    const leg = this.target;
    if (!leg || leg.done || bytes.byteLength === 0) return;
    if (leg === this.active && leg.socket) {
      if (!leg.socket.write(bytes)) this.blocked = true;
    } else {
      leg.pending.push(bytes);
      this.blocked = true;
    }
  }

  private connect(leg: Leg): void {
    const { options } = this;
    const connecting = connectAllowed(options.destinations, leg.host, leg.port, options.clientIp, options.connectTimeoutMs);
    // The server connection holds a descriptor: it counts against the client's slot until it is closed.
    holdWhileConnecting(options.client, connecting);
    const target = `${leg.host.includes(':') ? `[${leg.host}]` : leg.host}:${leg.port}`;
    connecting.then(
      (socket) => {
        if (leg.done || this.destroyed) {
          socket.destroy();
          return;
        }
        leg.socket = socket;
        socket.setNoDelay(true);
        socket.on('data', (chunk: Buffer) => this.fromServer(leg, chunk));
        socket.on('end', () => this.serverEnded(leg));
        socket.on('error', (error) => {
          if (!leg.done) this.destroy(error);
        });
        socket.on('drain', () => {
          if (leg === this.target) this.releaseHeld();
        });
        const pending = leg.pending;
        leg.pending = [];
        let writable = true;
        for (const bytes of pending) writable = socket.write(bytes);
        if (writable && leg === this.target) this.releaseHeld();
      },
      (error: NodeJS.ErrnoException) => {
        if (leg.done || this.destroyed) return;
        logConnectFailure(options.log, { ...options.context, server: target }, error);
        const why = error.code === 'DESTINATION_REFUSED' ? 'not allowed by the gateway' : (error.code ?? describeError(error));
        leg.done = true;
        this.answerAndEnd(httpResponse(statusForError(error), {}, `cannot connect to ${target}: ${why}`));
      },
    );
  }

  /** Response bytes of a leg: to the client (only the active leg has any), read to see its responses complete. */
  private fromServer(leg: Leg, chunk: Buffer): void {
    if (leg !== this.active || leg.done) return;
    leg.responses.push(chunk);
    for (let item = leg.responses.next(); item !== undefined; item = leg.responses.next()) {
      if (item.kind === 'head') {
        const { status, body } = item.head;
        if (body.kind === 'tunnel' || body.kind === 'close') leg.untilClose = true;
        if (body.kind === 'tunnel') this.requests.startTunnel();
        const interim = status >= 100 && status < 200 && status !== 101;
        if (body.kind === 'none' && !interim) leg.outstanding--;
      } else if (item.kind === 'body' && item.last) leg.outstanding--;
      else if (item.kind === 'skipped' || item.kind === 'too-large') leg.untilClose = true; // no HTTP to follow: relayed until the close
    }
    if (!this.push(chunk)) leg.socket?.pause();
    this.maybeSwitch();
  }

  /** The server closed its side: the client's read side ends with it (a response without length ends here). */
  private serverEnded(leg: Leg): void {
    if (leg !== this.active || leg.done) return;
    leg.done = true;
    this.refusing = true;
    for (const next of this.nexts.splice(0)) if (next.kind === 'leg') next.leg.done = true;
    this.push(null);
    this.releaseHeld();
  }

  /** The active leg answered everything it was asked: the next server's turn (or the error owed). */
  private maybeSwitch(): void {
    const leg = this.active;
    if (!leg || leg.outstanding > 0 || leg.untilClose || this.nexts.length === 0) return;
    const next = this.nexts.shift()!;
    leg.done = true;
    leg.socket?.end();
    if (next.kind === 'error') {
      this.active = undefined;
      this.answerAndEnd(next.response);
      return;
    }
    this.active = next.leg;
    this.connect(next.leg);
  }

  /**
   * Answers the current request with an error, in turn: at once when no response is still owed, else after the
   * active leg's. The connection ends after it; the client's bytes are dropped from now on.
   */
  private refuse(status: number, reason: string, headers?: Record<string, string>): void {
    this.options.log.warn({ ...this.options.context, status }, `HTTP proxy request refused: ${reason}`);
    const response = httpResponse(status, headers, reason);
    this.refusing = true;
    this.target = undefined;
    for (const next of this.nexts) if (next.kind === 'leg') next.leg.done = true;
    const owed = this.active && !this.active.done && this.active.outstanding > 0;
    this.nexts.length = 0;
    if (owed) this.nexts.push({ kind: 'error', response });
    else {
      if (this.active) {
        this.active.done = true;
        this.active.socket?.end();
      }
      this.answerAndEnd(response);
    }
    this.releaseHeld();
  }

  /** Writes an error response to the client and ends its read side. */
  private answerAndEnd(response: Uint8Array): void {
    this.refusing = true;
    for (const next of this.nexts.splice(0)) if (next.kind === 'leg') next.leg.done = true;
    this.push(response);
    this.push(null);
    this.releaseHeld();
  }

  private releaseHeld(): void {
    const held = this.held;
    this.held = undefined;
    held?.();
  }
}

function newLeg(host: string, port: number, key: string): Leg {
  return {
    host,
    port,
    key,
    socket: undefined,
    responses: new HttpFramer({ type: 'response', maxHeadBytes: 64 * 1024 }),
    outstanding: 0,
    pending: [],
    untilClose: false,
    done: false,
  };
}
