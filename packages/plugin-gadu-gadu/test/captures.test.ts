/**
 * Conformance against the real Gadu-Gadu capture: the events written down from tshark's decoding
 * (capture-expectations.ts), whatever the chunking: every single cut of every segment, random chunk sizes, and
 * each direction's segments joined then cut at random.
 */
import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';
import { describeWithService } from '../../../test/support/e2e.js';
import { captureTranscripts, checkSplitInvariance, coalesceSteps } from '@imspect/core/testing';
import { sniffGaduGadu } from '../src/sniff.js';
import { CAPTURES, CASES, GG_CAPTURE, SERVER } from './capture-expectations.js';
import { expectSplitInvariant, newSession, normalise } from './helpers.js';

const file = CAPTURES + GG_CAPTURE;
// The captures live in shared/ beside the repository: skipped without them, a failure on CI (IMSPECT_REQUIRE_E2E=1).
describeWithService(`Gadu-Gadu capture conformance: ${GG_CAPTURE}`, existsSync(file) ? undefined : `the capture is missing: ${file}`, () => {
  for (const c of CASES) {
    it(`client port ${c.clientPort}: ${c.events.length} events, one frame per packet, split-invariant`, async () => {
      const [transcript] = await captureTranscripts(file, { clientPort: c.clientPort });
      expect(transcript, `connection from port ${c.clientPort}`).toBeDefined();
      const { connection: conn, steps: list } = transcript!;
      // The server speaks first: its welcome is what identifies the protocol.
      expect(list[0]!.direction).toBe('incoming');
      expect(sniffGaduGadu(list[0]!.data, 'incoming')).toBe(true);
      expect(sniffGaduGadu(list[1]!.data, 'outgoing')).toBe(true);

      const setup = { host: SERVER, midstream: conn.midstream };
      const whole = expectSplitInvariant(list, { ...setup, everyOffsetUpTo: 4096, randomRuns: 40, seed: c.clientPort });
      expect(whole.events).toEqual(c.events);
      for (const direction of ['outgoing', 'incoming'] as const) {
        const frames = whole.frames.filter((f) => f.direction === direction);
        expect(frames, direction).toHaveLength(c.packets[direction]);
        for (const frame of frames) expect(frame.error, frame.raw.slice(0, 40)).toBeUndefined();
      }
      // Messages are the frames a content plugin may rewrite.
      expect(whole.frames.filter((f) => f.rewritable).map((f) => f.events![0]!.text)).toEqual(c.events.filter((e) => e.type === 'message').map((e) => e.text));
      expect(whole.session.localId).toBe(c.events[0]!.localId);

      checkSplitInvariance(() => newSession(setup), coalesceSteps(list), {
        normalise,
        reference: whole,
        singleCuts: false,
        randomRuns: 40,
        randomSizes: [1, 5, 8, 300, 3000],
        seed: c.clientPort * 31,
      });
    }, 120_000);
  }
});
