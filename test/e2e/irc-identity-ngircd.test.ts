/**
 * End to end: who said what stays true across an IRC nick change and across networks. Two real ngircd servers
 * on two loopback addresses are two networks; three irc-framework clients on the first (alice through imspect,
 * bob directly) and two on the second (another "alice" through imspect, carol directly). alice renames herself
 * mid-conversation: her rows stay under one identity, the change is logged, and `imspect logs search` finds
 * her messages from before and after under either name. The two alices are filed and searched apart.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../support/cli-run.js';
import { readCsvLogs, type CsvLogRow } from '../support/csv-logs.js';
import { describeWithService, findExecutable } from '../support/e2e.js';
import { startImspect, type RunningImspect } from '../support/imspect-process.js';
import { IRC, waitFor, type IrcClient } from '../support/irc-client.js';
import { startNgircd, type RunningNgircd } from '../support/ngircd.js';

const ngircdPath = findExecutable('ngircd');
const CHANNEL = '#identity';

interface Found {
  count: number;
  messages: Array<{
    type: string;
    subtype: string | null;
    text: string | null;
    localId: string;
    remoteId: string;
    network: string | null;
    data: Record<string, string | number | boolean> | null;
  }>;
}

async function connect(nick: string, options: Record<string, unknown>): Promise<IrcClient> {
  const client = new IRC.Client();
  const registered = waitFor(client, 'registered', () => true, `${nick} to register`);
  client.connect({ nick, username: nick, gecos: `${nick} test`, auto_reconnect: false, ping_interval: 0, ...options });
  await registered;
  return client;
}

function said(client: IrcClient, text: string): Promise<unknown> {
  return waitFor(client, 'privmsg', (e) => e['message'] === text, `"${text}"`);
}

describeWithService(
  'IRC identity across nick changes and networks (two ngircd, irc-framework)',
  ngircdPath ? undefined : 'ngircd is not installed (apt-get install ngircd)',
  () => {
    let one: RunningNgircd;
    let two: RunningNgircd;
    let dir: string;
    let proxy: RunningImspect | undefined;
    let rows: CsvLogRow[];

    const search = async (...args: string[]): Promise<Found> => {
      const result = await runCli(['logs', 'search', '--json', '--limit', '0', ...args], dir);
      expect(result.code, result.stderr).toBe(0);
      return JSON.parse(result.stdout) as Found;
    };
    const texts = (found: Found) => found.messages.filter((m) => m.type === 'message').map((m) => m.text);

    beforeAll(async () => {
      one = await startNgircd(ngircdPath!, { host: '127.0.0.1', network: 'NetOne' });
      two = await startNgircd(ngircdPath!, { host: '127.0.0.2', network: 'NetTwo' });
      dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-e2e-identity-'));
      await writeFile(
        path.join(dir, 'imspect.config.json'),
        JSON.stringify({
          dataDir: 'data',
          listeners: [{ type: 'socks5', host: '127.0.0.1', port: 0 }],
          ports: { [String(one.port)]: 'irc', [String(two.port)]: 'irc' },
          loggers: { flushIntervalMs: 20 },
        }),
      );
      proxy = await startImspect([], { cwd: dir });
      const url = new URL(/listening: (\S+)/.exec(proxy.stdout())![1]!);
      const socks = { host: url.hostname, port: Number(url.port) };

      const bob = await connect('bob', { host: one.host, port: one.port });
      const alice = await connect('alice', { host: one.host, port: one.port, socks });
      const carol = await connect('carol', { host: two.host, port: two.port });
      const otherAlice = await connect('alice', { host: two.host, port: two.port, socks });
      try {
        const bobJoined = waitFor(bob, 'join', (e) => e['nick'] === 'bob', 'bob to join');
        bob.join(CHANNEL);
        await bobJoined;
        const aliceJoined = waitFor(bob, 'join', (e) => e['nick'] === 'alice', 'alice to join');
        alice.join(CHANNEL);
        await aliceJoined;

        let seen = said(bob, 'before the change');
        alice.say(CHANNEL, 'before the change');
        await seen;
        seen = said(alice, 'hello alice');
        bob.say('alice', 'hello alice');
        await seen;

        const renamed = Promise.all([
          waitFor(bob, 'nick', (e) => e['new_nick'] === 'alice2', 'bob to see the nick change'),
          waitFor(alice, 'nick', (e) => e['new_nick'] === 'alice2', 'alice to see her nick change'),
        ]);
        alice.changeNick('alice2');
        await renamed;

        seen = said(bob, 'after the change');
        alice.say(CHANNEL, 'after the change');
        await seen;
        seen = said(alice, 'hello alice2');
        bob.say('alice2', 'hello alice2');
        await seen;

        // The same nick on the other network is somebody else.
        seen = said(carol, 'on the second network');
        otherAlice.say('carol', 'on the second network');
        await seen;
        seen = said(otherAlice, 'reply on the second network');
        carol.say('alice', 'reply on the second network');
        await seen;
      } finally {
        const quits = [waitFor(bob, 'quit', (e) => e['nick'] === 'alice2', 'alice2 to quit').catch(() => undefined)];
        alice.quit('bye');
        otherAlice.quit('bye');
        await Promise.all(quits);
        bob.quit('bye');
        carol.quit('bye');
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(await proxy.stop()).toBe(0);
      proxy = undefined;
      rows = await readCsvLogs(path.join(dir, 'data', 'logs'));
    }, 60_000);

    afterAll(async () => {
      await proxy?.stop();
      await one?.stop();
      await two?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('files alice under one identity folder per network in the CSV logs, before and after her nick change', () => {
      const dump = JSON.stringify(rows.map((r) => [r.networkDir, r.localDir, r.remoteDir, r.type, r.text, r.data]));
      const messages = rows.filter((r) => r.type === 1);
      const where = (text: string) => messages.filter((r) => r.text === text).map((r) => [r.networkDir, r.localDir, r.remoteDir, r.data]);
      expect(where('before the change'), dump).toEqual([['127.0.0.1', 'alice', CHANNEL, '']]);
      expect(where('hello alice'), dump).toEqual([['127.0.0.1', 'alice', 'bob', '']]);
      expect(where('after the change'), dump).toEqual([['127.0.0.1', 'alice', CHANNEL, 'nick=alice2']]);
      expect(where('hello alice2'), dump).toEqual([['127.0.0.1', 'alice', 'bob', 'nick=alice2']]);
      expect(where('on the second network'), dump).toEqual([['127.0.0.2', 'alice', 'carol', '']]);
      expect(where('reply on the second network'), dump).toEqual([['127.0.0.2', 'alice', 'carol', '']]);
      // The change links the names: an `other`/`nick` event of alice's, under the new name.
      const links = rows.filter((r) => r.type === 11 && r.subtype === 'nick');
      expect(
        links.map((r) => [r.networkDir, r.localDir, r.remoteDir, r.data]),
        dump,
      ).toEqual([['127.0.0.1', 'alice', 'alice2', 'nick=alice2 previous=alice']]);
      // No row of anyone's is filed under the new nick as a user, nor without a network.
      expect(
        rows.filter((r) => r.localDir !== 'alice' || r.networkDir === ''),
        dump,
      ).toEqual([]);
    });

    it('logs search --user finds alice under her first and her new nick, before and after the change', async () => {
      const first = await search('--user', 'alice', '--network', '127.0.0.1');
      expect(texts(first)).toEqual(['before the change', 'hello alice', 'after the change', 'hello alice2']);
      expect(first.messages.every((m) => m.localId === 'alice' && m.network === '127.0.0.1')).toBe(true);
      expect(first.messages.find((m) => m.subtype === 'nick')).toMatchObject({ type: 'other', remoteId: 'alice2', data: { nick: 'alice2', previous: 'alice' } });
      // Under the new nick: the same person, and not the alice of the other network, who never took that name.
      expect(texts(await search('--user', 'alice2'))).toEqual(['before the change', 'hello alice', 'after the change', 'hello alice2']);
    });

    it('logs search and export filter by network; the same nick on two networks is two users', async () => {
      expect(texts(await search('--user', 'alice'))).toEqual([
        'before the change',
        'hello alice',
        'after the change',
        'hello alice2',
        'on the second network',
        'reply on the second network',
      ]);
      const second = await search('--network', '127.0.0.2');
      expect(texts(second)).toEqual(['on the second network', 'reply on the second network']);
      expect(second.messages.every((m) => m.network === '127.0.0.2')).toBe(true);
      const file = path.join(dir, 'second.jsonl');
      const exported = await runCli(['logs', 'export', '--format', 'jsonl', '--network', '127.0.0.2', '--user', 'alice', '--output', file], dir);
      expect(exported.code, exported.stderr).toBe(0);
      const lines = (await readFile(file, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { text: string | null; network: string; type: string });
      expect(lines.filter((l) => l.type === 'message').map((l) => l.text)).toEqual(['on the second network', 'reply on the second network']);
      expect(new Set(lines.map((l) => l.network))).toEqual(new Set(['127.0.0.2']));
    });
  },
);
