/**
 * Broken and hostile OSCAR: lengths beyond the data, FLAPs over the limit, TLVs that overflow their block,
 * truncated SNACs and ICBMs, unknown channels, garbage between FLAPs, random bytes and random mutations of a
 * real conversation. Never a throw, never a changed or lost byte, memory bounded by the FLAP limit, and the FLAPs
 * around the damage still give their events.
 */
import { describe, expect, it } from 'vitest';
import { checkPassesThrough, runTranscript } from '@imspect/sdk/testing';
import {
  bytes,
  COOKIE,
  expectSplitInvariant,
  fileOffer,
  flap,
  inc,
  name8,
  newSession,
  normalise,
  out,
  prng,
  receiveIm,
  run,
  sendIm,
  snac,
  tlv,
  typing,
  u16,
  u32,
  type Step,
} from './helpers.js';

const textsOf = (events: Array<{ type: string; text?: string }>) => events.filter((e) => e.type === 'message').map((e) => e.text);
const message = (seq: number, text: string) => out(sendIm(seq, 'buddy', bytes(text)));
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

describe('bad OSCAR input', () => {
  it('a length field larger than the data: the tail is held, then returned as it arrived at the end', () => {
    const lying = flap(2, 9, Buffer.from('cut short'), 5000);
    const result = run([message(1, 'before'), out(lying)]);
    expect(textsOf(result.events)).toEqual(['before']);
    expect(same(result.output.outgoing, result.input.outgoing)).toBe(true);
    expect(result.frames.at(-1)!.raw).toBe(lying.toString('latin1'));
  });

  it('a FLAP longer than the configured limit passes through unparsed (header, then its payload as it arrives)', () => {
    const big = sendIm(2, 'buddy', bytes('y'.repeat(6000)));
    const steps: Step[] = [message(1, 'before'), out(big), message(3, 'after')];
    const limited = expectSplitInvariant(steps, { maxFrameSize: 4096, everyOffsetUpTo: 0, randomRuns: 20 });
    expect(textsOf(limited.events)).toEqual(['before', 'after']);
    const tooLarge = limited.frames.find((f) => f.error === 'frame-too-large')!;
    expect(tooLarge.raw.length).toBe(big.length);
    expect(limited.maxBuffered).toBeLessThanOrEqual(4096);
    // The largest FLAP the length allows parses whole at the default limit.
    const largest = sendIm(4, 'buddy', bytes('z'.repeat(0xffff - 43)));
    expect(largest.length).toBe(6 + 0xffff);
    expect(textsOf(run([out(largest)]).events)).toEqual(['z'.repeat(0xffff - 43)]);
  });

  it('TLVs that overflow their block, truncated SNACs and ICBMs: an error on the frame, bytes unchanged, parsing goes on', () => {
    const icbmTlvOverflow = snac(2, 4, 6, Buffer.concat([COOKIE, u16(1), name8('buddy'), u16(2), u16(500), Buffer.from('short')]));
    const shortSnac = flap(2, 3, Buffer.from([0, 4, 0, 6]));
    const versionOverflow = flap(2, 4, Buffer.concat([u16(4), u16(6), u16(0x8000), u32(0), u16(900)]));
    const nameOverflow = snac(5, 4, 6, Buffer.concat([COOKIE, u16(1), Buffer.from([200]), Buffer.from('bud')]));
    const userInfoOverflow = snac(6, 4, 7, Buffer.concat([COOKIE, u16(1), name8('buddy'), u16(0), u16(40), tlv(1, u16(0))]));
    const fragmentOverflow = snac(7, 4, 6, Buffer.concat([COOKIE, u16(1), name8('buddy'), tlv(2, Buffer.from([1, 1, 0x40, 0, 0, 0, 0, 0, 0x41]))]));
    const typingShort = snac(8, 4, 0x14, Buffer.alloc(5));
    const loginOverflow = flap(1, 9, Buffer.concat([u32(1), tlv(1, 'user'), u16(3), u16(9000)]));
    const steps: Step[] = [
      message(1, 'first'),
      out(icbmTlvOverflow),
      out(shortSnac),
      out(versionOverflow),
      out(nameOverflow),
      inc(userInfoOverflow),
      out(fragmentOverflow),
      out(typingShort),
      out(loginOverflow),
      message(10, 'last'),
    ];
    const whole = expectSplitInvariant(steps, { midstream: true, randomRuns: 20 });
    expect(textsOf(whole.events)).toEqual(['first', 'last']);
    expect(whole.frames.map((f) => f.error)).toEqual([
      undefined,
      'tlv-overflow',
      'truncated-snac',
      'truncated-snac',
      'truncated-snac',
      'tlv-overflow',
      undefined,
      'truncated-snac',
      'tlv-overflow',
      undefined,
    ]);
    for (const frame of whole.frames) expect(frame.rewritable ?? false).toBe(frame.events?.[0]?.type === 'message');
  });

  it('hostile counts and sizes: thousands of TLVs, feedbag items and rendezvous blocks that lie', () => {
    const manyTlvs = snac(2, 4, 6, Buffer.concat([COOKIE, u16(1), name8('buddy'), ...Array.from({ length: 3000 }, () => tlv(9, ''))]));
    const item = Buffer.concat([u16(3), Buffer.from('abc'), u16(1), u16(2), u16(0), u16(0)]);
    const manyItems = snac(3, 0x13, 0x08, Buffer.concat(Array.from({ length: 5000 }, () => item)));
    const rvShort = snac(4, 4, 6, Buffer.concat([COOKIE, u16(2), name8('buddy'), tlv(5, Buffer.from([0, 0, 1, 2]))]));
    const rvExtShort = snac(
      5,
      4,
      6,
      Buffer.concat([COOKIE, u16(2), name8('buddy'), tlv(5, Buffer.concat([u16(0), COOKIE, Buffer.from('094613434c7f11d18222444553540000', 'hex'), tlv(0x2711, u16(1))]))]),
    );
    const metaShort = snac(6, 0x15, 0x03, tlv(1, Buffer.from([1, 0, 2])));
    const steps: Step[] = [out(manyTlvs), out(manyItems), out(rvShort), out(rvExtShort), inc(metaShort), message(7, 'still here')];
    const result = run(steps, { midstream: true });
    expect(textsOf(result.events)).toEqual(['still here']);
    expect(result.events.filter((e) => e.type === 'contact').length).toBe(4096);
    // An offer whose file block is too short still says an offer happened.
    expect(result.events.filter((e) => e.type === 'file').map((e) => e.file)).toEqual([{ name: '' }]);
    for (const direction of ['outgoing', 'incoming'] as const) expect(same(result.output[direction], result.input[direction])).toBe(true);
  });

  it('garbage between FLAPs and unknown channels: passed through, one error per run, parsing resumes at the next FLAP', () => {
    const steps: Step[] = [
      message(1, 'one'),
      out(Buffer.from('\x00\x01garbage with a * star and *\x07 a bad channel')),
      message(2, 'two'),
      out(flap(9, 3, Buffer.from('odd channel'))),
      message(4, 'three'),
    ];
    const whole = expectSplitInvariant(steps, { randomRuns: 20 });
    expect(textsOf(whole.events)).toEqual(['one', 'two', 'three']);
    expect(whole.frames.filter((f) => f.error === 'not-flap')).toHaveLength(2);
  });

  it('random bytes: no events, every byte through, memory bounded', () => {
    const random = prng(7);
    for (let r = 0; r < 30; r++) {
      const data = Uint8Array.from({ length: 2000 + Math.floor(random() * 6000) }, () => Math.floor(random() * 256));
      if (data[0] === 0x2a) data[0] = 0;
      checkPassesThrough(() => newSession({ midstream: r % 2 === 0 }), [out(data), inc(data.slice().reverse())], { randomRuns: 2, bufferLimit: 6 + 0xffff, seed: r });
    }
  });

  it('random mutations of a conversation never throw and never change a relayed byte', () => {
    const base: Step[] = [
      inc(flap(1, 1, u32(1))),
      out(flap(1, 1, Buffer.concat([u32(1), tlv(6, Buffer.alloc(32, 1))]))),
      message(2, 'hello'),
      inc(receiveIm(3, 'buddy', bytes('<b>hi</b>'))),
      out(typing(4, 'buddy', 2)),
      out(fileOffer(5, 'buddy', 'x.bin', 42)),
      inc(snac(6, 0x13, 0x06, Buffer.concat([Buffer.from([0]), u16(1), u16(3), Buffer.from('grp'), u16(1), u16(0), u16(1), u16(0), u32(0)]))),
      out(flap(4, 7, Buffer.alloc(0))),
    ];
    const random = prng(11);
    for (let r = 0; r < 300; r++) {
      const steps = base.map((s) => ({ direction: s.direction, data: Uint8Array.from(s.data) }));
      for (let m = 0; m < 1 + Math.floor(random() * 6); m++) {
        const step = steps[Math.floor(random() * steps.length)]!;
        step.data[Math.floor(random() * step.data.length)] = Math.floor(random() * 256);
      }
      const result = runTranscript(() => newSession({ midstream: r % 3 === 0 }), steps, { normalise });
      for (const direction of ['outgoing', 'incoming'] as const) expect(same(result.output[direction], result.input[direction]), `mutation run ${r}`).toBe(true);
    }
  });
});
