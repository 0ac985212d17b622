/**
 * `GgSession`: the ProtocolSession for one Gadu-Gadu connection. Bytes in, one frame per packet out; no I/O, no
 * timers, no logging, nothing thrown on any input.
 */
import type { Direction, Frame, ImEvent, ProtocolSession, SessionContext } from '@imspect/sdk';
import { buildRecvMsg, buildRecvMsg80 } from './encoder.js';
import { GgFramer } from './framer.js';
import { GgState, UNKNOWN_ID } from './gg-state.js';
import { GgPacket } from './packet.js';
import { HEADER_BYTES } from './packet-types.js';

/**
 * Default packet limit: messages are a few KiB, contact lists and image parts tens; 1 MiB leaves room for a
 * large exported list and stays far below what a desynchronised length field could announce.
 */
export const DEFAULT_MAX_PACKET_BYTES = 1024 * 1024;

export class GgSession implements ProtocolSession {
  readonly maxPacketBytes: number;
  private readonly state: GgState;
  private framers: Record<Direction, GgFramer>;
  /** Sequence numbers of injected messages: a range the clients' own (time-based) numbers do not reach soon. */
  private injectedSeq = 0x7f000000;

  constructor(ctx: SessionContext) {
    const max = Number.isFinite(ctx.maxFrameSize) ? Math.floor(ctx.maxFrameSize) : DEFAULT_MAX_PACKET_BYTES;
    this.maxPacketBytes = Math.max(HEADER_BYTES, max);
    this.state = new GgState(ctx.server.host);
    const midstream = ctx.midstream === true;
    this.framers = {
      outgoing: new GgFramer('outgoing', this.maxPacketBytes, midstream),
      incoming: new GgFramer('incoming', this.maxPacketBytes, midstream),
    };
  }

  get localId(): string | undefined {
    return this.state.localId;
  }

  bufferedBytes(direction: Direction): number {
    return this.framers[direction].buffered;
  }

  push(direction: Direction, chunk: Uint8Array): Frame[] {
    const frames: Frame[] = [];
    for (const item of this.framers[direction].push(chunk)) {
      switch (item.kind) {
        case 'packet': {
          const packet = new GgPacket(item.raw, item.header);
          const outcome = this.state.handle(direction, packet);
          const frame: Frame = { raw: item.raw };
          if (outcome.events !== undefined) frame.events = outcome.events;
          if (outcome.rewrite !== undefined) frame.rewrite = outcome.rewrite;
          if (outcome.refusal !== undefined) frame.refusal = outcome.refusal;
          if (outcome.error !== undefined) frame.error = { code: 'malformed-packet', message: `Gadu-Gadu packet 0x${packet.type.toString(16)}: ${outcome.error}` };
          frames.push(frame);
          break;
        }
        case 'too-large':
          frames.push({
            raw: item.raw,
            error: {
              code: 'frame-too-large',
              message: `Gadu-Gadu packet 0x${item.header.type.toString(16)} of ${HEADER_BYTES + item.header.length} bytes is longer than ${this.maxPacketBytes}; passed through unparsed`,
            },
          });
          break;
        case 'rest':
          frames.push({ raw: item.raw });
          break;
        case 'garbage':
          frames.push(
            item.first
              ? { raw: item.raw, error: { code: 'not-gadu-gadu', message: 'bytes that are not a Gadu-Gadu packet; passed through up to the next plausible packet header' } }
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

  /**
   * Bytes were lost: the packet held incomplete is passed through, and the next one is found as in a stream
   * joined mid-way (a header of a known type and plausible length that what follows confirms).
   */
  gap(direction: Direction, _bytesMissing: number): Frame[] {
    const frames = this.end(direction);
    this.framers[direction] = new GgFramer(direction, this.maxPacketBytes, true);
    return frames;
  }

  /**
   * A message to the local client, from the other party of `about` (a system message, sender 0, when it is
   * about the connection itself), as GG_RECV_MSG80 for clients that read it, else GG_RECV_MSG.
   */
  respond(text: string, about?: ImEvent): Uint8Array | undefined {
    if (!this.state.isLoggedIn) return undefined;
    const local = this.state.localId ?? about?.localId;
    if (local === undefined || local === UNKNOWN_ID) return undefined;
    const aboutServer = about === undefined || about.type === 'login' || about.type === 'logout' || about.type === 'other' || about.conversation !== undefined;
    const peer = !aboutServer && /^\d{1,10}$/.test(about.remoteId) ? Number(about.remoteId) : 0;
    const from = peer <= 0xffffffff ? peer : 0;
    const at = about === undefined ? Number.NaN : Date.parse(about.at);
    const message = { from, seq: this.injectedSeq++, time: Number.isFinite(at) ? Math.floor(at / 1000) : 0, text };
    return this.state.msg80Client ? buildRecvMsg80(message) : buildRecvMsg(message);
  }
}
