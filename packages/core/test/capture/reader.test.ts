import { afterAll, describe, expect, it } from 'vitest';
import { CaptureError, CaptureParser, forEachPacket, readPackets, type CapturedPacket } from '../../src/capture/index.js';
import { block, concat, enc, epb, idb, opb, pcapFile, removeTemp, shb, spb, writeTemp } from './helpers.js';

afterAll(removeTemp);

async function collect(path: string, onTruncated?: (e: CaptureError) => void): Promise<CapturedPacket[]> {
  const out: CapturedPacket[] = [];
  for await (const p of readPackets(path, onTruncated ? { onTruncated } : {})) out.push({ ...p, data: p.data.slice() });
  return out;
}

/** Reads a file expected to be refused and returns the error with the packets delivered before it. */
async function failure(path: string): Promise<{ error: CaptureError; packets: number }> {
  let packets = 0;
  try {
    for await (const _ of readPackets(path)) packets++;
  } catch (error) {
    expect(error).toBeInstanceOf(CaptureError);
    return { error: error as CaptureError, packets };
  }
  throw new Error(`${path} was read without an error`);
}

const frameA = enc('frame-A: 0123456789');
const frameB = enc('frame-B');

describe('classic pcap', () => {
  // 2024-01-02T03:04:05Z = 1704164645 s.
  const cases = [
    { name: 'little-endian microseconds', littleEndian: true, nanos: false },
    { name: 'big-endian microseconds', littleEndian: false, nanos: false },
    { name: 'little-endian nanoseconds', littleEndian: true, nanos: true },
    { name: 'big-endian nanoseconds', littleEndian: false, nanos: true },
  ];
  for (const c of cases) {
    it(`reads ${c.name}`, async () => {
      const bytes = pcapFile({ littleEndian: c.littleEndian, nanos: c.nanos, linkType: 1 }, [
        { seconds: 1704164645, fraction: c.nanos ? 123456789 : 123456, data: frameA, originalLength: 1500 },
        { seconds: 1704164646, fraction: 7, data: frameB },
      ]);
      expect(bytes.subarray(0, 4)).toEqual(
        Uint8Array.from(c.nanos ? (c.littleEndian ? [0x4d, 0x3c, 0xb2, 0xa1] : [0xa1, 0xb2, 0x3c, 0x4d]) : c.littleEndian ? [0xd4, 0xc3, 0xb2, 0xa1] : [0xa1, 0xb2, 0xc3, 0xd4]),
      );
      const packets = await collect(writeTemp(`order-${c.name.replace(/ /g, '-')}.pcap`, bytes));
      expect(packets).toHaveLength(2);
      const [a, b] = packets as [CapturedPacket, CapturedPacket];
      expect(a.index).toBe(0);
      expect(a.linkType).toBe(1);
      expect(a.interfaceId).toBe(0);
      expect(a.originalLength).toBe(1500);
      expect(Buffer.from(a.data).toString()).toBe('frame-A: 0123456789');
      expect(a.timestampNs).toBe(c.nanos ? 1704164645_123456789n : 1704164645_123456000n);
      expect(a.time).toBeCloseTo(c.nanos ? 1704164645123.456789 : 1704164645123.456, 5);
      expect(b.index).toBe(1);
      expect(Buffer.from(b.data).toString()).toBe('frame-B');
      expect(b.timestampNs).toBe(c.nanos ? 1704164646_000000007n : 1704164646_000007000n);
    });
  }

  it('accepts every link type the decoder knows and refuses others', async () => {
    for (const linkType of [0, 1, 101, 108, 113, 228, 229, 276]) {
      const packets = await collect(writeTemp(`lt-${linkType}.pcap`, pcapFile({ linkType }, [{ seconds: 1, fraction: 0, data: frameB }])));
      expect(packets.map((p) => p.linkType)).toEqual([linkType]);
    }
    const { error, packets } = await failure(writeTemp('lt-147.pcap', pcapFile({ linkType: 147 }, [{ seconds: 1, fraction: 0, data: frameB }])));
    expect(error.code).toBe('CAPTURE_UNSUPPORTED_LINKTYPE');
    expect(error.message).toContain('link type 147');
    expect(packets).toBe(0);
  });

  it('refuses pcap versions other than 2.x', async () => {
    const { error } = await failure(writeTemp('v1.pcap', pcapFile({ linkType: 1, major: 1 }, [])));
    expect(error.code).toBe('CAPTURE_UNSUPPORTED_VERSION');
  });
});

