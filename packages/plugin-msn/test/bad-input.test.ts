/**
 * Hostile and broken MSNP: absurd, negative and malformed payload lengths, truncated payloads, over-long
 * lines, binary garbage. Never a throw, every byte out exactly once, memory bounded, framing back in step.
 */
import { describe, expect, it } from 'vitest';
import { dec, enc, newSession, prng, run, script } from './helpers.js';
import { expectSplitInvariant } from './invariance.js';
import { payload, TEXT_HEAD } from './transcripts.js';

const sb = script(
  ['>', 'USR 1 alice@live.com 17262740.1050826919.32308\r\n'],
  ['>', 'CAL 2 bob@live.com\r\n'],
  ['<', 'CAL 2 RINGING 11752013\r\n'],
  ['<', 'JOI bob@live.com Bob\r\n'],
);
const hello = payload('MSG 9 N', `${TEXT_HEAD}still here`);
const BROKEN_CONTEXT = 'EUF-GUID: {5D3E02AB-6190-11D3-BBBB-00C04F795683}\r\nContext: %%%not base64%%%\r\n\r\n';

describe('payload lengths', () => {
  it('a length above the limit: reported, the payload passes through counted, the next command is parsed', () => {
    const big = new Uint8Array(5000).fill(0x41);
    const steps = [...sb, ...script(['>', payload('MSG 3 N', big)], ['>', hello])];
    const whole = expectSplitInvariant(steps, { maxPayloadBytes: 1000, maxFrameSize: 8192 + 1000, randomRuns: 20 });
    const tooLarge = whole.frames.find((f) => f.error === 'payload-too-large')!;
    expect(tooLarge.raw).toBe('MSG 3 N 5000\r\n');
    expect(whole.events.at(-1)).toMatchObject({ type: 'message', text: 'still here' });
    expect(whole.maxBuffered).toBeLessThan(8192 + 1000);
  });

  it('an absurd length (more digits than any buffer): the rest of the direction passes through, nothing held', () => {
    const steps = [...sb, ...script(['>', 'MSG 3 N 99999999999999999999999999\r\n'], ['>', hello], ['<', payload('MSG bob@live.com Bob', `${TEXT_HEAD}other side fine`)])];
    const whole = expectSplitInvariant(steps, { randomRuns: 20 });
    expect(whole.frames.filter((f) => f.error).map((f) => f.error)).toEqual(['payload-too-large']);
    expect(whole.events.at(-1)).toMatchObject({ type: 'message', direction: 'incoming', text: 'other side fine' });
    expect(whole.events.some((e) => e.text === 'still here')).toBe(false);
    expect(whole.maxBuffered).toBe(0);
  });

  it('negative and malformed lengths: a bad-length error on the line, the following lines still parsed', () => {
    for (const bad of ['-5', '+7', '12abc', '0x10', '1e3']) {
      const steps = [...sb, ...script(['>', `MSG 3 N ${bad}\r\n`], ['>', hello])];
      const whole = expectSplitInvariant(steps, { randomRuns: 5 });
      expect(whole.frames.find((f) => f.raw.startsWith('MSG 3'))!.error, bad).toBe('bad-length');
      expect(whole.events.at(-1), bad).toMatchObject({ type: 'message', text: 'still here' });
    }
  });

  it('a payload command without a payload form (ADL trid OK, QRY trid) is a plain line', () => {
    const whole = run(script(['<', 'ADL 6 OK\r\n'], ['<', 'QRY 15\r\n'], ['<', 'UUX 9 0\r\n'], ['<', 'VER 1 MSNP8\r\n']));
    expect(whole.frames.map((f) => f.raw)).toEqual(['ADL 6 OK\r\n', 'QRY 15\r\n', 'UUX 9 0\r\n', 'VER 1 MSNP8\r\n']);
    expect(whole.frames.every((f) => !f.error)).toBe(true);
  });

  it('MSNP8 errors (911 trid) carry no payload; MSNP13+ errors with a length do', () => {
    const old = run(script(['<', 'VER 1 MSNP8\r\n'], ['<', '911 3\r\n'], ['<', '911 4 5\r\n'], ['<', 'CHG 5 NLN\r\n']));
    expect(old.frames.map((f) => f.raw)).toEqual(['VER 1 MSNP8\r\n', '911 3\r\n', '911 4 5\r\n', 'CHG 5 NLN\r\n']);
    const modern = run(script(['<', 'VER 1 MSNP15\r\n'], ['<', '241 4 5\r\nabcde'], ['<', '911 3\r\n']));
    expect(modern.frames.map((f) => f.raw)).toEqual(['VER 1 MSNP15\r\n', '241 4 5\r\nabcde', '911 3\r\n']);
  });
});

