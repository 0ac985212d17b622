import { expect } from 'vitest';
import type { Direction, EventDraft, Frame } from '@imspect/core';
import { YahooSession } from '../src/session.js';

export const enc = (text: string): Uint8Array => new TextEncoder().encode(text);

export interface PacketSpec {
  service: number;
  status?: number;
  sessionId?: number;
  /** Header bytes 4..7: version and vendor. Default: version 16 in two bytes, vendor 0. */
  version?: readonly [number, number, number, number];
  pairs?: ReadonlyArray<readonly [number | string, string | Uint8Array]>;
  /** Overrides the length field (to lie about the body). */
  length?: number;
}

/**
 * A YMSG packet written from the protocol description (independent of the plugin's encoder): "YMSG", version,
 * vendor, body length, service, status, session id, then `key C0 80 value C0 80` per pair.
 */
export function ymsg(spec: PacketSpec): Buffer {
  const body = Buffer.concat(
    (spec.pairs ?? []).flatMap(([k, v]) => [Buffer.from(String(k)), Buffer.from([0xc0, 0x80]), Buffer.from(typeof v === 'string' ? enc(v) : v), Buffer.from([0xc0, 0x80])]),
  );
  const header = Buffer.alloc(20);
  header.write('YMSG', 0, 'latin1');
  Buffer.from(spec.version ?? [0, 16, 0, 0]).copy(header, 4);
  header.writeUInt16BE(spec.length ?? body.length, 8);
  header.writeUInt16BE(spec.service, 10);
  header.writeUInt32BE((spec.status ?? 0) >>> 0, 12);
  header.writeUInt32BE((spec.sessionId ?? 0x1234) >>> 0, 16);
  return Buffer.concat([header, body]);
}

/** Reads a packet back: header fields and pairs (keys as written), for checking what the plugin built. */
export function readYmsg(bytes: Uint8Array): { service: number; status: number; sessionId: number; length: number; versionBytes: number[]; pairs: Array<[string, string]> } {
  const b = Buffer.from(bytes);
  expect(b.subarray(0, 4).toString('latin1')).toBe('YMSG');
  const length = b.readUInt16BE(8);
  expect(b.length, 'length field = body bytes').toBe(20 + length);
  const body = b.subarray(20);
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i + 1 < body.length; i++) {
    if (body[i] === 0xc0 && body[i + 1] === 0x80) {
      parts.push(body.subarray(start, i).toString('utf8'));
      start = i + 2;
      i++;
    }
  }
  expect(start, 'body ends with a separator').toBe(body.length);
  expect(parts.length % 2, 'keys and values pair up').toBe(0);
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i < parts.length; i += 2) pairs.push([parts[i]!, parts[i + 1]!]);
  return { service: b.readUInt16BE(10), status: b.readUInt32BE(12), sessionId: b.readUInt32BE(16), length, versionBytes: [...b.subarray(4, 8)], pairs };
}

export interface Step {
  direction: Direction;
  data: Uint8Array;
}

export const out = (data: Uint8Array): Step => ({ direction: 'outgoing', data });
export const inc = (data: Uint8Array): Step => ({ direction: 'incoming', data });

export interface SessionSetup {
  maxFrameSize?: number;
  midstream?: boolean;
  host?: string;
}

