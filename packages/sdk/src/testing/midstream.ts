import { inspect, isDeepStrictEqual } from 'node:util';
import type { Direction, EventDraft } from '../event.js';
import { isUnknownId, type Frame } from '../protocol.js';
import { concatBytes, firstByteDifference } from './bytes.js';
import { assertSameItems } from './invariance.js';
import { seededRandom } from './random.js';
import type { TestedSession, TranscriptStep } from './transcript.js';

/** An event as the mid-stream check compares it (see {@link MidstreamOptions.project}). */
export type ProjectedEvent = unknown;

export interface MidstreamOptions {
  /**
   * Start offsets, in the bytes of all steps joined (both directions, in step order). Default: every offset
   * when the conversation has at most `everyOffsetUpTo` bytes, else the offsets around each frame start and a
   * seeded sample of the others.
   */
  offsets?: number[];
  /** Default 3000. */
  everyOffsetUpTo?: number;
  /** How many other offsets a long conversation is sampled at (default 300). */
  samples?: number;
  /** Also lose `gapBytes` at each offset (the session's `gap` hook) and check both sides survive. Default true when the session has `gap`. */
  gaps?: boolean;
  /** Bytes lost per gap (default [1, 7, 64]). */
  gapBytes?: number[];
  /**
   * What of an event must match the full parse. Default: the frame's direction, type, subtype, text and file
   * name; and the ids and conversation unless the mid-stream event marks them (`data.identity`), since only the
   * part of the stream that was lost could have told them.
   */
  project?: (event: EventDraft, direction: Direction) => ProjectedEvent;
  /**
   * Events left out of the comparison on both sides: those only the start of the stream can decide (a login
   * that a stream joined after the client's authentication cannot tell from a contact coming online).
   */
  skip?: (event: EventDraft) => boolean;
}

interface Positioned {
  direction: Direction;
  /** Offset of the frame's first byte in its direction's stream. */
  start: number;
  end: number;
  events: EventDraft[];
}

/** Ids a projected event leaves out of the comparison, on both sides (see {@link projectEvent}). */
const UNMARKED_IDS = ['localId', 'remoteId', 'conversation'] as const;

/**
 * The default projection: direction, type, subtype, text and file name, and the ids and conversation, which
 * are compared only when the mid-stream event does not mark them (`data.identity`) and its local id names
 * somebody ({@link isUnknownId}: core completes those from its directory and marks them).
 */
export const projectEvent = (event: EventDraft, direction: Direction): ProjectedEvent => {
  const marked = (event.data !== undefined && (event.data.identity === 'inferred' || event.data.identity === 'unknown')) || isUnknownId(event.localId);
  return {
    direction: event.direction ?? direction,
    type: event.type,
    subtype: event.subtype,
    text: event.text,
    file: event.file?.name,
    localId: event.localId,
    remoteId: event.remoteId,
    conversation: event.conversation,
    ...(marked ? { [MARKED]: true } : {}),
  };
};

const MARKED = Symbol('ids marked');

/** `actual` (from a session out of step) stands for `expected`: equal, but for the ids it marks as not known. */
function sameEvent(actual: ProjectedEvent, expected: ProjectedEvent): boolean {
  if (typeof actual !== 'object' || actual === null || !(MARKED in actual)) return isDeepStrictEqual(actual, expected);
  const strip = (e: unknown) => {
    if (typeof e !== 'object' || e === null) return e;
    const copy: Record<string | symbol, unknown> = { ...(e as Record<string, unknown>) };
    for (const key of UNMARKED_IDS) delete copy[key];
    delete copy[MARKED];
    return copy;
  };
  return isDeepStrictEqual(strip(actual), strip(expected));
}

/**
 * The events of `frames` that lie before each direction's first whole frame (`firstWhole`) are either none or
 * those the full parse has for the frames from `from` up to it (the frame that starts right at the cut).
 */
function checkHead(
  frames: readonly Positioned[],
  full: readonly Positioned[],
  from: Record<Direction, number>,
  firstWhole: Record<Direction, number>,
  project: (e: EventDraft, d: Direction) => ProjectedEvent,
  skip: ((e: EventDraft) => boolean) | undefined,
  label: string,
): void {
  for (const direction of ['outgoing', 'incoming'] as const) {
    const before = (f: Positioned) => f.direction === direction && f.start < firstWhole[direction];
    const head = eventsFrom(frames, before, project, skip);
    if (head.length === 0) continue;
    const allowed = eventsFrom(full, (f) => before(f) && f.start >= from[direction], project, skip);
    assertSameItems(head, allowed, `${label}: ${direction} events read before the first whole frame (from a fragment?)`, sameEvent);
  }
}

function markIds(event: ProjectedEvent): ProjectedEvent {
  return typeof event === 'object' && event !== null ? { ...event, [MARKED]: true } : event;
}

