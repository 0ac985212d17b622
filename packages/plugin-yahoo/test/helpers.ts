import { expect } from 'vitest';
import type { Direction } from '@imspect/sdk';
import {
  checkSplitInvariance,
  describeFrame,
  runTranscript,
  type FrameRecord,
  type RecordedFrame,
  type SplitInvarianceOptions,
  type TranscriptRun,
  type TranscriptStep,
} from '@imspect/sdk/testing';
import { YahooSession } from '../src/session.js';

export { cutAt, cutRandom, seededRandom as prng, type FrameRecord } from '@imspect/sdk/testing';

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

export type Step = TranscriptStep;

export const out = (data: Uint8Array): Step => ({ direction: 'outgoing', data });
export const inc = (data: Uint8Array): Step => ({ direction: 'incoming', data });

export interface SessionSetup {
  maxFrameSize?: number;
  midstream?: boolean;
  host?: string;
}

export const DEFAULT_FRAME = 65555;

export function newSession(setup: SessionSetup = {}): YahooSession {
  return new YahooSession({
    client: { ip: '192.0.2.1', port: 40000 },
    server: { host: setup.host ?? 'scs.msg.yahoo.com', port: 5050 },
    maxFrameSize: setup.maxFrameSize ?? DEFAULT_FRAME,
    ...(setup.midstream === undefined ? {} : { midstream: setup.midstream }),
  });
}

export type RunResult = TranscriptRun<YahooSession>;

export function run(steps: readonly Step[], cut: (data: Uint8Array, index: number) => Uint8Array[] = (d) => [d], setup: SessionSetup = {}): RunResult {
  return runTranscript(() => newSession(setup), steps, { cut, normalise });
}

/** Frames, with pass-through runs (garbage, bodies of too-large packets) merged: their cut depends on the chunking. */
export function normalise(frames: readonly RecordedFrame[]): FrameRecord[] {
  const records: FrameRecord[] = [];
  const open: Record<Direction, FrameRecord | undefined> = { outgoing: undefined, incoming: undefined };
  for (const recorded of frames) {
    const { direction, frame } = recorded;
    const record = describeFrame(recorded);
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

export type InvarianceOptions = SessionSetup & Pick<SplitInvarianceOptions<YahooSession, unknown>, 'everyOffsetUpTo' | 'window' | 'randomRuns' | 'seed'>;

/**
 * Runs the steps whole, cut at every single offset (or within ±window of each packet boundary and header end
 * for long steps), and in random sizes; expects the same frames and events each time and every byte out
 * exactly once. Returns the whole run.
 */
export function expectSplitInvariant(steps: readonly Step[], options: InvarianceOptions = {}): RunResult {
  const { everyOffsetUpTo = 4096, window = 22, randomRuns = 40, seed, ...setup } = options;
  return checkSplitInvariance(() => newSession(setup), steps, {
    normalise,
    bufferLimit: setup.maxFrameSize ?? DEFAULT_FRAME,
    everyOffsetUpTo,
    boundaries: packetBoundaries,
    window,
    randomRuns,
    randomSizes: [1, 2, 3, 7, 19, 20, 21, 64, 512, 4096],
    seed,
  });
}
