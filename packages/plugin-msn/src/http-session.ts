/**
 * `MsnHttpSession`: one HTTP connection that may carry MSN's HTTP gateway (see gateway.ts). An HTTP framer per
 * direction reads the messages; gateway requests and their responses are read whole (within the plugin's frame
 * limit, checked against their Content-Length first) and their bodies fed to the MSN session they belong to
 * (`GatewaySessions`, shared by every connection, found by the session id each request carries), so every
 * command comes out as the same frame with the same events as over TCP 1863. Everything else on the connection
 * (other requests, their bodies, whatever is no HTTP) passes through as it arrives, unbuffered.
 *
 * A gateway message goes out as: its head (held back: forwards nothing), one frame per command (each forwards
 * nothing itself; policy's verdict on it is remembered: a blocked command is left out, a masked one re-encoded),
 * then a frame of no bytes whose `replacement` is the message as it must go out, read by core after policy
 * decided on every command before it: the head with its Content-Length fixed (a send whose commands were all
 * blocked becomes a poll, so the client still gets its one response), the commands that passed, and for a
 * response, the replies imspect owes the client (`respondLater`: blocked replies, the monitoring notice), since
 * an HTTP client takes nothing but responses to its requests. No I/O, nothing thrown on any input.
 */
import {
  concatChunks,
  HttpFramer,
  httpHeader,
  rewriteHttpHead,
  type Direction,
  type Frame,
  type HttpHead,
  type ImEvent,
  type ProtocolSession,
  type ServerEndpoint,
  type SessionContext,
} from '@imspect/sdk';
import { parseGatewayTarget, parseMessengerHeader, pollTarget, type GatewayRequest, type MessengerHeader } from './gateway.js';
import type { GatewaySession, GatewaySessions } from './gateway-sessions.js';
import { parseHostPort, type MsnRoutes } from './routes.js';

const EMPTY = new Uint8Array(0);
/** Longest HTTP head read (the plugin's frame limit, if smaller); gateway heads are a few hundred bytes. */
const MAX_HEAD_BYTES = 32 * 1024;
/** Requests whose responses are still to come (a client waits for each; pipelining is bounded). */
const MAX_IN_FLIGHT = 256;
/** Fields whose values are secrets: a head that has one is never shown in the debug log. */
const SECRET_FIELDS = /^(?:authorization|proxy-authorization|cookie)$/i;

export interface MsnHttpOptions {
  sessions: GatewaySessions;
  /** Forward listeners: where each session's next request goes, as the gateway said (`GW-IP`). */
  routes?: MsnRoutes;
  /** Largest gateway message (head and body) read whole; a larger one passes through unparsed. */
  maxMessageBytes: number;
}

/** A request and its response: whether it is the gateway's, and which MSN session it carries. */
interface Exchange {
  request: GatewayRequest | undefined;
  session: GatewaySession | undefined;
}

/** A gateway message whose body is being read whole. */
interface Collecting {
  raw: Uint8Array;
  head: HttpHead;
  exchange: Exchange;
}

/** What policy made of one command: its bytes as they must go out (none when blocked). */
interface Output {
  bytes: Uint8Array;
}

export class MsnHttpSession implements ProtocolSession {
  private readonly framers: Record<Direction, HttpFramer>;
  private readonly inFlight: Exchange[] = [];
  private readonly collecting: Record<Direction, Collecting | undefined> = { outgoing: undefined, incoming: undefined };
  /** The gateway session of the last message handed out in each direction: replies for it go with its next response. */
  private readonly last: Record<Direction, GatewaySession | undefined> = { outgoing: undefined, incoming: undefined };
  private readonly maxMessageBytes: number;
  private local: string | undefined;
  private machine: string | undefined;

  constructor(
    private readonly ctx: SessionContext,
    private readonly options: MsnHttpOptions,
  ) {
    this.maxMessageBytes = Math.max(1024, options.maxMessageBytes);
    const maxHeadBytes = Math.min(MAX_HEAD_BYTES, this.maxMessageBytes);
    this.framers = { outgoing: new HttpFramer({ type: 'request', maxHeadBytes }), incoming: new HttpFramer({ type: 'response', maxHeadBytes }) };
  }