describe('truncated and over-long input', () => {
  it('a payload cut short by the end of the stream: its bytes come back from end(), no event', () => {
    const cut = payload('MSG 3 N', `${TEXT_HEAD}never finished`).subarray(0, 40);
    const result = run([...sb, { direction: 'outgoing', data: cut }]);
    expect(Buffer.from(result.output.outgoing).equals(Buffer.from(result.input.outgoing))).toBe(true);
    expect(result.events.filter((e) => e.type === 'message')).toEqual([]);
    expect(dec(result.output.outgoing).endsWith(dec(cut))).toBe(true);
  });

  it('a line longer than the limit: frame-too-large, passed through, the next line parsed', () => {
    const steps = [...sb, ...script(['>', `MSG 3 N ${'9'.repeat(3000)}\r\n`], ['>', hello])];
    const whole = expectSplitInvariant(steps, { maxLineBytes: 1024, randomRuns: 10 });
    expect(whole.frames.find((f) => f.error)!.error).toBe('frame-too-large');
    expect(whole.events.at(-1)).toMatchObject({ type: 'message', text: 'still here' });
    expect(whole.maxBuffered).toBeLessThan(1024);
  });

  it('malformed MIME, P2P without SLP, SLP with a broken Context, SDG without blocks: no throw, no bogus events', () => {
    const steps = [
      ...sb,
      ...script(
        ['>', payload('MSG 3 N', 'no headers at all')],
        ['>', payload('MSG 4 N', 'Content-Type: text/plain; charset=nonsense-charset\r\n\r\n\u00e9t\u00e9')],
        ['>', payload('MSG 5 D', 'MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\nP2P-Dest: bob@live.com\r\n\r\n\0\0\0')],
        [
          '>',
          payload('MSG 6 D', `Content-Type: application/x-msnmsgrp2p\r\n\r\nINVITE MSNMSGR:bob MSNSLP/1.0\r\nContent-Length: ${BROKEN_CONTEXT.length}\r\n\r\n${BROKEN_CONTEXT}`),
        ],
        // An SLP body shorter than its Content-Length is an invitation cut in pieces: not read in part.
        [
          '>',
          payload(
            'MSG 9 D',
            'Content-Type: application/x-msnmsgrp2p\r\n\r\nINVITE MSNMSGR:bob MSNSLP/1.0\r\nContent-Length: 99999\r\n\r\nEUF-GUID: {5D3E02AB-6190-11D3-BBBB-00C04F795683}\r\nContext: dGVzdA==\r\n',
          ),
        ],
        ['>', payload('SDG 7 MSGR', 'garbage without blank lines')],
        ['>', payload('MSG 8 N', 'Content-Type: text/x-msmsgsinvite\r\n\r\nInvitation-Command: INVITE\r\nApplication-File: x.bin\r\nApplication-FileSize: -3\r\n\r\n')],
      ),
    ];
    const whole = expectSplitInvariant(steps, { randomRuns: 10 });
    expect(whole.events.slice(1)).toEqual([
      expect.objectContaining({ type: 'message', text: '\u00e9t\u00e9' }),
      expect.objectContaining({ type: 'file', subtype: 'p2p', data: { guid: '{5D3E02AB-6190-11D3-BBBB-00C04F795683}' } }),
      expect.objectContaining({ type: 'file', subtype: 'invite', file: { name: 'x.bin' } }),
    ]);
  });
});

describe('binary garbage', () => {
  it('random bytes in random chunks, both directions: no throw, every byte once, bounded memory', () => {
    const random = prng(5);
    for (let round = 0; round < 30; round++) {
      const session = newSession({ maxLineBytes: 2048, maxPayloadBytes: 4096, maxFrameSize: 2048 + 4096 });
      const sent = { outgoing: [] as Uint8Array[], incoming: [] as Uint8Array[] };
      const got = { outgoing: [] as Uint8Array[], incoming: [] as Uint8Array[] };
      for (let i = 0; i < 200; i++) {
        const direction = random() < 0.5 ? 'outgoing' : 'incoming';
        const size = 1 + Math.floor(random() * 300);
        const chunk = new Uint8Array(size);
        for (let j = 0; j < size; j++) chunk[j] = Math.floor(random() * 256);
        // Sprinkle plausible commands so the framer also switches into payload mode on garbage.
        if (random() < 0.3) chunk.set(enc(['MSG 1 N 77\r\n', 'SDG 0 9999\r\n', 'UBX a 12\r\n', 'NOT 3\r\n'][Math.floor(random() * 4)]!).subarray(0, size));
        sent[direction].push(chunk.slice());
        for (const frame of session.push(direction, chunk)) got[direction].push(frame.raw.slice());
        expect(session.bufferedBytes(direction)).toBeLessThan(2048 + 4096);
      }
      for (const direction of ['outgoing', 'incoming'] as const) {
        for (const frame of session.end(direction)) got[direction].push(frame.raw.slice());
        expect(Buffer.concat(got[direction]).equals(Buffer.concat(sent[direction]))).toBe(true);
      }
    }
  });
});
