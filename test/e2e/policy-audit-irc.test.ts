/**
 * Policy and audit truth end to end: a real ngircd, real IRC clients (irc-framework), `imspect start` with the
 * ACL, bad-word and policy filters, the monitoring notice on, CSV and SQLite archives. bob and carol both go
 * through imspect; dave connects directly and watches.
 *
 * - The ACL says carol may not talk with bob. bob's message to carol is stopped at bob's side (judged as
 *   carol's connection would judge it): carol never gets it, bob is told in the query with carol, and every
 *   archive row about it says filtered (no "delivered" row at bob and filtered row at carol).
 * - The blocked reply names what was stopped and why, in the conversation (the channel, the query), and hostile
 *   text in it (CTCP \x01, a long line) cannot turn it into a CTCP or break the line.
 * - The monitoring notice reaches each client of a user (another machine), once.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../support/cli-run.js';
import { readCsvLogs } from '../support/csv-logs.js';
import { describeWithService, findExecutable } from '../support/e2e.js';
import { startImspect, type RunningImspect } from '../support/imspect-process.js';
import { IRC, waitFor, type IrcClient } from '../support/irc-client.js';
import { startNgircd, type RunningNgircd } from '../support/ngircd.js';
import { startTcpRelay, type TcpRelay } from '../support/tcp-relay.js';

interface Notice {
  nick: string;
  target: string;
  message: string;
  fromServer: boolean;
}

interface Seen {
  client: IrcClient;
  messages: string[];
  notices: Notice[];
  ctcpResponses: string[];
}

const ngircdPath = findExecutable('ngircd');
const CHANNEL = '#audit';
const NOTICE = 'Your activities are being logged';
const TO_CAROL = 'hello carol, are you free for lunch today?';

async function connect(nick: string, options: Record<string, unknown>): Promise<Seen> {
  const client = new IRC.Client();
  const seen: Seen = { client, messages: [], notices: [], ctcpResponses: [] };
  client.on('privmsg', (e) => seen.messages.push(String(e['message'])));
  client.on('notice', (e) => seen.notices.push({ nick: String(e['nick']), target: String(e['target']), message: String(e['message']), fromServer: e['from_server'] === true }));
  client.on('ctcp response', (e) => seen.ctcpResponses.push(String(e['message'])));
  const registered = waitFor(client, 'registered', () => true, `${nick} to register`);
  client.connect({ nick, username: nick, gecos: `${nick} test`, auto_reconnect: false, ping_interval: 0, ...options });
  await registered;
  return seen;
}

/** Quits and waits until the connection is closed (imspect has seen the end of it). */
async function quit(seen: Seen | undefined): Promise<void> {
  if (!seen) return;
  const closed = waitFor(seen.client, 'close', () => true, 'the connection to close', 5_000);
  seen.client.quit('bye');
  await closed;
}

