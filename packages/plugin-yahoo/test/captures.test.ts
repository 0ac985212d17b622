/**
 * Conformance against the real YMSG capture: the events written down from tshark's YMSG decoding
 * (capture-expectations.ts), whatever the chunking: every single cut of every segment, random chunk sizes, and
 * each direction's segments joined then cut at random.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readConnections, type CapturedConnection } from '@imspect/core/capture';
import { sniffYmsg } from '../src/sniff.js';
import { CAPTURES, CASES, SERVER, YMSG_CAPTURE } from './capture-expectations.js';
import { cutRandom, expectSplitInvariant, prng, run, type Step } from './helpers.js';

const file = CAPTURES + YMSG_CAPTURE;
const available = existsSync(file);
if (!available) {
  if (process.env['IMSPECT_REQUIRE_E2E'] === '1') throw new Error(`IMSPECT_REQUIRE_E2E=1 but the capture is missing: ${file}`);
  console.warn(`[skip] YMSG capture conformance: ${file} not found`);
}

const steps = (conn: CapturedConnection): Step[] => conn.chunks.map((c) => ({ direction: c.direction, data: c.data }));

function coalesce(list: readonly Step[]): Step[] {
  const merged: Step[] = [];
  for (const step of list) {
    const last = merged.at(-1);
    if (last && last.direction === step.direction) last.data = Buffer.concat([last.data, step.data]);
    else merged.push({ direction: step.direction, data: step.data });
  }
  return merged;
}

describe.skipIf(!available)(`capture conformance: ${YMSG_CAPTURE}`, () => {
  for (const c of CASES) {
    it(`client port ${c.clientPort}: ${c.events.length} events, one frame per packet, split-invariant`, async () => {
      const conns = await readConnections(file);
      const conn = conns.find((x) => x.client.port === c.clientPort);
      expect(conn, `connection from port ${c.clientPort}`).toBeDefined();
      const list = steps(conn!);
      expect(sniffYmsg(list[0]!.data, list[0]!.direction)).toBe(true);

      const setup = { host: SERVER, midstream: conn!.midstream };
      const whole = expectSplitInvariant(list, { ...setup, everyOffsetUpTo: 4096, randomRuns: 40, seed: c.clientPort });
      expect(whole.events).toEqual(c.events);
      for (const direction of ['outgoing', 'incoming'] as const) {
        const frames = whole.frames.filter((f) => f.direction === direction);
        expect(frames, direction).toHaveLength(c.packets[direction]);
        for (const frame of frames) {
          expect(frame.error, frame.raw.slice(0, 40)).toBeUndefined();
          expect(frame.raw.startsWith('YMSG')).toBe(true);
        }
      }
      // Private messages are the frames a content plugin may rewrite.
      expect(whole.frames.filter((f) => f.rewritable).map((f) => f.events![0]!.text)).toEqual(c.events.filter((e) => e.type === 'message').map((e) => e.text));
      expect(whole.session.localId).toBe(c.events[0]!.localId);

      const merged = coalesce(list);
      const random = prng(c.clientPort * 31);
      for (let r = 0; r < 40; r++) {
        const result = run(merged, (data) => cutRandom(data, random, [1, 5, 20, 700, 3000][r % 5]!), setup);
        expect(result.events).toEqual(c.events);
        expect(result.frames).toEqual(whole.frames);
        expect(result.output.outgoing.equals(result.input.outgoing)).toBe(true);
        expect(result.output.incoming.equals(result.input.incoming)).toBe(true);
      }
    }, 120_000);
  }
});
