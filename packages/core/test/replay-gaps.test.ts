/**
 * `replayFile` tells a protocol session of the holes TCP reassembly reports (`ProtocolSession.gap`), in order
 * with the bytes around them, takes back what the session held as frames, and marks the ids of events from a
 * connection joined mid-way (`data.identity`), completing an unknown local id from a login the capture showed
 * from the same client address.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Direction, Frame, ImEvent, ProtocolHooks, ProtocolSession } from '@imspect/sdk';
import { IdentityRecords } from '../src/proxy/identity-records.js';
import { EventSink } from '../src/proxy/event-sink.js';
import { Policy } from '../src/proxy/policy.js';
import { ProtocolRegistry } from '../src/proxy/protocols.js';
import { replayFile } from '../src/runtime/replay.js';
import { ethernet, ipv4, pcapFile, removeTemp, tcpHeader, writeTemp, type PcapRecord } from './capture/helpers.js';
import { recordingLogger } from './helpers.js';

const enc = (s: string) => new TextEncoder().encode(s);

/** Lines; `LOGIN id` is a login, `SAY text` a message from the logged-in user ('' when none). Records every call. */
class RecordingSession implements ProtocolSession {
  readonly calls: string[] = [];
  private held: Record<Direction, string> = { outgoing: '', incoming: '' };
  private me = '';

  push(direction: Direction, chunk: Uint8Array): Frame[] {
    this.calls.push(`push ${direction} ${new TextDecoder().decode(chunk)}`);
    const text = this.held[direction] + new TextDecoder().decode(chunk);
    const frames: Frame[] = [];
    let start = 0;
    for (let lf = text.indexOf('\n'); lf >= 0; lf = text.indexOf('\n', start)) {
      const line = text.slice(start, lf);
      start = lf + 1;
      const frame: Frame = { raw: enc(`${line}\n`) };
      if (line.startsWith('LOGIN ')) {
        this.me = line.slice(6);
        frame.events = [{ type: 'login', localId: this.me, remoteId: 'server' }];
      } else if (line.startsWith('SAY ')) frame.events = [{ type: 'message', localId: this.me, remoteId: 'peer', text: line.slice(4) }];
      frames.push(frame);
    }
    this.held[direction] = text.slice(start);
    return frames;
  }

  gap(direction: Direction, bytesMissing: number): Frame[] {
    this.calls.push(`gap ${direction} ${bytesMissing} holding ${JSON.stringify(this.held[direction])}`);
    const held = this.held[direction];
    this.held[direction] = '';
    return held.length > 0 ? [{ raw: enc(held) }] : [];
  }
}

const sessions: RecordingSession[] = [];
const hooks: ProtocolHooks = {
  ports: [7777],
  createSession: () => {
    const session = new RecordingSession();
    sessions.push(session);
    return session;
  },
};

function segment(client: number, fromClient: boolean, seq: number, flags: string, payload = '', ack = 0): PcapRecord {
  const tcp = tcpHeader({ sport: fromClient ? client : 7777, dport: fromClient ? 7777 : client, seq, ack, flags, payload: enc(payload) });
  const ip = fromClient ? ipv4('10.0.0.5', '10.0.0.9', 6, tcp) : ipv4('10.0.0.9', '10.0.0.5', 6, tcp);
  return { seconds: 1_700_000_000, fraction: 0, data: ethernet(0x0800, ip) };
}

async function run(records: PcapRecord[]): Promise<{ events: ImEvent[]; summary: Awaited<ReturnType<typeof replayFile>> }> {
  sessions.length = 0;
  const log = recordingLogger();
  const registry = new ProtocolRegistry([{ name: 'lines', hooks, maxFrameSize: 4096 }], {}, log);
  const policy = new Policy([], [], { failMode: 'open', hookTimeoutMs: 1_000 }, log);
  const sink = new EventSink([], { batchSize: 100, flushIntervalMs: 5, retryMaxDelayMs: 10, writeTimeoutMs: 1_000 }, log);
  const events: ImEvent[] = [];
  sink.onEvents((batch) => events.push(...batch));
  const file = writeTemp(`gaps-${Math.random()}.pcap`, pcapFile({ linkType: 1 }, records));
  const summary = await replayFile(file, { deps: { registry, policy, sink, log, options: { idleTimeoutMs: 0, sniffTimeoutMs: 0, debug: false } }, serverPorts: [7777] });
  return { events, summary };
}

afterAll(() => removeTemp());