describeWithService('policy and audit truth through imspect (ngircd + irc-framework)', ngircdPath ? undefined : 'ngircd is not installed (apt-get install ngircd)', () => {
  let ngircd: RunningNgircd;
  let dir: string;
  let proxy: RunningImspect | undefined;
  let socks: { host: string; port: number };
  /** A second machine: connections from 127.0.0.2 to imspect's SOCKS listener. */
  let otherMachine: TcpRelay;
  let bob: Seen | undefined;
  let carol: Seen | undefined;
  let dave: Seen;

  beforeAll(async () => {
    ngircd = await startNgircd(ngircdPath!);
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-e2e-audit-'));
    await writeFile(path.join(dir, 'acl.txt'), '# carol may not talk with bob\ndeny carol bob\nallow all\n');
    await writeFile(path.join(dir, 'words.txt'), 'darn\nheck\n');
    await writeFile(path.join(dir, 'policy.yaml'), 'block:\n  file: true\n');
    await writeFile(
      path.join(dir, 'imspect.config.json'),
      JSON.stringify({
        dataDir: 'data',
        listeners: [{ type: 'socks5', host: '127.0.0.1', port: 0 }],
        ports: { [String(ngircd.port)]: 'irc' },
        plugins: {
          'filter-acl': { options: { file: 'acl.txt' } },
          'filter-badwords': { options: { file: 'words.txt', blockCount: 2 } },
          'filter-policy': { options: { file: 'policy.yaml' } },
        },
        responses: { blocked: { rateLimitSeconds: 0 }, notice: { enabled: true, everyDays: 7 } },
        log: { level: 'info', format: 'json' },
      }),
    );
    proxy = await startImspect([], { cwd: dir });
    const url = new URL(/listening: (\S+)/.exec(proxy.stdout())![1]!);
    socks = { host: url.hostname, port: Number(url.port) };
    otherMachine = await startTcpRelay(socks, { localAddress: '127.0.0.2' });
    dave = await connect('dave', { host: '127.0.0.1', port: ngircd.port });
    const joined = waitFor(dave.client, 'join', (e) => e['nick'] === 'dave', 'dave to join');
    dave.client.join(CHANNEL);
    await joined;
    carol = await connect('carol', { host: '127.0.0.1', port: ngircd.port, socks });
  });

  afterAll(async () => {
    for (const seen of [bob, carol, dave]) seen?.client.quit('bye');
    await new Promise((r) => setTimeout(r, 200));
    await otherMachine?.close();
    await proxy?.stop();
    await ngircd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** bob says `text` to dave and waits until dave has it: everything bob sent before went through too. */
  async function bobSentinel(text: string): Promise<void> {
    const arrived = waitFor(dave.client, 'privmsg', (e) => e['message'] === text, `"${text}" at dave`);
    bob!.client.say('dave', text);
    await arrived;
  }

  it('the monitoring notice reaches each of bob’s clients once: a second machine is told too', async () => {
    const noticed = (seen: Seen) => seen.notices.filter((n) => n.message === NOTICE).length;
    bob = await connect('bob', { host: '127.0.0.1', port: ngircd.port, socks });
    await bobSentinel('bob on his laptop');
    expect(noticed(bob)).toBe(1);
    await quit(bob);

    // The same user from another machine: that client has never seen the notice.
    bob = await connect('bob', { host: '127.0.0.1', port: ngircd.port, socks: { host: '127.0.0.1', port: otherMachine.port } });
    await bobSentinel('bob on his desktop');
    expect(noticed(bob)).toBe(1);
    await quit(bob);

    // Each machine once: neither is told again.
    for (const via of [{ host: '127.0.0.1', port: otherMachine.port }, socks]) {
      bob = await connect('bob', { host: '127.0.0.1', port: ngircd.port, socks: via });
      await bobSentinel(`bob back through ${via.port}`);
      expect(noticed(bob)).toBe(0);
      if (via !== socks) await quit(bob);
    }
  });

  it('the ACL denies carol talking with bob: bob’s message to carol is stopped at bob, who is told in the query with carol', async () => {
    const reply = waitFor(bob!.client, 'notice', (e) => String(e['message']).includes('hello carol'), 'the blocked reply to bob');
    bob!.client.say('carol', TO_CAROL);
    const notice = await reply;
    expect([notice['nick'], notice['target'], notice['message'], notice['from_server']]).toEqual([
      'carol',
      'bob',
      `Blocked (acl): message "${TO_CAROL.slice(0, 40)}…" to carol`,
      false,
    ]);
    // carol's own message to bob is stopped at carol, who is told likewise.
    const carolReply = waitFor(carol!.client, 'notice', (e) => String(e['message']).includes('carol to bob'), 'the blocked reply to carol');
    carol!.client.say('bob', 'carol to bob');
    expect((await carolReply)['nick']).toBe('bob');
    await bobSentinel('after the denied message');
    const fromDave = waitFor(carol!.client, 'privmsg', (e) => e['message'] === 'dave to carol', 'dave to carol');
    dave.client.say('carol', 'dave to carol');
    await fromDave;
    expect(carol!.messages).toEqual(['dave to carol']);
    expect(bob!.messages).toEqual([]);
  });

  it('the reply names what was stopped and why, in the channel it was said in; CTCP and long text in it stay text', async () => {
    const joined = waitFor(dave.client, 'join', (e) => e['nick'] === 'bob', 'bob to join');
    bob!.client.join(CHANNEL);
    await joined;
    const inChannel = (part: string) =>
      waitFor(bob!.client, 'notice', (e) => e['target'] === CHANNEL && String(e['message']).includes(part), `the reply in ${CHANNEL} about "${part}"`);
    let reply = inChannel('darn');
    bob!.client.say(CHANNEL, 'darn \x01VERSION\x01 and heck');
    let notice = await reply;
    expect([notice['nick'], notice['message']]).toEqual(['imspect', `Blocked (2 badwords): message "darn VERSION and heck" to ${CHANNEL}`]);

    reply = inChannel('waves');
    bob!.client.action(CHANNEL, `waves, darn it, ${'x'.repeat(60)} heck`);
    notice = await reply;
    expect(notice['message']).toBe(`Blocked (2 badwords): message "waves, darn it, ${'x'.repeat(24)}…" to ${CHANNEL}`);

    reply = waitFor(bob!.client, 'notice', (e) => String(e['message']).includes('report.pdf'), 'the reply about the file');
    bob!.client.ctcpRequest('dave', 'DCC', 'SEND', 'report.pdf', '2130706433', '5001', '12345');
    notice = await reply;
    expect([notice['nick'], notice['target'], notice['message']]).toEqual(['dave', 'bob', 'Blocked (policy file): file "report.pdf" to dave']);
    await bobSentinel('after the blocked lines');
    expect(dave.messages.filter((m) => /darn|heck|waves/.test(m))).toEqual([]);
    expect(bob!.ctcpResponses).toEqual([]);
    expect(bob!.notices.every((n) => !n.fromServer || n.message === NOTICE)).toBe(true);
  });

  it('the archive agrees: every row about the denied messages says filtered, in the CSV files and in SQLite', async () => {
    for (const seen of [bob, carol]) await quit(seen);
    bob = carol = undefined;
    expect(await proxy!.stop()).toBe(0);
    proxy = undefined;
    const csv = (await readCsvLogs(path.join(dir, 'data', 'logs'))).filter((r) => r.type === 1);
    const about = (text: string) => csv.filter((r) => r.text === text).map((r) => [r.localDir, r.remoteDir, r.outgoing, r.filtered, r.categories]);
    expect(about(TO_CAROL)).toEqual([['bob', 'carol', true, true, 'acl']]);
    expect(about('carol to bob')).toEqual([['carol', 'bob', true, true, 'acl']]);
    expect(about('dave to carol')).toEqual([['carol', 'dave', false, false, '']]);

    const search = await runCli(['logs', 'search', '--protocol', 'irc', '--limit', '0', '--json'], dir);
    expect(search.code, search.stderr).toBe(0);
    const rows = (
      JSON.parse(search.stdout) as { messages: Array<{ text?: string; localId: string; remoteId: string; direction: string; filtered: boolean; categories: string[] | string }> }
    ).messages;
    const sql = (text: string) => rows.filter((m) => m.text === text).map((m) => [m.localId, m.remoteId, m.direction, m.filtered]);
    expect(sql(TO_CAROL)).toEqual([['bob', 'carol', 'outgoing', true]]);
    expect(sql('carol to bob')).toEqual([['carol', 'bob', 'outgoing', true]]);

    // The notice state: one entry per client of bob (the two machines), one for carol.
    const state = JSON.parse(await readFile(path.join(dir, 'data', 'state', 'monitoring-notice.json'), 'utf8')) as { sent: Record<string, number> };
    expect(Object.keys(state.sent).sort()).toEqual(['irc\u0000bob\u0000address 127.0.0.1', 'irc\u0000bob\u0000address 127.0.0.2', 'irc\u0000carol\u0000address 127.0.0.1']);
  });
});
