/**
 * Test helpers: Gadu-Gadu packets written from the protocol description (independent of the plugin's
 * encoder), sessions, transcript runs with pass-through runs merged, and the split-invariance check.
 */
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
import { GgSession } from '../src/session.js';

export { cutAt, cutRandom, seededRandom as prng, type FrameRecord } from '@imspect/sdk/testing';

export type Step = TranscriptStep;
export const out = (data: Uint8Array): Step => ({ direction: 'outgoing', data });
export const inc = (data: Uint8Array): Step => ({ direction: 'incoming', data });

/** Little-endian field builders. */
export const u8 = (n: number): Buffer => Buffer.from([n & 0xff]);
export const u16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};
export const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
export const cstr = (text: string, encoding: BufferEncoding = 'latin1'): Buffer => Buffer.concat([Buffer.from(text, encoding), Buffer.from([0])]);
export const zeros = (n: number): Buffer => Buffer.alloc(n);

/** A packet: type (u32 LE), body length (u32 LE, or `length` to lie about it), body. */
export function gg(type: number, ...body: Uint8Array[]): Buffer {
  const joined = Buffer.concat(body);
  return Buffer.concat([u32(type), u32(joined.length), joined]);
}
export function ggLying(type: number, length: number, ...body: Uint8Array[]): Buffer {
  return Buffer.concat([u32(type), u32(length), ...body]);
}

/** CP1250 bytes of a few Polish letters, for text written by hand: ą ę ś ż ł ó ć ń ź and their capitals. */
const CP1250: Record<string, number> = {
  ą: 0xb9,
  ę: 0xea,
  ś: 0x9c,
  ż: 0xbf,
  ł: 0xb3,
  ó: 0xf3,
  ć: 0xe6,
  ń: 0xf1,
  ź: 0x9f,
  Ą: 0xa5,
  Ę: 0xca,
  Ś: 0x8c,
  Ż: 0xaf,
  Ł: 0xa3,
  Ó: 0xd3,
  Ć: 0xc6,
  Ń: 0xd1,
  Ź: 0x8f,
};
export function cp1250(text: string): Buffer {
  return Buffer.from([...text].map((c) => CP1250[c] ?? c.charCodeAt(0)));
}

/** Protocol buffers, by hand: varint, length-delimited and fixed fields. */
export function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Buffer.from(out);
}
export const pbVarint = (field: number, n: number): Buffer => Buffer.concat([varint(field * 8), varint(n)]);
export const pbBytes = (field: number, bytes: Uint8Array | string): Buffer => {
  const b = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : Buffer.from(bytes);
  return Buffer.concat([varint(field * 8 + 2), varint(b.length), b]);
};
export const pbFixed32 = (field: number, n: number): Buffer => Buffer.concat([varint(field * 8 + 5), u32(n)]);
export const pbFixed64 = (field: number, n: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return Buffer.concat([varint(field * 8 + 1), b]);
};
/** A uin as 11.0 writes it in protocol buffers: a magic byte, the length, the digits. */
export const pbUin = (uin: number, magic = 0): Buffer => Buffer.from([magic, String(uin).length, ...Buffer.from(String(uin))]);

export interface SessionSetup {
  maxFrameSize?: number;
  midstream?: boolean;
  host?: string;
}

export const DEFAULT_FRAME = 1024 * 1024;

export function newSession(setup: SessionSetup = {}): GgSession {
  return new GgSession({
    client: { ip: '192.0.2.1', port: 40000 },
    server: { host: setup.host ?? '91.214.237.10', port: 8074 },
    maxFrameSize: setup.maxFrameSize ?? DEFAULT_FRAME,
    ...(setup.midstream === undefined ? {} : { midstream: setup.midstream }),
  });
}

export type RunResult = TranscriptRun<GgSession>;

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
    const continuation = !frame.events && !frame.error && !isCompletePacket(frame.raw);
    const current = open[direction];
    if (continuation && current) {
      current.raw += record.raw;
      continue;
    }
    records.push(record);
    const startsRun = continuation || frame.error?.code === 'not-gadu-gadu' || frame.error?.code === 'frame-too-large';
    open[direction] = startsRun ? record : undefined;
  }
  return records;
}

function isCompletePacket(raw: Uint8Array): boolean {
  if (raw.length < 8) return false;
  const b = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  return b.readUInt32LE(0) < 0x100 && b.readUInt32LE(0) > 0 && raw.length === 8 + b.readUInt32LE(4);
}

/** Offsets where a packet starts, walking the length fields (stops at anything that is not a packet). */
export function packetBoundaries(data: Uint8Array): number[] {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const offsets: number[] = [];
  let at = 0;
  while (at + 8 <= b.length && b.readUInt32LE(at) < 0x100) {
    offsets.push(at, at + 8);
    at += 8 + b.readUInt32LE(at + 4);
  }
  offsets.push(Math.min(at, b.length));
  return offsets;
}

export type InvarianceOptions = SessionSetup & Pick<SplitInvarianceOptions<GgSession, unknown>, 'everyOffsetUpTo' | 'window' | 'randomRuns' | 'seed'>;

/**
 * Runs the steps whole, cut at every single offset (or within ±window of each packet boundary and header end
 * for long steps), and in random sizes; expects the same frames and events each time and every byte out
 * exactly once. Returns the whole run.
 */
export function expectSplitInvariant(steps: readonly Step[], options: InvarianceOptions = {}): RunResult {
  const { everyOffsetUpTo = 4096, window = 10, randomRuns = 40, seed, ...setup } = options;
  return checkSplitInvariance(() => newSession(setup), steps, {
    normalise,
    bufferLimit: setup.maxFrameSize ?? DEFAULT_FRAME,
    everyOffsetUpTo,
    boundaries: packetBoundaries,
    window,
    randomRuns,
    randomSizes: [1, 2, 3, 7, 8, 9, 64, 512, 4096],
    ...(seed === undefined ? {} : { seed }),
  });
}
