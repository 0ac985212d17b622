/**
 * `imspect replay` as a user runs it: every capture in shared/captures gives the events written down from
 * reading it with tshark (for the protocols imspect has), the rest pass without events or errors, and broken
 * capture files give clear errors or reported anomalies, never a crash or a hang.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAPTURES, FILES as IRC_FILES } from '../../packages/plugin-irc/test/capture-expectations.js';
import { FILES as MSN_FILES } from '../../packages/plugin-msn/test/capture-expectations.js';
import { CASES as YMSG_CASES, YMSG_CAPTURE } from '../../packages/plugin-yahoo/test/capture-expectations.js';
import { CASES as GG_CASES, GG_CAPTURE } from '../../packages/plugin-gadu-gadu/test/capture-expectations.js';
import { FILES as XMPP_FILES } from '../../packages/plugin-jabber/test/capture-expectations.js';
import { AIM_CAPTURE, CASES as AIM_CASES, OFT_CASE } from '../../packages/plugin-oscar/test/capture-expectations.js';
import { NGIRCD_CAPTURE } from '../support/captures.js';
import { ethernet, ipv4, pcapFile, tcpHeader } from '../../packages/core/test/capture/helpers.js';
import { describeWithService } from '../support/e2e.js';
import { CLI } from '../support/imspect-process.js';

const execFileAsync = promisify(execFile);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function replay(args: string[], cwd: string): Promise<Run> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, 'replay', ...args], { cwd, maxBuffer: 64 * 1024 * 1024, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string; killed?: boolean };
    if (e.killed) throw new Error(`imspect replay ${args.join(' ')} did not finish within 60 s`);
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

interface JsonOutput {
  events: Array<Record<string, unknown> & { client: { port: number } }>;
  summary: {
    error: { code: string; message: string } | null;
    connections: Array<{ id: number; client: string; server: string; protocol?: string; encrypted?: string; protocolErrors: unknown[]; events: number; midstream: boolean }>;
    connectionsByProtocol: Record<string, number>;
    eventsByType: Record<string, number>;
    fileAnomalies: string[];
  };
}

function parseJsonLines(stdout: string): JsonOutput {
  const lines = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  const summary = lines.pop() as { summary: JsonOutput['summary'] };
  expect(summary).toHaveProperty('summary');
  return { events: lines as JsonOutput['events'], summary: summary.summary };
}

/**
 * Splits off the `encrypted` events and checks them: exactly one per connection the summary notes as encrypted
 * (STARTTLS, a TLS port, or TLS records from the first byte), with that subtype. The rest are the IM events the
 * plugins' capture expectations list.
 */
function withoutEncrypted(output: JsonOutput): JsonOutput['events'] {
  const encrypted = output.events.filter((e) => e['type'] === 'encrypted');
  const seen = encrypted.map((e) => `${(e.client as unknown as { ip: string }).ip}:${e.client.port} ${String(e['subtype'])}`).sort();
  const expected = output.summary.connections
    .filter((c) => c.encrypted !== undefined)
    .map((c) => `${c.client} ${c.encrypted}`)
    .sort();
  expect(seen, 'encrypted events, one per encrypted connection').toEqual(expected);
  // IM recognised on a port that is not its protocol's (the capture's servers ran on test ports, AIM on 443) says
  // so once per connection; the rest are the IM events.
  const circumvention = output.events.filter((e) => e['subtype'] === 'circumvention');
  const parsed = new Map(output.summary.connections.map((c) => [c.client, c.protocol]));
  for (const e of circumvention) {
    const client = `${(e.client as unknown as { ip: string }).ip}:${e.client.port}`;
    expect(e['protocol']).toBe(parsed.get(client));
    expect((e['data'] as Record<string, unknown>)['how']).toMatch(/^odd-port\b/);
  }
  expect(new Set(circumvention.map((e) => e.client.port)).size, 'one circumvention event per connection').toBe(circumvention.length);
  return output.events.filter((e) => e['type'] !== 'encrypted' && e['subtype'] !== 'circumvention');
}

