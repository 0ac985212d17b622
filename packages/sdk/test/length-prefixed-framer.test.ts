import { describe, expect, it } from 'vitest';
import { LengthPrefixedFramer, type LengthPrefixedItem, type LengthPrefixedOptions } from '../src/index.js';
import { concatBytes, cutAt, cutRandom, latin1Bytes, latin1String, seededRandom } from '../src/testing/index.js';

/** Header of the three layouts tested: what a session needs from it. */
interface Head {
  type: number;
}

/** YMSG: 20-byte header starting "YMSG", body length a big-endian u16 at 8. */
const ymsg = (max = 1000): LengthPrefixedOptions<Head> => ({
  headerBytes: 20,
  length: { offset: 8, size: 2, endian: 'big' },
  maxFrameBytes: max,
  magic: { bytes: latin1Bytes('YMSG'), onMismatch: 'resync' },
  decodeHeader: (h) => ({ type: (h[10]! << 8) | h[11]! }),
});

/** Gadu-Gadu: 8-byte header, type then body length as little-endian u32s; no magic. */
const gadu = (max = 1000): LengthPrefixedOptions<Head> => ({
  headerBytes: 8,
  length: { offset: 4, size: 4, endian: 'little' },
  maxFrameBytes: max,
  decodeHeader: (h) => ({ type: h[0]! | (h[1]! << 8) }),
});

/** OSCAR FLAP: 6-byte header, 0x2A marker, channel, sequence, big-endian u16 length at 4. */
const flap = (max = 1000): LengthPrefixedOptions<Head> => ({
  headerBytes: 6,
  length: { offset: 4, size: 2, endian: 'big' },
  maxFrameBytes: max,
  magic: { bytes: Uint8Array.of(0x2a), onMismatch: 'pass' },
  decodeHeader: (h) => ({ type: h[1]! }),
});

function ymsgPacket(type: number, body: string): Uint8Array {
  const b = latin1Bytes(body);
  const h = new Uint8Array(20);
  h.set(latin1Bytes('YMSG'));
  h[8] = b.length >> 8;
  h[9] = b.length & 0xff;
  h[10] = type >> 8;
  h[11] = type & 0xff;
  return concatBytes([h, b]);
}

function ggPacket(type: number, body: Uint8Array | string, declared?: number): Uint8Array {
  const b = typeof body === 'string' ? latin1Bytes(body) : body;
  const h = new Uint8Array(8);
  const view = new DataView(h.buffer);
  view.setUint32(0, type, true);
  view.setUint32(4, declared ?? b.length, true);
  return concatBytes([h, b]);
}

function flapFrame(channel: number, body: string): Uint8Array {
  const b = latin1Bytes(body);
  return concatBytes([Uint8Array.of(0x2a, channel, 0, 1, b.length >> 8, b.length & 0xff), b]);
}

/** A readable record of one item: kind, bytes, and what a session looks at. */
function record(item: LengthPrefixedItem<Head>): string {
  const bytes = latin1String(item.raw);
  switch (item.kind) {
    case 'frame':
      return `frame(${item.header.type}):${bytes}`;
    case 'too-large':
      return `too-large(${item.header.type},${item.size}):${bytes}`;
    case 'rest':
      return `rest${item.complete ? '!' : ''}:${bytes}`;
    case 'skipped':
      return `skipped(${item.reason}${item.first ? ',first' : ''}${item.leading ? ',leading' : ''}):${bytes}`;
  }
}

interface Run {
  items: string[];
  end: string;
  /** Largest `buffered` after the items of a push were taken. */
  maxHeld: number;
}

/** Pushes `pieces` and takes every item after each push; rest and skipped pieces of one run are merged. */
function frameAll(options: LengthPrefixedOptions<Head>, pieces: readonly Uint8Array[]): Run {
  const framer = new LengthPrefixedFramer(options);
  const items: string[] = [];
  let maxHeld = 0;
  for (const piece of pieces) {
    framer.push(piece);
    for (let item = framer.next(); item !== undefined; item = framer.next()) {
      // Pieces that follow the chunking (more of a too-large body, more of a skipped run) merge with the last.
      const last = items.at(-1);
      const bytes = latin1String(item.raw);
      if (item.kind === 'rest' && last?.startsWith('rest:')) items[items.length - 1] = `rest${item.complete ? '!' : ''}:${last.slice(5)}${bytes}`;
      else if (item.kind === 'skipped' && !item.first && last?.startsWith('skipped(')) items[items.length - 1] = last + bytes;
      else items.push(record(item));
    }
    maxHeld = Math.max(maxHeld, framer.buffered);
  }
  const end = framer.end();
  return { items, end: end === undefined ? '' : latin1String(end), maxHeld };
}

