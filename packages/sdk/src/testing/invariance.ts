import { isDeepStrictEqual, inspect } from 'node:util';
import { assertSameBytes } from './bytes.js';
import { cutAt, cutRandom, lineBoundaries, offsetsAround } from './cuts.js';
import { seededRandom } from './random.js';
import { runTranscript, type RunOptions, type TestedSession, type TranscriptRun, type TranscriptStep, type FrameRecord } from './transcript.js';

export interface SplitInvarianceOptions<S extends TestedSession, F> extends Omit<RunOptions<S, F>, 'cut'> {
  /** Cut each step at every single offset when it is at most this long (default 2048 bytes). */
  everyOffsetUpTo?: number;
  /** For longer steps: the frame boundaries to cut around (default: after each LF). */
  boundaries?: (data: Uint8Array) => number[];
  /** Cut at every offset within ±window of each boundary (default 8). */
  window?: number;
  /** Use an even sample of at most this many boundaries per step (default: all). */
  maxBoundaries?: number;
  /** False: skip the single cuts (e.g. for a conversation already checked, re-cut at random only). */
  singleCuts?: boolean;
  /** Runs with every step cut in random sizes (default 50). */
  randomRuns?: number;
  /** Largest piece of random run r is `randomSizes[r % length]` (default 1, 2, 3, 7, 16, 64, 512, 4096). */
  randomSizes?: readonly number[];
  /** Seed of the random cuts (default 1). */
  seed?: number;
  /** The session may hold at most this many bytes in a direction after any push (needs `bufferedBytes`). */
  bufferLimit?: number;
  /** Also compare what core would forward (frames' `replacement`s). */
  compareForwarded?: boolean;
  /** Compare against this run instead of the steps run whole (e.g. the same bytes, stepped differently). */
  reference?: TranscriptRun<S, F>;
}

/** Thrown when a cut of the input changed what the parser returned. The message names the cut. */
export class SplitInvarianceError extends Error {
  override readonly name = 'SplitInvarianceError';
  constructor(
    readonly cut: string,
    detail: string,
  ) {
    super(`split invariance: ${cut}: ${detail}`);
  }
}

const show = (value: unknown) => inspect(value, { depth: 6, breakLength: 160, maxStringLength: 400 });

/**
 * Throws an Error naming `label` and the first differing item unless the two lists hold the same items, compared
 * with `same` (deep equality by default).
 */
export function assertSameItems<T>(actual: readonly T[], expected: readonly T[], label: string, same: (a: T, b: T) => boolean = isDeepStrictEqual): void {
  const n = Math.max(actual.length, expected.length);
  let i = 0;
  while (i < actual.length && i < expected.length && same(actual[i] as T, expected[i] as T)) i++;
  if (i === n) return;
  throw new Error(
    `${label} differ at index ${i} (got ${actual.length}, expected ${expected.length})\n` +
      `  got:      ${i < actual.length ? show(actual[i]) : '(none)'}\n  expected: ${i < expected.length ? show(expected[i]) : '(none)'}`,
  );
}

/**
 * The chunking check every protocol parser must pass: runs the steps whole, then with one step cut at a single
 * offset (every offset of short steps; around each frame boundary of long ones), then with every step cut in
 * random sizes; each run must give the same frames and events as the whole run, pass every byte out exactly
 * once, and hold at most `bufferLimit` bytes. Returns the whole run; throws {@link SplitInvarianceError} naming
 * the first cut that differs. Any test runner works: nothing here depends on one.
 */
