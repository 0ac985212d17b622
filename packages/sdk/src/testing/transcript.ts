import type { Direction, EventDraft } from '../event.js';
import type { Frame, ProtocolSession } from '../protocol.js';
import { concatBytes, latin1String } from './bytes.js';

/** One piece of a conversation: bytes that went one way, in the order they were seen. */
export interface TranscriptStep {
  direction: Direction;
  data: Uint8Array;
}

/** Shorthand for a conversation: `['>', 'NICK a\r\n']` is outgoing (client to server), `['<', ...]` incoming. */
export function script(...lines: Array<['>' | '<', string | Uint8Array]>): TranscriptStep[] {
  return lines.map(([d, data]) => ({
    direction: d === '>' ? 'outgoing' : 'incoming',
    data: typeof data === 'string' ? new TextEncoder().encode(data) : data,
  }));
}

/** Joins consecutive steps of the same direction: the same conversation, cut differently. */
export function coalesceSteps(steps: readonly TranscriptStep[]): TranscriptStep[] {
  const merged: TranscriptStep[] = [];
  for (const step of steps) {
    const last = merged.at(-1);
    if (last && last.direction === step.direction) last.data = concatBytes([last.data, step.data]);
    else merged.push({ direction: step.direction, data: step.data });
  }
  return merged;
}

/** A session under test. `bufferedBytes`, when the session has it, is sampled after every push. */
export type TestedSession = ProtocolSession & { bufferedBytes?(direction: Direction): number };

/** A frame as the session returned it, with `raw` copied (the original is a view valid until the next push). */
export interface RecordedFrame {
  direction: Direction;
  frame: Frame;
}

/** A frame in comparable form: raw bytes as a latin1 string, the error by its code, the rewrite as a flag. */
export interface FrameRecord {
  direction: Direction;
  raw: string;
  events?: EventDraft[];
  error?: string;
  upgrade?: 'tls';
  rewritable?: boolean;
  replacement?: string;
}

export function describeFrame({ direction, frame }: RecordedFrame): FrameRecord {
  const record: FrameRecord = { direction, raw: latin1String(frame.raw) };
  if (frame.events) record.events = frame.events;
  if (frame.error) record.error = frame.error.code;
  if (frame.upgrade) record.upgrade = frame.upgrade;
  if (frame.rewrite) record.rewritable = true;
  if (frame.replacement) record.replacement = latin1String(frame.replacement);
  return record;
}

/**
 * Turns the frames of a run into what must not depend on the chunking. The default describes every frame;
 * a protocol whose parser passes some bytes through as they arrive (the tail of an over-long line) merges
 * those runs, since their cut follows the input's.
 */
export type FrameNormaliser<F> = (frames: readonly RecordedFrame[]) => F[];

export const describeFrames: FrameNormaliser<FrameRecord> = (frames) => frames.map(describeFrame);

export interface RunOptions<S extends TestedSession, F> {
  /** Cuts step `index` into the pieces pushed; default: the step whole. */
  cut?: (data: Uint8Array, index: number) => Uint8Array[];
  normalise?: FrameNormaliser<F>;
  /** Called after each frame is recorded (e.g. to call `tlsIntercepted()` after an upgrade, as core does). */
  onFrame?: (session: S, frame: RecordedFrame) => void;
}

export interface TranscriptRun<S extends TestedSession = TestedSession, F = FrameRecord> {
  /** The frames, normalised. */
  frames: F[];
  /** Every event, with the direction of the frame that carried it. */
  events: Array<EventDraft & { direction: Direction }>;
  /** The steps' bytes per direction, joined. */
  input: Record<Direction, Uint8Array>;
  /** The frames' raw bytes per direction, joined: must equal `input` (every byte out exactly once). */
  output: Record<Direction, Uint8Array>;
  /** What core would forward: each frame's `replacement`, else its raw bytes. */
  forwarded: Record<Direction, Uint8Array>;
  /** The most bytes the session held in either direction after a push (0 without `bufferedBytes`). */
  maxBuffered: number;
  /** The frames as returned, raw copied. */
  rawFrames: RecordedFrame[];
  session: S;
}

/**
 * Pushes the steps into a new session (each cut into pieces by `cut`), ends both directions (outgoing first),
 * and records what came out.
 */
export function runTranscript<S extends TestedSession, F = FrameRecord>(
  createSession: () => S,
  steps: readonly TranscriptStep[],
  options: RunOptions<S, F> = {},
): TranscriptRun<S, F> {
  const session = createSession();
  const cut = options.cut ?? ((d: Uint8Array) => [d]);
  const normalise = options.normalise ?? (describeFrames as unknown as FrameNormaliser<F>);
  const rawFrames: RecordedFrame[] = [];
  const parts = () => ({ outgoing: [] as Uint8Array[], incoming: [] as Uint8Array[] });
  const input = parts();
  const output = parts();
  const forwarded = parts();
  let maxBuffered = 0;
  const take = (direction: Direction, frames: Frame[]) => {
    for (const frame of frames) {
      const raw = frame.raw.slice();
      const recorded: RecordedFrame = { direction, frame: { ...frame, raw } };
      rawFrames.push(recorded);
      output[direction].push(raw);
      forwarded[direction].push(frame.replacement ? frame.replacement.slice() : raw);
      options.onFrame?.(session, recorded);
    }
  };
  steps.forEach((step, index) => {
    input[step.direction].push(step.data);
    for (const piece of cut(step.data, index)) {
      take(step.direction, session.push(step.direction, piece));
      if (session.bufferedBytes) {
        maxBuffered = Math.max(maxBuffered, session.bufferedBytes('outgoing'), session.bufferedBytes('incoming'));
      }
    }
  });
  take('outgoing', session.end?.('outgoing') ?? []);
  take('incoming', session.end?.('incoming') ?? []);
  const join = (p: Record<Direction, Uint8Array[]>) => ({ outgoing: concatBytes(p.outgoing), incoming: concatBytes(p.incoming) });
  return {
    frames: normalise(rawFrames),
    events: rawFrames.flatMap(({ direction, frame }) => (frame.events ?? []).map((e) => ({ direction, ...e }))),
    input: join(input),
    output: join(output),
    forwarded: join(forwarded),
    maxBuffered,
    rawFrames,
    session,
  };
}
