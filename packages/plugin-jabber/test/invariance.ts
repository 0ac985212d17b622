import { expect } from 'vitest';
import { checkSplitInvariance, type SplitInvarianceOptions } from '@imspect/sdk/testing';
import { StanzaFramer, type FramerItem } from '../src/framer.js';
import type { XmppSession } from '../src/session.js';
import { cutAt, cutRandom, dec, DEFAULT_FRAME, newSession, normalise, prng, upgradeHook, type RunResult, type SessionSetup, type Step } from './helpers.js';

/** Offsets just after each `>` in `data`: where elements end. */
export function tagBoundaries(data: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < data.byteLength; i++) if (data[i] === 0x3e) out.push(i + 1);
  return out;
}

export type InvarianceOptions = SessionSetup & Pick<SplitInvarianceOptions<XmppSession, unknown>, 'everyOffsetUpTo' | 'window' | 'randomRuns' | 'seed'>;

/**
 * Runs the steps whole, cut at single offsets (every one, or around each tag end), and cut in random sizes;
 * expects the same significant frames and events each time, every byte out exactly once, and the held bytes
 * at most the frame limit. Returns the whole run.
 */
export function expectSplitInvariant(steps: readonly Step[], options: InvarianceOptions = {}): RunResult {
  const { everyOffsetUpTo, window = 6, randomRuns = 40, seed, ...setup } = options;
  return checkSplitInvariance(() => newSession(setup), steps, {
    normalise,
    onFrame: upgradeHook(setup),
    bufferLimit: setup.maxFrameSize ?? DEFAULT_FRAME,
    everyOffsetUpTo,
    // Every tag end, or an even sample of them when there are very many (a deeply nested stanza).
    boundaries: tagBoundaries,
    maxBoundaries: 400,
    window,
    randomRuns,
    seed,
  });
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
  for (const piece of pieces) {
    framer.push(piece);
    for (let item = framer.next(); item !== undefined; item = framer.next()) items.push({ ...item, raw: item.raw.slice() });
  }
  const kind = framer.heldKind;
  const rest = framer.end();
  if (rest !== undefined) items.push({ kind, raw: rest });
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
  const offsets =
    data.byteLength <= everyOffsetUpTo
      ? Array.from({ length: Math.max(0, data.byteLength - 1) }, (_, i) => i + 1)
      : [...new Set(tagBoundaries(data).flatMap((b) => [b - 2, b - 1, b, b + 1]))].filter((o) => o > 0 && o < data.byteLength);
  for (const offset of offsets) expect(frameAll(cutAt(data, [offset]), max, midstream), `cut at ${offset}`).toEqual(whole);
  const random = prng(seed);
  for (const size of [1, 2, 5, 13, 100, 1000]) expect(frameAll(cutRandom(data, random, size), max, midstream), `random ${size}`).toEqual(whole);
  return whole;
}
