/**
 * IM on any port, inside imspect's own proxies: one real conversation of each protocol (a connection of a capture,
 * played by a scripted client and server over real sockets) to a server on a port that names no protocol, through
 * `imspect start`'s SOCKS5 listener and its HTTP CONNECT listener. Each is recognised by sniffing and parsed as
 * usual (the same events as `imspect replay` gives for that connection), and says once that IM went by on an odd
 * port through a proxy. Classic QQ over TCP (the OICQ packets of ndpi-oicq.pcap, length-prefixed as over TCP) to
 * ports 8000, 80 and 443 is recognised and logged with its QQ number, or blocked with `policy.unreadable`.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EVENT_TYPE_CODES } from '../../packages/sdk/src/event.js';
import { readConnections, readPackets, decodeFrame, type CapturedChunk } from '../../packages/core/src/capture/index.js';
import { OWN_CAPTURES } from '../support/captures.js';
import { readCsvLogs, type CsvLogRow } from '../support/csv-logs.js';
import { describeWithService } from '../support/e2e.js';
import { CLI, startImspect, type RunningImspect } from '../support/imspect-process.js';
import { socksConnect } from '../support/socks5.js';
import { httpConnect, playSide, startTranscriptServer, type TranscriptServer } from '../support/transcript.js';

const execFileAsync = promisify(execFile);
const SHARED = path.resolve(OWN_CAPTURES, '../../../shared/captures');

/** Per protocol plugin (its folder in the logs), a capture holding one conversation that starts in the capture. */
const CONVERSATIONS: Array<[protocol: string, capture: string]> = [
  ['irc', path.join(OWN_CAPTURES, 'ngircd-irc.pcap')],
  ['msn', path.join(SHARED, 'escargot-msnp8.pcap')],
  ['yahoo', path.join(SHARED, 'escargot-ymsg10.pcap')],
  ['xmpp', path.join(SHARED, 'prosody-xmpp.pcap')],
  ['gadu-gadu', path.join(SHARED, 'pygadu-libgadu-gg.pcapng')],
  ['oscar', path.join(SHARED, 'lmg-aim-evidence01.pcap')],
];
const TUNNELS = ['socks5', 'http-connect'] as const;
const missing = CONVERSATIONS.map(([, file]) => file).filter((file) => !existsSync(file));

interface Played {
  protocol: string;
  tunnel: (typeof TUNNELS)[number];
  server: TranscriptServer;
  /** Event types `imspect replay` gives for the same connection (circumvention events aside). */
  replayed: string[];
}