/** The fields the expectations speak of, in the shape a protocol plugin reports them. */
function draftOf(event: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ['direction', 'type', 'subtype', 'localId', 'remoteId', 'conversation', 'text', 'file', 'data']) {
    if (event[key] !== undefined) out[key] = event[key];
  }
  return out;
}

/**
 * A connection joined mid-way marks the ids of events it saw no login for (`data.identity`): `unknown` with the
 * local id `*@<client address>`, or `inferred` (read from the traffic, or from a login of the same client
 * address elsewhere in the capture). The plugins' expectations write an id they cannot know as `*`: the marked
 * events are checked for their mark and then compared as the plugin reports them.
 */
function withoutIdentityMarks(got: Array<Record<string, unknown>>, expected: Array<Record<string, unknown>>, midstream: boolean, clientIp: string): Array<Record<string, unknown>> {
  return got.map((event, i) => {
    const data = event['data'] as Record<string, unknown> | undefined;
    const mark = data?.['identity'];
    if (!midstream || event['type'] === 'login') {
      expect(mark, 'no identity mark on a connection whose start was captured, nor on a login').toBeUndefined();
      return event;
    }
    expect(['inferred', 'unknown'], `identity mark of event ${i}`).toContain(mark);
    const { identity: _mark, ...rest } = data!;
    const out: Record<string, unknown> = { ...event, ...(Object.keys(rest).length > 0 ? { data: rest } : {}) };
    if (Object.keys(rest).length === 0) delete out['data'];
    if (mark === 'unknown') {
      expect(event['localId']).toBe(`*@${clientIp}`);
      out['localId'] = '*';
    } else if (expected[i]?.['localId'] === '*') out['localId'] = '*'; // inferred from another connection's login
    return out;
  });
}

const capturesPresent = existsSync(CAPTURES);
const capturesMissing = capturesPresent ? undefined : `the captures are missing: ${CAPTURES}`;

