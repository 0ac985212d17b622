/**
 * `IrcSession`: the ProtocolSession for one IRC connection. Bytes in, one frame per line out; no I/O, no
 * timers, no logging, nothing thrown on any input.
 */
import { concatChunks, LineFramer, type Direction, type EventDraft, type Frame, type ImEvent, type ProtocolSession, type SessionContext } from '@imspect/sdk';
import { buildNotices, GATEWAY_HOST, GATEWAY_USER } from './encoder.js';
import { IrcState } from './irc-state.js';
import { parseLine } from './message.js';

/** What a reply is shown next to: a message or a file offer the user sent to a channel or a nick. */
const CONVERSATION_TYPES: ReadonlySet<string> = new Set(['message', 'file']);

/** 8191 bytes of tags plus a 512-byte message, rounded up. */
export const DEFAULT_MAX_LINE_BYTES = 16 * 1024;
/** No line may be shorter than a legal RFC 1459 line. */
export const MIN_MAX_LINE_BYTES = 512;

export interface IrcSessionOptions {
  /** Hide passwords sent to services (NickServ IDENTIFY ...) in event text. Default true. */
  redactPasswords?: boolean;
}

interface DirectionState {
  reader: LineFramer;
  /** Lines seen so far (the first one of a mid-stream session may be a fragment). */
  lines: number;
  /** Bytes were lost (`gap`): the next line may be a fragment too. */
  resync?: boolean;
}

export class IrcSession implements ProtocolSession {
  readonly maxLineBytes: number;
  private readonly state: IrcState;
  private readonly midstream: boolean;
  private readonly sides: Record<Direction, DirectionState>;
  /** After STARTTLS: every byte passes through untouched. */
  private tls = false;
  /** Where this connection's nicks and channels are valid; core puts it on every event (see {@link ircNetwork}). */
  readonly network: string;

  constructor(ctx: SessionContext, options: IrcSessionOptions = {}) {
    const max = Number.isFinite(ctx.maxFrameSize) ? Math.floor(ctx.maxFrameSize) : DEFAULT_MAX_LINE_BYTES;
    this.maxLineBytes = Math.max(MIN_MAX_LINE_BYTES, max);
    this.midstream = ctx.midstream === true;
    this.network = ircNetwork(ctx.server.host);
    this.state = new IrcState({
      serverHost: ctx.server.host,
      midstream: this.midstream,
      redactPasswords: options.redactPasswords !== false,
    });
    this.sides = {
      outgoing: { reader: new LineFramer(this.maxLineBytes), lines: 0 },
      incoming: { reader: new LineFramer(this.maxLineBytes), lines: 0 },
    };
  }

  get localId(): string | undefined {
    return this.state.identity ?? this.state.nick;
  }

  /** True once STARTTLS was accepted and until imspect says it decrypts it: the session does not parse. */
  get passthrough(): boolean {
    return this.tls;
  }

  /** imspect decrypts the TLS after `670`: the lines inside it are parsed as before (the nick and state carry on). */
  tlsIntercepted(): void {
    this.tls = false;
  }

  /** Bytes held for an incomplete line in `direction` (always below the line limit). */
  bufferedBytes(direction: Direction): number {
    return this.sides[direction].reader.buffered;
  }

