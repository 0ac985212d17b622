/**
 * OSCAR bytes written from the protocol description (independent of the plugin's encoder), sessions, and the
 * split-invariance check with FLAP boundaries.
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
import { OscarRoutes } from '../src/routes.js';
import { OscarSession, type OscarSessionOptions } from '../src/session.js';

export { cutAt, cutRandom, seededRandom as prng, type FrameRecord } from '@imspect/sdk/testing';

export type Step = TranscriptStep;
export const out = (data: Uint8Array): Step => ({ direction: 'outgoing', data });
export const inc = (data: Uint8Array): Step => ({ direction: 'incoming', data });

export const u8 = (n: number): Buffer => Buffer.from([n & 0xff]);
export const u16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n & 0xffff);
  return b;
};
export const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
export const u16le = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n & 0xffff);
  return b;
};
export const u32le = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
export const bytes = (value: string | Uint8Array): Buffer => (typeof value === 'string' ? Buffer.from(value, 'latin1') : Buffer.from(value));

/** FLAP: 0x2A, channel, sequence, length, payload. `length` overrides the length field (to lie). */
export function flap(channel: number, sequence: number, payload: Uint8Array, length?: number): Buffer {
  return Buffer.concat([Buffer.from([0x2a, channel]), u16(sequence), u16(length ?? payload.length), payload]);
}

export function tlv(type: number, value: string | Uint8Array): Buffer {
  const v = bytes(value);
  return Buffer.concat([u16(type), u16(v.length), v]);
}

/** A SNAC in a channel-2 FLAP. */
export function snac(sequence: number, family: number, subtype: number, data: Uint8Array, requestId = 0, flags = 0): Buffer {
  return flap(2, sequence, Buffer.concat([u16(family), u16(subtype), u16(flags), u32(requestId), data]));
}

export const name8 = (name: string): Buffer => Buffer.concat([u8(Buffer.byteLength(name, 'utf8')), Buffer.from(name, 'utf8')]);
export const COOKIE = Buffer.from('0123456\0', 'latin1');

/** Message TLV 2 of channel 1: features fragment, one text fragment in `charset`. */
export function messageBlock(text: Uint8Array, charset = 0): Buffer {
  const features = Buffer.from([0x05, 0x01, 0x00, 0x01, 0x01]);
  const fragment = Buffer.concat([Buffer.from([0x01, 0x01]), u16(text.length + 4), u16(charset), u16(0), text]);
  return tlv(0x0002, Buffer.concat([features, fragment]));
}

export const ucs2 = (text: string): Buffer => Buffer.from(text, 'utf16le').swap16();

/** 4/0x06 from the client: a channel-1 message to `to`. */
export function sendIm(sequence: number, to: string, text: Uint8Array, charset = 0, extra: Buffer[] = []): Buffer {
  return snac(sequence, 4, 6, Buffer.concat([COOKIE, u16(1), name8(to), messageBlock(text, charset), ...extra]));
}

/** 4/0x07 from the server: a channel-1 message from `from` (warning level 0, one user-info TLV). */
export function receiveIm(sequence: number, from: string, text: Uint8Array, charset = 0, extra: Buffer[] = []): Buffer {
  return snac(sequence, 4, 7, Buffer.concat([COOKIE, u16(1), name8(from), u16(0), u16(1), tlv(0x0001, u16(0x0010)), messageBlock(text, charset), ...extra]));
}

/** 4/0x14 typing notification. */
export function typing(sequence: number, who: string, state: number): Buffer {
  return snac(sequence, 4, 0x14, Buffer.concat([Buffer.alloc(8), u16(1), name8(who), u16(state)]));
}

export const SEND_FILE_CAP = Buffer.from('094613434c7f11d18222444553540000', 'hex');

/** 4/0x06 channel 2: a file-transfer proposal to `to` (of `count` files: 2 in the first field when several). */
export function fileOffer(sequence: number, to: string, file: string, size: number, count = 1): Buffer {
  const extended = Buffer.concat([u16(count > 1 ? 2 : 1), u16(count), u32(size), Buffer.from(file, 'latin1'), u8(0)]);
  const rendezvous = Buffer.concat([u16(0), COOKIE, SEND_FILE_CAP, tlv(0x000a, u16(1)), tlv(0x0002, Buffer.from([192, 0, 2, 1])), tlv(0x0005, u16(5190)), tlv(0x2711, extended)]);
  return snac(sequence, 4, 6, Buffer.concat([COOKIE, u16(2), name8(to), tlv(0x0005, rendezvous), tlv(0x0003, '')]));
}