// The captures live in shared/ beside the repository: skipped without them, a failure on CI (IMSPECT_REQUIRE_E2E=1).
describeWithService('imspect replay over the shared captures', capturesMissing, () => {
  let cwd: string;
  beforeAll(async () => {
    cwd = await mkdtemp(path.join(os.tmpdir(), 'imspect-replay-'));
  });
  afterAll(async () => {
    await rm(cwd, { recursive: true, force: true });
  });

  const tables: Array<[string, Record<string, Array<{ clientPort: number; events: unknown[]; maxFrameSize?: number }>>]> = [
    ['irc', IRC_FILES],
    ['msn', MSN_FILES],
  ];
  for (const [protocol, files] of tables)
    for (const [file, cases] of Object.entries(files)) {
      it(`${file}: the ${protocol} events read from the capture with tshark, per connection, in order`, async () => {
        const result = await replay([path.join(CAPTURES, file), '--json'], cwd);
        expect(result.code, result.stderr).toBe(0);
        const output = parseJsonLines(result.stdout);
        const { summary } = output;
        const events = withoutEncrypted(output);
        expect(summary.error).toBeNull();
        for (const c of cases) {
          if (c.maxFrameSize) continue; // a parser setting of the plugin's own tests
          const got = events.filter((e) => e.client.port === c.clientPort).map(draftOf);
          expect(got, `events of the connection from port ${c.clientPort}`).toEqual(c.events.map((e) => draftOf(e as unknown as Record<string, unknown>)));
        }
        const expectedTotal = cases.filter((c) => !c.maxFrameSize).reduce((n, c) => n + c.events.length, 0);
        expect(events).toHaveLength(expectedTotal);
        for (const event of events) expect(event['protocol']).toBe(protocol);
        for (const c of summary.connections) expect(c.protocolErrors).toEqual([]);
      });
    }

  it('zeek-irc-starttls.pcap: the TLS part is noted as encrypted, with an encrypted event and no errors', async () => {
    const result = await replay([path.join(CAPTURES, 'zeek-irc-starttls.pcap'), '--json'], cwd);
    const { events, summary } = parseJsonLines(result.stdout);
    // As a passthrough decision records it live: when, where to, and why it could not be read.
    expect(events.map(draftOf)).toEqual([
      {
        direction: 'outgoing',
        type: 'encrypted',
        subtype: 'starttls',
        localId: '',
        remoteId: '185.18.76.170',
        data: { reason: 'STARTTLS: the rest of the connection is encrypted, not intercepted' },
      },
    ]);
    expect(events[0]!['at']).toBe('2015-07-29T04:58:57.994Z');
    expect(summary.connections).toHaveLength(1);
    expect(summary.connections[0]).toMatchObject({ protocol: 'irc', encrypted: 'starttls', protocolErrors: [] });
    const human = await replay([path.join(CAPTURES, 'zeek-irc-starttls.pcap')], cwd);
    expect(human.stdout).toContain('switched to TLS (STARTTLS); the rest is encrypted and not visible');
  });

  it(`${YMSG_CAPTURE}: the events read from the capture with tshark's YMSG decoding, per connection, in order`, async () => {
    const result = await replay([path.join(CAPTURES, YMSG_CAPTURE), '--json'], cwd);
    expect(result.code, result.stderr).toBe(0);
    const { events, summary } = parseJsonLines(result.stdout);
    expect(summary.error).toBeNull();
    expect(summary.connectionsByProtocol).toEqual({ yahoo: 2 });
    for (const c of summary.connections) expect(c.protocolErrors).toEqual([]);
    for (const c of YMSG_CASES) {
      const got = events.filter((e) => e.client.port === c.clientPort).map(draftOf);
      expect(got, `events of the connection from port ${c.clientPort}`).toEqual(c.events.map((e) => draftOf(e as unknown as Record<string, unknown>)));
    }
    expect(events).toHaveLength(YMSG_CASES.reduce((n, c) => n + c.events.length, 0));
    for (const event of events) expect(event['protocol']).toBe('yahoo');
  });

  it(`${GG_CAPTURE}: the events read from the capture with tshark's gadu-gadu decoding, per connection, in order`, async () => {
    const result = await replay([path.join(CAPTURES, GG_CAPTURE), '--json'], cwd);
    expect(result.code, result.stderr).toBe(0);
    const { events, summary } = parseJsonLines(result.stdout);
    expect(summary.error).toBeNull();
    expect(summary.connectionsByProtocol).toEqual({ 'gadu-gadu': 2 });
    for (const c of summary.connections) expect(c.protocolErrors).toEqual([]);
    for (const c of GG_CASES) {
      const got = events.filter((e) => e.client.port === c.clientPort).map(draftOf);
      expect(got, `events of the connection from port ${c.clientPort}`).toEqual(c.events.map((e) => draftOf(e as unknown as Record<string, unknown>)));
    }
    expect(events).toHaveLength(GG_CASES.reduce((n, c) => n + c.events.length, 0));
  });

  it(`${AIM_CAPTURE}: the AIM events read with tshark (OSCAR on 443, found by sniffing, joined mid-stream) and the OFT2 transfer`, async () => {
    const result = await replay([path.join(CAPTURES, AIM_CAPTURE), '--json'], cwd);
    expect(result.code, result.stderr).toBe(0);
    const output = parseJsonLines(result.stdout);
    const { summary } = output;
    // The TLS connection on 443 (not a TLS port of any plugin: its records say so) gives one encrypted event.
    const events = withoutEncrypted(output);
    expect(summary.connections.filter((c) => c.encrypted === 'tls').map((c) => c.server)).toEqual(['64.12.25.91:443']);
    expect(summary.error).toBeNull();
    // Two OSCAR connections on 443 and the OFT2 one on 5190; the TLS one on 443 stays unparsed.
    expect(summary.connectionsByProtocol['oscar']).toBe(3);
    for (const c of [...AIM_CASES, OFT_CASE]) {
      const conn = summary.connections.find((x) => x.client.endsWith(`:${c.clientPort}`))!;
      const expected = c.events.map((e) => draftOf(e as unknown as Record<string, unknown>));
      const got = withoutIdentityMarks(events.filter((e) => e.client.port === c.clientPort).map(draftOf), expected, conn.midstream, conn.client.split(':')[0]!);
      expect(got, `events of the connection from port ${c.clientPort}`).toEqual(expected);
      expect(conn.protocol).toBe('oscar');
      expect(conn.protocolErrors).toEqual([]);
    }
    expect(events).toHaveLength([...AIM_CASES, OFT_CASE].reduce((n, c) => n + c.events.length, 0));
    // The capture starts after the AIM login: every event of those connections has its ids marked, and the
    // summary counts them per protocol.
    const marks = { inferred: 0, unknown: 0 };
    for (const e of events) {
      const mark = (e['data'] as Record<string, unknown> | undefined)?.['identity'];
      if (mark === 'inferred' || mark === 'unknown') marks[mark]++;
    }
    expect(marks.unknown).toBeGreaterThan(0);
    expect((summary as unknown as { identityByProtocol: unknown }).identityByProtocol).toEqual({ oscar: marks });
    const text = await replay([path.join(CAPTURES, AIM_CAPTURE), '--quiet'], cwd);
    expect(text.stdout).toContain(`  ids without a login:     oscar inferred ${marks.inferred}, unknown ${marks.unknown}`);
  });

  for (const [file, cases] of Object.entries(XMPP_FILES)) {
    it(`${file}: the XMPP events read from the capture with tshark, per connection, in order; TLS noted, no protocol errors`, async () => {
      const result = await replay([path.join(CAPTURES, file), '--json'], cwd);
      expect(result.code, result.stderr).toBe(0);
      const output = parseJsonLines(result.stdout);
      const { summary } = output;
      const events = withoutEncrypted(output);
      expect(summary.error).toBeNull();
      for (const c of cases) {
        const conn = summary.connections.find((x) => x.client.endsWith(`:${c.clientPort}`));
        expect(conn, `connection from port ${c.clientPort}`).toBeDefined();
        const expected = c.events.map((e) => draftOf(e as unknown as Record<string, unknown>));
        const got = withoutIdentityMarks(events.filter((e) => e.client.port === c.clientPort).map(draftOf), expected, conn!.midstream, conn!.client.split(':')[0]!);
        expect(got, `events of the connection from port ${c.clientPort}`).toEqual(expected);
        expect(conn!.protocol).toBe('xmpp');
        expect(conn!.protocolErrors).toEqual([]);
        expect(conn!.encrypted).toBe(c.tlsPort ? 'tls-port' : c.starttls ? 'starttls' : undefined);
      }
      expect(summary.connections).toHaveLength(cases.length);
      expect(events).toHaveLength(cases.reduce((n, c) => n + c.events.length, 0));
      for (const event of events) expect(event['protocol']).toBe('xmpp');
    });
  }

  it('ndpi-jabber.pcap: the XMPP connections whose start or content the parser could not turn into events are listed', async () => {
    const result = await replay([path.join(CAPTURES, 'ndpi-jabber.pcap'), '--json'], cwd);
    const { summary } = parseJsonLines(result.stdout) as JsonOutput & { summary: { silentByProtocol: Record<string, { ids: number[] }> } };
    const silentIds = summary.connections.filter((c) => c.protocol === 'xmpp' && c.events === 0).map((c) => c.id);
    expect(silentIds.length).toBeGreaterThan(0);
    expect(summary.silentByProtocol['xmpp']!.ids).toEqual(silentIds);
  });

  it('reports the gaps of ndpi-jabber.pcap with their connection', async () => {
    const result = await replay([path.join(CAPTURES, 'ndpi-jabber.pcap')], cwd);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/connection 5 \(172\.16\.0\.62:57149 -> 172\.16\.1\.138:5222, xmpp\): 2009 bytes missing incoming at stream offset 1118/);
    expect(result.stdout).toMatch(/connection 5 .*: its start was not captured; parsing began mid-stream/);
  });

  it('ndpi-oicq.pcap: classic QQ over UDP 8000 is recognised: one event with the QQ number, listed as a circumvention attempt', async () => {
    const result = await replay([path.join(CAPTURES, 'ndpi-oicq.pcap'), '--json'], cwd);
    expect(result.code, result.stderr).toBe(0);
    const { events, summary } = parseJsonLines(result.stdout);
    expect(events.map((e) => [e['protocol'], e['type'], e['subtype'], e['localId'], e['remoteId'], e['filtered']])).toEqual([
      ['qq', 'other', 'unreadable', '1444875387', '58.60.10.45', false],
    ]);
    expect(events[0]!['data']).toMatchObject({ protocol: 'qq', transport: 'udp', qqNumber: 1444875387, action: 'log' });
    const flows = (summary as unknown as { datagramFlows: Array<Record<string, unknown>> }).datagramFlows;
    expect(flows).toEqual([expect.objectContaining({ protocol: 'qq', server: '58.60.10.45:8000', qqNumber: 1444875387, packets: 29 })]);
    const human = await replay([path.join(CAPTURES, 'ndpi-oicq.pcap'), '-q'], cwd);
    expect(human.stdout).toMatch(/circumvention attempts \(1\):\n {4}qq over UDP 90\.147\.69\.210:\d+ -> 58\.60\.10\.45:8000 1444875387: 29 packets/);
  });

  it('ndpi-oicq.pcap with policy.unreadable qq: block: the event is marked blocked', async () => {
    const dir = await mkdtemp(path.join(cwd, 'qq-block-'));
    await writeFile(path.join(dir, 'imspect.config.json'), JSON.stringify({ dataDir: 'data', policy: { unreadable: { qq: 'block' } } }));
    const { events } = parseJsonLines((await replay([path.join(CAPTURES, 'ndpi-oicq.pcap'), '--json'], dir)).stdout);
    expect(events.map((e) => [e['protocol'], e['filtered'], e['categories']])).toEqual([['qq', true, ['unreadable']]]);
  });

  it('logs search --type other lists the circumvention attempts the replays stored: IRC on an odd port, QQ over UDP', async () => {
    const dir = await mkdtemp(path.join(cwd, 'search-other-'));
    await writeFile(path.join(dir, 'imspect.config.json'), JSON.stringify({ dataDir: 'data' }));
    for (const file of [NGIRCD_CAPTURE, path.join(CAPTURES, 'ndpi-oicq.pcap')]) {
      const replayed = await replay([file, '--to-loggers', '-q'], dir);
      expect(replayed.code, replayed.stderr).toBe(0);
    }
    const search = async (args: string[]) => {
      const { stdout } = await execFileAsync(process.execPath, [CLI, 'logs', 'search', ...args], { cwd: dir, timeout: 60_000 });
      return stdout.trim().split('\n');
    };
    const other = await search(['--type', 'other', '--limit', '0']);
    expect(other.filter((l) => l.includes('[other/circumvention]'))).toEqual([
      expect.stringMatching(/ irc {2}alice -> 127\.0\.0\.1 {2}\[other\/circumvention\] irc on a port that is not its own$/),
      expect.stringMatching(/ irc {2}bob -> 127\.0\.0\.1 {2}\[other\/circumvention\] irc on a port that is not its own$/),
    ]);
    expect(other.filter((l) => l.includes('[other/unreadable]'))).toEqual([
      expect.stringMatching(/ qq {2}1444875387 -> 58\.60\.10\.45 {2}\[other\/unreadable\] QQ \(OICQ\) over UDP to port 8000: recognised, not parsed$/),
    ]);
    // Every line is an `other` event: no message of the IRC conversation.
    expect(other.every((l) => l.includes('[other'))).toBe(true);
    expect(await search(['--type', 'other', '--blocked'])).toEqual(['No matching events.']);
  });

  it('ndpi-quickplay-wechat.pcap: WeChat HTTP to *.qq.com hosts is not QQ: no event, no circumvention attempt', async () => {
    const result = await replay([path.join(CAPTURES, 'ndpi-quickplay-wechat.pcap'), '--json'], cwd);
    expect(result.code, result.stderr).toBe(0);
    const { events, summary } = parseJsonLines(result.stdout);
    expect(summary.connections.length).toBeGreaterThan(0);
    expect(events).toEqual([]);
    expect((summary as unknown as { circumvention: unknown[]; datagramFlows: unknown[] }).circumvention).toEqual([]);
    expect((summary as unknown as { datagramFlows: unknown[] }).datagramFlows).toEqual([]);
    expect(summary.connectionsByProtocol).toEqual({ unparsed: summary.connections.length });
  });

  it('maps a port to a protocol with --port, and refuses an unknown protocol name', async () => {
    const forced = await replay([path.join(CAPTURES, 'zeek-irc-353.pcap'), '--json', '--port', '6667=irc'], cwd);
    expect(forced.code, forced.stderr).toBe(0);
    const bad = await replay([path.join(CAPTURES, 'zeek-irc-353.pcap'), '--port', '6667=nosuch'], cwd);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('no protocol plugin named "nosuch"');
    const malformed = await replay([path.join(CAPTURES, 'zeek-irc-353.pcap'), '--port', 'irc'], cwd);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('expected PORT=PROTOCOL');
  });

  it('writes the events to the configured loggers with --to-loggers', async () => {
    const dir = await mkdtemp(path.join(cwd, 'loggers-'));
    await writeFile(path.join(dir, 'imspect.config.json'), JSON.stringify({ dataDir: 'data' }));
    const result = await replay([path.join(CAPTURES, 'ngircd-irc.pcap'), '--to-loggers'], dir);
    expect(result.code, result.stderr).toBe(0);
    // Two of them are the clients' JOIN requests, two say that IRC ran on a port that is not its own (16667).
    expect(result.stdout).toContain('18 events written to the loggers');
    // IRC files are filed under the network: the host of the server in the capture.
    const files = (await readdir(path.join(dir, 'data/logs/irc'), { recursive: true })).filter((f) => f.endsWith('.csv'));
    expect(files.map((f) => path.dirname(f)).sort()).toEqual(
      // `<user>/127.0.0.1`: the circumvention event (IRC on port 16667), its remote the server's address.
      ['alice/#test', 'alice/127.0.0.1', 'alice/bob', 'alice/irc.test.local', 'bob/#test', 'bob/127.0.0.1', 'bob/alice', 'bob/irc.test.local'].map((p) => `127.0.0.1/${p}`),
    );
    const row = (await readFile(path.join(dir, 'data/logs/irc', files.find((f) => f.startsWith('127.0.0.1/alice/bob/'))!), 'utf8')).split('\n')[0]!;
    // The capture's own time, not the time of the replay.
    expect(row.split(',')[1]).toBe(String(Math.floor(Date.parse('2026-11-21T09:32:30.135Z') / 1000)));
  });
});

