import type { Direction, EventDraft, Frame } from '@imspect/core';
import { XmppSession } from '../src/session.js';

export const enc = (text: string): Uint8Array => new TextEncoder().encode(text);
export const dec = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
export const utf8 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');

export interface Step {
  direction: Direction;
  data: Uint8Array;
}

export interface SessionSetup {
  maxFrameSize?: number;
  midstream?: boolean;
  host?: string;
  /** Called on the session right after the frame that upgrades to TLS (as core does when it intercepts). */
  onUpgrade?: (session: XmppSession) => void;
}

export function newSession(setup: SessionSetup = {}): XmppSession {
  return new XmppSession({
    client: { ip: '192.0.2.1', port: 40000 },
    server: { host: setup.host ?? 'xmpp.example.net', port: 5222 },
    maxFrameSize: setup.maxFrameSize ?? 256 * 1024,
    ...(setup.midstream === undefined ? {} : { midstream: setup.midstream }),
  });
}

/** Seeded PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FrameRecord {
  direction: Direction;
  raw: string;
  events?: EventDraft[];
  error?: string;
  upgrade?: 'tls';
  rewritable?: boolean;
}

export type RecordedEvent = EventDraft & { direction: Direction };

export interface RunResult {
  /** The frames with events, rewrites, upgrades or errors (see normalise). */
  frames: FrameRecord[];
  /** Events with their effective direction (the frame's, unless the event overrides it). */
  events: RecordedEvent[];
  /** Raw frames as returned, per direction, concatenated. */
  output: Record<Direction, Uint8Array>;
  input: Record<Direction, Uint8Array>;
  maxBuffered: number;
  session: XmppSession;
  /** Every frame as returned (copied), for tests that look at one. */
  raw: Array<{ direction: Direction; frame: Frame }>;
}

/** Feeds steps (each cut into pieces by `cut`), ends both directions, and records what came out. */
export function run(
  steps: readonly Step[],
  cut: (data: Uint8Array, index: number) => Uint8Array[] = (d) => [d],
  setup: SessionSetup = {},
): RunResult {
  const session = newSession(setup);
  const raw: Array<{ direction: Direction; frame: Frame }> = [];
  const out: Record<Direction, Uint8Array[]> = { outgoing: [], incoming: [] };
  const inp: Record<Direction, Uint8Array[]> = { outgoing: [], incoming: [] };
  let maxBuffered = 0;
  const take = (direction: Direction, frames: Frame[]) => {
    for (const frame of frames) {
      raw.push({ direction, frame: { ...frame, raw: frame.raw.slice() } });
      out[direction].push(frame.raw.slice());
      if (frame.upgrade) setup.onUpgrade?.(session);
    }
  };
  steps.forEach((step, index) => {
    inp[step.direction].push(step.data);
    for (const piece of cut(step.data, index)) {
      take(step.direction, session.push(step.direction, piece));
      maxBuffered = Math.max(maxBuffered, session.bufferedBytes('outgoing'), session.bufferedBytes('incoming'));
    }
  });
  take('outgoing', session.end('outgoing'));
  take('incoming', session.end('incoming'));
  return {
    frames: normalise(raw),
    events: raw.flatMap(({ direction, frame }) => (frame.events ?? []).map((e) => ({ direction, ...e }))),
    output: { outgoing: concat(out.outgoing), incoming: concat(out.incoming) },
    input: { outgoing: concat(inp.outgoing), incoming: concat(inp.incoming) },
    maxBuffered,
    session,
    raw,
  };
}

/**
 * The frames whose content matters: those with events, a rewrite, an upgrade or an error. Stream-level text
 * (whose cut follows the input's chunking) is left out, except where it carries an error other than
 * `unexpected-text` (which a split text run reports once per piece). The framing of everything else is checked
 * on the framer itself (framer.test.ts).
 */
function normalise(frames: Array<{ direction: Direction; frame: Frame }>): FrameRecord[] {
  const out: FrameRecord[] = [];
  for (const { direction, frame } of frames) {
    const significant = frame.events || frame.upgrade || frame.rewrite || (frame.error && frame.error.code !== 'unexpected-text');
    if (!significant) continue;
    const record: FrameRecord = { direction, raw: dec(frame.raw) };
    if (frame.events) record.events = frame.events;
    if (frame.error) record.error = frame.error.code;
    if (frame.upgrade) record.upgrade = frame.upgrade;
    if (frame.rewrite) record.rewritable = true;
    out.push(record);
  }
  return out;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/** Cuts `data` at the given offsets. */
export function cutAt(data: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const sorted = [...new Set(offsets.filter((o) => o > 0 && o < data.byteLength))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let last = 0;
  for (const o of sorted) {
    pieces.push(data.subarray(last, o));
    last = o;
  }
  pieces.push(data.subarray(last));
  return pieces;
}

/** Random piece sizes between 1 and `max`. */
export function cutRandom(data: Uint8Array, random: () => number, max: number): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let offset = 0;
  while (offset < data.byteLength) {
    const size = 1 + Math.floor(random() * max);
    pieces.push(data.subarray(offset, offset + size));
    offset += size;
  }
  return pieces;
}

/** Shorthand for a conversation script: `['>', '<message .../>']` is outgoing, `['<', ...]` incoming. */
export function script(...lines: Array<['>' | '<', string | Uint8Array]>): Step[] {
  return lines.map(([d, data]) => ({
    direction: d === '>' ? 'outgoing' : 'incoming',
    data: typeof data === 'string' ? enc(data) : data,
  }));
}
