import { expect } from 'vitest';
import { StanzaFramer, type FramerItem } from '../src/framer.js';
import { cutAt, cutRandom, dec, prng, run, type RunResult, type SessionSetup, type Step } from './helpers.js';

/** Offsets just after each `>` in `data`: where elements end. */
export function tagBoundaries(data: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < data.byteLength; i++) if (data[i] === 0x3e) out.push(i + 1);
  return out;
}

export interface InvarianceOptions extends SessionSetup {
  /** Steps up to this size are cut at every offset; larger ones within ±window of each `>`. */
  everyOffsetUpTo?: number;
  window?: number;
  randomRuns?: number;
  seed?: number;
}

/**
 * Runs the steps whole, cut at single offsets (every one, or around each tag end), and cut in random sizes;
 * expects the same significant frames and events each time, every byte out exactly once, and the held bytes
 * below the frame limit. Returns the whole run.
 */
export function expectSplitInvariant(steps: readonly Step[], options: InvarianceOptions = {}): RunResult {
  const { everyOffsetUpTo = 2048, window = 6, randomRuns = 40, seed = 1 } = options;
  const limit = options.maxFrameSize ?? 256 * 1024;
  const whole = run(steps, undefined, options);
  const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
  expect(same(whole.output.outgoing, whole.input.outgoing), 'whole: outgoing bytes').toBe(true);
  expect(same(whole.output.incoming, whole.input.incoming), 'whole: incoming bytes').toBe(true);
  expect(whole.maxBuffered).toBeLessThanOrEqual(limit);

  const check = (result: RunResult, label: string) => {
    expect(same(result.output.outgoing, whole.input.outgoing), `${label}: outgoing bytes`).toBe(true);
    expect(same(result.output.incoming, whole.input.incoming), `${label}: incoming bytes`).toBe(true);
    expect(result.frames, label).toEqual(whole.frames);
    expect(result.events, label).toEqual(whole.events);
    expect(result.maxBuffered, label).toBeLessThanOrEqual(limit);
  };

  steps.forEach((step, index) => {
    const size = step.data.byteLength;
    let offsets: number[];
    if (size <= everyOffsetUpTo) offsets = Array.from({ length: Math.max(0, size - 1) }, (_, i) => i + 1);
    else {
      const set = new Set<number>();
      // Every tag end, or an even sample of them when there are very many (a deeply nested stanza).
      const all = tagBoundaries(step.data);
      const stride = Math.max(1, Math.ceil(all.length / 400));
      const sample = all.filter((_, k) => k % stride === 0);
      for (const b of [0, ...sample, size]) for (let d = -window; d <= window; d++) set.add(b + d);
      offsets = [...set].filter((o) => o > 0 && o < size);
    }
    for (const offset of offsets) {
      check(run(steps, (data, i) => (i === index ? cutAt(data, [offset]) : [data]), options), `step ${index} cut at ${offset}`);
    }
  });

  const random = prng(seed);
  for (let r = 0; r < randomRuns; r++) {
    const max = [1, 2, 3, 7, 16, 64, 512, 4096][r % 8]!;
    check(run(steps, (data) => cutRandom(data, random, max), options), `random run ${r} (max ${max})`);
  }
  return whole;
}

export interface FramedItem {
  kind: FramerItem['kind'];
  raw: string;
  error?: string;
}

/**
 * One direction's bytes through a bare framer, cut into `pieces`. Items whose cut follows the chunking are
 * merged: consecutive text or skipped runs, and the `rest` pieces of an over-long element.
 */
export function frameAll(pieces: readonly Uint8Array[], max = 256 * 1024, midstream = false): FramedItem[] {
  const framer = new StanzaFramer(max, midstream);
  const items: FramerItem[] = [];
  for (const piece of pieces) for (const item of framer.push(piece)) items.push({ ...item, raw: item.raw.slice() });
  items.push(...framer.end());
  const out: FramedItem[] = [];
  for (const item of items) {
    const last = out.at(-1);
    const mergeable = item.kind === 'text' || item.kind === 'skipped' || item.kind === 'rest';
    if (last && mergeable && last.kind === item.kind) {
      last.raw += dec(item.raw);
      if (item.error && !last.error) last.error = item.error.code;
      continue;
    }
    const record: FramedItem = { kind: item.kind, raw: dec(item.raw) };
    if (item.error) record.error = item.error.code;
    out.push(record);
  }
  return out;
}

/** The framer gives the same items for `data` whole, cut at every offset (or around tag ends), and at random. */
export function expectFramingInvariant(data: Uint8Array, options: { max?: number; midstream?: boolean; everyOffsetUpTo?: number; seed?: number } = {}): FramedItem[] {
  const { max = 256 * 1024, midstream = false, everyOffsetUpTo = 4096, seed = 7 } = options;
  const whole = frameAll([data], max, midstream);
  expect(whole.map((i) => i.raw).join('')).toBe(dec(data));
  const offsets = data.byteLength <= everyOffsetUpTo
    ? Array.from({ length: Math.max(0, data.byteLength - 1) }, (_, i) => i + 1)
    : [...new Set(tagBoundaries(data).flatMap((b) => [b - 2, b - 1, b, b + 1]))].filter((o) => o > 0 && o < data.byteLength);
  for (const offset of offsets) expect(frameAll(cutAt(data, [offset]), max, midstream), `cut at ${offset}`).toEqual(whole);
  const random = prng(seed);
  for (const size of [1, 2, 5, 13, 100, 1000]) expect(frameAll(cutRandom(data, random, size), max, midstream), `random ${size}`).toEqual(whole);
  return whole;
}
