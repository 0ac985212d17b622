import { checkSplitInvariance, type SplitInvarianceOptions } from '@imspect/sdk/testing';
import type { IrcSession } from '../src/session.js';
import { DEFAULT_FRAME, newSession, normalise, type RunResult, type SessionSetup, type Step } from './helpers.js';

export { lineBoundaries } from '@imspect/sdk/testing';

export type InvarianceOptions = SessionSetup & Pick<SplitInvarianceOptions<IrcSession, unknown>, 'everyOffsetUpTo' | 'window' | 'randomRuns' | 'seed'>;

/**
 * Runs the steps whole, cut at single offsets (every one, or around each line boundary), cut in random
 * sizes, and expects the same frames and events each time, with every byte out exactly once and less than a
 * frame held. Returns the whole run.
 */
export function expectSplitInvariant(steps: readonly Step[], options: InvarianceOptions = {}): RunResult {
  const { everyOffsetUpTo, window, randomRuns, seed, ...setup } = options;
  return checkSplitInvariance(() => newSession(setup), steps, {
    normalise,
    bufferLimit: (setup.maxFrameSize ?? DEFAULT_FRAME) - 1,
    everyOffsetUpTo,
    window,
    randomRuns,
    seed,
  });
}
