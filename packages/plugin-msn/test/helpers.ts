import type { Direction } from '@imspect/sdk';
import { describeFrame, latin1String, runTranscript, type FrameRecord, type RecordedFrame, type TranscriptRun, type TranscriptStep } from '@imspect/sdk/testing';
import { MsnSession, type MsnSessionOptions } from '../src/session.js';

export { cutAt, cutRandom, script, seededRandom as prng, latin1Bytes as latin1, type FrameRecord } from '@imspect/sdk/testing';

export const enc = (text: string): Uint8Array => new TextEncoder().encode(text);
export const dec = latin1String;

export type Step = TranscriptStep;
export type RunResult = TranscriptRun<MsnSession>;

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

/** Feeds steps (each cut into pieces by `cut`), ends both directions, and records what came out. */
export function run(steps: readonly Step[], cut: (data: Uint8Array, index: number) => Uint8Array[] = (d) => [d], setup: SessionSetup = {}): RunResult {
  return runTranscript(() => newSession(setup), steps, { cut, normalise });
}

/**
 * Frames that the parser passes through as they arrive (the tail of an over-long line, an oversized payload)
 * depend on how the input was cut; merged, they do not.
 */
export function normalise(frames: readonly RecordedFrame[]): FrameRecord[] {
  const out: FrameRecord[] = [];
  type Mode = { kind: 'parse' } | { kind: 'rest' } | { kind: 'skip'; remaining: number };
  const mode: Record<Direction, Mode> = { outgoing: { kind: 'parse' }, incoming: { kind: 'parse' } };
  const open: Record<Direction, FrameRecord | undefined> = { outgoing: undefined, incoming: undefined };
  for (const recorded of frames) {
    const { direction, frame } = recorded;
    const record = describeFrame(recorded);
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
