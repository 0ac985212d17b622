/**
 * Policy end to end: a real ngircd, real IRC clients (irc-framework), `imspect start` with the bad-word, ACL and
 * policy filters and the monitoring notice on. alice goes through imspect; bob and carol connect directly.
 * The receiving client never sees a blocked message, sees bad words masked; alice gets the blocked reply and
 * the monitoring notice exactly once (across reconnects and a restart); word list, ACL and policy changes apply
 * without a restart (file watch and SIGHUP), and a broken file keeps the last good one in force.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readCsvLogs, type CsvLogRow } from '../support/csv-logs.js';
import { describeWithService, findExecutable } from '../support/e2e.js';
import { startImspect, type RunningImspect } from '../support/imspect-process.js';
import { IRC, waitFor, type IrcClient } from '../support/irc-client.js';
import { startNgircd, type RunningNgircd } from '../support/ngircd.js';

interface Seen {
  client: IrcClient;
  /** Every PRIVMSG text, CTCP request and NOTICE text this client received, in order. */
  messages: string[];
  notices: string[];
  ctcp: string[];
}

const ngircdPath = findExecutable('ngircd');
const CHANNEL = '#policy';
/** A channel the ACL keeps alice out of: bob is in it and must never see her join. */
const SECRET = '#secret';
const NOTICE = 'Your activities are being logged';
/** The default blocked reply names what was stopped and the filters' categories. */
const BLOCKED = (category: string, what: string) => `Blocked (${category}): ${what}`;
const LEGAL = 'By using this network you accept that your conversations are archived under the acceptable use policy, section 4.2.';

async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function connectClient(nick: string, options: Record<string, unknown>): Promise<Seen> {
  const client = new IRC.Client();
  const seen: Seen = { client, messages: [], notices: [], ctcp: [] };
  client.on('privmsg', (e) => seen.messages.push(String(e['message'])));
  client.on('notice', (e) => seen.notices.push(String(e['message'])));
  client.on('ctcp request', (e) => seen.ctcp.push(String(e['type'])));
  const registered = waitFor(client, 'registered', () => true, `${nick} to register`);
  client.connect({ nick, username: nick, gecos: `${nick} test`, auto_reconnect: false, ping_interval: 0, ...options });
  await registered;
  return seen;
}

async function quit(seen: Seen | undefined, watcher?: Seen, nick?: string): Promise<void> {
  if (!seen) return;
  const gone = watcher && nick ? waitFor(watcher.client, 'quit', (e) => e['nick'] === nick, `${nick} to quit`, 3_000).catch(() => undefined) : undefined;
  seen.client.quit('bye');
  await (gone ?? new Promise<unknown>((r) => setTimeout(r, 200)));
}

