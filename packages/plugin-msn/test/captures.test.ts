/**
 * MSN conformance against real traffic. The expected events (capture-expectations.ts) were written by reading each capture with
 * tshark (`tshark -r F -q -z follow,tcp,ascii,N`), not from this parser's output.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeWithService } from '../../../test/support/e2e.js';
import { captureTranscripts, checkPassesThrough, checkSplitInvariance, coalesceSteps } from '@imspect/core/testing';
import { sniffMsn } from '../src/sniff.js';
import { DEFAULT_FRAME, newSession, normalise } from './helpers.js';
import { expectSplitInvariant } from './invariance.js';
import { CAPTURES, FILES } from './capture-expectations.js';

// The captures live in shared/ beside the repository: skipped without them, a failure on CI (IMSPECT_REQUIRE_E2E=1).
describeWithService('MSN capture conformance', existsSync(CAPTURES) ? undefined : `the captures are missing: ${CAPTURES}`, () => {
  for (const [file, cases] of Object.entries(FILES)) {
    describe(file, () => {
      for (const c of cases) {
        const label = `client port ${c.clientPort}`;
        it(`${label}: ${c.msn ? `${c.events.length} events, split-invariant` : 'not claimed by sniff'}`, async () => {
          const [transcript] = await captureTranscripts(CAPTURES + file, { clientPort: c.clientPort });
          expect(transcript, `connection from port ${c.clientPort}`).toBeDefined();
          const { connection: conn, steps: list } = transcript!;

          // sniff: the first bytes of whichever side speaks first.
          const first = list[0];
          if (first) expect(sniffMsn(first.data, first.direction), 'sniff').toBe(c.msn);
          if (!c.msn) {
            // Not MSN, but a parser forced onto it must still pass every byte through and report nothing.
            checkPassesThrough(() => newSession(), list, { seed: c.clientPort, maxPiece: 700, bufferLimit: DEFAULT_FRAME - 1 });
            return;
          }

          const setup = { host: conn.server.ip, midstream: conn.midstream };
          const whole = expectSplitInvariant(list, { ...setup, everyOffsetUpTo: 1024, window: 8, randomRuns: 60, seed: c.clientPort });
          expect(whole.events).toEqual(c.events);
          // Every frame is one command: a line, or a payload command's line and its payload.
          for (const frame of whole.frames) {
            expect(frame.error).toBeUndefined();
            const line = frame.raw.slice(0, frame.raw.indexOf('\n') + 1);
            expect(line.endsWith('\r\n'), frame.raw).toBe(true);
            const words = line.trimEnd().split(' ');
            const payload = frame.raw.length - line.length;
            if (payload > 0) expect(Number(words.at(-1)), line).toBe(payload);
          }
          // Without a forward listener nothing is rewritten.
          expect(whole.frames.some((f) => f.replacement !== undefined)).toBe(false);

          // The same conversation with each direction's consecutive chunks joined, then cut at random.
          checkSplitInvariance(() => newSession(setup), coalesceSteps(list), {
            normalise,
            reference: whole,
            singleCuts: false,
            randomRuns: 40,
            randomSizes: [1, 5, 50, 700, 3000],
            seed: c.clientPort * 31,
          });
        }, 120_000);
      }
    });
  }
});