  push(direction: Direction, chunk: Uint8Array): Frame[] {
    const side = this.sides[direction];
    if (this.tls) return this.passThrough(side, chunk);
    side.reader.push(chunk);
    const frames: Frame[] = [];
    for (let item = side.reader.next(); item !== undefined; item = side.reader.next()) {
      if (item.kind === 'too-large') {
        frames.push({
          raw: item.raw,
          error: { code: 'frame-too-large', message: `IRC line longer than ${this.maxLineBytes} bytes; passed through unparsed` },
        });
        continue;
      }
      if (item.kind === 'rest') {
        frames.push({ raw: item.raw });
        if (item.complete) {
          side.lines++;
          side.resync = false;
        }
        continue;
      }
      const frame: Frame = { raw: item.raw };
      side.lines++;
      if ((this.midstream && side.lines === 1) || side.resync) {
        side.resync = false;
        frames.push(frame); // may be the tail of a line whose start was missed
        continue;
      }
      const parsed = parseLine(item.raw, item.contentLength);
      if (parsed.kind === 'malformed') frame.error = parsed.error;
      if (parsed.kind === 'message') {
        const { message } = parsed;
        if (message.error !== undefined) frame.error = message.error;
        const outcome = this.state.handle(direction, message);
        if (outcome.events !== undefined) frame.events = this.placed(outcome.events);
        if (outcome.rewrite !== undefined) frame.rewrite = outcome.rewrite;
        if (outcome.upgrade !== undefined) {
          frame.upgrade = outcome.upgrade;
          frames.push(frame);
          this.tls = true;
          const rest = side.reader.end();
          if (rest !== undefined) frames.push({ raw: rest });
          break;
        }
      }
      frames.push(frame);
    }
    return frames;
  }

  end(direction: Direction): Frame[] {
    const rest = this.sides[direction].reader.end();
    return rest === undefined ? [] : [{ raw: rest }];
  }

  /** Bytes were lost: the line held incomplete is passed through, and the next line is read only after a line end. */
  gap(direction: Direction, _bytesMissing: number): Frame[] {
    const frames = this.end(direction);
    this.sides[direction].resync = true;
    this.state.lostBytes();
    return frames;
  }

  /**
   * A NOTICE the client shows where it belongs: about something the user sent to a channel, to that channel
   * (from `imspect!imspect@gateway`); to a nick, as a private notice from that nick (`carol!imspect@gateway`,
   * the user and host saying it is the gateway speaking), which clients show in the query with that nick;
   * anything else (a login, the monitoring notice before any conversation), from the server to the user's nick.
   */
  respond(text: string, about?: ImEvent): Uint8Array | undefined {
    const nick = this.state.nick;
    if (nick === undefined) return undefined;
    const gateway = `${GATEWAY_USER}@${GATEWAY_HOST}`;
    if (about !== undefined && about.direction === 'outgoing' && CONVERSATION_TYPES.has(about.type) && about.remoteId.length > 0 && about.remoteId !== '*') {
      if (about.conversation !== undefined && about.conversation === about.remoteId) return buildNotices(`${GATEWAY_USER}!${gateway}`, about.remoteId, text);
      if (!this.state.server.sameName(about.remoteId, nick)) return buildNotices(`${about.remoteId}!${gateway}`, nick, text);
    }
    return buildNotices(this.state.serverName ?? 'imspect', nick, text);
  }

  /** Each event gets the nick the user goes by when it is not the identity's. */
  private placed(list: EventDraft[]): EventDraft[] {
    const alias = this.state.aliasNick;
    if (alias === undefined) return list;
    for (const event of list) {
      const data = event.data;
      if (data === undefined) event.data = { nick: alias };
      else if (!Object.hasOwn(data, 'nick')) event.data = { ...data, nick: alias };
    }
    return list;
  }

  private passThrough(side: DirectionState, chunk: Uint8Array): Frame[] {
    const held = side.reader.end();
    if (held === undefined) return chunk.byteLength === 0 ? [] : [{ raw: chunk }];
    if (chunk.byteLength === 0) return [{ raw: held }];
    return [{ raw: concatChunks([held, chunk]) }];
  }
}

/**
 * The network an IRC connection belongs to: the server host the client connected to (the name it asked a SOCKS
 * or HTTP proxy for, the forward listener's upstream, or the address a transparent listener caught), lower-cased,
 * without a trailing dot or IPv6 brackets. Nicks and channels are per network, so the archive files and searches
 * by it. The `NETWORK=` name of `005` comes after `001`, whose `login` event (judged by policy with that line)
 * must already name its network, so it cannot be used without splitting a connection's events in two.
 */
export function ircNetwork(host: string): string {
  let name = String(host ?? '')
    .trim()
    .toLowerCase();
  if (name.startsWith('[') && name.endsWith(']')) name = name.slice(1, -1);
  while (name.endsWith('.') && name.length > 1) name = name.slice(0, -1);
  return name;
}
