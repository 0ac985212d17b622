import { describe, expect, it } from 'vitest';
import { NGIRCD_CAPTURE } from '../../../../test/support/captures.js';
import type { Direction, EventDraft, Frame } from '../../src/index.js';
import { readConnections, streamBytes } from '../../src/capture/index.js';
import {
  captureTranscripts,
  checkPassesThrough,
  checkSplitInvariance,
  coalesceSteps,
  concatBytes,
  cutAt,
  cutRandom,
  lineBoundaries,
  offsetsAround,
  runTranscript,
  script,
  seededRandom,
  SplitInvarianceError,
  testEvent,
} from '../../src/testing/index.js';

const enc = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');

/** A correct line parser: holds an incomplete line, one frame per line, `SAY x` lines carry a message. */
class LineSession {
  private held: Record<Direction, Uint8Array> = { outgoing: new Uint8Array(0), incoming: new Uint8Array(0) };
  push(direction: Direction, chunk: Uint8Array): Frame[] {
    const data = concatBytes([this.held[direction], chunk]);
    const frames: Frame[] = [];
    let start = 0;
    for (let i = 0; i < data.byteLength; i++) {
      if (data[i] !== 0x0a) continue;
      frames.push(this.frame(data.subarray(start, i + 1)));
      start = i + 1;
    }
    this.held[direction] = data.slice(start);
    return frames;
  }
  end(direction: Direction): Frame[] {
    const rest = this.held[direction];
    this.held[direction] = new Uint8Array(0);
    return rest.byteLength ? [{ raw: rest }] : [];
  }
  bufferedBytes(direction: Direction): number {
    return this.held[direction].byteLength;
  }
  protected frame(raw: Uint8Array): Frame {
    const line = Buffer.from(raw).toString('utf8').trimEnd();
    const events: EventDraft[] | undefined = line.startsWith('SAY ') ? [{ type: 'message', localId: 'me', remoteId: 'you', text: line.slice(4) }] : undefined;
    return events ? { raw, events } : { raw };
  }
}

/** Parses whatever each chunk holds as if it were whole lines: right only when chunks fall on line ends. */
class ChunkTrustingSession extends LineSession {
  override push(_direction: Direction, chunk: Uint8Array): Frame[] {
    return [this.frame(chunk)];
  }
}

/** Loses the last byte of every chunk. */
class LossySession extends LineSession {
  override push(direction: Direction, chunk: Uint8Array): Frame[] {
    return super.push(direction, chunk.byteLength > 1 ? chunk.subarray(0, -1) : chunk);
  }
}

const conversation = script(['>', 'HELLO\r\nSAY hi there\r\n'], ['<', 'SAY hello back\r\nSAY é ✓\r\n'], ['>', 'BYE\r\n']);

describe('@imspect/core/testing: split invariance', () => {
  it('a parser that buffers partial lines passes, and the whole run is returned', () => {
    const whole = checkSplitInvariance(() => new LineSession(), conversation, { bufferLimit: 64 });
    expect(whole.events.map((e) => [e.direction, e.text])).toEqual([
      ['outgoing', 'hi there'],
      ['incoming', 'hello back'],
      ['incoming', 'é ✓'],
    ]);
    expect(text(whole.output.outgoing)).toBe('HELLO\r\nSAY hi there\r\nBYE\r\n');
    expect(whole.frames.map((f) => f.raw)).toEqual(['HELLO\r\n', 'SAY hi there\r\n', 'SAY hello back\r\n', text(enc('SAY é ✓\r\n')), 'BYE\r\n']);
  });

  it('a parser whose events depend on the chunking fails, naming the cut', () => {
    const check = () => checkSplitInvariance(() => new ChunkTrustingSession(), script(['>', 'SAY hi\r\n']));
    expect(check).toThrow(SplitInvarianceError);
    expect(check).toThrow(/^split invariance: step 0 \(outgoing\) cut at 1: frames differ at index 0/);
  });

  it('a parser that loses bytes fails on the bytes, with the offset', () => {
    expect(() => checkSplitInvariance(() => new LossySession(), conversation)).toThrow(/outgoing bytes out: bytes differ at offset \d+/);
  });

  it('a parser holding more than the limit fails', () => {
    expect(() => checkSplitInvariance(() => new LineSession(), script(['>', `SAY ${'x'.repeat(100)}\r\n`]), { bufferLimit: 50, randomRuns: 0 })).toThrow(
      /held \d+ bytes, more than the limit of 50/,
    );
  });

  it('long steps are cut around their boundaries only, sampled down to maxBoundaries', () => {
    const long = enc('a\nbb\nccc\n');
    expect(offsetsAround(long, lineBoundaries(long), 1)).toEqual([1, 2, 3, 4, 5, 6, 8]);
    expect(offsetsAround(long, lineBoundaries(long), 0, 1)).toEqual([2]);
    let runs = 0;
    checkSplitInvariance(() => (runs++, new LineSession()), [{ direction: 'outgoing', data: long }], { everyOffsetUpTo: 4, window: 0, randomRuns: 2 });
    expect(runs).toBe(1 + 2 + 2); // whole, a cut at each inner line end (2 and 5), two random runs
  });

  it('a reference run: the same bytes stepped differently must give the same frames', () => {
    const whole = checkSplitInvariance(() => new LineSession(), conversation);
    const merged = coalesceSteps([...conversation, { direction: 'outgoing', data: enc('SAY more\r\n') }]);
    expect(merged).toHaveLength(3);
    expect(() => checkSplitInvariance(() => new LineSession(), merged, { reference: whole, singleCuts: false, randomRuns: 3 })).toThrow(/outgoing bytes out/);
    const same = coalesceSteps(conversation);
    expect(checkSplitInvariance(() => new LineSession(), same, { reference: whole, singleCuts: false, randomRuns: 5 }).events).toEqual(whole.events);
  });
});

