import { describe, expect, it } from 'vitest';
import { concat, cutRandom, dec, enc, latin1, newSession, prng, run, script, type Step } from './helpers.js';
import { expectSplitInvariant } from './invariance.js';

const REGISTER = script(['>', 'NICK alice\r\nUSER alice 0 * :Alice\r\n'], ['<', ':irc.example.net 001 alice :Welcome\r\n']);

describe('malformed lines', () => {
  it('pass through, with an error only where the line is really malformed', () => {
    const result = expectSplitInvariant([
      ...script(
        ['>', '\r\n   \r\n\n'],
        ['>', ':prefix-only\r\n'],
        ['>', '@tags=only\r\n'],
        ['>', ': PRIVMSG bob :empty prefix\r\n'],
        ['>', '1234 x\r\nPRIV-MSG bob :x\r\n'],
        ['>', '@=bad;ok=1 PRIVMSG bob :bad tag key\r\n'],
        ['>', '@ PRIVMSG bob :empty tags\r\n'],
        ['>', 'PRIVMSG bob :nul\0inside\r\n'],
        ['>', 'PRIVMSG\r\nPRIVMSG bob\r\nJOIN\r\nKICK\r\nNICK\r\n'],
        ['<', ':irc.example.net 001\r\n:irc.example.net 005\r\n:irc.example.net CAP\r\n'],
      ),
      { direction: 'outgoing', data: latin1('\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n') },
    ]);
    expect(result.frames.map((f) => [f.raw, f.error ?? null, (f.events ?? []).map((e) => e.text ?? e.type)])).toEqual([
      ['\r\n', null, []],
      ['   \r\n', null, []],
      ['\n', null, []],
      [':prefix-only\r\n', 'malformed-line', []],
      ['@tags=only\r\n', 'malformed-line', []],
      [': PRIVMSG bob :empty prefix\r\n', 'malformed-line', ['empty prefix']],
      ['1234 x\r\n', 'malformed-line', []],
      ['PRIV-MSG bob :x\r\n', 'malformed-line', []],
      ['@=bad;ok=1 PRIVMSG bob :bad tag key\r\n', 'malformed-tags', ['bad tag key']],
      ['@ PRIVMSG bob :empty tags\r\n', 'malformed-tags', ['empty tags']],
      ['PRIVMSG bob :nul\0inside\r\n', 'malformed-line', ['nul\0inside']],
      ['PRIVMSG\r\n', null, []],
      ['PRIVMSG bob\r\n', null, []],
      ['JOIN\r\n', null, []],
      ['KICK\r\n', null, []],
      ['NICK\r\n', null, []],
      [':irc.example.net 001\r\n', null, ['login']],
      [':irc.example.net 005\r\n', null, []],
      [':irc.example.net CAP\r\n', null, []],
      ['\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n', 'malformed-line', []],
    ]);
  });

  it('passes the unterminated tail through at end of stream', () => {
    const session = newSession();
    expect(session.push('outgoing', enc('NICK a\r\nPRIVMSG b :no newline'))).toHaveLength(1);
    expect(session.bufferedBytes('outgoing')).toBe('PRIVMSG b :no newline'.length);
    const [tail] = session.end('outgoing');
    expect(dec(tail!.raw)).toBe('PRIVMSG b :no newline');
    expect(tail!.events).toBeUndefined();
    expect(session.end('outgoing')).toEqual([]);
    expect(session.end('incoming')).toEqual([]);
  });
});

