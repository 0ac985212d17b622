import type { Direction } from '@imspect/sdk';
import { describeFrame, latin1String, runTranscript, type FrameRecord, type RecordedFrame, type TranscriptRun, type TranscriptStep } from '@imspect/sdk/testing';
import { IrcSession, type IrcSessionOptions } from '../src/session.js';

export { concatBytes as concat, cutAt, cutRandom, script, seededRandom as prng, latin1Bytes as latin1, type FrameRecord } from '@imspect/sdk/testing';

export const enc = (text: string): Uint8Array => new TextEncoder().encode(text);
export const dec = latin1String;

export type Step = TranscriptStep;
export type RunResult = TranscriptRun<IrcSession>;

export interface SessionSetup extends IrcSessionOptions {
  maxFrameSize?: number;
  midstream?: boolean;
  host?: string;
}

export const DEFAULT_FRAME = 16 * 1024;

export function newSession(setup: SessionSetup = {}): IrcSession {
  const ctx = {
    client: { ip: '192.0.2.1', port: 40000 },
    server: { host: setup.host ?? 'irc.example.net', port: 6667 },
    maxFrameSize: setup.maxFrameSize ?? DEFAULT_FRAME,
    ...(setup.midstream === undefined ? {} : { midstream: setup.midstream }),
  };
  return new IrcSession(ctx, setup);
}

/** Feeds steps (each cut into pieces by `cut`), ends both directions, and records what came out. */
export function run(steps: readonly Step[], cut: (data: Uint8Array, index: number) => Uint8Array[] = (d) => [d], setup: SessionSetup = {}): RunResult {
  return runTranscript(() => newSession(setup), steps, { cut, normalise });
}

/**
 * Frames that the parser passes through as they arrive (the tail of an over-long line, everything after
 * STARTTLS) depend on how the input was cut; merged, they do not.
 */
export function normalise(frames: readonly RecordedFrame[]): FrameRecord[] {
  const out: FrameRecord[] = [];
  const mode: Record<Direction, 'parse' | 'rest' | 'tls'> = { outgoing: 'parse', incoming: 'parse' };
  const open: Record<Direction, FrameRecord | undefined> = { outgoing: undefined, incoming: undefined };
  for (const recorded of frames) {
    const { direction, frame } = recorded;
    const record = describeFrame(recorded);
    if (mode[direction] !== 'parse') {
      const run = open[direction];
      if (run) run.raw += record.raw;
      else out.push((open[direction] = record));
      if (mode[direction] === 'rest' && record.raw.endsWith('\n')) {
        mode[direction] = 'parse';
        open[direction] = undefined;
      }
      continue;
    }
    out.push(record);
    if (frame.error?.code === 'frame-too-large') mode[direction] = 'rest';
    if (frame.upgrade === 'tls') {
      mode.outgoing = 'tls';
      mode.incoming = 'tls';
    }
  }
  return out;
}
