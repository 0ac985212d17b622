/**
 * Conformance against real traffic. The expected events (capture-expectations.ts) were written by reading each
 * capture with tshark, not from this parser's output.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeWithService } from '../../../test/support/e2e.js';
import { captureTranscripts, checkSplitInvariance, coalesceSteps } from '@imspect/core/testing';
import { sniffXmpp } from '../src/sniff.js';
import { concat, newSession, normalise } from './helpers.js';
import { expectFramingInvariant, expectSplitInvariant } from './invariance.js';
import { CAPTURES, FILES } from './capture-expectations.js';

// The captures live in shared/ beside the repository: skipped without them, a failure on CI (IMSPECT_REQUIRE_E2E=1).
describeWithService('XMPP capture conformance', existsSync(CAPTURES) ? undefined : `the captures are missing: ${CAPTURES}`, () => {
  for (const [file, cases] of Object.entries(FILES)) {
    describe(file, () => {
      it('every connection in the capture has a case', async () => {
        const transcripts = await captureTranscripts(CAPTURES + file);
        expect(transcripts.map((t) => t.connection.client.port).sort()).toEqual(cases.map((c) => c.clientPort).sort());
      });
      for (const c of cases) {
        const label = `client port ${c.clientPort}: ${c.tlsPort ? 'TLS port, not XMPP to the parser' : `${c.events.length} events, split-invariant`}`;
        it(label, async () => {
          const [transcript] = await captureTranscripts(CAPTURES + file, { clientPort: c.clientPort });
          expect(transcript, `connection from port ${c.clientPort}`).toBeDefined();
          const { connection: conn, steps: list } = transcript!;
          const first = list[0]!;
          if (c.tlsPort) {
            expect(sniffXmpp(first.data, first.direction)).toBe(false);
            return;
          }
          // Streams that start at the beginning are recognised from their first bytes.
          if (!conn.midstream && first.direction === 'outgoing') {
            const start = concat(list.filter((s) => s.direction === 'outgoing').map((s) => s.data)).subarray(0, 1024);
            expect(sniffXmpp(start, 'outgoing'), 'sniff').toBe(true);
          }

          const setup = { host: conn.server.ip, midstream: conn.midstream };
          const whole = expectSplitInvariant(list, { ...setup, everyOffsetUpTo: 300, window: 4, randomRuns: 40, seed: c.clientPort });
          expect(whole.events).toEqual(c.events);
          expect(whole.session.streamTo).toBe(c.streamTo);
          if (c.check) c.check(whole.frames);
          else
            expect(
              whole.frames.filter((f) => f.error),
              'no protocol errors',
            ).toEqual([]);

          // Each direction through the bare framer: element boundaries do not depend on the cuts.
          if (!whole.frames.some((f) => f.upgrade)) {
            for (const direction of ['outgoing', 'incoming'] as const) {
              const bytes = concat(list.filter((s) => s.direction === direction).map((s) => s.data));
              const items = expectFramingInvariant(bytes, { midstream: conn.midstream, everyOffsetUpTo: 600 });
              expect(
                items.filter((i) => i.error),
                `${direction}: no framing errors`,
              ).toEqual([]);
              expect(items.every((i) => ['decl', 'header', 'stanza', 'close', 'text', 'skipped'].includes(i.kind))).toBe(true);
            }
          }

          checkSplitInvariance(() => newSession(setup), coalesceSteps(list), {
            normalise,
            reference: whole,
            singleCuts: false,
            randomRuns: 20,
            randomSizes: [1, 5, 50, 700, 3000],
            seed: c.clientPort * 31,
          });
        }, 120_000);
      }
    });
  }
});