/**
 * The resynchronisation check for a protocol plugin (see `SessionContext.midstream` and `ProtocolSession.gap`).
 * For each start offset, a session created with `midstream` true gets the conversation from that offset on (the
 * step it falls in cut there); from the first frame of each direction that the full parse starts after the
 * offset (one starting right at it cannot be told from a tail), its events must equal the full parse's (compared through `project`), and every byte must come out
 * exactly once. With `gaps`, a session that saw the start loses bytes at each offset instead: the events of the
 * frames before the hole and from the first whole frame after it must all be there, in order (a session may
 * report more after a hole, e.g. a later packet read as the lost login; never fewer). Throws an Error naming the offset
 * and the first differing event. Returns how many runs were checked.
 */
export function checkMidstreamResync(createSession: (midstream: boolean) => TestedSession, steps: readonly TranscriptStep[], options: MidstreamOptions = {}): number {
  const project = options.project ?? projectEvent;
  const skip = options.skip;

  const fullSession = createSession(false);
  const full = run(fullSession, steps);
  const total = steps.reduce((n, s) => n + s.data.byteLength, 0);
  const offsets = options.offsets ?? chooseOffsets(steps, full, total, options);
  const gapsOn = options.gaps ?? typeof fullSession.gap === 'function';
  let runs = 0;
  for (const offset of offsets) {
    const { rest, dropped } = dropBefore(steps, offset);
    const mid = run(createSession(true), rest, dropped);
    runs++;
    checkBytes(mid, rest, `mid-stream start at offset ${offset}`);
    const firstWhole = firstStarts(full.frames, dropped);
    const expected = eventsFrom(full.frames, (f) => f.start >= firstWhole[f.direction], project, skip);
    const actual = eventsFrom(mid.frames, (f) => f.start >= firstWhole[f.direction], project, skip);
    assertSameItems(actual, expected, `mid-stream start at offset ${offset}: events from the first whole frame on`, sameEvent);
    // Before that frame the session may only report what a frame starting right at the cut holds (a parser
    // that finds a frame start by its magic), never anything read from a fragment.
    checkHead(mid.frames, full.frames, dropped, firstWhole, project, skip, `mid-stream start at offset ${offset}`);
    if (!gapsOn) continue;
    for (const lost of options.gapBytes ?? [1, 7, 64]) {
      const cut = withGap(steps, offset, lost);
      if (cut === undefined) continue;
      const gapped = run(createSession(false), cut.steps);
      runs++;
      const at = cut.at;
      const after = cut.at + lost;
      const resumed = firstStarts(full.frames, { ...ZERO, [cut.direction]: after });
      const keep = (f: Positioned) => f.direction !== cut.direction || f.end <= at || f.start >= resumed[cut.direction];
      checkBytes(gapped, cut.steps, `${lost} bytes lost ${cut.direction} at stream offset ${at}`);
      const from = { ...ZERO, [cut.direction]: after };
      const straddling = gapped.frames.filter((f) => f.direction === cut.direction && f.end > at && f.start < resumed[cut.direction]);
      checkHead(straddling, full.frames, from, resumed, project, skip, `${lost} bytes lost ${cut.direction} at stream offset ${at}`);
      assertSubsequence(
        eventsFrom(gapped.frames, keep, project, skip),
        eventsFrom(full.frames, keep, project, skip),
        `${lost} bytes lost ${cut.direction} at stream offset ${at}: events before and after the gap`,
      );
    }
  }
  return runs;
}

/**
 * Every expected event is among the actual ones, in order. After a hole a session may report more than the
 * full parse (the lost packet was the login: a later one of the same kind reads as one), never less.
 */
function assertSubsequence(actual: readonly ProjectedEvent[], expected: readonly ProjectedEvent[], label: string): void {
  let i = 0;
  // What a hole took (a login, a switchboard's ANS) may leave ids unknown afterwards: compared as marked.
  for (const event of actual) if (i < expected.length && sameEvent(markIds(event), expected[i])) i++;
  if (i === expected.length) return;
  throw new Error(
    `${label}: expected event ${i} of ${expected.length} is missing\n  missing: ${inspect(expected[i], { depth: 4, breakLength: 160 })}\n  got: ${inspect(actual, { depth: 4, breakLength: 160 })}`,
  );
}

const ZERO: Record<Direction, number> = { outgoing: 0, incoming: 0 };

interface Run {
  frames: Positioned[];
  output: Record<Direction, Uint8Array>;
}

/**
 * Pushes `steps`, telling the session of a hole before a step that marks one (`lostBefore`). `base` is each
 * direction's stream offset of the first byte pushed (the bytes dropped before it).
 */
