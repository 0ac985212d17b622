import { describe, expect, it } from 'vitest';
import { concat, cutRandom, dec, enc, newSession, prng, run, script } from './helpers.js';
import { expectFramingInvariant, expectSplitInvariant, frameAll } from './invariance.js';
import { STREAM_NS } from './transcripts.js';

const OPEN = script(
  ['>', `<stream:stream to='example.com' ${STREAM_NS}>`],
  ['<', `<stream:stream from='example.com' id='1' ${STREAM_NS}><stream:features/>`],
  ['<', "<iq type='result' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>alice@example.com/r</jid></bind></iq>"],
);
const HELLO = "<message to='bob@example.com' type='chat'><body>still logged</body></message>";

describe('limits: nothing is buffered past the stanza limit', () => {
  it('a 10 MB stanza is reported once, streamed through unbuffered, and the next stanza is parsed', () => {
    const max = 64 * 1024;
    const huge = `<message to='bob@example.com' type='chat'><body>${'A'.repeat(10 * 1024 * 1024)}</body></message>`;
    const steps = [...OPEN, ...script(['>', huge + HELLO])];
    const random = prng(3);
    for (const size of [1500, 65536, 1 << 20, 16 << 20]) {
      const result = run(steps, (data) => cutRandom(data, random, size), { maxFrameSize: max });
      expect(result.maxBuffered).toBeLessThanOrEqual(max);
      expect(Buffer.from(result.output.outgoing).equals(Buffer.from(result.input.outgoing))).toBe(true);
      expect(result.frames.filter((f) => f.error).map((f) => [f.error, f.raw.length])).toEqual([['frame-too-large', max]]);
      expect(result.events.map((e) => e.text ?? e.type)).toEqual(['login', 'still logged']);
    }
  }, 60_000);

  it('the limit is checked before buffering: a stanza of exactly the limit is parsed, one byte more is not', () => {
    const max = 4096;
    const fill = (n: number) => `<message to='bob@example.com'><body>${'x'.repeat(n)}</body></message>`;
    const overhead = fill(0).length;
    const exact = fill(max - overhead);
    expect(exact.length).toBe(max);
    const ok = expectSplitInvariant([...OPEN, ...script(['>', exact])], { maxFrameSize: max, randomRuns: 16, everyOffsetUpTo: 0, window: 2 });
    expect(ok.events.at(-1)!.text).toHaveLength(max - overhead);
    const over = expectSplitInvariant([...OPEN, ...script(['>', fill(max - overhead + 1) + HELLO])], { maxFrameSize: max, randomRuns: 16, everyOffsetUpTo: 0, window: 2 });
    expect(over.frames.filter((f) => f.error).map((f) => f.error)).toEqual(['frame-too-large']);
    expect(over.events.at(-1)!.text).toBe('still logged');
  });

  it('an unclosed stanza holds at most the limit, and comes out unparsed at the end of the stream', () => {
    const max = 8192;
    const session = newSession({ maxFrameSize: max });
    for (const step of OPEN) session.push(step.direction, step.data);
    let out = 0;
    for (let i = 0; i < 100; i++) {
      for (const frame of session.push('outgoing', enc(`<message><body>${'y'.repeat(1000)}<x>`))) out += frame.raw.length;
      expect(session.bufferedBytes('outgoing')).toBeLessThanOrEqual(max);
    }
    const tail = session.end('outgoing');
    expect(tail.every((f) => !f.events)).toBe(true);
    out += tail.reduce((n, f) => n + f.raw.length, 0);
    expect(out).toBe(100 * enc(`<message><body>${'y'.repeat(1000)}<x>`).length);
  });

  it('an endless stream header or attribute value is cut at the limit too', () => {
    for (const junk of [`<stream:stream to='${'a'.repeat(100_000)}`, `<message to="${'b'.repeat(100_000)}`, `<!--${'-'.repeat(100_000)}`, `<?xml ${'v'.repeat(100_000)}`]) {
      const result = run(script(['>', junk]), (d) => cutRandom(d, prng(9), 3000), { maxFrameSize: 4096 });
      expect(result.maxBuffered).toBeLessThanOrEqual(4096);
      expect(result.frames.filter((f) => f.error).map((f) => f.error)).toEqual(['frame-too-large']);
      expect(dec(result.output.outgoing)).toBe(junk);
    }
  });
});

