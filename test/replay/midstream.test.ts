/**
 * `imspect replay` of captures that start mid-connection or lose segments, made from every shared capture of a
 * protocol imspect reads. Each IM connection is written out again into one synthetic capture per file:
 * - a reference copy with its handshake;
 * - mid-stream copies: no handshake, and everything before a cut (a segment and a byte inside it) left out;
 * - gap copies: with the handshake, one segment in the middle missing (the reassembler reports the hole).
 * Every segment of a copy gets its own capture second, so each event says which segment completed it. From the
 * first segment of each direction after the cut on (that first one may begin inside a frame), a mid-stream copy
 * must give the reference's events (ids compared unless the event marks them `inferred` or `unknown`); a gap
 * copy must give every event of the segments before the hole (ids too) and, in order, those after it.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readConnections, type CapturedConnection } from '../../packages/core/src/capture/connections.js';
import { ethernet, ipv4, pcapFile, tcpHeader, type PcapRecord } from '../../packages/core/test/capture/helpers.js';
import { describeWithService } from '../support/e2e.js';
import { CLI } from '../support/imspect-process.js';

const execFileAsync = promisify(execFile);
const CAPTURES = new URL('../../../shared/captures/', import.meta.url).pathname;

interface Case {
  file: string;
  /** Server ports of the IM connections copied. */
  ports: number[];
  /** `--port` mappings for ports no plugin claims by default. */
  flags?: string[];
  /**
   * Event types only the start of a connection can decide (see each plugin's resync test), left out of the
   * comparison. Gadu-Gadu's logout is reported once, by whichever of the client's offline status and the
   * server's disconnect is read first: after a hole the client's may be read last, and the logout is incoming.
   */
  skip?: string[];
}

const CASES: Case[] = [
  { file: 'escargot-msnp8.pcap', ports: [1863, 1864], flags: ['1864=msn'], skip: ['logout', 'leave'] },
  { file: 'escargot-ymsg10.pcap', ports: [5050] },
  { file: 'ngircd-irc.pcap', ports: [16667], flags: ['16667=irc'], skip: ['join', 'leave'] },
  { file: 'zeek-irc-basic.pcap', ports: [6667], skip: ['join', 'leave'] },
  { file: 'zeek-irc-more-commands.pcap', ports: [6667], skip: ['join', 'leave'] },
  { file: 'prosody-xmpp.pcap', ports: [15222], flags: ['15222=xmpp'], skip: ['logout'] },
  { file: 'ndpi-jabber.pcap', ports: [5222], skip: ['logout'] },
  { file: 'lmg-aim-evidence01.pcap', ports: [443], flags: ['443=oscar'] },
  { file: 'pygadu-libgadu-gg.pcapng', ports: [8074], skip: ['logout'] },
];

/** Most cuts per connection (segments sampled evenly beyond it). */
const MAX_CUTS = 24;
const SECONDS_PER_COPY = 100_000;
const FIRST_SECOND = 1_600_000_000;

interface Copy {
  kind: 'reference' | 'midstream' | 'gap';
  source: CapturedConnection;
  clientPort: number;
  base: number;
  /** Midstream: the first chunk kept (cut `byte` bytes into it). Gap: the chunk lost. */
  chunk: number;
  byte: number;
}

interface ReplayedEvent {
  type: string;
  subtype?: string;
  direction: string;
  localId: string;
  remoteId: string;
  conversation?: string;
  text?: string;
  file?: { name: string };
  data?: Record<string, unknown>;
  at: string;
  client: { port: number };
}