/** Every single cut and 40 random chunkings give the items of the whole run, and every byte comes out once. */
function expectSplitInvariant(options: LengthPrefixedOptions<Head>, data: Uint8Array): Run {
  const whole = frameAll(options, [data]);
  const joined = whole.items.map((item) => item.slice(item.indexOf(':') + 1)).join('') + whole.end;
  expect(joined).toBe(latin1String(data));
  const check = (pieces: Uint8Array[], label: string) => {
    const run = frameAll(options, pieces);
    expect({ label, items: run.items, end: run.end }).toEqual({ label, items: whole.items, end: whole.end });
    expect(run.maxHeld).toBeLessThan(options.maxFrameBytes);
  };
  for (let at = 1; at < data.length; at++) check(cutAt(data, [at]), `cut at ${at}`);
  const random = seededRandom(7);
  for (let run = 0; run < 40; run++) check(cutRandom(data, random, [1, 2, 3, 7, 19, 64][run % 6]!), `random run ${run}`);
  return whole;
}

describe('LengthPrefixedFramer', () => {
  it('hands out YMSG packets as views of the pushed chunk, header decoded once', () => {
    const chunk = concatBytes([ymsgPacket(6, 'hello'), ymsgPacket(0x4b, '')]);
    const framer = new LengthPrefixedFramer(ymsg());
    framer.push(chunk);
    const first = framer.next();
    expect(first).toMatchObject({ kind: 'frame', header: { type: 6 } });
    expect(first!.raw.buffer).toBe(chunk.buffer);
    expect(latin1String(first!.raw.subarray(20))).toBe('hello');
    expect(framer.next()).toMatchObject({ kind: 'frame', header: { type: 0x4b } });
    expect(framer.next()).toBeUndefined();
    expect(framer.buffered).toBe(0);
    expect(framer.end()).toBeUndefined();
  });

  it('YMSG with garbage, a too-large packet and a magic cut by the chunking: the same items for any cut', () => {
    const data = concatBytes([latin1Bytes('junk YM'), ymsgPacket(6, 'one'), latin1Bytes('YMSx'), ymsgPacket(6, 'x'.repeat(60)), ymsgPacket(0x4c, ''), latin1Bytes('xxYMS')]);
    const whole = expectSplitInvariant(ymsg(64), data);
    expect(whole.items.map((item) => item.slice(0, item.indexOf(':')))).toEqual([
      'skipped(bad-magic,first,leading)',
      'frame(6)',
      'skipped(bad-magic,first)',
      'too-large(6,80)',
      'rest!',
      'frame(76)',
      'skipped(bad-magic,first)',
    ]);
    // "YMS" at the very end may still become a packet: it is held, and given back by end().
    expect(whole.end).toBe('YMS');
  });

  it('Gadu-Gadu: a hostile length is refused before buffering and its body passed through as it arrives', () => {
    const framer = new LengthPrefixedFramer(gadu(100));
    framer.push(ggPacket(0x0b, 'hi'));
    expect(framer.next()).toMatchObject({ kind: 'frame', header: { type: 0x0b } });
    framer.push(ggPacket(0x0b, new Uint8Array(0), 0xffff_ffff).subarray(0, 7));
    expect(framer.next()).toBeUndefined();
    framer.push(Uint8Array.of(0xff, 1, 2, 3));
    expect(framer.next()).toMatchObject({ kind: 'too-large', size: 0xffff_ffff + 8, header: { type: 0x0b } });
    expect(framer.next()).toMatchObject({ kind: 'rest', complete: false, raw: Uint8Array.of(1, 2, 3) });
    expect(framer.next()).toBeUndefined();
    expect(framer.buffered).toBe(0);
    // A megabyte of that body later, nothing has been held.
    for (let i = 0; i < 16; i++) {
      framer.push(new Uint8Array(65536));
      expect(framer.next()).toMatchObject({ kind: 'rest', complete: false });
      expect(framer.buffered).toBe(0);
    }
  });

  it('Gadu-Gadu stream with a too-large packet: the same items for any cut', () => {
    const data = concatBytes([ggPacket(0x0b, 'hello'), ggPacket(0x2d, 'y'.repeat(80)), ggPacket(0x2e, ''), ggPacket(0x0b, 'bye')]);
    const whole = expectSplitInvariant(gadu(40), data);
    expect(whole.items.map((item) => item.slice(0, item.indexOf(':')))).toEqual(['frame(11)', 'too-large(45,88)', 'rest!', 'frame(46)', 'frame(11)']);
    expect(whole.end).toBe('');
  });

  it('OSCAR FLAP: a frame that does not start with the marker makes the rest of the stream unframed', () => {
    const data = concatBytes([flapFrame(1, 'hello'), flapFrame(2, 'snac'), latin1Bytes('!oops'), flapFrame(2, 'later')]);
    const whole = expectSplitInvariant(flap(), data);
    expect(whole.items).toEqual([
      'frame(1):*\x01\x00\x01\x00\x05hello',
      'frame(2):*\x02\x00\x01\x00\x04snac',
      `skipped(bad-magic,first):!oops${latin1String(flapFrame(2, 'later'))}`,
    ]);
    // end() starts afresh: a new stream (after a protocol switch) is framed again.
    const framer = new LengthPrefixedFramer(flap());
    framer.push(latin1Bytes('x'));
    expect(framer.next()).toMatchObject({ kind: 'skipped', first: true, leading: true });
    framer.end();
    framer.push(flapFrame(1, 'ok'));
    expect(framer.next()).toMatchObject({ kind: 'frame' });
  });

  it('acceptHeader lets a one-byte magic resynchronise: a 0x2A that is no FLAP header is skipped', () => {
    const options: LengthPrefixedOptions<Head> = { ...flap(), magic: { bytes: Uint8Array.of(0x2a), onMismatch: 'resync' }, acceptHeader: (h) => h[1]! >= 1 && h[1]! <= 5 };
    // The tail of a frame joined mid-way, holding a 0x2A with channel 0x41, then two real frames.
    const data = concatBytes([latin1Bytes('xx*Ayz'), flapFrame(2, 'snac'), flapFrame(5, '')]);
    const whole = expectSplitInvariant(options, data);
    expect(whole.items).toEqual(['skipped(bad-magic,first,leading):xx*Ayz', 'frame(2):*\x02\x00\x01\x00\x04snac', 'frame(5):*\x05\x00\x01\x00\x00']);
    // Without the check the stray 0x2A is taken for a frame start, whose "length" swallows the real frames.
    expect(frameAll({ ...options, acceptHeader: undefined }, [data]).items[1]).toMatch(/^too-large\(65,10760\)/);
  });

  it('a length function that reports an impossible size skips the header (resync with a magic, unframed without)', () => {
    const options: LengthPrefixedOptions<Head> = {
      headerBytes: 4,
      length: (h) => (h[1] === 0 ? -1 : h[1]!),
      maxFrameBytes: 100,
      magic: { bytes: Uint8Array.of(0x7e), onMismatch: 'resync' },
      decodeHeader: (h) => ({ type: h[2]! }),
    };
    const data = Uint8Array.of(0x7e, 0, 1, 2, 0x7e, 5, 9, 0, 0xaa, 0x7e, 4, 3, 0);
    const whole = expectSplitInvariant(options, data);
    expect(whole.items.map((item) => item.slice(0, item.indexOf(':')))).toEqual(['skipped(bad-length,first,leading)', 'frame(9)', 'frame(3)']);
    // A frame start inside the refused header is found: only the bytes before it are skipped.
    const inside = expectSplitInvariant(options, Uint8Array.of(0x7e, 0, 0x7e, 4, 3, 0));
    expect(inside.items).toEqual(['skipped(bad-length,first,leading):\x7e\x00', 'frame(3):\x7e\x04\x03\x00']);
    const unframed = frameAll({ ...options, magic: undefined }, [data]);
    expect(unframed.items).toEqual([`skipped(bad-length,first,leading):${latin1String(data)}`]);
  });

  it('end() gives back an incomplete frame as it arrived, and the framer starts afresh', () => {
    const framer = new LengthPrefixedFramer(ymsg());
    const packet = ymsgPacket(6, 'abcdef');
    framer.push(packet.subarray(0, 10));
    framer.push(packet.subarray(10, 23));
    expect(framer.next()).toBeUndefined();
    expect(framer.buffered).toBe(23);
    expect(framer.end()).toEqual(packet.subarray(0, 23));
    expect(framer.buffered).toBe(0);
    framer.push(packet);
    expect(framer.next()).toMatchObject({ kind: 'frame', header: { type: 6 } });
  });

  it('rejects a length field outside the header', () => {
    expect(() => new LengthPrefixedFramer({ ...gadu(), length: { offset: 6, size: 4, endian: 'little' } })).toThrow(/outside the 8-byte header/);
  });
});
