/**
 * Captures that start mid-connection or lose segments (the mid-stream contract): each direction of the real
 * capture is parsed from every byte offset as a mid-stream start, and with a gap cut out of it. The events from
 * the first packet that starts at or after the cut must equal those of the full parse (with the local id
 * unknown, `*`, where only the login named it); nothing before the cut may invent events; every byte passes.
 */
import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';
import type { Direction, EventDraft } from '@imspect/sdk';
import { describeWithService } from '../../../test/support/e2e.js';
import { captureTranscripts, type TranscriptStep } from '@imspect/core/testing';
import { CAPTURES, CASES, GG_CAPTURE, SERVER } from './capture-expectations.js';
import { newSession, packetBoundaries, run } from './helpers.js';

const file = CAPTURES + GG_CAPTURE;

/** The events of one direction parsed alone, with where each event's packet started. */
function eventsFrom(data: Uint8Array, direction: Direction, midstream: boolean): Array<{ at: number; event: EventDraft }> {
  const session = newSession({ host: SERVER, midstream });
  const found: Array<{ at: number; event: EventDraft }> = [];
  let offset = 0;
  const frames = [...session.push(direction, data), ...session.end(direction)];
  for (const frame of frames) {
    for (const event of frame.events ?? []) found.push({ at: offset, event });
    offset += frame.raw.length;
  }
  expect(offset, 'every byte passes through').toBe(data.length);
  return found;
}

/** Each direction's bytes joined: the stream one parser sees. */
function byDirection(steps: readonly TranscriptStep[]): Array<{ direction: Direction; data: Buffer }> {
  return (['outgoing', 'incoming'] as const).map((direction) => ({ direction, data: Buffer.concat(steps.filter((s) => s.direction === direction).map((s) => s.data)) }));
}

/** An event as a mid-stream parse can know it: ids only the login told are unknown. */
function withoutIdentity(event: EventDraft): EventDraft {
  return { ...event, localId: '*' };
}

describeWithService(`Gadu-Gadu mid-stream starts and gaps: ${GG_CAPTURE}`, existsSync(file) ? undefined : `the capture is missing: ${file}`, () => {
  for (const c of CASES) {
    it(`client port ${c.clientPort}: from every offset of each direction, the events after the first whole packet`, async () => {
      const [transcript] = await captureTranscripts(file, { clientPort: c.clientPort });
      for (const { direction, data } of byDirection(transcript!.steps)) {
        const full = eventsFrom(data, direction, false);
        const starts = packetBoundaries(data).filter((_, i, all) => i % 2 === 0 || i === all.length - 1);
        for (let cut = 1; cut < data.length; cut++) {
          const firstWhole = starts.find((s) => s >= cut)!;
          const expected = full.filter((e) => e.at >= firstWhole).map((e) => withoutIdentity(e.event));
          const got = eventsFrom(data.subarray(cut), direction, true).map((e) => withoutIdentity(e.event));
          expect(got, `${direction} from offset ${cut}`).toEqual(expected);
        }
      }
    });

    it(`client port ${c.clientPort}: a gap in the middle of a packet costs that packet only`, async () => {
      const [transcript] = await captureTranscripts(file, { clientPort: c.clientPort });
      for (const { direction, data } of byDirection(transcript!.steps)) {
        const full = eventsFrom(data, direction, false);
        const starts = packetBoundaries(data).filter((_, i, all) => i % 2 === 0 || i === all.length - 1);
        for (let p = 0; p + 1 < starts.length; p++) {
          const [start, end] = [starts[p]!, starts[p + 1]!];
          if (end - start < 12) continue;
          // Lose 3 bytes inside packet p's body.
          const gapped = Buffer.concat([data.subarray(0, start + 9), data.subarray(start + 12)]);
          // A gap in the login can change the number it names: ids are compared as unknown.
          const got = run([{ direction, data: gapped }], undefined, { host: SERVER }).events.map((e) => {
            const { direction: _, ...rest } = e as EventDraft & { direction: Direction };
            return withoutIdentity(rest);
          });
          const before = full.filter((e) => e.at < start).map((e) => withoutIdentity(e.event));
          expect(got.slice(0, before.length), `${direction} gap in packet at ${start}: before`).toEqual(before);
          // After the gap: the damaged packet may swallow the start of the next; every packet after those is read.
          const resumeAt = starts[p + 2];
          const safe = full.filter((e) => resumeAt !== undefined && e.at >= resumeAt).map((e) => withoutIdentity(e.event));
          expect(got.slice(got.length - safe.length), `${direction} gap in packet at ${start}: after`).toEqual(safe);
        }
      }
    });
  }
});