describe('imspect replay on broken capture files', () => {
  let dir: string;
  let good: Buffer;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-replay-bad-'));
    // The project's own recording, in the repository: these run in a fresh clone too.
    good = await readFile(NGIRCD_CAPTURE);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function replayBytes(name: string, bytes: Buffer): Promise<Run> {
    const file = path.join(dir, name);
    await writeFile(file, bytes);
    return replay([file], dir);
  }

  it('a zero-length file: a clear error, exit 1', async () => {
    const result = await replayBytes('empty.pcap', Buffer.alloc(0));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/empty|CAPTURE_EMPTY/i);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('not a capture: a clear error naming what it found', async () => {
    const result = await replayBytes('text.pcap', Buffer.from('hello, this is not a capture\n'));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/CAPTURE_BAD_MAGIC|not a pcap/i);
  });

  it('a truncated file: the events before the cut, and the truncation reported', async () => {
    const result = await replayBytes('truncated.pcap', good.subarray(0, good.length - 37));
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/CAPTURE_TRUNCATED/);
    expect(result.stdout).toMatch(/irc message/);
  });

  it('a record claiming 2 GB: refused at once, no allocation, no hang', async () => {
    const bytes = Buffer.from(good.subarray(0, 24 + 16));
    bytes.writeUInt32LE(0x80000000, 24 + 8);
    bytes.writeUInt32LE(0x80000000, 24 + 12);
    const result = await replayBytes('huge.pcap', Buffer.concat([bytes, Buffer.alloc(64)]));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/CAPTURE_BLOCK_TOO_LARGE|too large/i);
  });

  // The only pcapng at hand is a shared one; without it the shared suite above says why (and fails on CI).
  it.skipIf(!capturesPresent)(`a corrupted pcapng block length: a clear error${capturesMissing ? ` (skipped: ${capturesMissing})` : ''}`, async () => {
    const bytes = Buffer.from(await readFile(path.join(CAPTURES, 'zeek-irc-dcc-send.pcapng')));
    // The first block after the section header: make its trailing length disagree with its leading one.
    const shbLength = bytes.readUInt32LE(4);
    const idbLength = bytes.readUInt32LE(shbLength + 4);
    bytes.writeUInt32LE(idbLength + 4, shbLength + idbLength - 4);
    const result = await replayBytes('corrupt.pcapng', bytes);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/CAPTURE_CORRUPT|length/i);
  });

  it('a missing file: exit 2 with the path', async () => {
    const result = await replay([path.join(dir, 'nope.pcap')], dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('nope.pcap');
  });
});

