/**
 * The state relay threads keep alike: who is connected (LocalUsers), who logged in from where (IdentityRecords)
 * and the monitoring notices sent (NoticeState). Each thread tells of its own changes; the main thread passes
 * them on to the others, which apply them. Here two threads' copies are wired to each other as the engine and
 * RelayThreads do it, the changes cloned as postMessage would.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IdentityRecords } from '../src/proxy/identity-records.js';
import { LocalUsers, localUserKey } from '../src/proxy/local-users.js';
import { NoticeState } from '../src/proxy/notice-state.js';
import type { SharedChange } from '../src/runtime/thread-messages.js';
import { testEvent } from '../src/testing/index.js';
import { recordingLogger, removeTempDirs, tempDir } from './helpers.js';

afterAll(removeTempDirs);

const SERVER = { host: 'irc.example.net', port: 6667 };

interface ThreadState {
  localUsers: LocalUsers;
  identity: IdentityRecords;
  notices?: NoticeState;
}

/** Two threads' state, each change of one applied to the other (as Engine.applyShared does), through a clone. */
function twoThreads(): [ThreadState, ThreadState] {
  const threads: ThreadState[] = [];
  const share = (from: number) => (change: SharedChange) => {
    const sent = structuredClone(change);
    for (const [i, thread] of threads.entries()) {
      if (i === from) continue;
      if (sent.kind === 'local-user') thread.localUsers.applyMove(sent.from, sent.to);
      else if (sent.kind === 'identity') thread.identity.apply(sent.change, sent.clientIp);
      else thread.notices?.learn(sent.key, sent.at);
    }
  };
  for (const i of [0, 1]) {
    const tell = share(i);
    threads.push({
      localUsers: new LocalUsers((from, to) => tell({ kind: 'local-user', ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) })),
      identity: new IdentityRecords((change, clientIp) => tell({ kind: 'identity', change, clientIp })),
    });
  }
  return threads as [ThreadState, ThreadState];
}

/** A message from alice to bob on SERVER. */
const toBob = testEvent({ localId: 'alice', remoteId: 'bob', server: SERVER });

describe('LocalUsers across threads', () => {
  it('makes a user connected through one thread a local recipient in the other, until they leave', () => {
    const [one, two] = twoThreads();
    const bob = localUserKey('irc', 'bob', SERVER);
    expect(two.localUsers.isLocalRecipient(toBob)).toBe(false);
    let key = one.localUsers.move(undefined, bob);
    expect(one.localUsers.isLocalRecipient(toBob)).toBe(true);
    expect(two.localUsers.isLocalRecipient(toBob)).toBe(true);
    key = one.localUsers.move(key, undefined);
    expect(key).toBeUndefined();
    expect(one.localUsers.isLocalRecipient(toBob)).toBe(false);
    expect(two.localUsers.isLocalRecipient(toBob)).toBe(false);
    expect(two.localUsers.size).toBe(0);
  });

  it('counts connections of one user through both threads: still local while one is open', () => {
    const [one, two] = twoThreads();
    const bob = localUserKey('irc', 'bob', SERVER);
    const first = one.localUsers.move(undefined, bob);
    const second = two.localUsers.move(undefined, bob);
    one.localUsers.move(first, undefined);
    expect(one.localUsers.isLocalRecipient(toBob)).toBe(true);
    expect(two.localUsers.isLocalRecipient(toBob)).toBe(true);
    two.localUsers.move(second, undefined);
    expect(one.localUsers.isLocalRecipient(toBob)).toBe(false);
    expect(two.localUsers.isLocalRecipient(toBob)).toBe(false);
  });

  it('passes a rename on as one change: the old nick leaves, the new one arrives', () => {
    const [one, two] = twoThreads();
    const key = one.localUsers.move(undefined, localUserKey('irc', 'robert', SERVER));
    one.localUsers.move(key, localUserKey('irc', 'bob', SERVER));
    expect(two.localUsers.isLocalRecipient(toBob)).toBe(true);
    expect(two.localUsers.isLocalRecipient(testEvent({ remoteId: 'robert', server: SERVER }))).toBe(false);
    expect(two.localUsers.size).toBe(1);
  });

  it('tells nothing when nothing changes', () => {
    const moves: unknown[] = [];
    const users = new LocalUsers((from, to) => moves.push([from, to]));
    const key = localUserKey('irc', 'bob', SERVER);
    users.move(key, key);
    users.move(undefined, undefined);
    expect(moves).toEqual([]);
    users.applyMove(undefined, key);
    expect(moves).toEqual([]);
  });
});