  get localId(): string | undefined {
    return this.local;
  }

  get clientId(): string | undefined {
    return this.machine;
  }

  /** Bytes held in `direction`: an incomplete head, or a gateway message being read whole. */
  bufferedBytes(direction: Direction): number {
    return this.framers[direction].buffered + (this.collecting[direction]?.raw.byteLength ?? 0);
  }

  push(direction: Direction, chunk: Uint8Array): Frame[] {
    const framer = this.framers[direction];
    framer.push(chunk);
    const frames: Frame[] = [];
    for (let item = framer.next(); item !== undefined; item = framer.next()) {
      switch (item.kind) {
        case 'head':
          if (direction === 'outgoing') this.request(item.raw, item.head, frames);
          else this.response(item.raw, item.head, frames);
          break;
        case 'body': {
          const pending = this.collecting[direction];
          if (pending) {
            this.collecting[direction] = undefined;
            this.message(direction, pending, item.raw, frames);
          } else frames.push({ raw: item.raw });
          break;
        }
        case 'too-large':
          frames.push({
            raw: item.raw,
            error: { code: 'http-head-too-large', message: `HTTP head longer than ${framer.maxHeadBytes} bytes; the rest of the connection is passed through unparsed` },
          });
          break;
        case 'skipped':
          frames.push(
            item.first ? { raw: item.raw, error: { code: 'not-http', message: `${item.problem}; the rest of the connection is passed through unparsed` } } : { raw: item.raw },
          );
          break;
        default:
          frames.push({ raw: item.raw });
      }
    }
    return frames;
  }

  end(direction: Direction): Frame[] {
    const pending = this.collecting[direction];
    this.collecting[direction] = undefined;
    const rest = this.framers[direction].end();
    const parts = [pending?.raw, rest].filter((p): p is Uint8Array => p !== undefined && p.byteLength > 0);
    return parts.length === 0 ? [] : [{ raw: concatChunks(parts) }];
  }

  /** Nothing can be written to an HTTP client between responses: replies go with the next response (`respondLater`). */
  respond(): Uint8Array | undefined {
    return undefined;
  }

  respondLater(text: string, about: ImEvent): boolean {
    const order: Direction[] = about.direction === 'incoming' ? ['incoming', 'outgoing'] : ['outgoing', 'incoming'];
    for (const direction of order) {
      const session = this.last[direction];
      if (!session || session.closed) continue;
      const bytes = session.msn.respond(text, about);
      if (bytes && session.queue(bytes)) return true;
    }
    return false;
  }

  private request(raw: Uint8Array, head: HttpHead, frames: Frame[]): void {
    const request = head.method.toUpperCase() === 'POST' ? parseGatewayTarget(head.target) : undefined;
    const exchange: Exchange = { request, session: request ? this.sessionFor(request) : undefined };
    if (this.inFlight.length >= MAX_IN_FLIGHT) this.inFlight.shift();
    this.inFlight.push(exchange);
    this.framers.incoming.expect(head.method);
    if (!request) frames.push(headFrame(raw, head));
    else this.gatewayHead('outgoing', raw, head, exchange, frames);
  }

  private response(raw: Uint8Array, head: HttpHead, frames: Frame[]): void {
    const interim = head.status >= 100 && head.status < 200 && head.status !== 101;
    const exchange = interim ? this.inFlight[0] : this.inFlight.shift();
    if (head.body.kind === 'tunnel') this.framers.outgoing.startTunnel();
    if (!exchange?.session || interim) {
      frames.push(headFrame(raw, head));
      return;
    }
    if (head.status < 200 || head.status >= 300) {
      // An error page, not MSNP; its session header (Session=close) still counts.
      const header = this.sessionHeader(head, exchange.session);
      if (header?.close) this.options.sessions.close(exchange.session);
      const messenger = this.forwardMessenger(head, header);
      frames.push({ ...headFrame(raw, head), ...(messenger !== undefined ? { replacement: rewriteHttpHead(raw, { set: { 'X-MSN-Messenger': messenger } }) } : {}) });
      return;
    }
    this.gatewayHead('incoming', raw, head, exchange, frames);
  }