describeWithService('IM on odd ports through SOCKS5 and HTTP CONNECT, and QQ over TCP', missing.length > 0 ? `captures missing: ${missing.join(', ')}` : undefined, () => {
  let dir: string;
  let proxy: RunningImspect | undefined;
  const played: Played[] = [];
  const qqServers: Array<{ port: number; server: net.Server; received: Buffer[] }> = [];
  let rows: CsvLogRow[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-odd-ports-'));
    await writeFile(
      path.join(dir, 'imspect.config.json'),
      JSON.stringify({
        dataDir: 'data',
        listeners: [
          { type: 'socks5', host: '127.0.0.1', port: 0 },
          { type: 'http-connect', host: '127.0.0.1', port: 0 },
        ],
        loggers: { flushIntervalMs: 10 },
        connections: { sniffTimeoutMs: 3_000 },
        // QQ is blocked: the other unreadable traffic is logged (the default).
        policy: { unreadable: { default: 'log', qq: 'block' } },
      }),
    );
    proxy = await startImspect([], { cwd: dir });
    const urls = [...proxy.stdout().matchAll(/listening: (\S+)/g)].map((m) => new URL(m[1]!));
    const socks = { host: '127.0.0.1', port: Number(urls.find((u) => u.protocol.startsWith('socks'))!.port) };
    const http = { host: '127.0.0.1', port: Number(urls.find((u) => u.protocol.startsWith('http'))!.port) };

    for (const [protocol, capture] of CONVERSATIONS) {
      const connection = await longestConversation(capture);
      const replayed = await replayedTypes(capture, connection.clientPort);
      expect(replayed.length, `${protocol}: events of the chosen connection in imspect replay`).toBeGreaterThan(0);
      for (const tunnel of TUNNELS) {
        const server = await startTranscriptServer(connection.chunks);
        const socket = tunnel === 'socks5' ? await socksConnect(socks, '127.0.0.1', server.port) : await httpConnect(http, '127.0.0.1', server.port);
        socket.on('error', () => undefined);
        await playSide(socket, connection.chunks, 'outgoing');
        played.push({ protocol, tunnel, server, replayed });
      }
    }

    // QQ's TCP fallbacks: ports 8000, 80 and 443 where free on 127.0.0.1 (else any port: QQ is recognised anywhere).
    const packets = await oicqPackets(path.join(SHARED, 'ndpi-oicq.pcap'));
    for (const wanted of [8000, 80, 443]) {
      const received: Buffer[] = [];
      const server = net.createServer((s) => s.on('data', (d: Buffer) => received.push(d)).on('error', () => undefined));
      const port = await new Promise<number>((resolve) => {
        server.once('error', () => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
        server.listen(wanted, '127.0.0.1', () => resolve(wanted));
      });
      qqServers.push({ port, server, received });
      const socket = await socksConnect(socks, '127.0.0.1', port);
      socket.on('error', () => undefined);
      // One logout packet over TCP: a 16-bit length counting itself, then the packet.
      const packet = packets[0]!;
      socket.write(Buffer.concat([Buffer.from([(packet.length + 2) >> 8, (packet.length + 2) & 255]), packet]));
      await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    }

    await new Promise((r) => setTimeout(r, 300));
    expect(await proxy.stop(), proxy.stderr()).toBe(0);
    proxy = undefined;
    rows = await readCsvLogs(path.join(dir, 'data', 'logs'));
  }, 120_000);

  afterAll(async () => {
    await proxy?.stop();
    for (const p of played) await p.server.close();
    for (const q of qqServers) q.server.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const [protocol] of CONVERSATIONS)
    for (const tunnel of TUNNELS)
      it(`${protocol} through ${tunnel} to an odd port: recognised, parsed as in replay, marked as a circumvention attempt`, () => {
        const p = played.find((x) => x.protocol === protocol && x.tunnel === tunnel)!;
        const mine = rows.filter((r) => r.server === `127.0.0.1:${p.server.port}`);
        const marks = mine.filter((r) => r.subtype === 'circumvention');
        expect(marks.map((r) => r.data.split(' ').slice(0, 2).join(' '))).toEqual([`protocol=${protocol} how=odd-port,${tunnel}`]);
        const parsed = mine.filter((r) => r.subtype !== 'circumvention');
        expect(parsed.every((r) => r.protocol === protocol)).toBe(true);
        // The second run of the same XMPP conversation: the CSV logger writes a message (and its typing states) once
        // per user and message key, as for a copy on another device; the rest is logged again.
        const copies = protocol === 'xmpp' && tunnel === TUNNELS[1] ? new Set(['message', 'typing']) : new Set<string>();
        const expected = p.replayed.filter((t) => !copies.has(t)).map((t) => EVENT_TYPE_CODES[t as keyof typeof EVENT_TYPE_CODES]);
        expect(parsed.map((r) => r.type).sort()).toEqual(expected.sort());
      });

  it('QQ over TCP to 8000, 80 and 443 through SOCKS5: recognised with its QQ number, blocked (policy.unreadable qq: block)', () => {
    for (const q of qqServers) {
      const mine = rows.filter((r) => r.server === `127.0.0.1:${q.port}`);
      expect(mine.map((r) => [r.protocol, r.localDir, r.type, r.subtype, r.filtered, r.categories])).toEqual([['qq', '1444875387', 11, 'unreadable', true, 'unreadable']]);
      expect(mine[0]!.data).toMatch(/qqNumber=1444875387/);
      // Blocked before a byte reached the server.
      expect(Buffer.concat(q.received).length).toBe(0);
    }
  });
});

/** The capture's connection with the most bytes whose start was captured (the only one, for the AIM capture's OSCAR on 443). */
async function longestConversation(capture: string): Promise<{ clientPort: number; chunks: CapturedChunk[] }> {
  const connections = (await readConnections(capture)).filter((c) => c.chunks.length > 2);
  const size = (c: (typeof connections)[number]) => c.chunks.reduce((n, ch) => n + ch.data.length, 0);
  const whole = connections.filter((c) => !c.midstream);
  const pool = (whole.length > 0 ? whole : connections).sort((a, b) => size(b) - size(a));
  const chosen = pool[0]!;
  return { clientPort: chosen.client.port, chunks: chosen.chunks };
}

/** What `imspect replay` reports for one connection of a capture: its event types, circumvention events aside. */
async function replayedTypes(capture: string, clientPort: number): Promise<string[]> {
  const { stdout } = await execFileAsync(process.execPath, [CLI, 'replay', capture, '--json'], { maxBuffer: 64 * 1024 * 1024, timeout: 60_000, cwd: os.tmpdir() });
  const lines = stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type?: string; subtype?: string; client?: { port: number } });
  return lines.filter((e) => e.type !== undefined && e.client?.port === clientPort && e.subtype !== 'circumvention').map((e) => e.type!);
}

/** The UDP payloads of a capture (OICQ packets). */
async function oicqPackets(capture: string): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const packet of readPackets(capture)) {
    const decoded = decodeFrame(packet.linkType, packet.data);
    if (decoded.kind === 'udp') out.push(Buffer.from(decoded.datagram.payload));
  }
  return out;
}
