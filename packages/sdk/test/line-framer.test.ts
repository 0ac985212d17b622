import { describe, expect, it } from 'vitest';
import { LineFramer } from '../src/index.js';
import { concatBytes, latin1Bytes, seededRandom } from '../src/testing/index.js';

const enc = (text: string) => new TextEncoder().encode(text);
const latin1 = latin1Bytes;
const concat = concatBytes;
const prng = seededRandom;

describe('LineFramer', () => {
  it('returns lines as views, copies only across chunks, and reports over-long lines once', () => {
    const reader = new LineFramer(8);
    const a = enc('ab\r\ncd');
    reader.push(a);
    const first = reader.next();
    expect(first).toMatchObject({ kind: 'line', contentLength: 2 });
    expect(first!.raw.buffer).toBe(a.buffer);
    expect(reader.next()).toBeUndefined();
    reader.push(enc('e\n0123456789'));
    expect(reader.next()).toMatchObject({ kind: 'line', contentLength: 3, raw: enc('cde\n') });
    expect(reader.next()).toMatchObject({ kind: 'too-large', raw: enc('01234567') });
    expect(reader.next()).toMatchObject({ kind: 'rest', raw: enc('89'), complete: false });
    expect(reader.skippingLine).toBe(true);
    reader.push(enc('x\ny\n'));
    expect(reader.next()).toMatchObject({ kind: 'rest', raw: enc('x\n'), complete: true });
    expect(reader.next()).toMatchObject({ kind: 'line', raw: enc('y\n') });
    expect(reader.buffered).toBe(0);
  });

  it('reads counted payloads, and end() gives back what is held', () => {
    const reader = new LineFramer(100);
    reader.push(enc('MSG 1 U 5\r\nhel'));
    expect(reader.next()).toMatchObject({ kind: 'line', contentLength: 9 });
    expect(reader.readBytes(5)).toBeUndefined();
    reader.push(enc('loOUT\r\nrest'));
    expect(reader.readBytes(5)).toEqual(enc('hello'));
    expect(reader.next()).toMatchObject({ raw: enc('OUT\r\n') });
    expect(reader.end()).toEqual(enc('rest'));
    expect(reader.end()).toBeUndefined();
  });

  it('gives back every byte in order for any chunking, in linear time on one-byte chunks', () => {
    const random = prng(3);
    const data = concat(Array.from({ length: 300 }, () => latin1('x'.repeat(Math.floor(random() * 40)) + (random() < 0.8 ? '\r\n' : ''))));
    const reference: string[] = [];
    for (const size of [1, 2, 3, 5, 64, data.length]) {
      const reader = new LineFramer(32);
      const pieces: string[] = [];
      for (let i = 0; i < data.length; i += size) {
        reader.push(data.subarray(i, i + size));
        for (let item = reader.next(); item; item = reader.next()) pieces.push(item.kind === 'rest' ? `~${item.raw.length}` : `${item.kind}:${item.raw.length}`);
        expect(reader.buffered).toBeLessThan(32);
      }
      const tail = reader.end();
      const summary =
        pieces.join(',').replace(
          /(,~\d+)+/g,
          (m) =>
            `,~${m
              .split(',~')
              .slice(1)
              .reduce((n, x) => n + Number(x), 0)}`,
        ) + `|${tail?.length ?? 0}`;
      if (reference.length === 0) reference.push(summary);
      expect(summary).toBe(reference[0]);
    }
    const big = new LineFramer(1 << 20);
    const start = process.cpuUsage(); // CPU time: a busy machine must not fail it
    for (let i = 0; i < 200_000; i++) {
      big.push(new Uint8Array([0x61]));
      big.next();
    }
    expect(big.buffered).toBe(200_000);
    const used = process.cpuUsage(start);
    expect((used.user + used.system) / 1000).toBeLessThan(5000);
  });
});
