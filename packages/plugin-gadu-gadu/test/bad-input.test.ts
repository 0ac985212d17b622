/**
 * Broken and hostile Gadu-Gadu: lengths beyond the data, bodies shorter than their fixed fields, offsets outside
 * the body, packets over the configured limit, garbage between packets, capture gaps, mid-stream starts, random
 * bytes and random mutations. Never a throw, never a changed or lost byte, memory bounded by the packet limit,
 * and the packets around the damage still give their events.
 */
import { describe, expect, it } from 'vitest';
import { checkPassesThrough } from '@imspect/sdk/testing';
import { cstr, expectSplitInvariant, gg, ggLying, inc, newSession, out, prng, run, u16, u32, u8, zeros, type Step } from './helpers.js';

const login: Step[] = [inc(gg(0x01, u32(7))), out(gg(0x19, u32(1001), u8(2), zeros(64), u32(2), u32(0x2a), u8(0), zeros(12), u8(0), u8(0xbe))), inc(gg(0x03))];
const message = (text: string, to = 1002) => out(gg(0x0b, u32(to), u32(1), u32(0x08), cstr(text)));
const textsOf = (events: Array<{ type: string; text?: string }>) => events.filter((e) => e.type === 'message').map((e) => e.text);

describe('bad Gadu-Gadu input', () => {
  it('a length field larger than the data: the tail is held, then returned as it arrived at the end', () => {
    const lying = ggLying(0x0b, 5000, u32(1002), u32(1), u32(8), cstr('cut short'));
    const result = run([...login, message('before'), out(lying)]);
    expect(textsOf(result.events)).toEqual(['before']);
    expect(Buffer.from(result.output.outgoing).equals(Buffer.from(result.input.outgoing))).toBe(true);
    expect(result.frames.at(-1)!.raw).toBe(lying.toString('latin1'));
  });

  it('bodies shorter than their fixed fields: reported on the frame or ignored, never an event with made-up fields', () => {
    const steps: Step[] = [
      ...login,
      ...[0x0b, 0x2d, 0x59, 0x38, 0x02, 0x20, 0x0d, 0x16, 0x40, 0x31, 0x83].map((type) => out(gg(type, u8(1)))),
      ...[0x0a, 0x2e, 0x5a, 0x59, 0x20, 0x10, 0x41, 0x05, 0x7e].map((type) => inc(gg(type, u8(1)))),
      message('after'),
    ];
    const whole = expectSplitInvariant(steps);
    expect(whole.events.map((e) => e.type)).toEqual(['other', 'login', 'message']);
    expect(textsOf(whole.events)).toEqual(['after']);
    expect(whole.frames.filter((f) => f.error === 'malformed-packet').length).toBeGreaterThanOrEqual(8);
  });

  it('8.0 offsets outside the body and lengths inside it that lie: the text found is used, the frame says what was wrong', () => {
    const steps: Step[] = [
      ...login,
      out(gg(0x2d, u32(1002), u32(1), u32(8), u32(0xffffffff), u32(0xffffffff), cstr('<b>a</b>'), cstr('a'))),
      inc(gg(0x2e, u32(1002), u32(1), u32(0), u32(8), u32(24), u32(3), cstr('b'))),
      out(gg(0x38, u32(2), u32(0), u32(0xfffffff0), Buffer.from('desc'))),
      out(gg(0x0b, u32(1002), u32(1), u32(8), cstr('x'), u8(0x01), u32(0x40000000))),
      inc(gg(0x41, u8(0), u32(1), u8(2), u8(1), Buffer.from('not zlib at all'))),
      message('after'),
    ];
    const whole = expectSplitInvariant(steps);
    expect(whole.frames.slice(3).map((f) => f.error)).toEqual(['malformed-packet', 'malformed-packet', 'malformed-packet', 'malformed-packet', 'malformed-packet', undefined]);
    expect(textsOf(whole.events)).toEqual(['a', 'b', 'x', 'after']);
  });

  it('a packet over a smaller configured limit passes through unparsed, header first; memory stays under the limit', () => {
    const big = message('é'.repeat(3000));
    const steps: Step[] = [...login, big, message('after')];
    const limited = expectSplitInvariant(steps, { maxFrameSize: 1024, everyOffsetUpTo: 0, randomRuns: 20 });
    expect(textsOf(limited.events)).toEqual(['after']);
    const tooLarge = limited.frames.find((f) => f.error === 'frame-too-large')!;
    expect(tooLarge.raw.length).toBe(big.data.length); // header frame plus its body, merged
    expect(limited.maxBuffered).toBeLessThanOrEqual(1024);
    const whole = expectSplitInvariant(steps, { everyOffsetUpTo: 0, randomRuns: 20 });
    expect(textsOf(whole.events)).toEqual(['é'.repeat(3000), 'after']);
  });

  it('in step, a known type announcing more than any packet is (16 MiB) is a lost step, not a body to skip', () => {
    const steps: Step[] = [...login, message('one'), out(ggLying(0x0b, 0x7fffffff, u32(1002))), message('two')];
    const whole = expectSplitInvariant(steps);
    expect(textsOf(whole.events)).toEqual(['one', 'two']);
    expect(whole.frames.filter((f) => f.error === 'not-gadu-gadu')).toHaveLength(1);
    expect(whole.frames.filter((f) => f.error === 'frame-too-large')).toHaveLength(0);
  });

  it('garbage before, between and after packets: reported once per run, the next plausible header resynchronises', () => {
    const steps: Step[] = [
      ...login,
      out(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')),
      message('one'),
      out(Buffer.from([0xff, 0xfe, 0x0b, 0x00, 0x00])),
      message('two'),
      out(Buffer.from('trailing\x0b\x00')),
    ];
    const whole = expectSplitInvariant(steps);
    expect(textsOf(whole.events)).toEqual(['one', 'two']);
    expect(whole.frames.filter((f) => f.direction === 'outgoing').map((f) => f.error ?? (f.events ? 'event' : '-'))).toEqual([
      'event',
      'not-gadu-gadu',
      'event',
      'not-gadu-gadu',
      'event',
      'not-gadu-gadu',
    ]);
  });

  it('a capture gap inside a packet costs that packet; the packets after it are found again', () => {
    const a = message('first, damaged by the gap').data;
    const b = message('second').data;
    const c = out(gg(0x59, u16(2), u32(1002))).data;
    const d = message('third').data;
    const gapped = Buffer.concat([a.subarray(0, 20), a.subarray(30), b, c, d]);
    const whole = expectSplitInvariant([...login, { direction: 'outgoing', data: gapped }]);
    // The damaged packet swallows the start of the next; after the garbage, the typing packet and 'third' are read.
    expect(whole.events.filter((e) => e.type === 'typing')).toHaveLength(1);
    expect(textsOf(whole.events)).toContain('third');
    expect(whole.frames.filter((f) => f.error === 'not-gadu-gadu').length).toBeLessThanOrEqual(1);
  });

  it('joined mid-stream (a capture that missed the start): the partial first packet passes without an error', () => {
    const full = Buffer.concat([message('lost start').data, message('seen').data, out(gg(0x59, u16(1), u32(1002))).data]);
    for (const cut of [1, 3, 7, 9, 13, 20]) {
      const whole = expectSplitInvariant([{ direction: 'outgoing', data: full.subarray(cut) }], { midstream: true, randomRuns: 5 });
      expect(whole.frames[0]!.error, `cut ${cut}`).toBeUndefined();
      expect(textsOf(whole.events), `cut ${cut}`).toEqual(['seen']);
      expect(whole.events.at(-1)).toMatchObject({ type: 'typing', localId: '*', remoteId: '1002' });
    }
  });

  it('mid-stream, a DCC7 offer names the local user (the sender of an outgoing one, the recipient of an incoming one)', () => {
    const offer = (from: number, to: number) => gg(0x20, zeros(8), u32(from), u32(to), u32(4), Buffer.concat([Buffer.from('a.txt'), zeros(250)]), u32(5), u32(0), zeros(20));
    const full = Buffer.concat([message('lost start').data, offer(1001, 1002), message('after').data]);
    const whole = expectSplitInvariant([{ direction: 'outgoing', data: full.subarray(5) }], { midstream: true, randomRuns: 5 });
    expect(whole.events.map((e) => [e.type, e.localId, e.remoteId])).toEqual([
      ['file', '1001', '1002'],
      ['message', '1001', '1002'],
    ]);
    const incoming = expectSplitInvariant([{ direction: 'incoming', data: offer(1002, 1001) }], { midstream: true, randomRuns: 5 });
    expect(incoming.events.map((e) => [e.type, e.localId, e.remoteId])).toEqual([['file', '1001', '1002']]);
  });

  it('out of step, a long candidate trickled in one byte at a time is not rescanned per byte (bounded work)', () => {
    // Garbage, then what looks like a GG_SEND_MSG of 60,000 bytes, then its body one byte per push.
    const candidate = Buffer.concat([Buffer.from('garbage!'), u32(0x0b), u32(60_000), u32(1002), u32(1), u32(8)]);
    const body = Buffer.alloc(60_000 - 12, 0x41);
    const session = newSession({ midstream: true });
    const started = performance.now();
    let passed = session.push('outgoing', candidate).reduce((n, f) => n + f.raw.length, 0);
    for (let i = 0; i < body.length; i++) passed += session.push('outgoing', body.subarray(i, i + 1)).reduce((n, f) => n + f.raw.length, 0);
    passed += session.end('outgoing').reduce((n, f) => n + f.raw.length, 0);
    expect(passed).toBe(candidate.length + body.length);
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('foreign traffic forced onto the parser (HTTP, TLS, random bytes) passes through untouched with no events', () => {
    const random = prng(99);
    const noise = Buffer.from(Array.from({ length: 5000 }, () => Math.floor(random() * 256)));
    const tls = Buffer.from('160303004a020000460303', 'hex');
    for (const bytes of [Buffer.from('GET / HTTP/1.1\r\nHost: gg.pl\r\n\r\n'), tls, noise]) {
      checkPassesThrough(
        () => newSession(),
        [
          { direction: 'outgoing', data: bytes },
          { direction: 'incoming', data: bytes },
        ],
        { randomRuns: 5, bufferLimit: 1024 * 1024 },
      );
    }
  });

  it('random mutations never throw, never lose or change a byte, and hold at most one packet', () => {
    const base = Buffer.concat([
      ...login.map((s) => s.data),
      message('hello').data,
      gg(0x2d, u32(1002), u32(1), u32(8), u32(27), u32(29), cstr('<b>x</b>'), cstr('x'), u8(0x01), u32(1), u32(5)),
      gg(0x20, zeros(8), u32(1001), u32(1002), u32(4), Buffer.concat([Buffer.from('f'), zeros(254)]), u32(9), u32(0), zeros(20)),
      gg(0x59, u16(1), u32(1002)),
    ]);
    const random = prng(7);
    for (let round = 0; round < 300; round++) {
      const data = Buffer.from(base);
      const edits = 1 + Math.floor(random() * 6);
      for (let e = 0; e < edits; e++) data[Math.floor(random() * data.length)] = Math.floor(random() * 256);
      for (const direction of ['outgoing', 'incoming'] as const) {
        const session = newSession({ maxFrameSize: 8 + Math.floor(random() * 4000) });
        const pieces: Buffer[] = [];
        let at = 0;
        while (at < data.length) {
          const n = 1 + Math.floor(random() * 40);
          for (const f of session.push(direction, data.subarray(at, at + n))) {
            pieces.push(Buffer.from(f.raw));
            // Whatever a frame offers must not throw either.
            f.rewrite?.('masked text ł');
            f.refusal?.();
          }
          expect(session.bufferedBytes(direction)).toBeLessThanOrEqual(session.maxPacketBytes);
          at += n;
        }
        for (const f of session.end(direction)) pieces.push(Buffer.from(f.raw));
        expect(Buffer.concat(pieces).equals(data), `round ${round}`).toBe(true);
      }
    }
  });
});
