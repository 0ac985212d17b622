/**
 * The SDK's length-prefixed framer on real binary IM traffic the built-in plugins do not parse yet: Gadu-Gadu
 * (8-byte header, little-endian u32 body length at 4) and AIM's OSCAR FLAP (0x2A, channel, sequence, big-endian
 * u16 length at 4), the latter joined mid-session. Every byte must come out once, in frames whose sizes match
 * their headers, the same for any chunking.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { LengthPrefixedFramer, type LengthPrefixedOptions } from '@imspect/sdk';
import { concatBytes, cutRandom, seededRandom } from '@imspect/sdk/testing';
import { describeWithService } from '../../../../test/support/e2e.js';
import { captureTranscripts } from '../../src/testing/index.js';

const CAPTURES = fileURLToPath(new URL('../../../../../shared/captures/', import.meta.url));

const gadu: LengthPrefixedOptions<number> = {
  headerBytes: 8,
  length: { offset: 4, size: 4, endian: 'little' },
  maxFrameBytes: 64 * 1024,
  decodeHeader: (h) => h[0]! | (h[1]! << 8),
};

const flap: LengthPrefixedOptions<number> = {
  headerBytes: 6,
  length: { offset: 4, size: 2, endian: 'big' },
  maxFrameBytes: 64 * 1024,
  magic: { bytes: Uint8Array.of(0x2a), onMismatch: 'resync' },
  // Channels 1 (sign-on) to 5 (keep-alive): a stray 0x2A in the middle of a SNAC is not taken for a frame.
  acceptHeader: (h) => h[1]! >= 1 && h[1]! <= 5,
  decodeHeader: (h) => h[1]!,
};

interface Framed {
  kinds: string[];
  sizes: number[];
  headers: number[];
  bytes: number;
  end: number;
}

function frame(options: LengthPrefixedOptions<number>, pieces: Uint8Array[]): Framed {
  const framer = new LengthPrefixedFramer(options);
  const out: Framed = { kinds: [], sizes: [], headers: [], bytes: 0, end: 0 };
  for (const piece of pieces) {
    framer.push(piece);
    for (let item = framer.next(); item !== undefined; item = framer.next()) {
      out.bytes += item.raw.byteLength;
      // A skipped run may come out in several pieces depending on the chunking: count it once.
      if (item.kind === 'skipped' && !item.first) out.sizes[out.sizes.length - 1]! += item.raw.byteLength;
      else {
        out.kinds.push(item.kind);
        out.sizes.push(item.raw.byteLength);
        if (item.kind === 'frame') {
          out.headers.push(item.header);
          const view = new DataView(item.raw.buffer, item.raw.byteOffset, item.raw.byteLength);
          const declared = options.headerBytes === 8 ? view.getUint32(4, true) : view.getUint16(4);
          expect(item.raw.byteLength).toBe(options.headerBytes + declared);
        }
      }
    }
  }
  out.end = framer.end()?.byteLength ?? 0;
  return out;
}

async function directions(file: string, port: number): Promise<Array<{ label: string; data: Uint8Array }>> {
  const out: Array<{ label: string; data: Uint8Array }> = [];
  for (const { connection, steps } of await captureTranscripts(CAPTURES + file, { port })) {
    for (const direction of ['outgoing', 'incoming'] as const) {
      const data = concatBytes(steps.filter((s) => s.direction === direction).map((s) => s.data));
      if (data.byteLength > 0) out.push({ label: `${file} client port ${connection.client.port} ${direction}`, data });
    }
  }
  return out;
}

function expectSplitInvariant(options: LengthPrefixedOptions<number>, data: Uint8Array, whole: Framed): void {
  const random = seededRandom(data.byteLength);
  for (let run = 0; run < 30; run++) {
    expect(frame(options, cutRandom(data, random, [1, 3, 7, 64, 1460][run % 5]!))).toEqual(whole);
  }
}

describeWithService('the SDK length-prefixed framer on real captures', existsSync(CAPTURES) ? undefined : `the captures are missing: ${CAPTURES}`, () => {
  it('Gadu-Gadu (pygadu-libgadu-gg.pcapng): nothing but whole packets, for any chunking', async () => {
    const sides = await directions('pygadu-libgadu-gg.pcapng', 8074);
    expect(sides.length).toBeGreaterThanOrEqual(2);
    let packets = 0;
    for (const { label, data } of sides) {
      const whole = frame(gadu, [data]);
      expect({ label, kinds: [...new Set(whole.kinds)], end: whole.end, bytes: whole.bytes }).toEqual({ label, kinds: ['frame'], end: 0, bytes: data.byteLength });
      packets += whole.kinds.length;
      expectSplitInvariant(gadu, data, whole);
    }
    // Logins, replies, typing, 3 messages each way, acks, status changes (see the captures' README).
    expect(packets).toBeGreaterThanOrEqual(16);
  });

  it('OSCAR FLAP (lmg-aim-evidence01.pcap): whole frames, and a join in the middle of a frame resynchronises', async () => {
    // Port 443 also carries real TLS (client port 1221): only the connections a FLAP sniffer would claim.
    const sides = (await directions('lmg-aim-evidence01.pcap', 443)).filter(({ data }) => data[0] === 0x2a);
    expect(sides.length).toBeGreaterThanOrEqual(4);
    for (const { label, data } of sides) {
      const whole = frame(flap, [data]);
      expect({ label, kinds: [...new Set(whole.kinds)], end: whole.end, bytes: whole.bytes }).toEqual({ label, kinds: ['frame'], end: 0, bytes: data.byteLength });
      expect(whole.headers.every((channel) => channel >= 1 && channel <= 5)).toBe(true);
      expectSplitInvariant(flap, data, whole);
      // The same stream joined 3 bytes into its first frame: that frame's rest is skipped, then every later frame.
      const joined = frame(flap, [data.subarray(3)]);
      expect({ label, first: joined.kinds[0], rest: [...new Set(joined.kinds.slice(1))], frames: joined.kinds.length - 1 }).toEqual({
        label,
        first: 'skipped',
        rest: ['frame'],
        frames: whole.kinds.length - 1,
      });
      expect(joined.sizes[0]).toBe(whole.sizes[0]! - 3);
      expectSplitInvariant(flap, data.subarray(3), joined);
    }
  });
});
