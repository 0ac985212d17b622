/**
 * `checkMidstreamResync` (`@imspect/sdk/testing`) on a toy line protocol: a session that resynchronises passes,
 * and sessions that do not (one that reads the fragment a mid-stream start begins with, one that goes on
 * reading a broken line after a gap, one that forgets to pass bytes on) are caught, naming the offset.
 */
import { describe, expect, it } from 'vitest';
import { LineFramer, latin1, unknownId, type Direction, type EventDraft, type Frame, type ProtocolSession } from '../src/index.js';
import { checkMidstreamResync, script } from '../src/testing/index.js';

/** `SAY text` lines are messages, `NICK name` names the local user; anything else is passed on. */
class ToySession implements ProtocolSession {
  private readonly framers: Record<Direction, LineFramer> = { outgoing: new LineFramer(1024), incoming: new LineFramer(1024) };
  private readonly skipNext: Record<Direction, boolean>;
  private nick: string | undefined;

  constructor(
    midstream: boolean,
    private readonly flaw: 'none' | 'reads-fragment' | 'ignores-gap' | 'keeps-bytes' = 'none',
  ) {
    const skip = midstream && flaw !== 'reads-fragment';
    this.skipNext = { outgoing: skip, incoming: skip };
  }

  push(direction: Direction, chunk: Uint8Array): Frame[] {
    const framer = this.framers[direction];
    framer.push(chunk);
    const frames: Frame[] = [];
    for (let item = framer.next(); item !== undefined; item = framer.next()) {
      const frame: Frame = { raw: item.raw };
      frames.push(frame);
      if (item.kind !== 'line') continue;
      if (this.skipNext[direction]) {
        this.skipNext[direction] = false;
        continue;
      }
      const line = latin1(item.raw.subarray(0, item.contentLength));
      const event = this.read(line, direction);
      if (event) frame.events = [event];
    }
    return frames;
  }

  private read(line: string, direction: Direction): EventDraft | undefined {
    const [command, ...rest] = line.split(' ');
    if (command === 'NICK') this.nick = rest[0];
    if (command !== 'SAY') return undefined;
    return { type: 'message', localId: this.nick ?? unknownId('192.0.2.1'), remoteId: 'peer', text: rest.join(' '), direction };
  }

  end(direction: Direction): Frame[] {
    const rest = this.framers[direction].end();
    return rest === undefined ? [] : [{ raw: rest }];
  }

  gap(direction: Direction): Frame[] {
    if (this.flaw === 'ignores-gap') return [];
    const held = this.end(direction);
    this.skipNext[direction] = true;
    return this.flaw === 'keeps-bytes' ? [] : held;
  }
}

const conversation = script(['>', 'NICK alice\r\n'], ['>', 'SAY hello there\r\nSAY SAY again\r\n'], ['<', 'SAY hi alice\r\n'], ['>', 'SAY bye\r\n']);

describe('checkMidstreamResync', () => {
  it('passes a session that skips the first line of a stream joined mid-way and after a gap, at every offset', () => {
    const runs = checkMidstreamResync((midstream) => new ToySession(midstream), conversation);
    const total = conversation.reduce((n, s) => n + s.data.byteLength, 0);
    expect(runs).toBeGreaterThan(total);
  });

  it('catches a session that reads the fragment it starts in as a line', () => {
    expect(() => checkMidstreamResync((midstream) => new ToySession(midstream, 'reads-fragment'), conversation, { gaps: false })).toThrow(
      /mid-stream start at offset \d+: (outgoing|incoming) events read before the first whole frame/,
    );
  });

  it('catches a session that reads on after lost bytes as if nothing were lost', () => {
    expect(() => checkMidstreamResync((midstream) => new ToySession(midstream, 'ignores-gap'), conversation)).toThrow(/bytes lost (outgoing|incoming) at stream offset/);
  });

  it('catches a session that drops the bytes it held at a gap', () => {
    expect(() => checkMidstreamResync((midstream) => new ToySession(midstream, 'keeps-bytes'), conversation)).toThrow(/bytes out differ from bytes in/);
  });
});
