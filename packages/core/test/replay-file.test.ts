/**
 * A replay through filters that decide asynchronously (a timer, a lookup): every event of every connection,
 * the last messages before its end included, reaches the sink and is counted in the summary, with its
 * capture time. A filter that never answers within the replay's bound is reported, not waited for forever.
 * Also: TLS from the first byte on a plugin's plaintext port is reported as encrypted, not as silent IM.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { ImEvent, Verdict } from '@imspect/sdk';
import { Journal } from '../src/journal/index.js';
import { EventSink } from '../src/proxy/event-sink.js';
import { Policy, type NamedFilter } from '../src/proxy/policy.js';
import { ProtocolRegistry } from '../src/proxy/protocols.js';
import { replayFile } from '../src/runtime/replay.js';
import { flowPacket, pcapFile, removeTemp, writeTemp, type Flow } from './capture/helpers.js';
import { recordingLogger, tempDir } from './helpers.js';
import { lineProtocol } from './relay-harness.js';

const PORT = 7777;
const LINK_RAW_IPV4 = 228;

/** Connections of MSG lines, each line its own packet, both directions, ending with FINs (or not at all). */
function capture(connections: number, messages: number, options: { fin?: boolean } = {}): { file: string; expected: string[] } {
  const records: Array<{ seconds: number; fraction: number; data: Uint8Array }> = [];
  const expected: string[] = [];
  let second = 1_700_000_000;
  const add = (data: Uint8Array) => records.push({ seconds: second++, fraction: 0, data });
  for (let c = 0; c < connections; c++) {
    const flow: Flow = { client: ['198.18.0.1', 40000 + c], server: ['198.19.0.1', PORT] };
    let cseq = 1000;
    let sseq = 5000;
    add(flowPacket(flow, 'c', cseq++, 0, 'S'));
    add(flowPacket(flow, 's', sseq++, cseq, 'SA'));
    add(flowPacket(flow, 'c', cseq, sseq, 'A'));
    for (let m = 0; m < messages; m++) {
      const out = `MSG peer${c} out ${c}.${m}\n`;
      add(flowPacket(flow, 'c', cseq, sseq, 'PA', out));
      cseq += out.length;
      expected.push(`out ${c}.${m}`);
      const back = `MSG peer${c} in ${c}.${m}\n`;
      add(flowPacket(flow, 's', sseq, cseq, 'PA', back));
      sseq += back.length;
      expected.push(`in ${c}.${m}`);
    }
    if (options.fin !== false) {
      add(flowPacket(flow, 'c', cseq, sseq, 'FA'));
      add(flowPacket(flow, 's', sseq, cseq + 1, 'FA'));
    }
  }
  return { file: writeTemp(`replay-${connections}-${messages}-${options.fin}.pcap`, pcapFile({ linkType: LINK_RAW_IPV4 }, records)), expected };
}

function depsWith(filters: NamedFilter[], hookTimeoutMs = 2_000) {
  const log = recordingLogger();
  const registry = new ProtocolRegistry([{ name: 'lines', hooks: { ...lineProtocol(), ports: [PORT] }, maxFrameSize: 64 * 1024 }], {}, log);
  const policy = new Policy(filters, [], { failMode: 'open', hookTimeoutMs }, log);
  const sink = new EventSink([], { batchSize: 100, flushIntervalMs: 5, retryMaxDelayMs: 10, writeTimeoutMs: 1_000 }, log);
  const events: ImEvent[] = [];
  sink.onEvents((batch) => events.push(...batch));
  return { deps: { registry, policy, sink, log, options: { idleTimeoutMs: 0, sniffTimeoutMs: 0, debug: false } }, events, log };
}

const later = (ms: number): NamedFilter => ({
  name: 'later',
  hooks: { check: (): Promise<Verdict> => new Promise((resolve) => setTimeout(() => resolve({ action: 'pass' }), ms)) },
});

afterAll(() => removeTemp());

