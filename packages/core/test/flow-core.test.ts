/**
 * Flow without sockets: events in (bytes received, source ended, target drained), commands out through a fake
 * port that records what it is told. The IRC plugin's session parses, as it does in the relay.
 */
import { describe, expect, it } from 'vitest';
import type { Direction, EventDraft, ImEvent } from '@imspect/sdk';
import { IrcSession } from '../../plugin-irc/src/session.js';
import type { RelayDeps } from '../src/proxy/connection.js';
import { Flow, type FlowConnection, type FlowPort } from '../src/proxy/flow.js';
import type { FrameDecision } from '../src/proxy/policy.js';
import { PluginHost } from '../src/runtime/plugin-host.js';
import { randomChunks, recordingLogger, rng } from './helpers.js';

const CLIENT_LINES = [
  'CAP LS 302\r\n',
  'NICK alice\r\n',
  'USER alice 0 * :Alice Liddell\r\n',
  'JOIN #tea\r\n',
  'PRIVMSG #tea :is anyone here?\r\n',
  'PRIVMSG hatter :why is a raven like a writing desk\r\n',
  'NOTICE #tea :\u00e9t\u00e9 \u2014 non-ASCII text\r\n',
  `PRIVMSG #tea :${'long '.repeat(60)}\r\n`,
  'PRIVMSG march :no newline at the end, just LF\n',
  'PART #tea :bye\r\n',
];
const STREAM = Buffer.from(CLIENT_LINES.join(''));

/** The port's side of the flow: what it was told to write, and whether reading is paused. */
class FakePort implements FlowPort {
  readonly written: Buffer[] = [];
  /** Every command in order: `write:<bytes>`, `pause`, `resume`. */
  readonly commands: string[] = [];
  reading = true;
  writable = true;
  paced = false;
  /** While set, a write is taken but reports the target full. */
  full = false;
  /** Called before each write is recorded (the journal-before-forwarding check). */
  onWrite: (() => void) | undefined;

  write(chunks: readonly Uint8Array[]): boolean {
    this.onWrite?.();
    let bytes = 0;
    // Copied: a parser may reuse the memory behind its frames after the write returns, as a socket copies too.
    for (const chunk of chunks) {
      this.written.push(Buffer.from(chunk));
      bytes += chunk.length;
    }
    this.commands.push(`write:${bytes}`);
    return !this.full;
  }

  pauseReading(): void {
    this.reading = false;
    this.commands.push('pause');
  }

  resumeReading(): void {
    this.reading = true;
    this.commands.push('resume');
  }

  get output(): Buffer {
    return Buffer.concat(this.written);
  }
}

interface Harness {
  flow: Flow;
  port: FakePort;
  /** The events accepted, in order, as `direction type localId>remoteId text`. */
  events: string[];
  ended: Direction[];
  /** Events accepted and not yet committed when a write went out. */
  uncommittedWrites: number;
  /** Resolves pending asynchronous decisions, in order. */
  decideAll(): void;
}

/**
 * A flow reading the client's side of an IRC connection; `asyncPolicy`: every message waits for
 * {@link Harness.decideAll}; `noEnd`: the session has no `end` hook (core forwards what the parser held).
 */