describe('@imspect/core/testing: traffic that is not the protocol', () => {
  /** Claims every chunk is a message: wrong on anything. */
  class Eager extends LineSession {
    override push(_direction: Direction, chunk: Uint8Array): Frame[] {
      return [{ raw: chunk, events: [{ type: 'message', localId: 'me', remoteId: 'you', text: 'x' }] }];
    }
  }
  const foreign = script(['>', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'], ['<', 'HTTP/1.1 200 OK\r\n\r\nbody']);

  it('passes when nothing is reported and every byte comes out', () => {
    expect(() => checkPassesThrough(() => new LineSession(), foreign, { randomRuns: 3, bufferLimit: 64 })).not.toThrow();
  });

  it('fails on an event, on a lost byte, on too much held', () => {
    expect(() => checkPassesThrough(() => new Eager(), foreign)).toThrow(/^pass-through: steps whole: events \(none expected\) differ at index 0/);
    expect(() => checkPassesThrough(() => new LossySession(), foreign)).toThrow(/^pass-through: steps whole: outgoing bytes out/);
    expect(() => checkPassesThrough(() => new LineSession(), foreign, { bufferLimit: 2 })).toThrow(/held 4 bytes, more than the limit of 2/);
  });
});

describe('@imspect/core/testing: testEvent', () => {
  it('a complete event, changed by the overrides', () => {
    const event = testEvent({ protocol: 'yahoo', text: 'hi' });
    expect(event).toMatchObject({ protocol: 'yahoo', text: 'hi', type: 'message', direction: 'outgoing', localId: 'alice', remoteId: 'bob', filtered: false, categories: [] });
    expect(event.client.ip).toBe('192.0.2.1');
    expect(testEvent().text).toBeUndefined();
  });
});

describe('@imspect/core/testing: cuts and runs', () => {
  it('cuts are views covering the input, in order; the generator is seeded', () => {
    const data = enc('0123456789');
    expect(cutAt(data, [7, 3, 3, 0, 10, 12]).map(text)).toEqual(['012', '3456', '789']);
    const a = cutRandom(data, seededRandom(5), 4);
    expect(text(concatBytes(a))).toBe('0123456789');
    expect(a.every((p) => p.byteLength >= 1 && p.byteLength <= 4)).toBe(true);
    expect(cutRandom(data, seededRandom(5), 4).map(text)).toEqual(a.map(text));
    expect(seededRandom(1)()).not.toBe(seededRandom(2)());
  });

  it('runTranscript records frames as copies, what is forwarded, and the most bytes held', () => {
    const run = runTranscript(() => new LineSession(), script(['>', 'SAY a\r\nSAY b']), { cut: (d) => cutAt(d, [3]) });
    expect(run.maxBuffered).toBe(5);
    expect(run.rawFrames.map((f) => text(f.frame.raw))).toEqual(['SAY a\r\n', 'SAY b']);
    expect(text(run.forwarded.outgoing)).toBe('SAY a\r\nSAY b');
    expect(run.frames[1]).toEqual({ direction: 'outgoing', raw: 'SAY b' });
  });
});

// The project's own recording, kept in the repository (test/captures).
const CAPTURE = NGIRCD_CAPTURE;
describe('@imspect/core/testing: captureTranscripts', () => {
  it('gives each connection its steps in order, filtered by server or client port', async () => {
    const all = await captureTranscripts(CAPTURE, { port: 16667 });
    expect(all.map((t) => t.connection.client.port)).toEqual([42954, 42960]);
    expect(await captureTranscripts(CAPTURE, { port: 6667 })).toEqual([]);
    const [one] = await captureTranscripts(CAPTURE, { clientPort: 42960 });
    const [conn] = (await readConnections(CAPTURE)).filter((c) => c.client.port === 42960);
    for (const direction of ['outgoing', 'incoming'] as const) {
      const joined = concatBytes(one!.steps.filter((s) => s.direction === direction).map((s) => s.data));
      expect(Buffer.from(joined).equals(Buffer.from(streamBytes(conn!, direction)))).toBe(true);
    }
    expect(text(one!.steps[0]!.data)).toMatch(/^(NICK|USER|CAP|PASS) /);
    expect(one!.connection.midstream).toBe(false);
  });
});