describe('imspect replay: IM connections that gave no events', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-replay-silent-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** One TCP connection from 198.18.0.1:`port` to 198.19.0.1:`serverPort`, with a handshake and these lines. */
  function connection(port: number, serverPort: number, lines: Array<['out' | 'in', string]>): Uint8Array[] {
    let cseq = 1000;
    let sseq = 5000;
    const frames: Uint8Array[] = [];
    const packet = (fromClient: boolean, seq: number, ack: number, flags: string, payload?: Uint8Array) => {
      const tcp = tcpHeader({ sport: fromClient ? port : serverPort, dport: fromClient ? serverPort : port, seq, ack, flags, ...(payload ? { payload } : {}) });
      frames.push(ethernet(0x0800, ipv4(fromClient ? '198.18.0.1' : '198.19.0.1', fromClient ? '198.19.0.1' : '198.18.0.1', 6, tcp)));
    };
    packet(true, cseq++, 0, 'S');
    packet(false, sseq++, cseq, 'SA');
    for (const [who, line] of lines) {
      const bytes = new TextEncoder().encode(line);
      if (who === 'out') {
        packet(true, cseq, sseq, 'PA', bytes);
        cseq += bytes.length;
      } else {
        packet(false, sseq, cseq, 'PA', bytes);
        sseq += bytes.length;
      }
    }
    packet(true, cseq, sseq, 'FA');
    packet(false, sseq, cseq + 1, 'FA');
    return frames;
  }

  it('counts them per protocol in the summary (text and --json), each with its bytes; quiet non-IM traffic is not counted', async () => {
    const talking = connection(40001, 6667, [
      ['out', 'NICK alice\r\nUSER alice 0 * :Alice\r\n'],
      ['in', ':irc.example 001 alice :Welcome\r\n'],
    ]);
    const silent = connection(40002, 6667, [
      ['out', 'PING :irc.example\r\n'],
      ['in', ':irc.example PONG irc.example :irc.example\r\n'],
    ]);
    const other = connection(40003, 9, [['out', 'nothing for any plugin\r\n']]);
    const frames = [...talking, ...silent, ...other];
    const file = path.join(dir, 'silent.pcap');
    await writeFile(
      file,
      pcapFile(
        { linkType: 1 },
        frames.map((data, i) => ({ seconds: 1_700_000_000 + i, fraction: 0, data })),
      ),
    );

    const json = await replay([file, '--json'], dir);
    expect(json.code, json.stderr).toBe(0);
    const { events, summary } = parseJsonLines(json.stdout) as JsonOutput & { summary: { silentByProtocol: unknown } };
    expect(events.map((e) => e['type'])).toEqual(['login']);
    const silentBytes = 'PING :irc.example\r\n'.length + ':irc.example PONG irc.example :irc.example\r\n'.length;
    expect(summary.silentByProtocol).toEqual({ irc: { connections: 1, bytes: silentBytes, ids: [1] } });
    expect(summary.connections.map((c) => (c as unknown as { silent: boolean }).silent)).toEqual([false, true, false]);

    const text = await replay([file], dir);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`  IM without events:       irc 1 (connection 1; ${silentBytes} bytes)`);
    expect(text.stdout).toContain(`connection 1 (198.18.0.1:40002 -> 198.19.0.1:6667, irc): ${silentBytes} bytes of irc traffic gave no events`);
    expect(text.stdout).not.toMatch(/connection [02] \(.*gave no events/);
  });
});
