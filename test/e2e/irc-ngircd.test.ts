/**
 * End to end: a real ngircd, two real IRC clients (irc-framework), imspect started as a user starts it.
 * alice goes through imspect (SOCKS5 in one run, a forward listener in the other); bob connects directly.
 * Everything alice says and receives must land in the CSV log with the right ids, direction and type.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readCsvLogs, type CsvLogRow } from '../support/csv-logs.js';
import { describeWithService, findExecutable } from '../support/e2e.js';
import { startImspect, type RunningImspect } from '../support/imspect-process.js';
import { IRC, waitFor, type IrcClient } from '../support/irc-client.js';
import { startNgircd, type RunningNgircd } from '../support/ngircd.js';

const ngircdPath = findExecutable('ngircd');
const CHANNEL = '#imspect';
const UNICODE = 'héllo wörld ✓ 你好';

async function connectClient(nick: string, options: Record<string, unknown>): Promise<IrcClient> {
  const client = new IRC.Client();
  const registered = waitFor(client, 'registered', () => true, `${nick} to register`);
  client.connect({ nick, username: nick, gecos: `${nick} test`, auto_reconnect: false, ping_interval: 0, ...options });
  await registered;
  return client;
}

async function runConversation(via: Record<string, unknown>, ircPort: number): Promise<void> {
  const bob = await connectClient('bob', { host: '127.0.0.1', port: ircPort });
  const alice = await connectClient('alice', via);
  try {
    const bobJoined = waitFor(bob, 'join', (e) => e['nick'] === 'bob', 'bob to join');
    bob.join(CHANNEL);
    await bobJoined;
    const aliceJoinSeen = waitFor(bob, 'join', (e) => e['nick'] === 'alice', 'alice to join');
    alice.join(CHANNEL);
    await aliceJoinSeen;

    const said = (client: IrcClient, event: string, text: string) => waitFor(client, event, (e) => e['message'] === text, `"${text}"`);
    let seen = said(bob, 'privmsg', `channel hello ${UNICODE}`);
    alice.say(CHANNEL, `channel hello ${UNICODE}`);
    await seen;
    seen = said(alice, 'privmsg', 'hi from bob');
    bob.say(CHANNEL, 'hi from bob');
    await seen;
    seen = said(bob, 'privmsg', 'private hello');
    alice.say('bob', 'private hello');
    await seen;
    seen = said(alice, 'privmsg', 'private reply');
    bob.say('alice', 'private reply');
    await seen;
    seen = said(bob, 'action', 'waves at everyone');
    alice.action(CHANNEL, 'waves at everyone');
    await seen;
    seen = said(bob, 'notice', 'a notice for bob');
    alice.notice('bob', 'a notice for bob');
    await seen;
    seen = said(alice, 'notice', 'a notice back');
    bob.notice('alice', 'a notice back');
    await seen;
    const offer = waitFor(bob, 'ctcp request', (e) => e['type'] === 'DCC', 'the DCC offer');
    alice.ctcpRequest('bob', 'DCC', 'SEND', '"annual report.pdf"', '2130706433', '5001', '12345');
    await offer;
    // Both must have seen the rename: alice's own copy crosses imspect, which learns the new nick from it.
    const renamed = Promise.all([
      waitFor(bob, 'nick', (e) => e['new_nick'] === 'alicia', 'bob to see the nick change'),
      waitFor(alice, 'nick', (e) => e['new_nick'] === 'alicia', 'alice to see her nick change'),
    ]);
    alice.changeNick('alicia');
    await renamed;
    seen = said(bob, 'privmsg', 'after the rename');
    alice.say(CHANNEL, 'after the rename');
    await seen;
    seen = said(alice, 'privmsg', 'welcome alicia');
    bob.say('alicia', 'welcome alicia');
    await seen;
  } finally {
    const gone = waitFor(bob, 'quit', (e) => e['nick'] === 'alicia', 'alicia to quit').catch(() => undefined);
    alice.quit('bye');
    await gone;
    bob.quit('bye');
    await new Promise((r) => setTimeout(r, 200));
  }
}

function expectRow(rows: CsvLogRow[], want: Partial<CsvLogRow>, label: string): CsvLogRow {
  const matches = rows.filter((row) => Object.entries(want).every(([k, v]) => row[k as keyof CsvLogRow] === v));
  expect(matches, `${label}: exactly one row matching ${JSON.stringify(want)}\nrows: ${JSON.stringify(rows, null, 1)}`).toHaveLength(1);
  return matches[0]!;
}

function checkLog(rows: CsvLogRow[], started: number, ircPort: number): void {
  const now = Math.floor(Date.now() / 1000);
  for (const row of rows) {
    expect(row.protocol).toBe('irc');
    expect(row.unixTime).toBeGreaterThanOrEqual(Math.floor(started / 1000));
    expect(row.unixTime).toBeLessThanOrEqual(now);
    expect(row.client).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(row.server).toBe(`127.0.0.1:${ircPort}`);
    expect(row.eventId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
  }
  const messages = rows.filter((r) => r.type === 1);
  const base = { protocol: 'irc', type: 1, filtered: false };
  expectRow(messages, { ...base, localDir: 'alice', remoteDir: CHANNEL, outgoing: true, text: `channel hello ${UNICODE}`, subtype: '' }, 'channel message out');
  expectRow(messages, { ...base, localDir: 'alice', remoteDir: CHANNEL, outgoing: false, text: 'hi from bob' }, 'channel message in');
  expectRow(messages, { ...base, localDir: 'alice', remoteDir: 'bob', outgoing: true, text: 'private hello' }, 'private message out');
  expectRow(messages, { ...base, localDir: 'alice', remoteDir: 'bob', outgoing: false, text: 'private reply' }, 'private message in');
  expectRow(messages, { ...base, localDir: 'alice', remoteDir: CHANNEL, outgoing: true, text: 'waves at everyone', subtype: 'action' }, 'action');
  expectRow(messages, { ...base, localDir: 'alice', remoteDir: 'bob', outgoing: true, text: 'a notice for bob', subtype: 'notice' }, 'notice out');
  expectRow(messages, { ...base, localDir: 'alice', remoteDir: 'bob', outgoing: false, text: 'a notice back', subtype: 'notice' }, 'notice in');
  // After the rename alice is still alice (one identity per connection): the current nick is in the data, and
  // the change itself is an `other`/`nick` event filed under the new name.
  expectRow(messages, { ...base, localDir: 'alice', remoteDir: CHANNEL, outgoing: true, text: 'after the rename', data: 'nick=alicia' }, 'message after NICK');
  expectRow(messages, { ...base, localDir: 'alice', remoteDir: 'bob', outgoing: false, text: 'welcome alicia', data: 'nick=alicia' }, 'message to the new nick');
  expectRow(rows, { type: 11, subtype: 'nick', localDir: 'alice', remoteDir: 'alicia', data: 'nick=alicia previous=alice' }, 'the nick change');
  const file = expectRow(rows, { type: 2, localDir: 'alice', remoteDir: 'bob', outgoing: true, subtype: 'dcc-send' }, 'DCC SEND offer');
  expect(file.eventData).toBe('annual report.pdf 12345');
  // Only alice's connection passes through imspect: bob's own messages to others never appear, and nothing twice.
  expect(messages.filter((m) => m.text === 'hi from bob')).toHaveLength(1);
  expect(new Set(rows.map((r) => r.eventId)).size).toBe(rows.length);
  expect(rows.every((r) => r.localDir === 'alice' && r.networkDir === '127.0.0.1')).toBe(true);
}

describeWithService('IRC end to end through imspect (ngircd + irc-framework)', ngircdPath ? undefined : 'ngircd is not installed (apt-get install ngircd)', () => {
  let ngircd: RunningNgircd;
  let work: string;

  beforeAll(async () => {
    ngircd = await startNgircd(ngircdPath!);
    work = await mkdtemp(path.join(os.tmpdir(), 'imspect-e2e-irc-'));
  });

  afterAll(async () => {
    await ngircd?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function run(name: string, listener: Record<string, unknown>, via: (url: URL) => Record<string, unknown>): Promise<CsvLogRow[]> {
    const dir = path.join(work, name);
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dir);
    await writeFile(
      path.join(dir, 'imspect.config.json'),
      JSON.stringify({ dataDir: 'data', listeners: [listener], ports: { [String(ngircd.port)]: 'irc' }, log: { level: 'info', format: 'json' } }, null, 2),
    );
    const started = Date.now();
    let proxy: RunningImspect | undefined = await startImspect([], { cwd: dir });
    try {
      const url = new URL(/listening: (\S+)/.exec(proxy.stdout())![1]!);
      await runConversation(via(url), ngircd.port);
      const code = await proxy.stop();
      expect(code, proxy.stderr()).toBe(0);
      proxy = undefined;
      expect(proxy).toBeUndefined();
      return (await readCsvLogs(path.join(dir, 'data', 'logs'))).map((row) => ({ ...row })) as CsvLogRow[] & { started?: number };
    } finally {
      await proxy?.stop();
    }
    void started;
  }

  it('logs every event kind over a SOCKS5 listener', async () => {
    const started = Date.now();
    const rows = await run('socks', { type: 'socks5', host: '127.0.0.1', port: 0 }, (url) => ({
      host: '127.0.0.1',
      port: ngircd.port,
      socks: { host: url.hostname, port: Number(url.port) },
    }));
    checkLog(rows, started, ngircd.port);
  });

  it('logs every event kind over a forward listener', async () => {
    const started = Date.now();
    const rows = await run('forward', { type: 'forward', host: '127.0.0.1', port: 0, upstream: { host: '127.0.0.1', port: ngircd.port } }, (url) => ({
      host: url.hostname,
      port: Number(url.port),
    }));
    checkLog(rows, started, ngircd.port);
  });
});