function run(session: TestedSession, steps: readonly GapStep[], base: Record<Direction, number> = ZERO): Run {
  const position = { ...base };
  const frames: Positioned[] = [];
  const out: Record<Direction, Uint8Array[]> = { outgoing: [], incoming: [] };
  const take = (direction: Direction, got: Frame[]) => {
    for (const frame of got) {
      const start = position[direction];
      position[direction] += frame.raw.byteLength;
      out[direction].push(frame.raw.slice());
      frames.push({ direction, start, end: position[direction], events: frame.events ?? [] });
    }
  };
  for (const step of steps) {
    const hole = step.lostBefore;
    if (hole !== undefined) {
      take(step.direction, session.gap?.(step.direction, hole) ?? []);
      position[step.direction] += hole;
    }
    take(step.direction, session.push(step.direction, step.data));
  }
  take('outgoing', session.end?.('outgoing') ?? []);
  take('incoming', session.end?.('incoming') ?? []);
  return { frames, output: { outgoing: concatBytes(out.outgoing), incoming: concatBytes(out.incoming) } };
}

type GapStep = TranscriptStep & { lostBefore?: number };

function checkBytes(result: Run, steps: readonly TranscriptStep[], label: string): void {
  for (const direction of ['outgoing', 'incoming'] as const) {
    const input = concatBytes(steps.filter((s) => s.direction === direction).map((s) => s.data));
    const at = firstByteDifference(result.output[direction], input);
    if (at !== -1) throw new Error(`${label}: ${direction} bytes out differ from bytes in at ${at} (out ${result.output[direction].byteLength}, in ${input.byteLength})`);
  }
}

/** The conversation from `offset` on, and how many bytes of each direction were left out. */
function dropBefore(steps: readonly TranscriptStep[], offset: number): { rest: TranscriptStep[]; dropped: Record<Direction, number> } {
  const dropped = { ...ZERO };
  const rest: TranscriptStep[] = [];
  let at = 0;
  for (const step of steps) {
    const len = step.data.byteLength;
    if (at + len <= offset) dropped[step.direction] += len;
    else if (at < offset) {
      dropped[step.direction] += offset - at;
      rest.push({ direction: step.direction, data: step.data.subarray(offset - at) });
    } else rest.push(step);
    at += len;
  }
  return { rest, dropped };
}

/** The steps with `lost` bytes missing from `offset` on (within one step), the hole marked on the step after it. */
function withGap(steps: readonly TranscriptStep[], offset: number, lost: number): { steps: GapStep[]; direction: Direction; at: number } | undefined {
  let at = 0;
  const before = { ...ZERO };
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    const len = step.data.byteLength;
    if (offset > at && offset + lost <= at + len) {
      const head = step.data.subarray(0, offset - at);
      const tail = step.data.subarray(offset - at + lost);
      const out: GapStep[] = [...steps.slice(0, i), { direction: step.direction, data: head }];
      out.push({ direction: step.direction, data: tail, lostBefore: lost });
      out.push(...steps.slice(i + 1));
      const where = before[step.direction] + (offset - at);
      return { steps: out, direction: step.direction, at: where };
    }
    before[step.direction] += len;
    at += len;
  }
  return undefined;
}

/**
 * Per direction, the start of the first full-parse frame after `from`. A frame that starts right at `from` is
 * not counted: a parser that joins there cannot tell it from the tail of a frame whose start was lost.
 */
function firstStarts(frames: readonly Positioned[], from: Record<Direction, number>): Record<Direction, number> {
  const result = { outgoing: Number.POSITIVE_INFINITY, incoming: Number.POSITIVE_INFINITY };
  for (const f of frames) if (f.start > from[f.direction] && f.start < result[f.direction]) result[f.direction] = f.start;
  return result;
}

function eventsFrom(
  frames: readonly Positioned[],
  keep: (f: Positioned) => boolean,
  project: (e: EventDraft, d: Direction) => ProjectedEvent,
  skip?: (e: EventDraft) => boolean,
): ProjectedEvent[] {
  const out: ProjectedEvent[] = [];
  for (const f of frames) if (keep(f)) for (const e of f.events) if (!skip?.(e)) out.push(project(e, f.direction));
  return out;
}

function chooseOffsets(steps: readonly TranscriptStep[], full: Run, total: number, options: MidstreamOptions): number[] {
  if (total <= (options.everyOffsetUpTo ?? 3000)) return Array.from({ length: total }, (_, i) => i);
  const chosen = new Set<number>();
  // Frame starts in global (step-order) offsets: each direction's stream offset mapped back through the steps.
  const globalOf = (direction: Direction, streamOffset: number): number | undefined => {
    let at = 0;
    let seen = 0;
    for (const step of steps) {
      const len = step.data.byteLength;
      if (step.direction === direction) {
        if (streamOffset < seen + len) return at + (streamOffset - seen);
        seen += len;
      }
      at += len;
    }
    return undefined;
  };
  for (const f of full.frames) {
    const g = globalOf(f.direction, f.start);
    if (g === undefined) continue;
    for (const d of [-1, 0, 1]) if (g + d >= 0 && g + d < total) chosen.add(g + d);
  }
  const random = seededRandom(total);
  for (let i = 0; i < (options.samples ?? 300); i++) chosen.add(Math.floor(random() * total));
  return [...chosen].sort((a, b) => a - b);
}