export const CLIENT = { id: 'imspect-test-client', major: 5, minor: 9, lesser: 0, build: 3702 };

export function clientTlvs(): Buffer[] {
  return [
    tlv(0x0003, CLIENT.id),
    tlv(0x0016, u16(0x0109)),
    tlv(0x0017, u16(CLIENT.major)),
    tlv(0x0018, u16(CLIENT.minor)),
    tlv(0x0019, u16(CLIENT.lesser)),
    tlv(0x001a, u16(CLIENT.build)),
    tlv(0x000e, 'us'),
    tlv(0x000f, 'en'),
  ];
}

export interface SessionSetup {
  maxFrameSize?: number;
  midstream?: boolean;
  host?: string;
  port?: number;
  listener?: { host: string; port: number };
  greeted?: boolean;
  options?: OscarSessionOptions;
}

export function newSession(setup: SessionSetup = {}): OscarSession {
  return new OscarSession(
    {
      client: { ip: '192.0.2.1', port: 40000 },
      server: { host: setup.host ?? 'login.oscar.example', port: setup.port ?? 5190 },
      maxFrameSize: setup.maxFrameSize ?? 6 + 0xffff,
      ...(setup.midstream === undefined ? {} : { midstream: setup.midstream }),
      ...(setup.listener === undefined ? {} : { listener: setup.listener }),
      ...(setup.greeted === undefined ? {} : { greeted: setup.greeted }),
    },
    setup.options ?? { routes: new OscarRoutes() },
  );
}

export type RunResult = TranscriptRun<OscarSession>;

export function run(steps: readonly Step[], setup: SessionSetup = {}, cut: (data: Uint8Array, index: number) => Uint8Array[] = (d) => [d]): RunResult {
  return runTranscript(() => newSession(setup), steps, { cut, normalise });
}

/** Frames, with pass-through runs (garbage, payloads of too-large FLAPs, a held tail) merged: their cut follows the chunks. */
export function normalise(frames: readonly RecordedFrame[]): FrameRecord[] {
  const records: FrameRecord[] = [];
  const open: Record<Direction, FrameRecord | undefined> = { outgoing: undefined, incoming: undefined };
  for (const recorded of frames) {
    const { direction, frame } = recorded;
    const record = describeFrame(recorded);
    const continuation = !frame.events && !frame.error && !isCompleteFlap(frame.raw);
    const pending = open[direction];
    if (continuation && pending) {
      pending.raw += record.raw;
      continue;
    }
    records.push(record);
    const startsRun = continuation || frame.error?.code === 'not-flap' || frame.error?.code === 'frame-too-large';
    open[direction] = startsRun ? record : undefined;
  }
  return records;
}

function isCompleteFlap(raw: Uint8Array): boolean {
  return raw.length >= 6 && raw[0] === 0x2a && raw.length === 6 + ((raw[4]! << 8) | raw[5]!);
}

/** Offsets where a FLAP starts, walking the length fields (stops at anything that is not a FLAP). */
export function flapBoundaries(data: Uint8Array): number[] {
  const result: number[] = [];
  let at = 0;
  while (at + 6 <= data.length && data[at] === 0x2a) {
    result.push(at);
    at += 6 + ((data[at + 4]! << 8) | data[at + 5]!);
  }
  result.push(Math.min(at, data.length));
  return result;
}

export type InvarianceOptions = SessionSetup & Pick<SplitInvarianceOptions<OscarSession, unknown>, 'everyOffsetUpTo' | 'window' | 'randomRuns' | 'seed' | 'compareForwarded'>;

/**
 * Runs the steps whole, cut at every single offset (within ±window of each FLAP boundary for long steps), and in
 * random sizes; expects the same frames and events each time and every byte out exactly once.
 */
export function expectSplitInvariant(steps: readonly Step[], options: InvarianceOptions = {}): RunResult {
  const { everyOffsetUpTo = 4096, window = 12, randomRuns = 40, seed, compareForwarded, ...setup } = options;
  return checkSplitInvariance(() => newSession(setup), steps, {
    normalise,
    bufferLimit: setup.maxFrameSize ?? 6 + 0xffff,
    everyOffsetUpTo,
    boundaries: flapBoundaries,
    window,
    randomRuns,
    randomSizes: [1, 2, 3, 5, 6, 7, 11, 64, 512, 4096],
    ...(seed !== undefined ? { seed } : {}),
    ...(compareForwarded !== undefined ? { compareForwarded } : {}),
  });
}