describe('IdentityRecords across threads', () => {
  it('finds in one thread the login recorded in the other, and forgets it on its logout', () => {
    const [one, two] = twoThreads();
    one.identity.record(testEvent({ type: 'login', protocol: 'msn', localId: 'alice@example.com' }), '192.0.2.7');
    expect(two.identity.localUser('192.0.2.7', 'msn')).toBe('alice@example.com');
    expect(two.identity.localUser('192.0.2.7', 'irc')).toBeUndefined();
    one.identity.record(testEvent({ type: 'logout', protocol: 'msn', localId: 'alice@example.com' }), '192.0.2.7');
    expect(two.identity.localUser('192.0.2.7', 'msn')).toBeUndefined();
  });

  it('keeps the later login of another user when the earlier one logs out in the other thread', () => {
    const [one, two] = twoThreads();
    one.identity.record(testEvent({ type: 'login', protocol: 'msn', localId: 'alice@example.com' }), '192.0.2.7');
    two.identity.record(testEvent({ type: 'login', protocol: 'msn', localId: 'carol@example.com' }), '192.0.2.7');
    one.identity.record(testEvent({ type: 'logout', protocol: 'msn', localId: 'alice@example.com' }), '192.0.2.7');
    expect(one.identity.localUser('192.0.2.7', 'msn')).toBe('carol@example.com');
    expect(two.identity.localUser('192.0.2.7', 'msn')).toBe('carol@example.com');
  });

  it('passes on no message and no login without a user', () => {
    const told: unknown[] = [];
    const identity = new IdentityRecords((change) => told.push(change));
    identity.record(testEvent({ type: 'message' }), '192.0.2.7');
    identity.record(testEvent({ type: 'login', localId: '' }), '192.0.2.7');
    expect(told).toEqual([]);
  });
});

describe('NoticeState shared by a relay thread', () => {
  it('tells the share of each notice sent and never writes the file itself, not even at close', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'state', 'monitoring-notice.json');
    const sent: [string, number][] = [];
    const notices = await NoticeState.open(file, recordingLogger(), { sent: (key, at) => sent.push([key, at]) });
    notices.record('irc\u0000alice\u0000192.0.2.1', 1_000);
    expect(sent).toEqual([['irc\u0000alice\u0000192.0.2.1', 1_000]]);
    expect(notices.lastSent('irc\u0000alice\u0000192.0.2.1')).toBe(1_000);
    // Past the save delay, and closed: still no file.
    await new Promise((r) => setTimeout(r, 700));
    await notices.close();
    await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('reads the file once at open, as the main thread left it', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'state', 'monitoring-notice.json');
    const main = await NoticeState.open(file, recordingLogger());
    main.record('irc\u0000alice\u0000192.0.2.1', 5_000);
    await main.close();
    const thread = await NoticeState.open(file, recordingLogger(), { sent: () => undefined });
    expect(thread.lastSent('irc\u0000alice\u0000192.0.2.1')).toBe(5_000);
  });

  it('learns a notice another thread sent, keeping the later time, without telling it on', async () => {
    const dir = await tempDir();
    const sent: unknown[] = [];
    const notices = await NoticeState.open(path.join(dir, 'notice.json'), recordingLogger(), { sent: (key, at) => sent.push([key, at]) });
    notices.learn('k', 2_000);
    expect(notices.lastSent('k')).toBe(2_000);
    notices.learn('k', 1_000);
    expect(notices.lastSent('k')).toBe(2_000);
    notices.learn('k', 3_000);
    expect(notices.lastSent('k')).toBe(3_000);
    expect(sent).toEqual([]);
  });

  it('wired as the engine does: a notice one thread sends is known to the other and saved by the main thread', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'state', 'monitoring-notice.json');
    const main = await NoticeState.open(file, recordingLogger());
    const threads: NoticeState[] = [];
    // RelayThreads.share: to the other threads, then to the main thread's state (onShare).
    const share = (from: number) => ({
      sent(key: string, at: number) {
        for (const [i, thread] of threads.entries()) if (i !== from) thread.learn(key, at);
        main.record(key, at);
      },
    });
    threads.push(await NoticeState.open(file, recordingLogger(), share(0)), await NoticeState.open(file, recordingLogger(), share(1)));
    threads[0]!.record('irc\u0000alice\u0000192.0.2.1', 7_000);
    expect(threads[1]!.lastSent('irc\u0000alice\u0000192.0.2.1')).toBe(7_000);
    await Promise.all(threads.map((t) => t.close()));
    await main.close();
    const saved = JSON.parse(await readFile(file, 'utf8')) as { sent: Record<string, number> };
    expect(saved.sent).toEqual({ 'irc\u0000alice\u0000192.0.2.1': 7_000 });
  });
});
