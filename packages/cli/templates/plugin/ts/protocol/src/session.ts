import { type Direction, type EventDraft, type Frame, LineReader, type ProtocolSession, type SessionContext } from '@imspect/sdk';

const decoder = new TextDecoder();

/**
 * The parser of one connection of a line protocol: the client sends `LOGIN <user>` and `MSG <peer> :<text>`, the
 * server `MSG <peer> :<text>`. It does no I/O, keeps no timers and never logs: bytes in, frames out, the same
 * frames however TCP cuts the bytes (the test checks that at every cut).
 */
export class ChatSession implements ProtocolSession {
  /** The protected user, once the client logged in. */
  localId: string | undefined;
  private readonly readers: Record<Direction, LineReader>;

  constructor(ctx: SessionContext) {
    this.readers = { outgoing: new LineReader(ctx.maxFrameSize), incoming: new LineReader(ctx.maxFrameSize) };
  }

  push(direction: Direction, chunk: Uint8Array): Frame[] {
    const reader = this.readers[direction];
    reader.push(chunk);
    const frames: Frame[] = [];
    for (let item = reader.next(); item !== undefined; item = reader.next()) {
      if (item.kind === 'line') {
        const line = decoder.decode(item.raw.subarray(0, item.contentLength));
        frames.push({ raw: item.raw, events: this.eventsOf(direction, line) });
      } else if (item.kind === 'too-large') {
        frames.push({ raw: item.raw, error: { code: 'frame-too-large', message: `line longer than ${reader.maxLineBytes} bytes` } });
      } else {
        frames.push({ raw: item.raw }); // the rest of an over-long line: passed through
      }
    }
    return frames;
  }

  end(direction: Direction): Frame[] {
    const rest = this.readers[direction].drain();
    return rest === undefined ? [] : [{ raw: rest }];
  }

  /** Bytes that make the client show `text` (imspect's blocked replies and notices). */
  respond(text: string): Uint8Array {
    return new TextEncoder().encode(`NOTICE :${text.replace(/[\r\n]+/g, ' ')}\r\n`);
  }

  private eventsOf(direction: Direction, line: string): EventDraft[] {
    const login = /^LOGIN (\S+)$/.exec(line);
    if (direction === 'outgoing' && login) {
      this.localId = login[1]!;
      return [{ type: 'login', localId: this.localId, remoteId: '' }];
    }
    const message = /^MSG (\S+) :(.*)$/.exec(line);
    if (message && this.localId !== undefined) {
      return [{ type: 'message', localId: this.localId, remoteId: message[1]!, text: message[2]! }];
    }
    return [];
  }
}
