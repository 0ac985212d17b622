import { describe, expect, it } from 'vitest';
import { ByteQueue } from '../src/index.js';
import { seededRandom } from '../src/testing/index.js';

describe('ByteQueue', () => {
  it('hands out views within a chunk and copies only across chunks', () => {
    const queue = new ByteQueue();
    const a = Uint8Array.of(1, 2, 3, 4);
    queue.push(a);
    queue.push(Uint8Array.of(5, 6));
    expect(queue.contiguous).toBe(4);
    const view = queue.take(2);
    expect(view.buffer).toBe(a.buffer);
    expect([...queue.peek(3)]).toEqual([3, 4, 5]);
    expect(queue.peek(3).buffer).not.toBe(a.buffer);
    expect(queue.byteAt(3)).toBe(6);
    expect(queue.offset).toBe(2);
    expect(queue.skip(10)).toBe(4);
    expect([queue.length, queue.contiguous, queue.offset]).toEqual([0, 0, 6]);
    expect(() => queue.peek(1)).toThrow(RangeError);
  });

  it('indexOf agrees with a plain search for any chunking, between reads, across compactions', () => {
    const random = seededRandom(11);
    for (let run = 0; run < 30; run++) {
      const queue = new ByteQueue();
      let mirror: number[] = [];
      for (let step = 0; step < 400; step++) {
        const action = random();
        if (action < 0.5) {
          const chunk = Uint8Array.from({ length: 1 + Math.floor(random() * 9) }, () => Math.floor(random() * 4));
          queue.push(chunk);
          mirror.push(...chunk);
        } else if (action < 0.7) {
          const n = Math.floor(random() * 6);
          const taken = queue.take(Math.min(n, queue.length));
          expect([...taken]).toEqual(mirror.slice(0, taken.length));
          mirror = mirror.slice(taken.length);
        } else {
          const from = Math.floor(random() * (mirror.length + 2));
          const end = from + Math.floor(random() * (mirror.length + 2));
          const byte = Math.floor(random() * 4);
          let expected = -1;
          for (let i = from; i < Math.min(end, mirror.length); i++) {
            if (mirror[i] === byte) {
              expected = i;
              break;
            }
          }
          expect({ run, step, found: queue.indexOf(byte, from, end) }).toEqual({ run, step, found: expected });
        }
        expect(queue.length).toBe(mirror.length);
      }
    }
  });

  it('resumes a search where the last one ended: a long run of one-byte chunks stays linear', () => {
    const queue = new ByteQueue();
    // CPU time, so a busy machine does not fail it: linear is tens of ms, quadratic (2 * 10^10 steps) minutes.
    const start = process.cpuUsage();
    let scanned = 0;
    let found = 0;
    for (let i = 0; i < 200_000; i++) {
      queue.push(Uint8Array.of(0x61));
      if (queue.indexOf(0x0a, scanned) !== -1) found++;
      scanned = queue.length;
    }
    queue.push(Uint8Array.of(0x0a));
    expect(found).toBe(0);
    expect(queue.indexOf(0x0a, scanned)).toBe(200_000);
    expect(queue.indexOf(0x0a)).toBe(200_000);
    const used = process.cpuUsage(start);
    expect((used.user + used.system) / 1000).toBeLessThan(5000);
  });
});