describe('pcapng', () => {
  const le = true;
  const be = false;

  it('reads several sections of both byte orders, each with its own interfaces and resolutions', async () => {
    const bytes = concat(
      // Section 1, little-endian: two interfaces with different link types and resolutions.
      shb(le),
      idb(le, { linkType: 1, name: 'eth0' }), // default resolution: microseconds
      idb(le, { linkType: 113, tsresol: 9, snapLength: 65535 }), // nanoseconds
      epb(le, 0, 1704164645_000001n, frameA),
      block(0x00000005, new Uint8Array(20), le), // interface statistics: skipped
      block(0x40000bad, enc('custom block body'), le), // custom block: skipped
      block(0x00000bad, new Uint8Array(1000), le), // unknown block: skipped
      epb(le, 1, 1704164645_000000002n, frameB, 900),
      // Section 2, big-endian: the interface list starts again.
      shb(be),
      idb(be, { linkType: 101, tsresol: 0x80 | 20 }), // 2^-20 s
      idb(be, { linkType: 276, tsresol: 3, tsoffset: 1_000_000_000n }), // milliseconds, offset 10^9 s
      epb(be, 1, 704164645_123n, frameA), // 704164645.123 s + 10^9 s
      epb(be, 0, (1704164645n << 20n) + (1n << 19n), frameB), // .5 s
      spb(be, frameB), // no timestamp: keeps the previous one, interface 0
      opb(be, 1, 704164646_000n, frameA),
    );
    const packets = await collect(writeTemp('sections.pcapng', bytes));
    expect(packets.map((p) => [p.index, p.interfaceId, p.linkType, p.timestampNs, Buffer.from(p.data).toString()])).toEqual([
      [0, 0, 1, 1704164645_000001000n, 'frame-A: 0123456789'],
      [1, 1, 113, 1704164645_000000002n, 'frame-B'],
      [2, 1, 276, 1704164645_123000000n, 'frame-A: 0123456789'],
      [3, 0, 101, 1704164645_500000000n, 'frame-B'],
      [4, 0, 101, 1704164645_500000000n, 'frame-B'],
      [5, 1, 276, 1704164646_000000000n, 'frame-A: 0123456789'],
    ]);
    expect(packets[1]!.originalLength).toBe(900);
  });

  it('gives the same packets whatever the chunking of the input', () => {
    const bytes = concat(
      shb(le),
      idb(le, { linkType: 1, tsresol: 9 }),
      epb(le, 0, 1n, frameA),
      block(0x00000bad, new Uint8Array(64), le),
      epb(le, 0, 2n, frameB),
      shb(be),
      idb(be, { linkType: 0 }),
      epb(be, 0, 3n, frameA),
    );
    const parse = (chunks: Uint8Array[]): string[] => {
      const parser = new CaptureParser();
      const out: string[] = [];
      for (const chunk of chunks) {
        parser.push(chunk);
        for (let r = parser.next(); r !== undefined; r = parser.next()) {
          if (r instanceof CaptureError) throw r;
          out.push(`${r.index}/${r.linkType}/${r.timestampNs}/${Buffer.from(r.data).toString('hex')}`);
        }
      }
      expect(parser.finish()).toBeUndefined();
      return out;
    };
    const whole = parse([bytes]);
    expect(whole).toHaveLength(3);
    expect(whole[2]).toBe(`2/0/3000/${Buffer.from(frameA).toString('hex')}`);
    for (let cut = 1; cut < bytes.byteLength; cut++) {
      expect(parse([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual(whole);
    }
    expect(parse([...bytes].map((b) => Uint8Array.of(b)))).toEqual(whole);
  });

  it('tolerates an interface of an unknown link type that carries no packets', async () => {
    const bytes = concat(shb(le), idb(le, { linkType: 195 }), idb(le, { linkType: 1 }), epb(le, 1, 5n, frameA));
    const packets = await collect(writeTemp('unused-iface.pcapng', bytes));
    expect(packets.map((p) => [p.interfaceId, p.linkType])).toEqual([[1, 1]]);
  });
});

describe('bad input: a clear error, never a crash or a hang', () => {
  const good = pcapFile({ linkType: 1 }, [
    { seconds: 10, fraction: 0, data: frameA },
    { seconds: 11, fraction: 0, data: frameB },
  ]);
  const goodNg = concat(shb(true), idb(true, { linkType: 1 }), epb(true, 0, 1n, frameA), epb(true, 0, 2n, frameB));

  it('zero-length file', async () => {
    const { error } = await failure(writeTemp('empty.pcap', new Uint8Array(0)));
    expect(error.code).toBe('CAPTURE_EMPTY');
  }, 5000);

  it('a file too short for any header', async () => {
    const { error } = await failure(writeTemp('three.pcap', Uint8Array.of(0xd4, 0xc3, 0xb2)));
    expect(error.code).toBe('CAPTURE_TRUNCATED');
  }, 5000);

  it('not a capture file', async () => {
    const { error } = await failure(writeTemp('text.pcap', enc('this is not a capture\n')));
    expect(error.code).toBe('CAPTURE_BAD_MAGIC');
    const gz = await failure(writeTemp('x.pcap.gz', Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0)));
    expect(gz.error.code).toBe('CAPTURE_BAD_MAGIC');
    expect(gz.error.message).toContain('gzip');
  }, 5000);

  it('a missing file', async () => {
    const { error } = await failure('/nonexistent/dir/capture.pcap');
    expect(error.code).toBe('CAPTURE_READ_FAILED');
  }, 5000);

  it('pcap cut in its file header', async () => {
    const { error } = await failure(writeTemp('short-header.pcap', good.subarray(0, 10)));
    expect(error.code).toBe('CAPTURE_TRUNCATED');
  }, 5000);

  it('pcap cut in the last record: complete packets first, then the error or the handler', async () => {
    const cut = good.subarray(0, good.byteLength - 3);
    const path = writeTemp('truncated.pcap', cut);
    const { error, packets } = await failure(path);
    expect(error.code).toBe('CAPTURE_TRUNCATED');
    expect(packets).toBe(1);
    // Offset of the second record: 24-byte file header + 16-byte record header + frame A.
    expect(error.offset).toBe(24 + 16 + frameA.byteLength);

    const reported: CaptureError[] = [];
    const read = await collect(path, (e) => reported.push(e));
    expect(read).toHaveLength(1);
    expect(reported.map((e) => e.code)).toEqual(['CAPTURE_TRUNCATED']);

    const headerCut = good.subarray(0, 24 + 16 + frameA.byteLength + 5); // inside the second record header
    expect((await failure(writeTemp('truncated2.pcap', headerCut))).error.code).toBe('CAPTURE_TRUNCATED');
  }, 5000);

  it('pcap record claiming 2 GB: refused at once, nothing allocated', async () => {
    const bytes = good.slice();
    new DataView(bytes.buffer).setUint32(24 + 8, 0x80000000, true);
    const before = process.memoryUsage().arrayBuffers;
    const { error, packets } = await failure(writeTemp('2gb.pcap', bytes));
    expect(error.code).toBe('CAPTURE_BLOCK_TOO_LARGE');
    expect(error.offset).toBe(24);
    expect(packets).toBe(0);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
  }, 5000);

  it('pcapng cut in a block', async () => {
    const path = writeTemp('truncated.pcapng', goodNg.subarray(0, goodNg.byteLength - 6));
    const { error, packets } = await failure(path);
    expect(error.code).toBe('CAPTURE_TRUNCATED');
    expect(packets).toBe(1);
    const reported: string[] = [];
    expect(await collect(path, (e) => reported.push(e.code))).toHaveLength(1);
    expect(reported).toEqual(['CAPTURE_TRUNCATED']);
  }, 5000);

  it('pcapng block claiming 2 GB', async () => {
    const bytes = concat(shb(true), idb(true, { linkType: 1 }), block(6, new Uint8Array(28), true, 0x80000000));
    const { error } = await failure(writeTemp('2gb.pcapng', bytes));
    expect(error.code).toBe('CAPTURE_BLOCK_TOO_LARGE');
    // Also for a block we would only skip: the cap is checked for every block.
    const skip = concat(shb(true), block(0xbad, new Uint8Array(28), true, 0x80000000));
    expect((await failure(writeTemp('2gb-skip.pcapng', skip))).error.code).toBe('CAPTURE_BLOCK_TOO_LARGE');
  }, 5000);

  it('pcapng corrupted block lengths', async () => {
    const firstEpb = shb(true).byteLength + idb(true, { linkType: 1 }).byteLength;
    // Leading length changed: it no longer matches the trailing copy.
    const longer = goodNg.slice();
    new DataView(longer.buffer).setUint32(firstEpb + 4, 64, true);
    const a = await failure(writeTemp('bad-len-1.pcapng', longer));
    expect(a.error.code).toBe('CAPTURE_CORRUPT');
    expect(a.error.offset).toBe(firstEpb);
    // Not a multiple of 4 / below the 12-byte minimum.
    for (const length of [10, 0, 4, 61]) {
      const bytes = goodNg.slice();
      new DataView(bytes.buffer).setUint32(firstEpb + 4, length, true);
      expect((await failure(writeTemp(`bad-len-${length}.pcapng`, bytes))).error.code).toBe('CAPTURE_CORRUPT');
    }
    // Trailing length of a skipped block corrupt.
    const skipped = concat(shb(true), block(0xbad, new Uint8Array(8), true, undefined, 99), idb(true, { linkType: 1 }));
    expect((await failure(writeTemp('bad-trailer.pcapng', skipped))).error.code).toBe('CAPTURE_CORRUPT');
    // An EPB whose captured length exceeds its block.
    const epbBytes = epb(true, 0, 1n, frameA);
    new DataView(epbBytes.buffer).setUint32(20, 4000, true);
    const overlong = concat(shb(true), idb(true, { linkType: 1 }), epbBytes);
    expect((await failure(writeTemp('bad-caplen.pcapng', overlong))).error.code).toBe('CAPTURE_CORRUPT');
  }, 5000);

  it('pcapng packet on an undeclared interface, bad byte-order mark, unknown version', async () => {
    const noIface = concat(shb(true), idb(true, { linkType: 1 }), epb(true, 3, 1n, frameA));
    const a = await failure(writeTemp('no-iface.pcapng', noIface));
    expect(a.error.code).toBe('CAPTURE_CORRUPT');
    expect(a.error.message).toContain('interface 3');
    const badBom = shb(true);
    badBom[8] = 0x99;
    expect((await failure(writeTemp('bad-bom.pcapng', badBom))).error.code).toBe('CAPTURE_CORRUPT');
    expect((await failure(writeTemp('v2.pcapng', shb(true, 2)))).error.code).toBe('CAPTURE_UNSUPPORTED_VERSION');
  }, 5000);

  it('pcapng packet of an unsupported link type', async () => {
    const bytes = concat(shb(false), idb(false, { linkType: 1 }), idb(false, { linkType: 195 }), epb(false, 0, 1n, frameA), epb(false, 1, 2n, frameB));
    const { error, packets } = await failure(writeTemp('lt-195.pcapng', bytes));
    expect(error.code).toBe('CAPTURE_UNSUPPORTED_LINKTYPE');
    expect(error.message).toContain('interface 1');
    expect(packets).toBe(1);
  }, 5000);

  it('random corruption of valid files ends in packets or a CaptureError, nothing else', async () => {
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let errors = 0;
    for (const original of [good, goodNg]) {
      for (let round = 0; round < 300; round++) {
        const bytes = original.slice();
        for (let flips = 1 + random(4); flips > 0; flips--) bytes[random(bytes.byteLength)] = random(256);
        const all = new CaptureParser();
        const cut = random(bytes.byteLength);
        all.push(bytes.subarray(0, cut));
        all.push(bytes.subarray(cut));
        let result = all.next();
        let guard = 0;
        while (result !== undefined && !(result instanceof CaptureError) && guard++ < 100) result = all.next();
        expect(guard).toBeLessThan(100);
        const end = result instanceof CaptureError ? result : all.finish();
        if (end !== undefined) {
          expect(end).toBeInstanceOf(CaptureError);
          errors++;
        }
      }
    }
    expect(errors).toBeGreaterThan(0);
  }, 10000);
});

describe('streaming', () => {
  it('reads a file larger than its read buffer, with forEachPacket giving the same count', async () => {
    const payload = new Uint8Array(1400).fill(0x61);
    const records = Array.from({ length: 3000 }, (_, i) => ({ seconds: 1000 + i, fraction: i, data: concat(Uint8Array.of(i & 0xff, i >> 8), payload) }));
    const path = writeTemp('big.pcap', pcapFile({ linkType: 1 }, records));
    let count = 0;
    let last = -1;
    for await (const p of readPackets(path)) {
      expect(p.data[0]! | (p.data[1]! << 8)).toBe(p.index);
      expect(p.data.byteLength).toBe(1402);
      last = p.index;
      count++;
    }
    expect(count).toBe(3000);
    expect(last).toBe(2999);
    let seen = 0;
    expect(
      await forEachPacket(path, () => {
        seen++;
      }),
    ).toBe(3000);
    expect(seen).toBe(3000);
  });

  it('stops reading when the consumer stops', async () => {
    const records = Array.from({ length: 100 }, (_, i) => ({ seconds: i, fraction: 0, data: frameA }));
    const path = writeTemp('stop.pcap', pcapFile({ linkType: 1 }, records));
    let n = 0;
    for await (const _ of readPackets(path)) if (++n === 5) break;
    expect(n).toBe(5);
  });
});