/** The IP packets of one copy, with the capture time of each (its chunk's own second). */
function packets(copy: Copy, clientIp: string, serverIp: string, serverPort: number): PcapRecord[] {
  const records: PcapRecord[] = [];
  const seq = { outgoing: 1_000_000, incoming: 5_000_000 };
  const send = (direction: 'outgoing' | 'incoming', second: number, flags: string, payload: Uint8Array, advance = payload.byteLength) => {
    const other = direction === 'outgoing' ? 'incoming' : 'outgoing';
    const fromClient = direction === 'outgoing';
    const tcp = tcpHeader({
      sport: fromClient ? copy.clientPort : serverPort,
      dport: fromClient ? serverPort : copy.clientPort,
      seq: seq[direction] >>> 0,
      ack: seq[other] >>> 0,
      flags,
      payload,
    });
    const ip = fromClient ? ipv4(clientIp, serverIp, 6, tcp) : ipv4(serverIp, clientIp, 6, tcp);
    records.push({ seconds: second, fraction: 0, data: ethernet(0x0800, ip) });
    seq[direction] += advance + (flags.includes('S') || flags.includes('F') ? 1 : 0);
  };
  const chunks = copy.source.chunks;
  if (copy.kind !== 'midstream') {
    send('outgoing', copy.base, 'S', new Uint8Array(0));
    send('incoming', copy.base, 'SA', new Uint8Array(0));
  } else {
    // The bytes before the cut were never captured: sequence numbers go on as if they had been sent.
    for (let i = 0; i < copy.chunk; i++) seq[chunks[i]!.direction] += chunks[i]!.data.byteLength;
    seq[chunks[copy.chunk]!.direction] += copy.byte;
  }
  const start = copy.kind === 'midstream' ? copy.chunk : 0;
  for (let i = start; i < chunks.length; i++) {
    const { direction, data } = chunks[i]!;
    const second = copy.base + 1 + i;
    const body = copy.kind === 'midstream' && i === copy.chunk ? data.subarray(copy.byte) : data;
    if (copy.kind === 'gap' && i === copy.chunk) {
      seq[direction] += body.byteLength; // lost: never written, yet acknowledged by the other side
      continue;
    }
    for (let at = 0; at < body.byteLength; at += 60_000) send(direction, second, 'PA', body.subarray(at, at + 60_000));
  }
  const end = copy.base + 2 + chunks.length;
  send('outgoing', end, 'FA', new Uint8Array(0));
  send('incoming', end, 'FA', new Uint8Array(0));
  send('outgoing', end, 'A', new Uint8Array(0));
  return records;
}

function cutsOf(count: number): number[] {
  if (count <= MAX_CUTS) return Array.from({ length: count }, (_, i) => i);
  return Array.from({ length: MAX_CUTS }, (_, i) => Math.floor((i * count) / MAX_CUTS));
}

async function replay(file: string, flags: string[], cwd: string): Promise<{ events: ReplayedEvent[]; summary: Record<string, unknown> }> {
  const args = [CLI, 'replay', file, '--json', ...flags.flatMap((f) => ['--port', f])];
  const { stdout } = await execFileAsync(process.execPath, args, { cwd, maxBuffer: 256 * 1024 * 1024, timeout: 120_000 });
  const lines = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  const summary = (lines.pop() as { summary: Record<string, unknown> }).summary;
  return { events: lines as unknown as ReplayedEvent[], summary };
}

const chunkOf = (event: ReplayedEvent, copy: Copy) => Math.round(Date.parse(event.at) / 1000) - copy.base - 1;
const marked = (event: ReplayedEvent) => event.data?.['identity'] === 'inferred' || event.data?.['identity'] === 'unknown';

function shown(event: ReplayedEvent, withIds: boolean): Record<string, unknown> {
  return {
    direction: event.direction,
    type: event.type,
    subtype: event.subtype,
    text: event.text,
    file: event.file?.name,
    ...(withIds ? { localId: event.localId, remoteId: event.remoteId, conversation: event.conversation } : {}),
  };
}