  /** A gateway message's head: its body is read whole, or (too large, or no length) relayed as it comes, unread. */
  private gatewayHead(direction: Direction, raw: Uint8Array, head: HttpHead, exchange: Exchange, frames: Frame[]): void {
    if (head.body.kind === 'none') {
      this.message(direction, { raw, head, exchange }, EMPTY, frames);
      return;
    }
    if (this.framers[direction].wholeBody(this.maxMessageBytes - raw.byteLength)) {
      this.collecting[direction] = { raw, head, exchange };
      return;
    }
    let forwardHead: Uint8Array | undefined;
    if (direction === 'incoming') {
      const header = this.sessionHeader(head, exchange.session!);
      if (header?.close) this.options.sessions.close(exchange.session!);
      const messenger = this.forwardMessenger(head, header);
      if (messenger !== undefined) forwardHead = rewriteHttpHead(raw, { set: { 'X-MSN-Messenger': messenger } });
    }
    const size = head.body.kind === 'length' ? `${head.body.length} bytes` : `a ${head.body.kind} body`;
    frames.push({
      ...headFrame(raw, head),
      ...(forwardHead ? { replacement: forwardHead } : {}),
      error: {
        code: head.body.kind === 'length' ? 'payload-too-large' : 'gateway-body-unread',
        message: `MSN gateway ${direction === 'outgoing' ? 'request' : 'response'} with ${size}: over the limit of ${this.maxMessageBytes - raw.byteLength} bytes or of no known length; passed through unparsed`,
      },
    });
  }

  /** A complete gateway message: its body's commands through the session's MSNP parser, then the message reassembled. */
  private message(direction: Direction, pending: Collecting, body: Uint8Array, frames: Frame[]): void {
    const { raw, head, exchange } = pending;
    const session = exchange.session!;
    const header = direction === 'incoming' ? this.sessionHeader(head, session) : undefined;
    const messenger = direction === 'incoming' ? this.forwardMessenger(head, header) : undefined;
    this.last[direction] = session;
    const outputs: Output[] = [];
    frames.push({ raw, replacement: EMPTY, ...(hasSecret(head) ? { secret: true } : {}) });
    const inner = session.msn.push(direction, body);
    // Each body stands alone: a command cut at its end is passed on as it is, not joined with the next request's.
    const cut = session.msn.end(direction);
    for (const frame of inner) frames.push(wrapCommand(frame, outputs));
    for (const frame of cut) {
      frames.push(
        wrapCommand(
          {
            raw: frame.raw,
            error: { code: 'gateway-partial-command', message: `an MSNP command cut at the end of a gateway ${direction === 'outgoing' ? 'request' : 'response'} body` },
          },
          outputs,
        ),
      );
    }
    this.local = session.msn.localId ?? this.local;
    this.machine = session.msn.clientId ?? this.machine;
    let assembled: Uint8Array | undefined;
    const assemble = () => {
      const parts = outputs.map((o) => o.bytes);
      // A response carries what imspect owes the client: it takes nothing else.
      if (direction === 'incoming' && session.hasQueued) parts.push(...session.takeQueued());
      let length = 0;
      for (const part of parts) length += part.byteLength;
      const sendEmptied = direction === 'outgoing' && length === 0 && body.byteLength > 0 && exchange.request!.action === undefined;
      const changed = length !== body.byteLength || sendEmptied || messenger !== undefined;
      const set: Record<string, string> = { 'Content-Length': String(length), ...(messenger !== undefined ? { 'X-MSN-Messenger': messenger } : {}) };
      const headOut = changed ? rewriteHttpHead(raw, { set, ...(sendEmptied ? { target: pollTarget(exchange.request!) } : {}) }) : raw;
      return concatChunks([headOut, ...parts]);
    };
    frames.push({
      raw: EMPTY,
      get replacement() {
        return (assembled ??= assemble());
      },
    });
    if (header?.close) this.options.sessions.close(session);
  }