export function newSession(setup: SessionSetup = {}): YahooSession {
  return new YahooSession({
    client: { ip: '192.0.2.1', port: 40000 },
    server: { host: setup.host ?? 'scs.msg.yahoo.com', port: 5050 },
    maxFrameSize: setup.maxFrameSize ?? 65555,
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
  rewritable?: boolean;
}

export interface RunResult {
  /** Frames, with pass-through runs (garbage, bodies of too-large packets) merged: their cut depends on the chunking. */
  frames: FrameRecord[];
  events: Array<EventDraft & { direction: Direction }>;
  output: Record<Direction, Buffer>;
  input: Record<Direction, Buffer>;
  maxBuffered: number;
  session: YahooSession;
  /** The frames as returned, raw copied. */
  rawFrames: Array<{ direction: Direction; frame: Frame }>;
}

export function run(steps: readonly Step[], cut: (data: Uint8Array, index: number) => Uint8Array[] = (d) => [d], setup: SessionSetup = {}): RunResult {
  const session = newSession(setup);
  const rawFrames: Array<{ direction: Direction; frame: Frame }> = [];
  const outp: Record<Direction, Buffer[]> = { outgoing: [], incoming: [] };
  const inp: Record<Direction, Buffer[]> = { outgoing: [], incoming: [] };
  let maxBuffered = 0;
  const take = (direction: Direction, frames: Frame[]) => {
    for (const frame of frames) {
      const raw = frame.raw.slice(); // views are valid until the next push
      rawFrames.push({ direction, frame: { ...frame, raw } });
      outp[direction].push(Buffer.from(raw));
    }
  };
  steps.forEach((step, index) => {
    inp[step.direction].push(Buffer.from(step.data));
    for (const piece of cut(step.data, index)) {
      take(step.direction, session.push(step.direction, piece));
      maxBuffered = Math.max(maxBuffered, session.bufferedBytes(step.direction));
    }
  });
  take('outgoing', session.end('outgoing'));
  take('incoming', session.end('incoming'));
  return {
    frames: normalise(rawFrames),
    events: rawFrames.flatMap(({ direction, frame }) => (frame.events ?? []).map((e) => ({ direction, ...e }))),
    output: { outgoing: Buffer.concat(outp.outgoing), incoming: Buffer.concat(outp.incoming) },
    input: { outgoing: Buffer.concat(inp.outgoing), incoming: Buffer.concat(inp.incoming) },
    maxBuffered,
    session,
    rawFrames,
  };
}

function normalise(frames: Array<{ direction: Direction; frame: Frame }>): FrameRecord[] {
  const records: FrameRecord[] = [];
  const open: Record<Direction, FrameRecord | undefined> = { outgoing: undefined, incoming: undefined };
  for (const { direction, frame } of frames) {
    const record: FrameRecord = { direction, raw: Buffer.from(frame.raw).toString('latin1') };
    if (frame.events) record.events = frame.events;
    if (frame.error) record.error = frame.error.code;
    if (frame.rewrite) record.rewritable = true;
    // Pass-through bytes (garbage, the body of a too-large packet, a held tail): cut as the chunks fell.
    const continuation = !frame.events && !frame.error && !isCompletePacket(frame.raw);
    const run = open[direction];
    if (continuation && run) {
      run.raw += record.raw;
      continue;
    }
    records.push(record);
    const startsRun = continuation || frame.error?.code === 'not-ymsg' || frame.error?.code === 'frame-too-large';
    open[direction] = startsRun ? record : undefined;
  }
  return records;
}

function isCompletePacket(raw: Uint8Array): boolean {
  if (raw.length < 20 || raw[0] !== 0x59 || raw[1] !== 0x4d || raw[2] !== 0x53 || raw[3] !== 0x47) return false;
  return raw.length === 20 + ((raw[8]! << 8) | raw[9]!);
}

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

/** Offsets where a packet starts, walking the length fields (stops at anything that is not a packet). */
export function packetBoundaries(data: Uint8Array): number[] {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const out: number[] = [];
  let at = 0;
  while (at + 20 <= b.length && b.subarray(at, at + 4).toString('latin1') === 'YMSG') {
    out.push(at);
    at += 20 + b.readUInt16BE(at + 8);
  }
  out.push(Math.min(at, b.length));
  return out;
}

export interface InvarianceOptions extends SessionSetup {
  everyOffsetUpTo?: number;
  window?: number;
  randomRuns?: number;
  seed?: number;
}

/**
 * Runs the steps whole, cut at every single offset (or within ±window of each packet boundary and header end
 * for long steps), and in random sizes; expects the same frames and events each time and every byte out
 * exactly once. Returns the whole run.
 */
export function expectSplitInvariant(steps: readonly Step[], options: InvarianceOptions = {}): RunResult {
  const { everyOffsetUpTo = 4096, window = 22, randomRuns = 40, seed = 1 } = options;
  const limit = options.maxFrameSize ?? 65555;
  const whole = run(steps, undefined, options);
  expect(whole.output.outgoing.equals(whole.input.outgoing)).toBe(true);
  expect(whole.output.incoming.equals(whole.input.incoming)).toBe(true);
  const check = (result: RunResult, label: string) => {
    expect(result.output.outgoing.equals(whole.input.outgoing), `${label}: outgoing bytes`).toBe(true);
    expect(result.output.incoming.equals(whole.input.incoming), `${label}: incoming bytes`).toBe(true);
    expect(result.frames, label).toEqual(whole.frames);
    expect(result.events, label).toEqual(whole.events);
    expect(result.maxBuffered, label).toBeLessThanOrEqual(limit);
  };
  steps.forEach((step, index) => {
    const size = step.data.byteLength;
    let offsets: number[];
    if (size <= everyOffsetUpTo) offsets = Array.from({ length: Math.max(0, size - 1) }, (_, i) => i + 1);
    else {
      const set = new Set<number>();
      for (const b of packetBoundaries(step.data)) for (let d = -window; d <= window; d++) set.add(b + d);
      offsets = [...set].filter((o) => o > 0 && o < size);
    }
    for (const offset of offsets) check(run(steps, (data, i) => (i === index ? cutAt(data, [offset]) : [data]), options), `step ${index} cut at ${offset}`);
  });
  const random = prng(seed);
  for (let r = 0; r < randomRuns; r++) {
    const max = [1, 2, 3, 7, 19, 20, 21, 64, 512, 4096][r % 10]!;
    check(run(steps, (data) => cutRandom(data, random, max), options), `random run ${r} (max ${max})`);
  }
  return whole;
}