describe('replay through an asynchronous filter', () => {
  for (const [what, fin] of [
    ['connections closed with FINs', true],
    ['connections still open at the end of the capture', false],
  ] as const) {
    it(`${what}: every event reaches the sink and the summary, the last ones included`, async () => {
      const { file, expected } = capture(3, 4, { fin });
      const { deps, events } = depsWith([later(5)]);
      const summary = await replayFile(file, { deps });
      expect(summary.error).toBeUndefined();
      expect(events.map((e) => e.text)).toEqual(expected);
      expect(summary.eventsByType).toEqual({ message: expected.length });
      expect(summary.connections.map((c) => c.events)).toEqual([8, 8, 8]);
      expect(summary.connections.every((c) => c.protocol === 'lines' && !c.silent)).toBe(true);
      // Each event carries the time of the packet it came from: one second apart, in capture order.
      const times = events.map((e) => Date.parse(e.at));
      expect(times).toEqual([...times].sort((a, b) => a - b));
      expect(new Set(times).size).toBe(times.length);
    });
  }

  it('a mix of quick and slow decisions keeps every connection’s events in order', async () => {
    const { file, expected } = capture(2, 6);
    let n = 0;
    const { deps, events } = depsWith([
      { name: 'mixed', hooks: { check: (): Verdict | Promise<Verdict> => (n++ % 2 === 0 ? { action: 'pass' } : Promise.resolve({ action: 'pass' })) } },
      later(1),
    ]);
    const summary = await replayFile(file, { deps });
    expect(events.map((e) => e.text)).toEqual(expected);
    expect(summary.eventsByType).toEqual({ message: expected.length });
  });

  it('a filter that never answers: the replay ends, and the summary says which connection waited in vain', async () => {
    const { file } = capture(1, 2);
    const never: NamedFilter = { name: 'never', hooks: { check: (): Promise<Verdict> => new Promise(() => undefined) } };
    // The policy's own hook timeout is the usual bound; a long one leaves the replay's bound to act.
    const { deps } = depsWith([never], 60_000);
    const started = Date.now();
    const summary = await replayFile(file, { deps, settleTimeoutMs: 200 });
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(summary.connections[0]!.unsettled).toBe(true);
    expect(summary.fileAnomalies.join('\n')).toMatch(/connection 0: .*no decision within 200 ms/);
  });
});

describe('a consumer that asks the replay to hold (a slow reader of the CLI’s output)', () => {
  it('reads no further packet while the hold lasts, then goes on and loses nothing', async () => {
    const { file, expected } = capture(2, 6);
    const { deps, events } = depsWith([]);
    let asked = 0;
    let release: (() => void) | undefined;
    const holdReading = (): Promise<void> | undefined => {
      asked++;
      return asked === 8 ? new Promise<void>((resolve) => (release = resolve)) : undefined;
    };
    const run = replayFile(file, { deps, holdReading });
    while (!release) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const seen = events.length;
    expect(asked).toBe(8);
    expect(seen).toBeLessThan(expected.length);
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Held: no packet read, no event made.
    expect(asked).toBe(8);
    expect(events.length).toBe(seen);
    release();
    const summary = await run;
    expect(asked).toBeGreaterThan(8);
    expect(events.map((e) => e.text)).toEqual(expected);
    expect(summary.eventsByType).toEqual({ message: expected.length });
  });
});

/** A capture of one connection: the handshake, the client's bytes, the server's answer, a second apart from `seconds`. */
function oneExchange(name: string, flow: Flow, client: string, server: string, seconds: number): string {
  const packets = [
    flowPacket(flow, 'c', 1000, 0, 'S'),
    flowPacket(flow, 's', 5000, 1001, 'SA'),
    flowPacket(flow, 'c', 1001, 5001, 'PA', client),
    flowPacket(flow, 's', 5001, 1001 + client.length, 'PA', server),
  ];
  return writeTemp(
    name,
    pcapFile(
      { linkType: LINK_RAW_IPV4 },
      packets.map((data, i) => ({ seconds: seconds + i, fraction: 0, data })),
    ),
  );
}

