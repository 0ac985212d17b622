/**
 * Conformance against the real AIM capture: the events written down from tshark's AIM decoding
 * (capture-expectations.ts), whatever the chunking (every single cut of every segment, random chunk sizes, each
 * direction's segments joined then cut at random), and whatever byte the capture starts at.
 */
import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';
import { describeWithService } from '../../../test/support/e2e.js';
import { captureTranscripts, checkPassesThrough, checkSplitInvariance, coalesceSteps, runTranscript } from '@imspect/core/testing';
import type { Direction } from '@imspect/sdk';
import { sniffOscar } from '../src/sniff.js';
import { AIM_CAPTURE, CAPTURES, CASES, OFT_CASE } from './capture-expectations.js';
import { expectSplitInvariant, newSession, normalise, type Step } from './helpers.js';

const file = CAPTURES + AIM_CAPTURE;

describeWithService(`AIM capture conformance: ${AIM_CAPTURE}`, existsSync(file) ? undefined : `the capture is missing: ${file}`, () => {
  for (const c of CASES) {
    it(`client port ${c.clientPort}: ${c.events.length} events, one frame per FLAP, split-invariant`, async () => {
      const [transcript] = await captureTranscripts(file, { clientPort: c.clientPort });
      expect(transcript, `connection from port ${c.clientPort}`).toBeDefined();
      const { connection: conn, steps: list } = transcript!;
      // Each direction's first bytes are recognised as OSCAR (a lone keep-alive is not enough: the other side is).
      const firstIncoming = list.find((s) => s.direction === 'incoming')!;
      expect(sniffOscar(firstIncoming.data, 'incoming')).toBe(true);

      const setup = { host: c.server, port: 443, midstream: conn.midstream };
      // Every offset of the conversation's segments; around the FLAP boundaries (and segment ends) of the 29 KB
      // icon download, whose segments lie inside one FLAP.
      const everyOffsetUpTo = c.clientPort === 1271 ? 512 : 4096;
      const whole = expectSplitInvariant(list, { ...setup, everyOffsetUpTo, randomRuns: 30, seed: c.clientPort });
      expect(whole.events).toEqual(c.events);
      for (const direction of ['outgoing', 'incoming'] as const) {
        const frames = whole.frames.filter((f) => f.direction === direction);
        expect(frames, direction).toHaveLength(c.flaps[direction]);
        for (const frame of frames) {
          expect(frame.error, JSON.stringify(frame.raw.slice(0, 20))).toBeUndefined();
          expect(frame.raw.charCodeAt(0)).toBe(0x2a);
        }
      }
      // Instant messages are the frames a content plugin may rewrite.
      expect(whole.frames.filter((f) => f.rewritable).map((f) => f.events![0]!.text)).toEqual(c.events.filter((e) => e.type === 'message').map((e) => e.text));

      checkSplitInvariance(() => newSession(setup), coalesceSteps(list), {
        normalise,
        reference: whole,
        singleCuts: false,
        randomRuns: 30,
        randomSizes: [1, 6, 20, 700, 3000],
        seed: c.clientPort * 31,
      });
    }, 120_000);
  }

  it('joined at any byte of either direction: every FLAP that starts after the cut gives its events, nothing else', async () => {
    const c = CASES[0]!;
    const [transcript] = await captureTranscripts(file, { clientPort: c.clientPort });
    const steps = transcript!.steps;
    const setup = { host: c.server, port: 443, midstream: true };
    const full = runTranscript(() => newSession(setup), steps, { normalise });
    // Where each FLAP of the full run starts, per direction, with its events.
    const starts: Record<Direction, Array<{ at: number; events: number }>> = { outgoing: [], incoming: [] };
    const offset: Record<Direction, number> = { outgoing: 0, incoming: 0 };
    for (const frame of full.frames) {
      starts[frame.direction].push({ at: offset[frame.direction], events: frame.events?.length ?? 0 });
      offset[frame.direction] += frame.raw.length;
    }
    for (const cutDirection of ['outgoing', 'incoming'] as const) {
      for (let cut = 0; cut <= offset[cutDirection]; cut++) {
        const truncated = dropFirst(steps, cutDirection, cut);
        const result = runTranscript(() => newSession(setup), truncated, { normalise });
        // Events of the FLAPs of the cut direction that start before the cut are lost; all others remain.
        let lost = 0;
        for (const s of starts[cutDirection]) if (s.at < cut) lost += s.events;
        const expected = dropEvents(full.events, cutDirection, lost);
        expect(result.events, `${cutDirection} joined at byte ${cut}`).toEqual(expected);
        for (const direction of ['outgoing', 'incoming'] as const) expect(Buffer.from(result.output[direction]).equals(Buffer.from(result.input[direction]))).toBe(true);
      }
    }
  }, 120_000);

  it('a lost segment (a gap in the capture): the events of every other segment survive', async () => {
    const c = CASES[0]!;
    const [transcript] = await captureTranscripts(file, { clientPort: c.clientPort });
    const steps = transcript!.steps;
    const setup = { host: c.server, port: 443, midstream: true };
    // The events each segment gives when nothing is lost.
    const session = newSession(setup);
    const perStep = steps.map((s) => session.push(s.direction, s.data).flatMap((f) => (f.events ?? []).map((e) => ({ direction: s.direction, ...e }))));
    expect(perStep.flat()).toEqual(c.events);
    // Segments that hold whole FLAPs: losing one costs exactly its events. One that cuts a FLAP (the capture has a
    // message split 10 + 110 bytes) costs that FLAP and leaves everything before it.
    const whole = (data: Uint8Array) => {
      let at = 0;
      while (at + 6 <= data.length && data[at] === 0x2a) at += 6 + ((data[at + 4]! << 8) | data[at + 5]!);
      return at === data.length;
    };
    let aligned = 0;
    for (let lost = 0; lost < steps.length; lost++) {
      const result = runTranscript(() => newSession(setup), [...steps.slice(0, lost), ...steps.slice(lost + 1)], { normalise });
      for (const direction of ['outgoing', 'incoming'] as const) expect(Buffer.from(result.output[direction]).equals(Buffer.from(result.input[direction]))).toBe(true);
      const before = steps
        .slice(0, lost)
        .filter((s) => s.direction === steps[lost]!.direction)
        .at(-1);
      if (whole(steps[lost]!.data) && (before === undefined || whole(before.data))) {
        aligned++;
        expect(result.events, `segment ${lost} lost`).toEqual(perStep.filter((_, i) => i !== lost).flat());
      } else expect(result.events.slice(0, perStep.slice(0, lost).flat().length), `segment ${lost} lost`).toEqual(perStep.slice(0, lost).flat());
    }
    expect(aligned).toBe(steps.length - 2);
    // A gap inside a FLAP (60 bytes of the server's first rate change): that FLAP and what the reader takes for its
    // tail (the acknowledgement after it, the start of the next rate change) are lost; parsing resumes at the next
    // plausible FLAP start and the messages after it are all there.
    const incoming = Buffer.concat(steps.filter((s) => s.direction === 'incoming').map((s) => s.data));
    const cut = Buffer.concat([incoming.subarray(0, 100), incoming.subarray(160)]);
    const gapped = runTranscript(() => newSession(setup), [{ direction: 'incoming', data: cut }], { normalise });
    const texts = gapped.events.filter((e) => e.type === 'message').map((e) => e.text);
    expect(texts).toEqual(['thanks dude', "can't wait to sell it on ebay"]);
    expect(gapped.events.filter((e) => e.type === 'other').map((e) => e.subtype)).toEqual(['rendezvous-accept']);
    expect(Buffer.from(gapped.output.incoming).equals(cut)).toBe(true);
  });

  it('the OFT2 transfer on 5190: the sender’s prompt names the file; every byte passes through, whatever the chunking', async () => {
    const [transcript] = await captureTranscripts(file, { clientPort: OFT_CASE.clientPort });
    const steps = transcript!.steps;
    expect(sniffOscar(steps[0]!.data, steps[0]!.direction)).toBe(false);
    const whole = expectSplitInvariant(steps, { host: OFT_CASE.server, port: 5190, midstream: false, randomRuns: 20 });
    expect(whole.events).toEqual(OFT_CASE.events);
    expect(whole.frames.filter((f) => f.error !== undefined)).toEqual([]);
  });

  it('the TLS connection on 443 gives no events and passes through untouched', async () => {
    for (const clientPort of [1221]) {
      const [transcript] = await captureTranscripts(file, { clientPort });
      const steps = transcript!.steps;
      expect(sniffOscar(steps[0]!.data, steps[0]!.direction), `client port ${clientPort}`).toBe(false);
      checkPassesThrough(() => newSession({ midstream: transcript!.connection.midstream }), steps, { randomRuns: 5, bufferLimit: 6 + 0xffff });
    }
  });
});

function dropFirst(steps: readonly Step[], direction: Direction, n: number): Step[] {
  let left = n;
  const result: Step[] = [];
  for (const step of steps) {
    if (step.direction !== direction || left === 0) {
      result.push(step);
      continue;
    }
    if (step.data.length <= left) {
      left -= step.data.length;
      continue;
    }
    result.push({ direction, data: step.data.subarray(left) });
    left = 0;
  }
  return result;
}

function dropEvents<E extends { direction: Direction }>(events: readonly E[], direction: Direction, n: number): E[] {
  let left = n;
  return events.filter((e) => {
    if (e.direction !== direction || left === 0) return true;
    left--;
    return false;
  });
}