describe('over-long lines', () => {
  it('reports the first maxFrameSize bytes, passes the rest through unbuffered, then parses again', () => {
    const max = 1024;
    const long = `PRIVMSG #chan :${'x'.repeat(5000)}\r\n`;
    const result = expectSplitInvariant([...REGISTER, ...script(['>', long + 'PRIVMSG #chan :after\r\n'])], { maxFrameSize: max, randomRuns: 40 });
    const frames = result.frames.filter((f) => f.direction === 'outgoing');
    expect(frames.slice(-3).map((f) => [f.raw.length, f.error ?? null])).toEqual([
      [max, 'frame-too-large'],
      [long.length - max, null],
      ['PRIVMSG #chan :after\r\n'.length, null],
    ]);
    expect(result.events.at(-1)).toMatchObject({ text: 'after' });
  });

  it('a line of exactly maxFrameSize bytes (terminator included) is still a line', () => {
    const max = 600;
    const line = `PRIVMSG bob :${'y'.repeat(max - 'PRIVMSG bob :'.length - 2)}\r\n`;
    expect(line.length).toBe(max);
    const result = expectSplitInvariant([...REGISTER, ...script(['>', line])], { maxFrameSize: max, randomRuns: 10 });
    expect(result.frames.at(-1)!.error).toBeUndefined();
    expect(result.events.at(-1)!.text).toHaveLength(max - 15);
    const over = expectSplitInvariant([...REGISTER, ...script(['>', `x${line}`])], { maxFrameSize: max, randomRuns: 10 });
    expect(over.frames.slice(-2).map((f) => [f.raw.length, f.error ?? null])).toEqual([
      [max, 'frame-too-large'],
      [1, null],
    ]);
  });

  it('handles a 1 MB line in bounded memory, whatever the chunking, losing no byte', () => {
    const big = new Uint8Array(1024 * 1024 + 17).fill(0x61);
    const head = enc('PRIVMSG #chan :');
    big.set(head, 0);
    big[big.length - 1] = 0x0a;
    const steps: Step[] = [...REGISTER, { direction: 'outgoing', data: concat([big, enc('PRIVMSG #chan :still here\r\n')]) }];
    const random = prng(7);
    for (const max of [1, 100, 4096, 65536, 2 * 1024 * 1024]) {
      const chunkMax = max;
      const result = run(steps, (data) => (data.byteLength > 1000 ? cutRandom(data, random, chunkMax) : [data]), { maxFrameSize: 16 * 1024 });
      expect(result.maxBuffered).toBeLessThan(16 * 1024);
      expect(Buffer.from(result.output.outgoing).equals(Buffer.from(result.input.outgoing))).toBe(true);
      expect(result.frames.find((f) => f.error)?.error).toBe('frame-too-large');
      expect(result.events.map((e) => e.text ?? e.type)).toEqual(['login', 'still here']);
    }
  }, 60_000);

  it('hands out the pushed chunk itself (a view) for the tail of an over-long line', () => {
    const session = newSession({ maxFrameSize: 512 });
    session.push('outgoing', new Uint8Array(600).fill(0x62));
    const chunk = new Uint8Array(10_000).fill(0x63);
    const frames = session.push('outgoing', chunk);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.raw.buffer).toBe(chunk.buffer);
  });
});

describe('views, not copies', () => {
  it('a line inside one chunk is a view of that chunk', () => {
    const session = newSession();
    const chunk = enc('NICK alice\r\nUSER alice 0 * :Alice\r\nPRIVMSG bob :par');
    const frames = session.push('outgoing', chunk);
    expect(frames).toHaveLength(2);
    for (const frame of frames) expect(frame.raw.buffer).toBe(chunk.buffer);
    expect(frames[1]!.raw.byteOffset).toBe(12);
  });
});

describe('hostile nicks and names', () => {
  it('reports whatever the nick is, verbatim, and never throws', () => {
    const tenK = 'n'.repeat(10 * 1024);
    const result = expectSplitInvariant(
      [
        ...script(['>', 'NICK ../..\r\nUSER x 0 * :x\r\n'], ['<', ':irc.example.net 001 ../.. :Welcome\r\n']),
        ...script(['<', ':..%2f..!x@y PRIVMSG ../.. :path nick\r\n']),
        { direction: 'incoming', data: latin1(':nul\0nick!x@y PRIVMSG ../.. :nul nick\r\n') },
        ...script(['<', `:${tenK}!x@y PRIVMSG ../.. :long nick\r\n`]),
        ...script(['<', ':ニック!x@y PRIVMSG ../.. :utf8 nick\r\n']),
        ...script(['<', ':../..!x@y NICK :日本\r\n'], ['>', 'PRIVMSG #../.. :after rename\r\n']),
      ],
      { everyOffsetUpTo: 256, randomRuns: 20 },
    );
    expect(result.events.map((e) => [e.localId, e.remoteId, e.text ?? e.type])).toEqual([
      ['../..', 'irc.example.net', 'login'],
      ['../..', '..%2f..', 'path nick'],
      ['../..', 'nul\0nick', 'nul nick'],
      ['../..', tenK, 'long nick'],
      ['../..', 'ニック', 'utf8 nick'],
      ['../..', '日本', 'other'],
      ['../..', '#../..', 'after rename'],
    ]);
    expect(result.frames.find((f) => f.raw.includes('nul\0nick'))!.error).toBe('malformed-line');
  });

  it('still answers a client with a 10 KB nick (without breaking the line structure)', () => {
    const session = newSession();
    session.push('outgoing', enc(`NICK ${'n'.repeat(10240)}\r\n`));
    const bytes = session.respond('you are monitored', {} as never)!;
    const text = dec(bytes);
    expect(text.split('\r\n')).toHaveLength(2);
    expect(text.endsWith(' :you are monitored\r\n')).toBe(true);
    const nul = newSession();
    nul.push('outgoing', latin1('NICK a\0b\r\n'));
    expect(dec(nul.respond('x', {} as never)!)).toBe(':imspect NOTICE ab :x\r\n');
  });
});