describe('replay: gaps and connections joined mid-way', () => {
  it('tells the session of a hole between the bytes before and after it, and forwards what it held', async () => {
    // Client ISN 100: "LOGIN alice\nSAY tw" is captured, 5 bytes are lost, then " three\nSAY four\n".
    const records = [
      segment(40001, true, 100, 'S'),
      segment(40001, false, 900, 'SA', '', 101),
      segment(40001, true, 101, 'PA', 'LOGIN alice\nSAY tw', 901),
      // 5 bytes ("o\nSAY") never captured; the server's ACK covers them, so the hole is given up on.
      segment(40001, true, 124, 'PA', ' three\nSAY four\n', 901),
      segment(40001, false, 901, 'A', '', 140),
      segment(40001, true, 140, 'FA', '', 901),
      segment(40001, false, 901, 'FA', '', 141),
    ];
    const { events, summary } = await run(records);
    expect(summary.connections[0]!.anomalies).toMatchObject([{ kind: 'gap', direction: 'outgoing', bytesMissing: 5 }]);
    const calls = sessions[0]!.calls;
    const gapAt = calls.findIndex((c) => c.startsWith('gap'));
    expect(calls[gapAt]).toBe('gap outgoing 5 holding "SAY tw"');
    expect(calls[gapAt - 1]).toBe('push outgoing LOGIN alice\nSAY tw');
    expect(calls[gapAt + 1]).toBe('push outgoing  three\nSAY four\n');
    // " three" is what is left of a line whose start was lost: no message; the next whole line is one.
    expect(events.map((e) => `${e.type} ${e.localId} ${e.text ?? ''}`)).toEqual(['login alice ', 'message alice four']);
    // A connection whose start was captured marks nothing.
    for (const e of events) expect(e.data?.['identity']).toBeUndefined();
  });

  it("marks the ids of a connection joined mid-way: from the same address's login elsewhere, else unknown", async () => {
    const records = [
      // A connection with its login, from 10.0.0.5.
      segment(40002, true, 100, 'S'),
      segment(40002, false, 900, 'SA', '', 101),
      segment(40002, true, 101, 'PA', 'LOGIN bob\n', 901),
      // A connection from the same address, joined mid-way (no handshake): its messages name no user.
      segment(40003, true, 5000, 'PA', 'agment\nSAY hi\n', 7000),
      segment(40003, false, 7000, 'PA', 'SAY from the server\n', 5014),
    ];
    const { events, summary } = await run(records);
    const late = events.filter((e) => e.client.port === 40003);
    expect(late.map((e) => [e.localId, e.data?.['identity']])).toEqual([
      ['bob', 'inferred'],
      ['bob', 'inferred'],
    ]);
    expect(summary.identityByProtocol).toEqual({ lines: { inferred: 2, unknown: 0 } });
  });

  it('makes an unknown local id from the client address when no login tells it', async () => {
    const records = [segment(40004, true, 5000, 'PA', 'xx\nSAY hi\n', 7000), segment(40004, false, 7000, 'A', '', 5010)];
    const { events, summary } = await run(records);
    expect(events.map((e) => [e.localId, e.data?.['identity'], e.text])).toEqual([['*@10.0.0.5', 'unknown', 'hi']]);
    expect(summary.identityByProtocol).toEqual({ lines: { inferred: 0, unknown: 1 } });
  });
});

describe('IdentityRecords', () => {
  it('keeps the last login per protocol and client address until its logout', () => {
    const records = new IdentityRecords();
    const event = (type: 'login' | 'logout', protocol: string, localId: string) => ({ type, protocol, localId });
    records.record(event('login', 'msn', 'a@x'), '10.0.0.1');
    records.record(event('login', 'yahoo', 'b'), '10.0.0.1');
    expect(records.localUser('10.0.0.1', 'msn')).toBe('a@x');
    expect(records.localUser('10.0.0.1', 'yahoo')).toBe('b');
    expect(records.localUser('10.0.0.2', 'msn')).toBeUndefined();
    records.record(event('logout', 'msn', 'someone-else'), '10.0.0.1');
    expect(records.localUser('10.0.0.1', 'msn')).toBe('a@x');
    records.record(event('logout', 'msn', 'a@x'), '10.0.0.1');
    expect(records.localUser('10.0.0.1', 'msn')).toBeUndefined();
    // A login whose id was itself inferred teaches nothing.
    records.record({ ...event('login', 'msn', 'c@x'), data: { identity: 'inferred' } }, '10.0.0.1');
    expect(records.localUser('10.0.0.1', 'msn')).toBeUndefined();
  });
});