describeWithService('replay of captures joined mid-stream and with lost segments', existsSync(CAPTURES) ? undefined : `the captures are missing: ${CAPTURES}`, () => {
  let cwd: string;
  beforeAll(async () => {
    cwd = await mkdtemp(path.join(os.tmpdir(), 'imspect-midstream-'));
  });
  afterAll(async () => {
    if (!process.env.KEEP_MIDSTREAM) await rm(cwd, { recursive: true, force: true });
  });

  for (const c of CASES) {
    it(`${c.file}: mid-stream copies give the reference's events from the first whole segment on; gaps lose only their own`, async () => {
      const connections = (await readConnections(CAPTURES + c.file)).filter((conn) => c.ports.includes(conn.server.port) && conn.chunks.length > 0);
      expect(connections.length).toBeGreaterThan(0);
      const copies: Copy[] = [];
      let port = 20_000;
      const add = (kind: Copy['kind'], source: CapturedConnection, chunk: number, byte: number) =>
        copies.push({ kind, source, clientPort: port++, base: FIRST_SECOND + copies.length * SECONDS_PER_COPY, chunk, byte });
      for (const source of connections) {
        add('reference', source, 0, 0);
        for (const k of cutsOf(source.chunks.length)) {
          const size = source.chunks[k]!.data.byteLength;
          for (const byte of new Set([0, 1, Math.floor(size / 2)])) if (byte < size) add('midstream', source, k, byte);
          if (k > 0 && k < source.chunks.length - 1) add('gap', source, k, 0);
        }
      }
      const records = copies.flatMap((copy) => packets(copy, copy.source.client.ip, copy.source.server.ip, copy.source.server.port));
      const synthetic = path.join(cwd, `${path.basename(c.file)}.midstream.pcap`);
      await writeFile(synthetic, pcapFile({ linkType: 1 }, records));
      const { events, summary } = await replay(synthetic, c.flags ?? [], cwd);
      expect(summary['error']).toBeNull();
      const skip = new Set(['login', 'encrypted', ...(c.skip ?? [])]);
      const byPort = new Map<number, ReplayedEvent[]>();
      for (const event of events) if (!skip.has(event.type)) byPort.set(event.client.port, [...(byPort.get(event.client.port) ?? []), event]);
      const referenceOf = new Map<CapturedConnection, Copy>();
      for (const copy of copies) if (copy.kind === 'reference') referenceOf.set(copy.source, copy);

      let checked = 0;
      for (const copy of copies) {
        if (copy.kind === 'reference') continue;
        const reference = referenceOf.get(copy.source)!;
        const full = (byPort.get(reference.clientPort) ?? []).map((e) => ({ event: e, chunk: chunkOf(e, reference) }));
        const got = (byPort.get(copy.clientPort) ?? []).map((e) => ({ event: e, chunk: chunkOf(e, copy) }));
        const chunks = copy.source.chunks;
        // Per direction, the first segment after the cut or the hole: it may begin inside a frame.
        const firstAfter = (from: number) => {
          const first: Record<string, number> = {};
          for (let i = from; i < chunks.length; i++) first[chunks[i]!.direction] ??= i;
          return first;
        };
        const label = `${c.file} connection ${copy.source.id} (copy from port ${copy.clientPort}) ${copy.kind} at segment ${copy.chunk} byte ${copy.byte}`;
        if (copy.kind === 'midstream') {
          const first = firstAfter(copy.chunk);
          const keep = (x: { event: ReplayedEvent; chunk: number }) => x.chunk > (first[x.event.direction] ?? Number.POSITIVE_INFINITY);
          for (const direction of ['outgoing', 'incoming']) {
            const expected = full.filter((x) => keep(x) && x.event.direction === direction);
            const actual = got.filter((x) => keep(x) && x.event.direction === direction).map((x) => x.event);
            // A frame carried by several segments whose start was cut off is lost with the cut: the events
            // of the segment after the first may be missing in front, nothing else.
            let second = Number.POSITIVE_INFINITY;
            for (let i = (first[direction] ?? chunks.length) + 1; i < chunks.length; i++) {
              if (chunks[i]!.direction === direction) {
                second = i;
                break;
              }
            }
            let missing = 0;
            while (missing < expected.length - actual.length && expected[missing]!.chunk <= second) missing++;
            const tail = expected.slice(missing).map((x) => x.event);
            expect(
              actual.map((e) => shown(e, !marked(e))),
              `${label} (${direction})`,
            ).toEqual(tail.map((e, i) => shown(e, actual[i] === undefined || !marked(actual[i]!))));
          }
          // Nothing from the lost part is made up either: no event before the first whole segment but its own.
          for (const e of got) expect(e.chunk, label).toBeGreaterThanOrEqual(copy.chunk);
        } else {
          const lostDirection = chunks[copy.chunk]!.direction;
          const resumed = firstAfter(copy.chunk + 1)[lostDirection] ?? chunks.length;
          const before = (x: { chunk: number }) => x.chunk < copy.chunk;
          const after = (x: { event: ReplayedEvent; chunk: number }) => x.chunk > copy.chunk && (x.event.direction !== lostDirection || x.chunk > resumed);
          // Before the hole: exactly the reference's, ids and all.
          expect(
            got.filter(before).map((x) => shown(x.event, true)),
            `${label}: before the gap`,
          ).toEqual(full.filter(before).map((x) => shown(x.event, true)));
          // After it: every one of the reference's, in order per direction (ids may be lost with the hole; the
          // bytes after a hole reach the parser when the hole is given up on, so the directions may interleave
          // differently).
          for (const direction of ['outgoing', 'incoming']) {
            const wanted = full.filter((x) => after(x) && x.event.direction === direction).map((x) => JSON.stringify(shown(x.event, false)));
            const have = got.filter((x) => x.chunk > copy.chunk && x.event.direction === direction).map((x) => JSON.stringify(shown(x.event, false)));
            let i = 0;
            for (const h of have) if (i < wanted.length && h === wanted[i]) i++;
            expect(wanted.slice(i), `${label}: ${direction} events after the gap missing`).toEqual([]);
          }
        }
        checked++;
      }
      expect(checked).toBeGreaterThan(0);
      // Every mid-stream copy's events are counted in the summary as inferred or unknown ids.
      const identity = summary['identityByProtocol'] as Record<string, { inferred: number; unknown: number }>;
      const markedEvents = events.filter(marked).length;
      expect(Object.values(identity).reduce((n, x) => n + x.inferred + x.unknown, 0)).toBe(markedEvents);
    });
  }
});
