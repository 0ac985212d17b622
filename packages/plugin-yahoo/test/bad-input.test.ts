/**
 * Broken and hostile YMSG: lengths beyond the data, empty bodies, missing separators, the largest bodies, packets
 * over the configured limit, garbage between packets, random mutations. Never a throw, never a lost byte, memory
 * bounded by the packet limit, and the packets around the damage still give their events.
 */
import { describe, expect, it } from 'vitest';
import { expectSplitInvariant, inc, newSession, out, prng, run, ymsg, type Step } from './helpers.js';

const login: Step[] = [out(ymsg({ service: 0x57, pairs: [[1, 'alice']] })), inc(ymsg({ service: 0x01, pairs: [[0, 'alice']] }))];
const message = (text: string) =>
  out(
    ymsg({
      service: 0x06,
      pairs: [
        [1, 'alice'],
        [5, 'bob'],
        [14, text],
        [97, '1'],
      ],
    }),
  );
const textsOf = (events: Array<{ type: string; text?: string }>) => events.filter((e) => e.type === 'message').map((e) => e.text);

describe('bad YMSG input', () => {
  it('a length field larger than the data: the tail is held, then returned as it arrived at the end', () => {
    const lying = ymsg({
      service: 0x06,
      pairs: [
        [1, 'alice'],
        [5, 'bob'],
        [14, 'cut short'],
      ],
      length: 5000,
    });
    const result = run([...login, message('before'), out(lying)]);
    expect(textsOf(result.events)).toEqual(['before']);
    expect(Buffer.from(result.output.outgoing).equals(Buffer.from(result.input.outgoing))).toBe(true);
    expect(result.frames.at(-1)!.raw).toBe(lying.toString('latin1'));
  });

  it('zero-length bodies of every event service give no events and no errors', () => {
    const steps: Step[] = [...login, ...[0x01, 0x02, 0x06, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x46, 0x4b, 0x4d, 0x50, 0xdc].map((service) => inc(ymsg({ service })))];
    steps.push(...[0x06, 0x1d, 0x46, 0x4b, 0x4d, 0xdc].map((service) => out(ymsg({ service }))));
    const whole = expectSplitInvariant(steps);
    // The one event besides the login: the server's empty LOGOFF ends alice's session.
    expect(whole.events.map((e) => e.type)).toEqual(['login', 'logout']);
    expect(whole.frames.every((f) => f.error === undefined)).toBe(true);
  });

  it('missing or broken separators: reported on the frame, the pairs found still used', () => {
    const header = (body: Buffer) => {
      const h = ymsg({ service: 0x06 }).subarray(0, 20);
      h.writeUInt16BE(body.length, 8);
      return Buffer.concat([h, body]);
    };
    const steps: Step[] = [
      ...login,
      out(header(Buffer.from('1\xc0\x80alice\xc0\x805\xc0\x80bob\xc0\x8014\xc0\x80no closing separator', 'latin1'))),
      out(header(Buffer.from('no separators at all', 'latin1'))),
      out(header(Buffer.from('x1\xc0\x80alice\xc0\x805\xc0\x80bob\xc0\x8014\xc0\x80bad key\xc0\x80', 'latin1'))),
      out(header(Buffer.from('1\xc0\x80alice\xc0\x80\xc0\x80\xc0\x805\xc0', 'latin1'))),
      message('after'),
    ];
    const whole = expectSplitInvariant(steps);
    expect(whole.frames.slice(2).map((f) => f.error)).toEqual(['malformed-body', 'malformed-body', 'malformed-body', 'malformed-body', undefined]);
    expect(textsOf(whole.events)).toEqual(['no closing separator', 'bad key', 'after']);
  });

  it('64 KB bodies: the largest packet parses whole; over a smaller configured limit it passes through unparsed', () => {
    const prefix =
      ymsg({
        service: 0x06,
        pairs: [
          [1, 'alice'],
          [5, 'bob'],
          [14, ''],
        ],
      }).length -
      20 +
      7; // + "97" C0 80 "1" C0 80
    const text = 'é'.repeat((0xffff - prefix) >> 1) + 'x'.repeat((0xffff - prefix) & 1);
    const biggest = message(text);
    expect(biggest.data.length).toBe(20 + 0xffff);
    const steps: Step[] = [...login, biggest, message('after')];
    const whole = expectSplitInvariant(steps, { everyOffsetUpTo: 0, randomRuns: 20 });
    expect(textsOf(whole.events)).toEqual([text, 'after']);

    const limited = expectSplitInvariant(steps, { maxFrameSize: 4096, everyOffsetUpTo: 0, randomRuns: 20 });
    expect(textsOf(limited.events)).toEqual(['after']);
    const tooLarge = limited.frames.find((f) => f.error === 'frame-too-large')!;
    expect(tooLarge.raw.length).toBe(20 + 0xffff); // header frame plus its body, merged
    expect(limited.maxBuffered).toBeLessThanOrEqual(4096);
  });

  it('garbage before, between and after packets: reported once per run, the next "YMSG" resynchronises', () => {
    const steps: Step[] = [
      ...login,
      out(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\nYMS')),
      message('one'),
      out(Buffer.from([0xc0, 0x80, 0x59, 0x4d, 0x59, 0x4d, 0x53, 0x00])),
      message('two'),
      out(Buffer.from('trailing YM')),
    ];
    const whole = expectSplitInvariant(steps);
    expect(textsOf(whole.events)).toEqual(['one', 'two']);
    expect(whole.frames.filter((f) => f.direction === 'outgoing').map((f) => f.error ?? (f.events ? 'event' : '-'))).toEqual([
      '-',
      'not-ymsg',
      'event',
      'not-ymsg',
      'event',
      'not-ymsg',
    ]);
    // "YMS" before the first message was garbage followed by "G"...: the text after it is "one", not lost.
  });

  it('a capture gap inside a body costs the packet it overlaps, and the next header resynchronises', () => {
    const a = message('first, damaged').data;
    const b = message('second, swallowed').data;
    const c = message('third').data;
    const d = message('fourth').data;
    // 6 bytes of a's text never arrived: the parser takes b's first 6 bytes as the rest of a, then finds the
    // rest of b is not a packet start, and resumes at c.
    const gapped = Buffer.concat([a.subarray(0, 44), a.subarray(50), b, c, d]);
    const whole = expectSplitInvariant([...login, { direction: 'outgoing', data: gapped }]);
    expect(textsOf(whole.events)).toEqual(['fiamaged', 'third', 'fourth']);
    expect(whole.frames.filter((f) => f.error === 'not-ymsg')).toHaveLength(1);
  });

  it('joined mid-stream (a capture that missed the start): the partial first packet passes without an error', () => {
    const full = Buffer.concat([message('lost start').data, message('seen').data]);
    const whole = expectSplitInvariant([{ direction: 'outgoing', data: full.subarray(7) }], { midstream: true });
    expect(whole.frames.map((f) => f.error)).toEqual([undefined, undefined]);
    expect(textsOf(whole.events)).toEqual(['seen']);
  });

  it('random mutations never throw, never lose a byte, and hold at most one packet', () => {
    const base = Buffer.concat([
      ...login.map((s) => s.data),
      message('hello').data,
      ymsg({
        service: 0x1d,
        pairs: [
          [1, 'alice'],
          [53, 'bob'],
          [57, 'room'],
          [14, 'conf'],
        ],
      }),
      ymsg({
        service: 0xdc,
        pairs: [
          [1, 'alice'],
          [5, 'bob'],
          [222, '1'],
          [27, 'f'],
          [28, '9'],
        ],
      }),
    ]);
    const random = prng(7);
    for (let round = 0; round < 400; round++) {
      const data = Buffer.from(base);
      const edits = 1 + Math.floor(random() * 6);
      for (let e = 0; e < edits; e++) data[Math.floor(random() * data.length)] = Math.floor(random() * 256);
      for (const direction of ['outgoing', 'incoming'] as const) {
        const session = newSession({ maxFrameSize: 1 + Math.floor(random() * 70_000) });
        const pieces: Buffer[] = [];
        let at = 0;
        while (at < data.length) {
          const n = 1 + Math.floor(random() * 40);
          for (const f of session.push(direction, data.subarray(at, at + n))) pieces.push(Buffer.from(f.raw));
          expect(session.bufferedBytes(direction)).toBeLessThanOrEqual(session.maxPacketBytes);
          at += n;
        }
        for (const f of session.end(direction)) pieces.push(Buffer.from(f.raw));
        expect(Buffer.concat(pieces).equals(data), `round ${round}`).toBe(true);
      }
    }
  });
});
