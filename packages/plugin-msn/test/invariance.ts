import { expect } from 'vitest';
import { cutAt, cutRandom, DEFAULT_FRAME, prng, run, type RunResult, type SessionSetup, type Step } from './helpers.js';

/** Offsets of every line boundary (after each LF) in `data`. */
export function lineBoundaries(data: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < data.byteLength; i++) if (data[i] === 0x0a) out.push(i + 1);
  return out;
}

export interface InvarianceOptions extends SessionSetup {
  /** Streams up to this size are cut at every offset; larger ones within ±window of each line boundary. */
  everyOffsetUpTo?: number;
  window?: number;
  randomRuns?: number;
  seed?: number;
}

/**
 * Runs the steps whole, cut at single offsets (every one, or around each line boundary), cut in random
 * sizes, and expects the same frames and events each time, with every byte out exactly once. Returns the
 * whole run.
 */
export function expectSplitInvariant(steps: readonly Step[], options: InvarianceOptions = {}): RunResult {
  const { everyOffsetUpTo = 2048, window = 8, randomRuns = 50, seed = 1 } = options;
  const whole = run(steps, undefined, options);
  expect(whole.output.outgoing).toEqual(whole.input.outgoing);
  expect(whole.output.incoming).toEqual(whole.input.incoming);
  expect(whole.maxBuffered).toBeLessThan(options.maxFrameSize ?? DEFAULT_FRAME);

  const check = (result: RunResult, label: string) => {
    expect(Buffer.from(result.output.outgoing).equals(Buffer.from(whole.input.outgoing)), `${label}: outgoing bytes`).toBe(true);
    expect(Buffer.from(result.output.incoming).equals(Buffer.from(whole.input.incoming)), `${label}: incoming bytes`).toBe(true);
    expect(result.frames, label).toEqual(whole.frames);
    expect(result.events, label).toEqual(whole.events);
    expect(Buffer.from(result.forwarded.outgoing).equals(Buffer.from(whole.forwarded.outgoing)), `${label}: forwarded outgoing`).toBe(true);
    expect(Buffer.from(result.forwarded.incoming).equals(Buffer.from(whole.forwarded.incoming)), `${label}: forwarded incoming`).toBe(true);
    expect(result.maxBuffered, label).toBeLessThan(options.maxFrameSize ?? DEFAULT_FRAME);
  };

  steps.forEach((step, index) => {
    const size = step.data.byteLength;
    let offsets: number[];
    if (size <= everyOffsetUpTo) offsets = Array.from({ length: Math.max(0, size - 1) }, (_, i) => i + 1);
    else {
      const set = new Set<number>();
      for (const b of [0, ...lineBoundaries(step.data), size]) for (let d = -window; d <= window; d++) set.add(b + d);
      offsets = [...set].filter((o) => o > 0 && o < size);
    }
    for (const offset of offsets) {
      const result = run(steps, (data, i) => (i === index ? cutAt(data, [offset]) : [data]), options);
      check(result, `step ${index} cut at ${offset}`);
    }
  });

  const random = prng(seed);
  for (let r = 0; r < randomRuns; r++) {
    const max = [1, 2, 3, 7, 16, 64, 512, 4096][r % 8]!;
    check(run(steps, (data) => cutRandom(data, random, max), options), `random run ${r} (max ${max})`);
  }
  // Everything in one chunk per direction is another valid split when the directions do not interleave.
  return whole;
}