export function checkSplitInvariance<S extends TestedSession, F = FrameRecord>(
  createSession: () => S,
  steps: readonly TranscriptStep[],
  options: SplitInvarianceOptions<S, F> = {},
): TranscriptRun<S, F> {
  const {
    everyOffsetUpTo = 2048,
    boundaries = lineBoundaries,
    window = 8,
    maxBoundaries,
    singleCuts = true,
    randomRuns = 50,
    randomSizes = [1, 2, 3, 7, 16, 64, 512, 4096],
    seed = 1,
  } = options;
  const runOptions: RunOptions<S, F> = {};
  if (options.normalise) runOptions.normalise = options.normalise;
  if (options.onFrame) runOptions.onFrame = options.onFrame;
  const run = (cut?: (data: Uint8Array, index: number) => Uint8Array[]) => runTranscript(createSession, steps, cut ? { ...runOptions, cut } : runOptions);

  const check = (result: TranscriptRun<S, F>, reference: TranscriptRun<S, F>, label: string) => {
    try {
      for (const direction of ['outgoing', 'incoming'] as const) {
        assertSameBytes(result.output[direction], reference.input[direction], `${direction} bytes out`);
        if (options.compareForwarded) assertSameBytes(result.forwarded[direction], reference.forwarded[direction], `${direction} bytes forwarded`);
      }
      assertSameItems(result.frames, reference.frames, 'frames');
      assertSameItems(result.events, reference.events, 'events');
      if (options.bufferLimit !== undefined && result.maxBuffered > options.bufferLimit) {
        throw new Error(`held ${result.maxBuffered} bytes, more than the limit of ${options.bufferLimit}`);
      }
    } catch (error) {
      throw new SplitInvarianceError(label, (error as Error).message);
    }
  };

  const whole = run();
  const reference = options.reference ?? whole;
  check(whole, reference, options.reference ? 'steps whole' : 'steps whole (bytes and buffer only)');

  if (singleCuts) {
    steps.forEach((step, index) => {
      const size = step.data.byteLength;
      const offsets =
        size <= everyOffsetUpTo ? Array.from({ length: Math.max(0, size - 1) }, (_, i) => i + 1) : offsetsAround(step.data, boundaries(step.data), window, maxBoundaries);
      for (const offset of offsets) {
        check(
          run((data, i) => (i === index ? cutAt(data, [offset]) : [data])),
          reference,
          `step ${index} (${step.direction}) cut at ${offset}`,
        );
      }
    });
  }

  const random = seededRandom(seed);
  for (let r = 0; r < randomRuns; r++) {
    const max = randomSizes[r % randomSizes.length]!;
    check(
      run((data) => cutRandom(data, random, max)),
      reference,
      `random run ${r} (pieces of 1..${max} bytes, seed ${seed})`,
    );
  }
  return whole;
}

export interface PassThroughOptions<S extends TestedSession> extends Pick<RunOptions<S, unknown>, 'onFrame'> {
  /** Runs with every step cut in random sizes, besides the steps whole (default 1). */
  randomRuns?: number;
  /** Largest random piece (default 700). */
  maxPiece?: number;
  seed?: number;
  bufferLimit?: number;
}

/**
 * For traffic that is not the protocol (another protocol on its port, a parser forced onto it): whole and cut at
 * random, the session must report no events, pass every byte through, and hold at most `bufferLimit` bytes.
 * Throws an Error naming the run otherwise.
 */
export function checkPassesThrough<S extends TestedSession>(createSession: () => S, steps: readonly TranscriptStep[], options: PassThroughOptions<S> = {}): void {
  const { randomRuns = 1, maxPiece = 700, seed = 1 } = options;
  const random = seededRandom(seed);
  const runs: Array<[string, ((data: Uint8Array) => Uint8Array[]) | undefined]> = [['steps whole', undefined]];
  for (let r = 0; r < randomRuns; r++) runs.push([`random run ${r} (pieces of 1..${maxPiece} bytes, seed ${seed})`, (data) => cutRandom(data, random, maxPiece)]);
  for (const [label, cut] of runs) {
    const result = runTranscript(createSession, steps, { ...(cut ? { cut } : {}), ...(options.onFrame ? { onFrame: options.onFrame } : {}) });
    try {
      assertSameItems(result.events, [], 'events (none expected)');
      for (const direction of ['outgoing', 'incoming'] as const) assertSameBytes(result.output[direction], result.input[direction], `${direction} bytes out`);
      if (options.bufferLimit !== undefined && result.maxBuffered > options.bufferLimit) {
        throw new Error(`held ${result.maxBuffered} bytes, more than the limit of ${options.bufferLimit}`);
      }
    } catch (error) {
      throw new Error(`pass-through: ${label}: ${(error as Error).message}`);
    }
  }
}
