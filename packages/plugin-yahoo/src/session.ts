/**
 * `YahooSession`: the ProtocolSession for one YMSG connection. Bytes in, one frame per packet out; no I/O, no
 * timers, no logging, nothing thrown on any input.
 */
import type { Direction, Frame, ImEvent, ProtocolSession, SessionContext } from '@imspect/sdk';
import { buildConferenceMessage, buildMessage } from './encoder.js';
import { HEADER_BYTES, MAX_PACKET_BYTES } from './packet.js';
import { ymsgFramer, type YmsgFramer } from './framer.js';
import { YahooState } from './yahoo-state.js';
import { YmsgPacket } from './ymsg-packet.js';

/** Every YMSG packet fits: the body length is a u16. */
export const DEFAULT_MAX_PACKET_BYTES = MAX_PACKET_BYTES;

/** Sender name of notices in a conference, where no single party speaks for imspect. */
export const CONFERENCE_NOTICE_SENDER = 'imspect';

export class YahooSession implements ProtocolSession {
  readonly maxPacketBytes: number;
  private readonly state: YahooState;
  private readonly framers: Record<Direction, YmsgFramer>;
  /** The capture may start inside a packet: bytes before the first packet are expected, not an error. */
  private readonly midstream: boolean;
  /** Per direction: bytes were lost (`gap`) and no packet came since, so bytes before the next one are expected. */
  private readonly lost: Record<Direction, boolean> = { outgoing: false, incoming: false };

  constructor(ctx: SessionContext) {
    const max = Number.isFinite(ctx.maxFrameSize) ? Math.floor(ctx.maxFrameSize) : DEFAULT_MAX_PACKET_BYTES;
    this.maxPacketBytes = Math.min(MAX_PACKET_BYTES, Math.max(HEADER_BYTES, max));
    this.midstream = ctx.midstream === true;
    this.state = new YahooState(ctx.server.host, this.midstream);
    this.framers = {
      outgoing: ymsgFramer(this.maxPacketBytes),
      incoming: ymsgFramer(this.maxPacketBytes),
    };
  }

  get localId(): string | undefined {
    return this.state.localId;
  }

  /** The other participants of a conference, as far as the connection has shown them. */
  conferenceMembers(room: string): string[] {
    return this.state.members(room);
  }

  bufferedBytes(direction: Direction): number {
    return this.framers[direction].buffered;
  }

  push(direction: Direction, chunk: Uint8Array): Frame[] {
    const frames: Frame[] = [];
    const framer = this.framers[direction];
    framer.push(chunk);
    for (let item = framer.next(); item !== undefined; item = framer.next()) {
      switch (item.kind) {
        case 'frame': {
          this.lost[direction] = false;
          const packet = new YmsgPacket(item.raw, item.header);
          const frame: Frame = { raw: item.raw };
          const outcome = this.state.handle(direction, packet);
          if (outcome.events !== undefined) frame.events = outcome.events;
          if (outcome.rewrite !== undefined) frame.rewrite = outcome.rewrite;
          if (packet.bodyError !== undefined) frame.error = { code: 'malformed-body', message: `YMSG service 0x${packet.service.toString(16)}: ${packet.bodyError}` };
          frames.push(frame);
          break;
        }
        case 'too-large':
          frames.push({
            raw: item.raw,
            error: { code: 'frame-too-large', message: `YMSG packet of ${20 + item.header.bodyLength} bytes is longer than ${this.maxPacketBytes}; passed through unparsed` },
          });
          break;
        case 'rest':
          frames.push({ raw: item.raw });
          break;
        case 'skipped':
          frames.push(
            item.first && !(this.midstream && item.leading) && !this.lost[direction]
              ? { raw: item.raw, error: { code: 'not-ymsg', message: 'bytes that are not a YMSG packet; passed through up to the next "YMSG"' } }
              : { raw: item.raw },
          );
          break;
      }
    }
    return frames;
  }

  end(direction: Direction): Frame[] {
    const rest = this.framers[direction].end();
    return rest === undefined ? [] : [{ raw: rest }];
  }

  /** Bytes were lost: a packet held incomplete is passed through, and the next one is found by its `YMSG` magic. */
  gap(direction: Direction, _bytesMissing: number): Frame[] {
    this.lost[direction] = true;
    return this.end(direction);
  }

  /**
   * A message to the local client: in a conference, a conference message from "imspect"; otherwise a private
   * message from the other party of `about`, so it shows in the conversation it concerns.
   */
  respond(text: string, about?: ImEvent): Uint8Array | undefined {
    const local = this.state.localId ?? about?.localId;
    if (local === undefined || local === '*') return undefined;
    // Before the server's LOGON the client shows nothing it is sent (a denied client only sees the connection close).
    if (!this.state.isLoggedIn) return undefined;
    const ctx = { versionBytes: this.state.serverVersionBytes, sessionId: this.state.sessionId };
    if (about?.conversation !== undefined && about.conversation !== '') {
      return buildConferenceMessage(ctx, local, about.conversation, CONFERENCE_NOTICE_SENDER, text);
    }
    // About a conversation: from its other party. About the connection itself (login, client): from imspect.
    const aboutServer = about === undefined || about.type === 'login' || about.type === 'logout' || about.type === 'other';
    const from = !aboutServer && about.remoteId && about.remoteId !== '*' ? about.remoteId : CONFERENCE_NOTICE_SENDER;
    return buildMessage(ctx, local, from, text);
  }
}