describe('TLS from the first byte on a plugin’s plaintext port', () => {
  it('is an encrypted connection with one `encrypted` event dated at its first byte, not a silent one', async () => {
    const flow: Flow = { client: ['198.18.0.9', 41000], server: ['198.19.0.1', PORT] };
    // A TLS 1.2 ClientHello record header and a ServerHello one, with some bytes (and a newline) behind them.
    const hello = '\x16\x03\x01\x00\x40MSG in a TLS record\nmore';
    const answer = '\x16\x03\x03\x00\x30server hello\n';
    const file = oneExchange('tls-on-plain-port.pcap', flow, hello, answer, 1_700_000_100);
    const { deps, events } = depsWith([]);
    const summary = await replayFile(file, { deps });
    const conn = summary.connections[0]!;
    expect(conn).toMatchObject({ protocol: 'lines', encrypted: 'tls', silent: false });
    expect(summary.silentByProtocol).toEqual({});
    expect(events.map((e) => [e.type, e.subtype, e.at])).toEqual([['encrypted', 'tls', new Date(1_700_000_102_000).toISOString()]]);
  });
});

describe('a real ClientHello on a plugin’s plaintext port', () => {
  const replayHello = async (unreadable: 'log' | 'allow') => {
    const flow: Flow = { client: ['198.18.0.10', 41001], server: ['198.19.0.1', PORT] };
    // A TLS 1.2 record carrying a ClientHello (handshake type 1): the probe of the port's first bytes judges it.
    const hello = '\x16\x03\x01\x00\x40\x01\x00\x00\x3c\x03\x03client random';
    const answer = '\x16\x03\x03\x00\x30\x02server hello';
    const file = oneExchange(`client-hello-${unreadable}.pcap`, flow, hello, answer, 1_700_000_200);
    const { deps, events } = depsWith([]);
    const summary = await replayFile(file, { deps: { ...deps, options: { ...deps.options, unreadable } } });
    return { summary, events };
  };

  it('gives one `encrypted` event under policy.unreadable log, not one from the probe and another from the end', async () => {
    const { summary, events } = await replayHello('log');
    expect(summary.connections[0]).toMatchObject({ encrypted: 'tls', silent: false });
    expect(events.map((e) => [e.type, e.subtype])).toEqual([['encrypted', 'tls']]);
  });

  it('gives none under policy.unreadable allow, as live; the summary still says it was encrypted', async () => {
    const { summary, events } = await replayHello('allow');
    expect(summary.connections[0]).toMatchObject({ encrypted: 'tls', silent: false });
    expect(events).toEqual([]);
  });
});

describe('replay into a journal that fills (onFull: block) behind a slow logger', () => {
  it('reading waits for the logger: the journal stays near its limit and every event is stored', async () => {
    const { file, expected } = capture(4, 60);
    const log = recordingLogger();
    const journal = await Journal.open(
      { dir: await tempDir(), maxBytes: 8 * 1024, segmentBytes: 2 * 1024, fsyncIntervalMs: 10, onFull: 'block', memoryEvents: 1000 },
      ['slow'],
      log,
    );
    const stored: string[] = [];
    const slow = {
      name: 'slow',
      hooks: {
        write: async (events: readonly ImEvent[]) => {
          await new Promise((resolve) => setTimeout(resolve, 2));
          stored.push(...events.map((e) => e.text ?? ''));
        },
      },
    };
    const sink = new EventSink([slow], { batchSize: 20, flushIntervalMs: 1, retryMaxDelayMs: 10, writeTimeoutMs: 1_000 }, log, journal);
    let mostPending = 0;
    sink.onEvents(() => {
      mostPending = Math.max(mostPending, journal.pending('slow'));
    });
    const registry = new ProtocolRegistry([{ name: 'lines', hooks: { ...lineProtocol(), ports: [PORT] }, maxFrameSize: 64 * 1024 }], {}, log);
    const policy = new Policy([], [], { failMode: 'open', hookTimeoutMs: 2_000 }, log);
    const summary = await replayFile(file, { deps: { registry, policy, sink, log, options: { idleTimeoutMs: 0, sniffTimeoutMs: 0, debug: false } } });
    await sink.close({ graceMs: 10_000 });
    expect(summary.eventsByType).toEqual({ message: expected.length });
    expect(stored).toEqual(expected);
    // 480 events of about 200 journal bytes each: all of them at once would be 12 times the 8 KB limit.
    expect(mostPending).toBeLessThan(expected.length / 3);
  });
});