describe('fuzz', () => {
  const FRAGMENTS = [
    'PRIVMSG #c :hi\r\n',
    ':n!u@h PRIVMSG me :yo\r\n',
    'NICK me\r\n',
    ':s.example 001 me :w\r\n',
    '\x01ACTION ',
    '\x01DCC SEND "a b" 1 2 3\x01',
    '@a=b;c ',
    ':',
    ' ',
    '\r',
    '\n',
    '\r\n',
    '\0',
    '\x01',
    'STARTTLS\r\n',
    ':s 670 me :ok\r\n',
    ':s 691 me :no\r\n',
    'CAP * ACK :echo-message\r\n',
    ':s 005 me CHANTYPES= STATUSMSG=# :x\r\n',
    'TAGMSG',
    '@+typing=active',
    'KICK #c me\r\n',
    'QUIT\r\n',
    ',,,',
    '#',
    '&',
    '\xff\xfe',
    '\xc3',
  ];

  function randomInput(random: () => number, size: number): Uint8Array {
    const parts: Uint8Array[] = [];
    let total = 0;
    while (total < size) {
      let part: Uint8Array;
      if (random() < 0.5) {
        part = new Uint8Array(1 + Math.floor(random() * 64));
        for (let i = 0; i < part.length; i++) part[i] = Math.floor(random() * 256);
      } else part = latin1(FRAGMENTS[Math.floor(random() * FRAGMENTS.length)]!);
      parts.push(part);
      total += part.length;
    }
    return concat(parts);
  }

  it('never throws, loses, adds or reorders a byte, and gives the same frames whatever the chunking', () => {
    const random = prng(20261121);
    for (let iteration = 0; iteration < 3000; iteration++) {
      const steps: Step[] = [];
      const count = 1 + Math.floor(random() * 6);
      for (let i = 0; i < count; i++) {
        steps.push({ direction: random() < 0.5 ? 'outgoing' : 'incoming', data: randomInput(random, Math.floor(random() * 400)) });
      }
      const maxFrameSize = random() < 0.3 ? 512 : 16 * 1024;
      const whole = run(steps, undefined, { maxFrameSize });
      const cut = run(steps, (data) => cutRandom(data, random, 1 + Math.floor(random() * 40)), { maxFrameSize });
      for (const result of [whole, cut]) {
        expect(Buffer.from(result.output.outgoing).equals(Buffer.from(result.input.outgoing))).toBe(true);
        expect(Buffer.from(result.output.incoming).equals(Buffer.from(result.input.incoming))).toBe(true);
        expect(result.maxBuffered).toBeLessThan(maxFrameSize);
      }
      expect(cut.frames).toEqual(whole.frames);
      expect(cut.events).toEqual(whole.events);
    }
  }, 120_000);

  it('survives rewrite and respond on random frames', () => {
    const random = prng(99);
    for (let iteration = 0; iteration < 500; iteration++) {
      const session = newSession({ midstream: random() < 0.2 });
      const frames = session.push(random() < 0.5 ? 'outgoing' : 'incoming', randomInput(random, 300));
      for (const frame of frames) {
        if (!frame.rewrite) continue;
        const rewritten = frame.rewrite('r\r\n\0\x01 x');
        expect(rewritten.filter((b) => b === 0x0a).length).toBeLessThanOrEqual(1);
        expect(rewritten.includes(0)).toBe(frame.raw.subarray(0, frame.raw.indexOf(0x0a) < 0 ? undefined : frame.raw.indexOf(0x0a)).includes(0) && true);
      }
      session.respond('x'.repeat(Math.floor(random() * 2000)), {} as never);
    }
  });
});
