import type { Direction, EventDraft } from '@imspect/sdk';
import { describeFrame, latin1String, runTranscript, type FrameRecord, type RecordedFrame, type TranscriptRun, type TranscriptStep } from '@imspect/sdk/testing';
import { XmppSession } from '../src/session.js';

export { concatBytes as concat, cutAt, cutRandom, script, seededRandom as prng, type FrameRecord } from '@imspect/sdk/testing';

export const enc = (text: string): Uint8Array => new TextEncoder().encode(text);
export const dec = latin1String;
export const utf8 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');

export type Step = TranscriptStep;
export type RecordedEvent = EventDraft & { direction: Direction };
/** `frames`: those with events, rewrites, upgrades or errors (see normalise); `rawFrames`: every frame. */
export type RunResult = TranscriptRun<XmppSession>;

export const DEFAULT_FRAME = 256 * 1024;

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
    maxFrameSize: setup.maxFrameSize ?? DEFAULT_FRAME,
    ...(setup.midstream === undefined ? {} : { midstream: setup.midstream }),
  });
}

/** What core does after an upgrade frame when it intercepts TLS, if the setup asks for it. */
export function upgradeHook(setup: SessionSetup): ((session: XmppSession, recorded: RecordedFrame) => void) | undefined {
  const onUpgrade = setup.onUpgrade;
  return onUpgrade ? (session, { frame }) => frame.upgrade && onUpgrade(session) : undefined;
}

/** Feeds steps (each cut into pieces by `cut`), ends both directions, and records what came out. */
export function run(steps: readonly Step[], cut: (data: Uint8Array, index: number) => Uint8Array[] = (d) => [d], setup: SessionSetup = {}): RunResult {
  return runTranscript(() => newSession(setup), steps, { cut, normalise, onFrame: upgradeHook(setup) });
}

/**
 * The frames whose content matters: those with events, a rewrite, an upgrade or an error. Stream-level text
 * (whose cut follows the input's chunking) is left out, except where it carries an error other than
 * `unexpected-text` (which a split text run reports once per piece). The framing of everything else is checked
 * on the framer itself (framer.test.ts).
 */
export function normalise(frames: readonly RecordedFrame[]): FrameRecord[] {
  return frames.filter(({ frame }) => frame.events || frame.upgrade || frame.rewrite || (frame.error && frame.error.code !== 'unexpected-text')).map(describeFrame);
}
