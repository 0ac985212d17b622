import type { Direction, EventDraft, Frame } from '@imspect/core';
import { MsnSession, type MsnSessionOptions } from '../src/session.js';

export const enc = (text: string): Uint8Array => new TextEncoder().encode(text);
export const latin1 = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));
export const dec = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');

export interface Step {
  direction: Direction;
  data: Uint8Array;
}

export interface SessionSetup extends MsnSessionOptions {
  maxFrameSize?: number;
  midstream?: boolean;
  host?: string;
  listener?: { host: string; port: number };
  clientIp?: string;
}

export const DEFAULT_FRAME = 8 * 1024 + 256 * 1024;

export function newSession(setup: SessionSetup = {}): MsnSession {
  const ctx = {
    client: { ip: setup.clientIp ?? '192.0.2.1', port: 40000 },
    server: { host: setup.host ?? 'ns.example.net', port: 1863 },
    maxFrameSize: setup.maxFrameSize ?? DEFAULT_FRAME,
    ...(setup.midstream === undefined ? {} : { midstream: setup.midstream }),
    ...(setup.listener === undefined ? {} : { listener: setup.listener }),
  };
  return new MsnSession(ctx, setup);
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
  rewritable?: boolean;
  replacement?: string;
}

export interface RunResult {
  /** Frames with pass-through runs merged (over-long line tails, oversized payloads). */
  frames: FrameRecord[];
  events: Array<EventDraft & { direction: Direction }>;
  /** All raw bytes per direction, concatenated. */
  output: Record<Direction, Uint8Array>;
  input: Record<Direction, Uint8Array>;
  /** What core would forward: each frame's replacement, else its raw bytes. */
  forwarded: Record<Direction, Uint8Array>;
  maxBuffered: number;
  session: MsnSession;
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
  const sent: Record<Direction, Uint8Array[]> = { outgoing: [], incoming: [] };
  let maxBuffered = 0;
  const take = (direction: Direction, frames: Frame[]) => {
    for (const frame of frames) {
      // Views are only valid until the next push: copy for the record.
      raw.push({ direction, frame: { ...frame, raw: frame.raw.slice() } });
      out[direction].push(frame.raw.slice());
      if (frame.replacement) sent[direction].push(frame.replacement.slice());
      else sent[direction].push(frame.raw.slice());
    }
  };
  steps.forEach((step, index) => {
    inp[step.direction].push(step.data);
    for (const piece of cut(step.data, index)) {
      take(step.direction, session.push(step.direction, piece));
      maxBuffered = Math.max(maxBuffered, session.bufferedBytes(step.direction));
    }
  });
  take('outgoing', session.end('outgoing'));
  take('incoming', session.end('incoming'));
  return {
    frames: normalise(raw),
    events: raw.flatMap(({ direction, frame }) => (frame.events ?? []).map((e) => ({ direction, ...e }))),
    output: { outgoing: concat(out.outgoing), incoming: concat(out.incoming) },
    input: { outgoing: concat(inp.outgoing), incoming: concat(inp.incoming) },
    forwarded: { outgoing: concat(sent.outgoing), incoming: concat(sent.incoming) },
    maxBuffered,
    session,
  };
}

/**
 * Frames that the parser passes through as they arrive (the tail of an over-long line, an oversized payload)
 * depend on how the input was cut; merged, they do not.
 */
function normalise(frames: Array<{ direction: Direction; frame: Frame }>): FrameRecord[] {
  const out: FrameRecord[] = [];
  type Mode = { kind: 'parse' } | { kind: 'rest' } | { kind: 'skip'; remaining: number };
  const mode: Record<Direction, Mode> = { outgoing: { kind: 'parse' }, incoming: { kind: 'parse' } };
  const open: Record<Direction, FrameRecord | undefined> = { outgoing: undefined, incoming: undefined };
  for (const { direction, frame } of frames) {
    const record: FrameRecord = { direction, raw: dec(frame.raw) };
    if (frame.events) record.events = frame.events;
    if (frame.error) record.error = frame.error.code;
    if (frame.rewrite) record.rewritable = true;
    if (frame.replacement) record.replacement = dec(frame.replacement);
    const m = mode[direction];
    if (m.kind !== 'parse') {
      const run = open[direction];
      if (run) run.raw += record.raw;
      else out.push((open[direction] = record));
      if (m.kind === 'rest' && record.raw.endsWith('\n')) mode[direction] = { kind: 'parse' };
      if (m.kind === 'skip') {
        m.remaining -= frame.raw.byteLength;
        if (m.remaining <= 0) mode[direction] = { kind: 'parse' };
      }
      if (mode[direction].kind === 'parse') open[direction] = undefined;
      continue;
    }
    out.push(record);
    if (frame.error?.code === 'frame-too-large') mode[direction] = { kind: 'rest' };
    if (frame.error?.code === 'payload-too-large') {
      const last = record.raw.trimEnd().split(' ').at(-1)!;
      const n = last.length > 15 ? Number.POSITIVE_INFINITY : Number(last);
      if (n > 0) mode[direction] = { kind: 'skip', remaining: n };
    }
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

/** Shorthand for a conversation script: `['>', 'VER 1 MSNP8 CVR0\r\n']` is outgoing, `['<', ...]` incoming. */
export function script(...lines: Array<['>' | '<', string | Uint8Array]>): Step[] {
  return lines.map(([d, data]) => ({
    direction: d === '>' ? 'outgoing' : 'incoming',
    data: typeof data === 'string' ? enc(data) : data,
  }));
}