describe('XML that XMPP forbids', () => {
  it('a DTD with entity declarations (billion laughs) is an error, and its entities are never expanded', () => {
    const lol = ['<!ENTITY lol "lol">', ...Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`)].join('');
    const steps = script(
      ['>', `<?xml version='1.0'?><!DOCTYPE lolz [${lol}]><stream:stream to='example.com' ${STREAM_NS}>`],
      ['<', `<stream:stream from='example.com' id='1' ${STREAM_NS}>`],
      ['<', "<iq type='result' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>alice@example.com/r</jid></bind></iq>"],
      ['>', "<message to='bob@example.com'><body>&lol9;</body></message>"],
      ['>', "<message to='bob@example.com'><!DOCTYPE x [<!ENTITY a 'b'>]><body>&a;</body></message>"],
    );
    const result = expectSplitInvariant(steps, { randomRuns: 16 });
    expect(result.frames.filter((f) => f.error).map((f) => [f.error, f.raw.slice(0, 14)])).toEqual([
      ['restricted-xml', '<!DOCTYPE lolz'],
      ['undefined-entity', "<message to='b"],
      ['restricted-xml', "<message to='b"],
    ]);
    // The entity reference is kept as written, not expanded.
    expect(result.events.filter((e) => e.type === 'message').map((e) => e.text)).toEqual(['&lol9;']);
  });

  it('comments and processing instructions are errors; CDATA is text', () => {
    const result = expectSplitInvariant([
      ...OPEN,
      ...script(
        ['>', '<!-- hello --><?php echo 1; ?>'],
        ['>', "<message to='bob@example.com'><body><![CDATA[<b>raw</b> & more]]> after</body></message>"],
        ['>', "<message to='bob@example.com'><body>a<!-- c -->b</body></message>"],
      ),
    ]);
    expect(result.frames.filter((f) => f.error).map((f) => [f.error, f.raw])).toEqual([
      ['restricted-xml', '<!-- hello -->'],
      ['restricted-xml', '<?php echo 1; ?>'],
      ['restricted-xml', "<message to='bob@example.com'><body>a<!-- c -->b</body></message>"],
    ]);
    expect(result.events.filter((e) => e.type === 'message').map((e) => e.text)).toEqual(['<b>raw</b> & more after', 'ab']);
  });

  it('invalid UTF-8, forbidden characters and bad references are errors; the stream goes on', () => {
    const bad = concat([enc("<message to='bob@example.com'><body>"), Uint8Array.from([0xc3, 0x28, 0xff, 0xfe]), enc('</body></message>')]);
    const steps = [
      ...OPEN,
      { direction: 'outgoing' as const, data: bad },
      ...script(
        ['>', "<message to='bob@example.com'><body>&#0;&#xD800;&#x110000;&nosuch;&amp</body></message>"],
        ['>', "<message to='bob@example.com'><body>nul\u0000</body></message>"],
        ['>', HELLO],
      ),
    ];
    const result = expectSplitInvariant(steps);
    expect(result.frames.filter((f) => f.error).map((f) => f.error)).toEqual(['invalid-utf8', 'undefined-entity', 'invalid-xml-char']);
    expect(result.events.filter((e) => e.type === 'message').map((e) => e.text)).toEqual(['&#0;&#xD800;&#x110000;&nosuch;&amp', 'nul\u0000', 'still logged']);
  });

  it('mismatched tags, stray end tags, undeclared prefixes and deep nesting never crash', () => {
    const deep = `<message to='bob@example.com'>${'<a>'.repeat(5000)}${'</a>'.repeat(5000)}<body>deep</body></message>`;
    const steps = [
      ...OPEN,
      ...script(
        ['>', "<message to='bob@example.com'><body>x</bodyy></message>"],
        ['>', '</nothing>'],
        ['>', "<message to='bob@example.com'><p:body>x</p:body></message>"],
        ['>', deep],
        ['>', "<message to='bob@example.com' to='eve@example.com'><body>dup</body></message>"],
        ['>', '< notatag > <<<>>> '],
        ['>', HELLO],
      ),
    ];
    // The deep stanza has 10,000 tag ends: cut around a few of them, and at random.
    const result = expectSplitInvariant(steps, { randomRuns: 24, everyOffsetUpTo: 200, window: 1 });
    expect(result.frames.filter((f) => f.error).map((f) => f.error)).toEqual(['not-well-formed', 'not-well-formed', 'unbound-prefix', 'too-deep', 'not-well-formed']);
    expect(result.events.at(-1)!.text).toBe('still logged');
  });
});

describe('garbage', () => {
  it('random bytes pass through exactly, bounded, whatever the cuts', () => {
    const random = prng(11);
    for (let r = 0; r < 20; r++) {
      const bytes = Uint8Array.from({ length: 20_000 }, () => (random() < 0.1 ? 0x3c : random() < 0.1 ? 0x3e : Math.floor(random() * 256)));
      const steps = [...OPEN, { direction: 'outgoing' as const, data: bytes }];
      const result = run(steps, (d) => cutRandom(d, random, 1 + r * 300), { maxFrameSize: 4096 });
      expect(Buffer.from(result.output.outgoing).equals(Buffer.from(result.input.outgoing))).toBe(true);
      expect(result.maxBuffered).toBeLessThanOrEqual(4096);
    }
  });

  it('a mid-stream start skips to the first stanza', () => {
    const steps = script(['>', "ody>lost half</body></message>  <message to='bob@example.com' type='chat'><body>first whole</body></message>"]);
    const result = expectSplitInvariant(steps, { midstream: true });
    expect(result.events.map((e) => e.text)).toEqual(['first whole']);
    expect(frameAll([steps[0]!.data], 4096, true).map((i) => i.kind)).toEqual(['skipped', 'stanza']);
  });
});

describe('framer', () => {
  it('frames a stream exactly: declaration, header, stanzas, whitespace, restart, close', () => {
    const stream = `<?xml version='1.0'?>\n<stream:stream to='a' ${STREAM_NS}> <presence/>\n<message to="x>y"><body a='/>'>1 &gt; 0</body></message><stream:stream to='a' ${STREAM_NS}><iq type='get' id='1'/></stream:stream>`;
    const items = expectFramingInvariant(enc(stream));
    expect(items.map((i) => [i.kind, i.raw])).toEqual([
      ['decl', "<?xml version='1.0'?>"],
      ['text', '\n'],
      ['header', `<stream:stream to='a' ${STREAM_NS}>`],
      ['text', ' '],
      ['stanza', '<presence/>'],
      ['text', '\n'],
      ['stanza', `<message to="x>y"><body a='/>'>1 &gt; 0</body></message>`],
      ['header', `<stream:stream to='a' ${STREAM_NS}>`],
      ['stanza', "<iq type='get' id='1'/>"],
      ['close', '</stream:stream>'],
    ]);
  });

  it('a whitespace keep-alive is handed out at once, not held for the next stanza', () => {
    const session = newSession();
    session.push('outgoing', enc(`<stream:stream to='a' ${STREAM_NS}>`));
    const frames = session.push('outgoing', enc(' '));
    expect(frames.map((f) => dec(f.raw))).toEqual([' ']);
    expect(session.bufferedBytes('outgoing')).toBe(0);
  });
});

describe('seeded fuzz', () => {
  it('mutated logins (markup characters sprinkled in) never throw, keep every byte and stay bounded', async () => {
    const { login } = await import('./transcripts.js');
    const base = [
      ...login(),
      ...script(
        ['>', "<message to='juliet@capulet.example' type='chat'><body>a &amp; b</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>"],
        ['<', "<message from='juliet@capulet.example/x' type='groupchat'><body><![CDATA[x]]></body></message>"],
      ),
    ];
    const random = prng(2024);
    const specials = [0x3c, 0x3e, 0x2f, 0x27, 0x22, 0x26, 0x21, 0x3f, 0x5b, 0x5d, 0x2d, 0x3d, 0x00, 0xff, 0x20];
    for (let r = 0; r < 200; r++) {
      const steps = base.map((step) => {
        const data = Uint8Array.from(step.data);
        for (let i = 0; i < data.length; i++) if (random() < 0.02) data[i] = specials[Math.floor(random() * specials.length)]!;
        return { direction: step.direction, data };
      });
      const result = run(steps, (d) => cutRandom(d, random, 1 + Math.floor(random() * 64)), { maxFrameSize: 4096, onUpgrade: (s) => s.tlsIntercepted() });
      expect(Buffer.from(result.output.outgoing).equals(Buffer.from(result.input.outgoing))).toBe(true);
      expect(Buffer.from(result.output.incoming).equals(Buffer.from(result.input.incoming))).toBe(true);
      expect(result.maxBuffered).toBeLessThanOrEqual(4096);
    }
  });
});