function harness(options: { asyncPolicy?: boolean; noEnd?: boolean } = {}): Harness {
  const log = recordingLogger();
  const events: string[] = [];
  const ended: Direction[] = [];
  let uncommitted = 0;
  const pending: Array<() => void> = [];
  const pass: FrameDecision = { block: false, responses: [] } as unknown as FrameDecision;
  const sink = {
    blocked: false,
    accept(accepted: ImEvent[]) {
      uncommitted += accepted.length;
      for (const e of accepted) events.push(`${e.direction} ${e.type} ${e.localId}>${e.remoteId} ${e.text ?? ''}`);
    },
    commit() {
      uncommitted = 0;
    },
  };
  const policy = options.asyncPolicy
    ? {
        isEmpty: false,
        noticeActive: false,
        passesUnseen: () => false,
        decide: () => new Promise<FrameDecision>((resolve) => pending.push(() => resolve(pass))),
      }
    : { isEmpty: true, noticeActive: false };
  const deps = { options: { debug: false }, policy, sink } as unknown as RelayDeps;
  const client = Object.freeze({ ip: '127.0.0.1', port: 40000 });
  const server = Object.freeze({ host: 'irc.example.net', port: 6667 });
  const protocol = { name: 'irc', hooks: { ports: [6667], createSession: () => session }, maxFrameSize: 512 };
  const session = new IrcSession({ client, server, maxFrameSize: protocol.maxFrameSize });
  if (options.noEnd) Object.defineProperty(session, 'end', { value: undefined });
  const port = new FakePort();
  let flow: Flow | undefined;
  const conn: FlowConnection = {
    deps,
    log,
    client,
    host: new PluginHost(),
    protocol,
    session,
    bytes: { outgoing: 0, incoming: 0 },
    eventCount: 0,
    disconnecting: false,
    sniffChunk: () => {},
    sniffEnded: () => {},
    switchToRaw: () => flow!.toRaw(),
    protocolError: () => {},
    completeEvent: (draft: EventDraft, direction: Direction) => ({ ...draft, direction: draft.direction ?? direction }) as unknown as ImEvent,
    refuse: () => {},
    respond: () => false,
    disconnect: () => {},
    startTls: () => undefined,
    endOf: (direction) => ended.push(direction),
  };
  flow = new Flow(conn, 'outgoing', port);
  const h: Harness = {
    flow,
    port,
    events,
    ended,
    uncommittedWrites: 0,
    decideAll() {
      for (const resolve of pending.splice(0)) resolve();
    },
  };
  port.onWrite = () => {
    if (uncommitted > 0) h.uncommittedWrites++;
  };
  flow.start('parse');
  return h;
}

/** Feeds `chunks` (each its own Buffer, as a socket gives them) and ends the source. */
function run(chunks: Buffer[]): Harness {
  const h = harness();
  for (const chunk of chunks) h.flow.receive(chunk);
  h.flow.sourceEnded();
  return h;
}