describeWithService('policy end to end through imspect (ngircd + irc-framework)', ngircdPath ? undefined : 'ngircd is not installed (apt-get install ngircd)', () => {
  let ngircd: RunningNgircd;
  let dir: string;
  let proxy: RunningImspect | undefined;
  let socks: { host: string; port: number };
  let alice: Seen | undefined;
  let bob: Seen;
  let carol: Seen;
  const noticeCount = () => alice!.notices.filter((n) => n === NOTICE).length;

  async function start(): Promise<void> {
    proxy = await startImspect([], { cwd: dir });
    const url = new URL(/listening: (\S+)/.exec(proxy.stdout())![1]!);
    socks = { host: url.hostname, port: Number(url.port) };
  }

  async function connectAlice(): Promise<Seen> {
    alice = await connectClient('alice', { host: '127.0.0.1', port: ngircd.port, socks });
    return alice;
  }

  /** alice says `text` to `target`, then `sentinel` to bob; resolves once bob got the sentinel. */
  async function sayThenSentinel(target: string, text: string, sentinel: string): Promise<void> {
    const arrived = waitFor(bob.client, 'privmsg', (e) => e['message'] === sentinel, `"${sentinel}"`);
    alice!.client.say(target, text);
    alice!.client.say('bob', sentinel);
    await arrived;
  }

  beforeAll(async () => {
    ngircd = await startNgircd(ngircdPath!);
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-e2e-policy-'));
    await writeFile(path.join(dir, 'words.txt'), '# bad words\ndarn\nheck\n坏蛋\n');
    await writeFile(path.join(dir, 'acl.txt'), `deny alice carol ${SECRET}\nallow all\n`);
    await writeFile(path.join(dir, 'notice.txt'), `${NOTICE}\n${LEGAL}\n`);
    await writeFile(path.join(dir, 'policy.yaml'), 'block:\n  file: true\nusers:\n  dave: { protocols: [jabber] }\n');
    await writeFile(
      path.join(dir, 'imspect.config.json'),
      JSON.stringify(
        {
          dataDir: 'data',
          listeners: [{ type: 'socks5', host: '127.0.0.1', port: 0 }],
          ports: { [String(ngircd.port)]: 'irc' },
          plugins: {
            'filter-badwords': { options: { file: 'words.txt', blockCount: 2 } },
            'filter-acl': { options: { file: 'acl.txt' } },
            'filter-policy': { options: { file: 'policy.yaml' } },
          },
          responses: { blocked: { rateLimitSeconds: 0 }, notice: { enabled: true, everyDays: 7, file: 'notice.txt' } },
          log: { level: 'info', format: 'json' },
        },
        null,
        2,
      ),
    );
    bob = await connectClient('bob', { host: '127.0.0.1', port: ngircd.port });
    carol = await connectClient('carol', { host: '127.0.0.1', port: ngircd.port });
    const joined = waitFor(bob.client, 'join', (e) => e['nick'] === 'bob', 'bob to join');
    bob.client.join(CHANNEL);
    await joined;
    const joinedSecret = waitFor(bob.client, 'join', (e) => e['nick'] === 'bob' && e['channel'] === SECRET, 'bob to join the secret channel');
    bob.client.join(SECRET);
    await joinedSecret;
    await start();
  });

  afterAll(async () => {
    await quit(alice);
    await quit(bob);
    await quit(carol);
    await proxy?.stop();
    await ngircd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('tells alice once that she is monitored, when she logs in', async () => {
    await connectAlice();
    await until(() => noticeCount() === 1 && alice!.notices.includes(LEGAL), 'the monitoring notice, both lines');
    expect(alice!.notices.indexOf(LEGAL)).toBe(alice!.notices.indexOf(NOTICE) + 1);
    const seen = waitFor(bob.client, 'join', (e) => e['nick'] === 'alice', 'alice to join');
    alice!.client.join(CHANNEL);
    await seen;
  });

  it('masks bad words (any script) and blocks a message with two of them; alice gets the reply', async () => {
    let arrived = waitFor(bob.client, 'privmsg', (e) => e['message'] === 'oh **** it', 'the masked message');
    alice!.client.say(CHANNEL, 'oh DARN it');
    await arrived;
    arrived = waitFor(bob.client, 'privmsg', (e) => e['message'] === '你好** friend', 'the masked Chinese word');
    alice!.client.say(CHANNEL, '你好坏蛋 friend');
    await arrived;
    arrived = waitFor(bob.client, 'action', (e) => e['message'] === 'waves, **** it', 'the masked action');
    alice!.client.action(CHANNEL, 'waves, darn it');
    await arrived;

    const reply = waitFor(alice!.client, 'notice', (e) => e['message'] === BLOCKED('2 badwords', `message "darn and heck" to ${CHANNEL}`), 'the blocked reply');
    await sayThenSentinel(CHANNEL, 'darn and heck', 'sentinel one');
    await reply;
    expect(bob.messages.filter((m) => /heck|darn/i.test(m))).toEqual([]);
    expect(bob.messages).toContain('oh **** it');
    expect(noticeCount()).toBe(1); // once, however much alice says
  });

  it('the ACL keeps alice from talking to carol; the file policy blocks her DCC file offer', async () => {
    let reply = waitFor(alice!.client, 'notice', (e) => e['message'] === BLOCKED('acl', 'message "hello carol" to carol'), 'the ACL reply');
    alice!.client.say('carol', 'hello carol');
    await reply;
    const fromBob = waitFor(carol.client, 'privmsg', (e) => e['message'] === 'bob to carol', 'bob to carol');
    bob.client.say('carol', 'bob to carol');
    await fromBob;
    expect(carol.messages).toEqual(['bob to carol']);

    reply = waitFor(alice!.client, 'notice', (e) => e['message'] === BLOCKED('policy file', 'file "report.pdf" to bob'), 'the file reply');
    const sentinel = waitFor(bob.client, 'privmsg', (e) => e['message'] === 'after the offer', 'the sentinel after the offer');
    alice!.client.ctcpRequest('bob', 'DCC', 'SEND', 'report.pdf', '2130706433', '5001', '12345');
    alice!.client.say('bob', 'after the offer');
    await reply;
    await sentinel;
    expect(bob.ctcp).toEqual([]);
  });

  it('the ACL stops alice joining a denied channel before ngircd sees it: its members never see her join', async () => {
    const joinsSeen: string[] = [];
    const watch = (e: Record<string, unknown>) => {
      if (e['nick'] === 'alice') joinsSeen.push(String(e['channel']));
    };
    bob.client.on('join', watch);
    try {
      const reply = waitFor(alice!.client, 'notice', (e) => e['message'] === BLOCKED('acl', `join ${SECRET}`), 'the reply to the denied join');
      alice!.client.join(SECRET);
      await reply;
      // A sentinel through the same connection: had the JOIN gone out, ngircd would have shown it to bob first.
      await sayThenSentinel(CHANNEL, 'after the denied join', 'sentinel after the join');
      expect(joinsSeen).toEqual([]);
    } finally {
      bob.client.off('join', watch);
    }
  });

  it('applies a changed word list without a restart; a broken ACL is reported and the last good one stays', async () => {
    await writeFile(path.join(dir, 'words.txt'), '# bad words\ndarn\nheck\n坏蛋\nblast\n');
    await until(() => proxy!.stderr().includes('word list reloaded'), 'the word list to reload');
    const arrived = waitFor(bob.client, 'privmsg', (e) => e['message'] === '***** it', 'the newly masked word');
    alice!.client.say(CHANNEL, 'blast it');
    await arrived;

    await writeFile(path.join(dir, 'acl.txt'), 'deny alice carol\nrefuse everything\n');
    await until(() => /ACL .*acl\.txt is invalid \(line 2/.test(proxy!.stderr()), 'the ACL error');
    const reply = waitFor(alice!.client, 'notice', (e) => e['message'] === BLOCKED('acl', 'message "still denied" to carol'), 'the ACL reply');
    alice!.client.say('carol', 'still denied');
    await reply;

    // SIGHUP re-reads everything at once: carol is allowed now, and the configuration's reply text changed.
    await writeFile(path.join(dir, 'acl.txt'), 'deny alice dave\n');
    const configFile = path.join(dir, 'imspect.config.json');
    const config = JSON.parse(await readFile(configFile, 'utf8')) as {
      responses: { blocked: Record<string, unknown> };
      plugins: Record<string, { options: Record<string, unknown> }>;
    };
    config.responses.blocked['text'] = 'Blocked by the office policy';
    config.plugins['filter-badwords']!.options['replaceCharacter'] = '#';
    await writeFile(configFile, JSON.stringify(config));
    const hupsBefore = proxy!.stderr().split('"msg":"reloaded"').length;
    proxy!.child.kill('SIGHUP');
    await until(() => proxy!.stderr().split('"msg":"reloaded"').length > hupsBefore, 'the SIGHUP reload');
    const arrivedAtCarol = waitFor(carol.client, 'privmsg', (e) => e['message'] === 'allowed now', 'the allowed message');
    alice!.client.say('carol', 'allowed now');
    await arrivedAtCarol;
    expect(carol.messages).toEqual(['bob to carol', 'allowed now']);
    const newReply = waitFor(alice!.client, 'notice', (e) => e['message'] === 'Blocked by the office policy', 'the new reply text');
    alice!.client.say('dave', 'to dave');
    await newReply;
    // The word list plugin was set up again with its new option; the list itself is still the reloaded one.
    const newMask = waitFor(bob.client, 'privmsg', (e) => e['message'] === '##### again', 'the new replace character');
    alice!.client.say(CHANNEL, 'blast again');
    await newMask;
  });

  it('a user who may not use IRC is told so and disconnected', async () => {
    const dave = new IRC.Client();
    const notices: string[] = [];
    dave.on('notice', (e) => notices.push(String(e['message'])));
    let registered = false;
    dave.on('registered', () => (registered = true));
    const closed = waitFor(dave, 'close', () => true, 'dave to be disconnected');
    dave.connect({ nick: 'dave', username: 'dave', gecos: 'dave', auto_reconnect: false, ping_interval: 0, host: '127.0.0.1', port: ngircd.port, socks });
    await closed;
    expect(notices).toContain('You may not use irc here');
    expect(registered).toBe(false);
    expect(proxy!.stderr()).toMatch(/dave may not use irc/);
  });

  it('does not repeat the notice on a new connection, nor after a restart', async () => {
    await quit(alice, bob, 'alice');
    await connectAlice();
    let arrived = waitFor(bob.client, 'privmsg', (e) => e['message'] === 'back again', 'alice back');
    alice!.client.say('bob', 'back again');
    await arrived;
    expect(noticeCount()).toBe(0);
    await quit(alice, bob, 'alice');
    expect(await proxy!.stop()).toBe(0);
    proxy = undefined;
    const state = JSON.parse(await readFile(path.join(dir, 'data', 'state', 'monitoring-notice.json'), 'utf8')) as { sent: Record<string, number> };
    expect(Object.keys(state.sent)).toEqual(['irc\u0000alice\u0000address 127.0.0.1']); // per client: her machine
    await start();
    await connectAlice();
    arrived = waitFor(bob.client, 'privmsg', (e) => e['message'] === 'after the restart', 'alice after the restart');
    alice!.client.say('bob', 'after the restart');
    await arrived;
    expect(noticeCount()).toBe(0);
    await quit(alice, bob, 'alice');
    alice = undefined;
    expect(await proxy!.stop()).toBe(0);
    proxy = undefined;
  });

  it('logs what alice typed, what was delivered, and every blocked event with filtered set and its categories', async () => {
    const rows = (await readCsvLogs(path.join(dir, 'data', 'logs'))).filter((r) => r.type === 1 || r.type === 2);
    const row = (text: string, type = 1): CsvLogRow => {
      const found = rows.filter((r) => r.text === text && r.type === type && r.outgoing);
      expect(found, `one row for "${text}": ${JSON.stringify(rows, null, 1)}`).toHaveLength(1);
      return found[0]!;
    };
    expect(row('oh DARN it')).toMatchObject({ filtered: false, categories: '1 badwords', deliveredText: 'oh **** it', remoteDir: CHANNEL });
    expect(row('你好坏蛋 friend')).toMatchObject({ filtered: false, categories: '1 badwords', deliveredText: '你好** friend' });
    expect(row('darn and heck')).toMatchObject({ filtered: true, categories: '2 badwords', deliveredText: '' });
    expect(row('hello carol')).toMatchObject({ filtered: true, categories: 'acl', remoteDir: 'carol' });
    expect(row('still denied')).toMatchObject({ filtered: true, categories: 'acl' });
    expect(row('allowed now')).toMatchObject({ filtered: false, categories: '' });
    expect(row('to dave')).toMatchObject({ filtered: true, categories: 'acl', remoteDir: 'dave' });
    expect(row('blast it')).toMatchObject({ filtered: false, deliveredText: '***** it' });
    const joins = (await readCsvLogs(path.join(dir, 'data', 'logs'))).filter((r) => r.localDir === 'alice' && r.type === 7); // 7: join
    // The denied channel: only the request, blocked, so ngircd never confirmed a join.
    expect(joins.filter((r) => r.remoteDir === SECRET).map((r) => [r.outgoing, r.subtype, r.data, r.filtered, r.categories])).toEqual([
      [true, 'request', 'request=1', true, 'acl'],
    ]);
    // An allowed channel: the request going out, then ngircd's confirmation coming back, told apart by the subtype.
    expect(joins.filter((r) => r.remoteDir === CHANNEL).map((r) => [r.outgoing, r.subtype, r.data, r.filtered])).toEqual([
      [true, 'request', 'request=1', false],
      [false, '', '', false],
    ]);
    const offer = rows.filter((r) => r.type === 2);
    expect(offer).toHaveLength(1);
    expect(offer[0]).toMatchObject({ filtered: true, categories: 'policy file', remoteDir: 'bob' });
    const all = await readCsvLogs(path.join(dir, 'data', 'logs'));
    expect(all.filter((r) => r.localDir === 'dave').map((r) => [r.type, r.filtered, r.categories])).toEqual([[5, true, 'policy protocol']]);
  });
});