  /** The gateway's `X-MSN-Messenger` on a response: the session's next id and gateway address. */
  private sessionHeader(head: HttpHead, session: GatewaySession): MessengerHeader | undefined {
    const value = httpHeader(head, 'x-msn-messenger');
    if (value === undefined) return undefined;
    const header = parseMessengerHeader(value);
    if (header.sessionId !== undefined) this.options.sessions.remember(session, header.sessionId);
    if (header.gatewayIp !== undefined) session.gatewayIp = header.gatewayIp;
    return header;
  }

  /**
   * Through a forward listener, a response's `X-MSN-Messenger` as the client must get it: the gateway address of
   * its next request (`GW-IP`) is imspect's, so that request comes back through imspect, which remembers the real
   * one for the session id (`routeForward`). Undefined when nothing is to change.
   */
  private forwardMessenger(head: HttpHead, header: MessengerHeader | undefined): string | undefined {
    const listener = this.ctx.listener;
    const routes = this.options.routes;
    if (!listener || !routes || header?.gatewayIp === undefined) return undefined;
    if (header.sessionId !== undefined) routes.rememberGateway(header.sessionId, { host: header.gatewayIp, port: this.ctx.server.port });
    const value = httpHeader(head, 'x-msn-messenger')!;
    return value.replace(/(GW-IP\s*=\s*)[^;\s]+/i, `$1${listener.host}`);
  }

  /** The MSN session a gateway request belongs to: new for `Action=open`, else the one its session id names. */
  private sessionFor(request: GatewayRequest): GatewaySession {
    const sessions = this.options.sessions;
    if (request.action === 'open') return sessions.open(request.server, this.ctx.client, serverOf(request.ip) ?? this.ctx.server, this.maxMessageBytes);
    const found = sessions.find(request.sessionId!);
    if (found) return found;
    // An id never seen (a session begun before imspect ran, or opened through another way): read from here on.
    const session = sessions.open(undefined, this.ctx.client, this.ctx.server, this.maxMessageBytes);
    sessions.remember(session, request.sessionId!);
    return session;
  }
}

/** A command frame of a gateway body: it forwards nothing itself; what policy did to it is kept for the message. */
function wrapCommand(inner: Frame, outputs: Output[]): Frame {
  const output: Output = { bytes: inner.replacement ?? inner.raw };
  outputs.push(output);
  const frame: Frame = { raw: inner.raw, replacement: EMPTY };
  if (inner.error) frame.error = inner.error;
  if (inner.secret) frame.secret = true;
  if (inner.events && inner.events.length > 0) {
    frame.events = inner.events;
    // Core asks for the refusal exactly when policy blocks the frame: the command is then left out.
    frame.refusal = () => {
      output.bytes = EMPTY;
      return undefined;
    };
  }
  const rewrite = inner.rewrite;
  if (rewrite) {
    frame.rewrite = (text: string) => {
      output.bytes = rewrite.call(inner, text);
      return EMPTY;
    };
  }
  return frame;
}

function headFrame(raw: Uint8Array, head: HttpHead): Frame {
  return hasSecret(head) ? { raw, secret: true } : { raw };
}

function hasSecret(head: HttpHead): boolean {
  return head.headers.some(([name]: readonly [string, string]) => SECRET_FIELDS.test(name));
}

/** The server of an open request's `IP` (`host` or `host:port`; MSN's port when none is given). */
function serverOf(ip: string | undefined): ServerEndpoint | undefined {
  if (ip === undefined || ip === '') return undefined;
  return parseHostPort(ip) ?? (/^[\w.-]+$/.test(ip) ? { host: ip, port: 1863 } : undefined);
}