describe('Flow core (fake port, no sockets)', () => {
  const reference = run([Buffer.from(STREAM)]);

  it('the reference run forwards the stream and reports its messages', () => {
    expect(reference.port.output.equals(STREAM)).toBe(true);
    expect(reference.events.filter((e) => e.startsWith('outgoing message alice>')).length).toBeGreaterThanOrEqual(4);
    expect(reference.events).toContain('outgoing message alice>hatter why is a raven like a writing desk');
    expect(reference.ended).toEqual(['outgoing']);
    expect(reference.uncommittedWrites).toBe(0);
  });

  it('a stream cut at every byte offset gives the same bytes, in order, and the same events', () => {
    for (let cut = 1; cut < STREAM.length; cut++) {
      const h = run([Buffer.from(STREAM.subarray(0, cut)), Buffer.from(STREAM.subarray(cut))]);
      expect(h.port.output.equals(STREAM), `cut at ${cut}`).toBe(true);
      expect(h.events, `cut at ${cut}`).toEqual(reference.events);
      expect(h.ended, `cut at ${cut}`).toEqual(['outgoing']);
      expect(h.uncommittedWrites, `cut at ${cut}`).toBe(0);
    }
  });

  it('a stream in random chunk sizes gives the same bytes, in order, and the same events', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const h = run(randomChunks(STREAM, rng(seed), 1 + (seed % 40)));
      expect(h.port.output.equals(STREAM), `seed ${seed}`).toBe(true);
      expect(h.events, `seed ${seed}`).toEqual(reference.events);
      expect(h.uncommittedWrites, `seed ${seed}`).toBe(0);
    }
  });

  it('a write the target cannot take pauses reading until drained(), with nothing reordered', async () => {
    const h = harness({ asyncPolicy: true });
    const chunks = randomChunks(STREAM, rng(7), 25);
    h.port.full = true;
    let i = 0;
    // Chunks keep coming while decisions are pending and the target is full, as a socket delivers what it read before it was paused.
    for (; i < 4; i++) h.flow.receive(chunks[i]!);
    await Promise.resolve();
    h.decideAll();
    await new Promise((resolve) => setImmediate(resolve));
    h.decideAll();
    await new Promise((resolve) => setImmediate(resolve));
    expect(h.port.written.length).toBeGreaterThan(0);
    expect(h.port.reading).toBe(false);
    // Paused once for the full target, however many writes it refused since.
    const firstPause = h.port.commands.indexOf('pause');
    expect(firstPause).toBeGreaterThanOrEqual(0);
    h.port.full = false;
    h.flow.drained();
    for (; i < chunks.length; i++) {
      h.flow.receive(chunks[i]!);
      for (let turn = 0; turn < 3; turn++) {
        h.decideAll();
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    h.flow.sourceEnded();
    for (let turn = 0; turn < 3; turn++) {
      h.decideAll();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(h.port.reading).toBe(true);
    expect(h.port.output.equals(STREAM)).toBe(true);
    expect(h.events).toEqual(reference.events);
    expect(h.uncommittedWrites).toBe(0);
    expect(h.ended).toEqual(['outgoing']);
    // Every pause was followed by a resume: none was lost.
    const pauses = h.port.commands.filter((c) => c === 'pause').length;
    const resumes = h.port.commands.filter((c) => c === 'resume').length;
    expect(resumes).toBe(pauses);
  });

  it('a full target pauses reading; drained() resumes it (synchronous policy)', () => {
    const h = harness();
    h.port.full = true;
    h.flow.receive(Buffer.from('NICK alice\r\nPRIVMSG #tea :one\r\n'));
    expect(h.port.reading).toBe(false);
    expect(h.port.commands).toEqual(['write:31', 'pause']);
    // More bytes already read still go out, behind the first ones; reading is not paused twice.
    h.flow.receive(Buffer.from('PRIVMSG #tea :two\r\n'));
    expect(h.port.commands).toEqual(['write:31', 'pause', 'write:19']);
    h.port.full = false;
    h.flow.drained();
    expect(h.port.reading).toBe(true);
    expect(h.port.commands.at(-1)).toBe('resume');
    // A second drained() with nothing waiting changes nothing.
    h.flow.drained();
    expect(h.port.commands.filter((c) => c === 'resume')).toHaveLength(1);
    expect(h.port.output.toString()).toBe('NICK alice\r\nPRIVMSG #tea :one\r\nPRIVMSG #tea :two\r\n');
  });

  it.each([
    ['its end hook', false],
    ['no end hook', true],
  ])('the source ending mid-frame forwards the bytes of the unfinished frame (session with %s)', (_, noEnd) => {
    for (let cut = 1; cut < STREAM.length; cut++) {
      if (STREAM[cut - 1] === 10) continue; // a whole line: nothing unfinished
      const h = harness({ noEnd });
      const head = STREAM.subarray(0, cut);
      h.flow.receive(Buffer.from(head));
      const lastLine = head.lastIndexOf(10) + 1;
      // The unfinished line is held by the parser until the end.
      expect(h.port.output.equals(head.subarray(0, lastLine)), `cut at ${cut}`).toBe(true);
      h.flow.sourceEnded();
      expect(h.port.output.equals(head), `cut at ${cut}`).toBe(true);
      expect(h.ended).toEqual(['outgoing']);
    }
  });

  it('writes nothing once the target is not writable, and still ends', () => {
    const h = harness();
    h.port.writable = false;
    h.flow.receive(Buffer.from('PRIVMSG #tea :lost\r\n'));
    h.flow.sourceEnded();
    expect(h.port.written).toHaveLength(0);
    expect(h.events).toHaveLength(1);
    expect(h.ended).toEqual(['outgoing']);
  });
});
