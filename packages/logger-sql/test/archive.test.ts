/**
 * The archive on the three backends: schema and migrations, idempotent inserts, Unicode round-trip, search
 * filters and full-text words, and the plugin's hooks (SQLite through its worker thread). PostgreSQL and
 * MariaDB tests run in a database created for the run and dropped after it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImEvent, LoggerHooks, PluginLogger } from '@imspect/sdk';
import { testEvent } from '@imspect/sdk/testing';
import plugin, { MAX_IDENTITIES_PER_NAME, openArchive, resolveTarget, parseTime, toRow, type ArchiveStore, type Database, type SqlTarget } from '../dist/index.js';
import { hostOf, migrationProvider, MIGRATION_TABLE, SqlArchive } from '../dist/archive.js';
import { sql, type Kysely } from 'kysely';
import { createMysqlDatabase, createPostgresDatabase, mysqlMissing, postgresMissing, type TestDatabase } from '../../../test/support/databases.js';
import { describeWithService } from '../../../test/support/e2e.js';

const quiet: PluginLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };

let seq = 0;
const BASE = Date.parse('2026-03-01T10:00:00.000Z');
/** `testEvent` with a fresh id and a later time per call, in a channel on the addresses the search tests expect. */
function event(over: Partial<ImEvent> & { text?: string } = {}): ImEvent {
  seq++;
  return testEvent({
    id: `01900000-0000-7000-8000-${String(seq).padStart(12, '0')}`,
    at: new Date(BASE + seq * 1000).toISOString(),
    remoteId: '#chan',
    client: { ip: '10.0.0.5', port: 40000 },
    server: { host: 'irc.example.org', port: 6667 },
    ...over,
  });
}

const UNICODE = ['emoji 😀👍🏽 family 👨‍👩‍👧', 'CJK 你好世界 こんにちは 안녕하세요', 'RTL שלום مرحبا', 'accents héllo wörld ✓', 'quote \' " \\ % _ end'];

function archiveSuite(kind: string, makeTarget: () => Promise<{ target: SqlTarget; cleanup(): Promise<void> }>) {
  let archive: ArchiveStore;
  let cleanup: () => Promise<void>;
  let target: SqlTarget;

  beforeAll(async () => {
    ({ target, cleanup } = await makeTarget());
    archive = openArchive(target, { inWorker: true });
    await archive.migrate();
  });
  afterAll(async () => {
    await archive?.close();
    await cleanup?.();
  });

  it('migrates once, also from a second client at the same time', async () => {
    const others = [openArchive(target), openArchive(target)];
    await Promise.all(others.map((o) => o.migrate()));
    expect(await others[0]!.count()).toBe(0);
    await Promise.all(others.map((o) => o.close()));
  });

  it('stores a batch once: the same events again (a retried batch) add nothing', async () => {
    const batch = [
      event({ text: 'hello bob' }),
      event({ direction: 'incoming', text: 'hi alice', remoteId: 'bob' }),
      event({ type: 'file', text: undefined, file: { name: 'report 2026.pdf', size: 123456789012 }, remoteId: 'bob' }),
      event({
        protocol: 'xmpp',
        localId: 'carol@example.org',
        remoteId: 'dave@example.org',
        conversation: 'thread-1',
        text: 'the quick brown fox',
        filtered: true,
        categories: ['2 badwords', 'acl'],
      }),
    ];
    expect(await archive.insert(batch)).toBe(4);
    expect(await archive.insert(batch)).toBe(0);
    expect(await archive.insert([batch[0]!, event({ text: 'new one' })])).toBe(1);
    expect(await archive.count()).toBe(5);
  });

  it("keeps every column: IMSpector's and imspect's", async () => {
    const [file] = await archive.search({ text: undefined, user: 'alice', with: 'bob', limit: 0 }).then((r) => r.filter((m) => m.type === 'file'));
    expect(file).toMatchObject({
      protocol: 'irc',
      direction: 'outgoing',
      typeCode: 2,
      localId: 'alice',
      remoteId: 'bob',
      fileName: 'report 2026.pdf',
      fileSize: 123456789012,
      eventData: 'report 2026.pdf 123456789012',
      client: '10.0.0.5:40000',
      server: 'irc.example.org:6667',
      filtered: false,
    });
    expect(file!.timestamp).toBe(Math.floor(Date.parse(file!.at) / 1000));
    const [xmpp] = await archive.search({ protocol: 'xmpp' });
    expect(xmpp).toMatchObject({ conversation: 'thread-1', filtered: true, categories: ['2 badwords', 'acl'], text: 'the quick brown fox' });
  });

  it('round-trips Unicode text and ids exactly (emoji, CJK, RTL, quotes)', async () => {
    const events = UNICODE.map((text, i) => event({ text, localId: `ユーザー${i}`, remoteId: '#canal-ñ-😀', protocol: 'msn' }));
    await archive.insert(events);
    const back = await archive.search({ protocol: 'msn', limit: 0 });
    expect(back.map((m) => m.text)).toEqual(UNICODE);
    expect(back.map((m) => m.localId)).toEqual(events.map((e) => e.localId));
    expect(back.every((m) => m.remoteId === '#canal-ñ-😀')).toBe(true);
    expect((await archive.search({ with: '#canal-ñ-😀', user: 'ユーザー1' })).map((m) => m.text)).toEqual([UNICODE[1]]);
  });

  it('finds words in the text with the full-text index, whatever the script, case-insensitively', async () => {
    const find = async (text: string) => (await archive.search({ text, limit: 0 })).map((m) => m.text);
    expect(await find('quick fox')).toEqual(['the quick brown fox']);
    expect(await find('QUICK')).toEqual(['the quick brown fox']);
    expect(await find('fox quick')).toEqual(['the quick brown fox']);
    expect(await find('quick cat')).toEqual([]);
    expect(await find('你好')).toEqual([UNICODE[1]]);
    expect(await find('世界')).toEqual([UNICODE[1]]);
    expect(await find('😀👍🏽')).toEqual([UNICODE[0]]);
    expect(await find('wörld')).toEqual([UNICODE[3]]);
    expect(await find('שלום')).toEqual([UNICODE[2]]);
    expect(await find('hi')).toEqual(['hi alice']);
    expect(await find('the')).toEqual(['the quick brown fox']);
    // LIKE metacharacters are searched for literally.
    expect(await find('%')).toEqual([UNICODE[4]]);
    expect(await find('_')).toEqual([UNICODE[4]]);
    expect(await find('\\')).toEqual([UNICODE[4]]);
    expect(await find('zzz_not_there')).toEqual([]);
  });

  it('filters by user, peer or conversation, protocol and time, and limits to the newest, oldest first', async () => {
    const t0 = BASE + (seq + 10) * 1000;
    seq += 10;
    const series = Array.from({ length: 6 }, (_, i) => event({ protocol: 'yahoo', localId: 'erin', remoteId: i % 2 ? 'frank' : 'gina', text: `series ${i}` }));
    await archive.insert(series);
    const texts = (r: { text: string | null }[]) => r.map((m) => m.text);
    expect(texts(await archive.search({ user: 'erin' }))).toEqual(series.map((e) => e.text));
    expect(texts(await archive.search({ user: 'erin', with: 'frank' }))).toEqual(['series 1', 'series 3', 'series 5']);
    expect(texts(await archive.search({ user: 'erin', limit: 2 }))).toEqual(['series 4', 'series 5']);
    expect(texts(await archive.search({ protocol: 'yahoo', sinceMs: t0 + 3000, untilMs: t0 + 5000 }))).toEqual(['series 2', 'series 3']);
    expect(texts(await archive.search({ with: 'thread-1' }))).toEqual(['the quick brown fox']);
    expect(await archive.search({ user: 'nobody' })).toEqual([]);
  });

  it('walks every match oldest first, a page at a time, the same rows as one search', async () => {
    const direct = new SqlArchive(target);
    const all = await direct.search({ limit: 0 });
    const paged: string[] = [];
    let pages = 0;
    for await (const page of direct.iterate({}, 3)) {
      expect(page.length).toBeLessThanOrEqual(3);
      paged.push(...page.map((m) => m.eventId));
      pages++;
    }
    expect(paged).toEqual(all.map((m) => m.eventId));
    expect(pages).toBeGreaterThan(all.length / 3 - 1);
    const filtered: string[] = [];
    for await (const page of direct.iterate({ user: 'erin', with: 'frank' }, 2)) filtered.push(...page.map((m) => m.text!));
    expect(filtered).toEqual(['series 1', 'series 3', 'series 5']);
    await direct.close();
  });

  it('pages newest first or oldest first with a cursor, and filters blocked events and types (the console)', async () => {
    seq += 10;
    const series = Array.from({ length: 7 }, (_, i) =>
      event({ protocol: 'msn', localId: 'pia', remoteId: 'quinn', text: `paged ${i}`, ...(i % 3 === 0 ? { filtered: true, categories: ['badwords'] } : {}) }),
    );
    series.push(event({ protocol: 'msn', localId: 'pia', remoteId: 'quinn', type: 'join', text: undefined }));
    await archive.insert(series);
    const texts = (r: { text: string | null }[]) => r.map((m) => m.text);
    const first = await archive.page({ user: 'pia', types: ['message'] }, { size: 3, newestFirst: true });
    expect(texts(first.messages)).toEqual(['paged 6', 'paged 5', 'paged 4']);
    const second = await archive.page({ user: 'pia', types: ['message'] }, { size: 3, newestFirst: true, after: first.next! });
    expect(texts(second.messages)).toEqual(['paged 3', 'paged 2', 'paged 1']);
    const last = await archive.page({ user: 'pia', types: ['message'] }, { size: 3, newestFirst: true, after: second.next! });
    expect(texts(last.messages)).toEqual(['paged 0']);
    expect(last.next).toBeUndefined();
    const oldest = await archive.page({ user: 'pia' }, { size: 4 });
    expect(texts(oldest.messages)).toEqual(['paged 0', 'paged 1', 'paged 2', 'paged 3']);
    expect(texts((await archive.page({ user: 'pia', blocked: true }, { size: 10 })).messages)).toEqual(['paged 0', 'paged 3', 'paged 6']);
    expect((await archive.page({ user: 'pia', types: ['join'] }, { size: 10 })).messages.map((m) => m.type)).toEqual(['join']);
    expect((await archive.page({ user: 'pia', types: ['no-such-type'] }, { size: 10 })).messages).toEqual([]);
  });

  it('counts messages and blocked ones per time bucket', async () => {
    const start = BASE + (seq + 1) * 1000;
    seq += 100;
    const at = (offsetMs: number, over: Partial<ImEvent> = {}) => ({ ...event({ protocol: 'activity-test', ...over }), at: new Date(start + offsetMs).toISOString() });
    await archive.insert([at(0), at(10_000, { filtered: true }), at(61_000), at(125_000), at(5_000, { type: 'join' })]);
    const buckets = (await archive.activity(start, 60_000)).filter((b) => b.startMs < start + 180_000);
    expect(buckets).toEqual([
      { startMs: start, messages: 2, blocked: 1 },
      { startMs: start + 60_000, messages: 1, blocked: 0 },
      { startMs: start + 120_000, messages: 1, blocked: 0 },
    ]);
  });

  it('lists local users by prefix, most recently seen first, with their conversations and latest contact-list state', async () => {
    seq += 10;
    await archive.insert([
      event({ protocol: 'msn', localId: 'zora@example.com', remoteId: 'yann@example.com', text: 'hi' }),
      event({ protocol: 'msn', localId: 'zora@example.com', remoteId: 'yann@example.com', type: 'contact', subtype: 'add', data: { list: 'FL' }, text: undefined }),
      event({ protocol: 'msn', localId: 'zora@example.com', remoteId: 'xena@example.com', type: 'contact', subtype: 'add', data: { list: 'FL' }, text: undefined }),
      event({ protocol: 'msn', localId: 'zora@example.com', remoteId: 'yann@example.com', type: 'contact', subtype: 'remove', data: { list: 'FL' }, text: undefined }),
      event({ protocol: 'irc', localId: 'zora@example.com', remoteId: '#zchan', conversation: '#zchan', text: 'in the channel' }),
      event({ protocol: 'irc', localId: 'zora@example.com', remoteId: '#zchan', conversation: '#zchan', text: 'again' }),
      event({ protocol: 'msn', localId: 'zeke@example.com', remoteId: 'yann@example.com', text: 'hello' }),
    ]);
    const users = await archive.localUsers({ prefix: 'z', limit: 10 });
    expect(users.map((u) => [u.localId, u.events])).toEqual([
      ['zeke@example.com', 1],
      ['zora@example.com', 6],
    ]);
    expect((await archive.localUsers({ prefix: 'zo', limit: 10 })).map((u) => u.localId)).toEqual(['zora@example.com']);
    expect((await archive.localUsers({ limit: 1 })).length).toBe(1);
    const detail = await archive.userDetail('zora@example.com', { limit: 10 });
    expect(detail.conversations.map((c) => [c.protocol, c.peer, c.messages])).toEqual([
      ['irc', '#zchan', 2],
      ['msn', 'yann@example.com', 1],
    ]);
    expect(detail.contacts.map((c) => [c.remoteId, c.subtype])).toEqual([
      ['yann@example.com', 'remove'],
      ['xena@example.com', 'add'],
    ]);
    expect(detail.contacts[0]!.data).toContain('FL');
    expect(detail.contacts.map((c) => [c.group, c.status])).toEqual([
      [null, 'FL'],
      [null, 'FL'],
    ]);
    await archive.insert([
      event({ protocol: 'yahoo', localId: 'zora@example.com', remoteId: 'yuri', type: 'contact', subtype: 'add', data: { group: 'Work friends' }, text: undefined }),
      event({
        protocol: 'xmpp',
        localId: 'zora@example.com',
        remoteId: 'xia@example.org',
        type: 'contact',
        subtype: 'subscribed',
        data: { subscription: 'subscribed' },
        text: undefined,
      }),
    ]);
    const again = await archive.userDetail('zora@example.com', { limit: 10 });
    expect(again.contacts.slice(0, 2).map((c) => [c.remoteId, c.group, c.status])).toEqual([
      ['xia@example.org', null, 'subscribed'],
      ['yuri', 'Work friends', null],
    ]);
  });

  it('stores presence; searches leave it out unless asked; the user detail has each contact last status and since when', async () => {
    seq += 10;
    const presence = (remoteId: string, type: 'contact' | 'other', data: Record<string, string>) =>
      event({ protocol: 'msn', localId: 'pia@example.com', remoteId, type, subtype: 'status', data, text: undefined, direction: type === 'other' ? 'outgoing' : 'incoming' });
    const hostile = '<script>alert(1)</script> \u202Eevil';
    const events = [
      event({ protocol: 'msn', localId: 'pia@example.com', remoteId: 'quin@example.com', text: 'hello quin' }),
      presence('quin@example.com', 'contact', { status: 'online', 'protocol-status': 'NLN' }),
      presence('quin@example.com', 'contact', { status: 'away', 'protocol-status': 'AWY' }),
      presence('quin@example.com', 'contact', { status: 'away', 'protocol-status': 'AWY', description: hostile }),
      presence('ns.example', 'other', { status: 'busy', 'protocol-status': 'BSY' }),
      presence('rex@example.com', 'contact', { status: 'offline', 'protocol-status': 'FLN' }),
      event({ protocol: 'msn', localId: 'pia@example.com', remoteId: 'quin@example.com', type: 'contact', subtype: 'add', data: { list: 'FL' }, text: undefined }),
    ];
    await archive.insert(events);
    const at = (i: number) => Date.parse(events[i]!.at);
    const base = { user: 'pia@example.com', limit: 0 };
    expect((await archive.search(base)).map((m) => [m.type, m.subtype])).toEqual([
      ['message', null],
      ['contact', 'add'],
    ]);
    const all = await archive.search({ ...base, presence: 'include' });
    expect(all).toHaveLength(7);
    const only = await archive.search({ ...base, presence: 'only' });
    expect(only.map((m) => [m.type, m.remoteId, m.data?.['status']])).toEqual([
      ['contact', 'quin@example.com', 'online'],
      ['contact', 'quin@example.com', 'away'],
      ['contact', 'quin@example.com', 'away'],
      ['other', 'ns.example', 'busy'],
      ['contact', 'rex@example.com', 'offline'],
    ]);
    expect(only[2]!.data).toEqual({ status: 'away', 'protocol-status': 'AWY', description: hostile });
    const detail = await archive.userDetail('pia@example.com', { limit: 10 });
    expect(detail.presence).toMatchObject({ status: 'busy', protocolStatus: 'BSY', description: null, sinceMs: at(4), atMs: at(4) });
    const byId = new Map(detail.contacts.map((c) => [c.remoteId, c]));
    // The list state comes from the contact-list event; the presence from the presence events, away since the first away.
    expect(byId.get('quin@example.com')).toMatchObject({
      subtype: 'add',
      status: 'FL',
      presence: { status: 'away', protocolStatus: 'AWY', description: hostile, sinceMs: at(2), atMs: at(3) },
    });
    // Known only from its presence.
    expect(byId.get('rex@example.com')).toMatchObject({ subtype: null, status: null, presence: { status: 'offline', sinceMs: at(5) } });
  });

  it('keeps an append-only audit trail, newest first, a page at a time', async () => {
    for (let i = 0; i < 5; i++)
      await archive.appendAudit({ atMs: BASE + i, actor: 'ada', role: 'admin', action: 'search', detail: { query: { text: `q${i}` } }, source: '127.0.0.1' });
    await archive.appendAudit({ atMs: BASE + 9, actor: 'x'.repeat(1000), role: '', action: 'login-failed', detail: { text: 'y'.repeat(20_000) }, source: '10.0.0.9' });
    const page = await archive.listAudit({ size: 4 });
    expect(page.map((e) => e.action)).toEqual(['login-failed', 'search', 'search', 'search']);
    expect(page[0]!.actor.length).toBeLessThanOrEqual(256);
    expect(page[1]!.detail).toEqual({ query: { text: 'q4' } });
    const rest = await archive.listAudit({ size: 4, beforeId: page.at(-1)!.id });
    expect(rest.map((e) => (e.detail['query'] as { text: string }).text)).toEqual(['q1', 'q0']);
  });

  it('refuses to update or delete audit rows (triggers on every backend), and keeps them as written', async () => {
    const direct = new SqlArchive(target);
    try {
      await direct.appendAudit({ atMs: BASE + 20, actor: 'ada', role: 'admin', action: 'export', detail: {}, source: '127.0.0.1' });
      const db = (direct as unknown as { db: Kysely<Database> }).db as unknown as Kysely<any>;
      await expect(db.updateTable('console_audit').set({ actor: 'mallory' }).execute()).rejects.toThrow(/append-only/);
      await expect(db.deleteFrom('console_audit').execute()).rejects.toThrow(/append-only/);
      if (kind === 'postgres') await expect(sql`TRUNCATE console_audit`.execute(db)).rejects.toThrow(/append-only/);
      const all = await direct.listAudit({ size: 100 });
      expect(all.some((e) => e.actor === 'mallory')).toBe(false);
      expect(all[0]).toMatchObject({ actor: 'ada', action: 'export' });
    } finally {
      await direct.close();
    }
  });

  it('keeps the network, filters by it, and finds an identity under every nick it took, on its own network only', async () => {
    const one = 'irc.one.example';
    const two = 'irc.two.example';
    await archive.insert([
      event({ localId: 'nina', network: one, text: 'one: before the change' }),
      event({ localId: 'nina', network: one, type: 'other', subtype: 'nick', remoteId: 'nina2', text: undefined, data: { nick: 'nina2', previous: 'nina' } }),
      event({ localId: 'nina', network: one, text: 'one: after the change', data: { nick: 'nina2' } }),
      event({ localId: 'nina', network: two, text: 'two: another nina' }),
      event({ localId: 'omar', network: two, type: 'other', subtype: 'nick', remoteId: 'nina2', text: undefined, data: { nick: 'nina2', previous: 'omar' } }),
      event({ localId: 'omar', network: two, text: 'two: omar as nina2', data: { nick: 'nina2' } }),
      event({ protocol: 'xmpp', localId: 'nina@example.org', remoteId: 'omar@example.org', text: 'global ids' }),
    ]);
    const texts = (r: { text: string | null; type: string }[]) => r.filter((m) => m.type === 'message').map((m) => m.text);
    expect(texts(await archive.search({ user: 'nina', limit: 0 }))).toEqual(['one: before the change', 'one: after the change', 'two: another nina']);
    expect(texts(await archive.search({ user: 'nina', network: 'IRC.One.Example', limit: 0 }))).toEqual(['one: before the change', 'one: after the change']);
    // The new nick finds the identities that took it, with what they said before: not the other network's nina.
    expect(texts(await archive.search({ user: 'nina2', limit: 0 }))).toEqual(['one: before the change', 'one: after the change', 'two: omar as nina2']);
    expect(texts(await archive.search({ user: 'nina2', network: one, limit: 0 }))).toEqual(['one: before the change', 'one: after the change']);
    // Export walks the same identities a page at a time.
    const direct = new SqlArchive(target);
    const paged: string[] = [];
    for await (const page of direct.iterate({ user: 'nina2', network: two }, 1)) paged.push(...texts(page).map(String));
    await direct.close();
    expect(paged).toEqual(['two: omar as nina2']);
    const link = (await archive.search({ user: 'nina', network: one, limit: 0 })).find((m) => m.subtype === 'nick')!;
    expect(link).toMatchObject({
      type: 'other',
      localId: 'nina',
      remoteId: 'nina2',
      network: one,
      data: { nick: 'nina2', previous: 'nina' },
      eventData: 'nick=nina2 previous=nina',
    });
    expect((await archive.search({ user: 'nina@example.org' }))[0]!.network).toBeNull();
    expect(texts(await archive.search({ network: two, limit: 0 }))).toEqual(['two: another nina', 'two: omar as nina2']);
  });

  it('stores the copies of one message on several devices once per participant, listing the devices', async () => {
    const key = 'xmpp outgoing zed@copies.example yara@copies.example id=m1';
    const typed = { protocol: 'xmpp', localId: 'zed@copies.example', remoteId: 'yara@copies.example', messageKey: key };
    // The original (what dave typed, masked on the way out) from his phone, then its carbon on his laptop, which
    // carries the masked text; the same message for carol (another participant); a message without a key twice.
    const original = event({ ...typed, text: 'you darn fool', deliveredText: 'you **** fool', data: { device: 'phone one' } });
    const carbon = event({ ...typed, text: 'you **** fool', data: { device: 'laptop' } });
    const forCarol = event({
      ...typed,
      localId: 'yara@copies.example',
      remoteId: 'zed@copies.example',
      direction: 'incoming',
      messageKey: 'xmpp incoming zed@copies.example/phone yara@copies.example id=m1',
      text: 'you **** fool',
      data: { device: 'desk' },
    });
    const unkeyed = [
      event({ protocol: 'xmpp', localId: 'zed@copies.example', remoteId: 'yara@copies.example', text: 'no key' }),
      event({ protocol: 'xmpp', localId: 'zed@copies.example', remoteId: 'yara@copies.example', text: 'no key' }),
    ];
    const before = await archive.count();
    expect(await archive.insert([original])).toBe(1);
    // The carbon in a later batch, and again (a retried batch) with everything else: nothing is stored twice.
    await archive.insert([carbon]);
    await archive.insert([carbon, original, forCarol, ...unkeyed]);
    expect(await archive.count()).toBe(before + 4);
    const dave = await archive.search({ user: 'zed@copies.example', limit: 0 });
    expect(dave.map((m) => [m.text, m.deliveredText, m.devices])).toEqual([
      ['you darn fool', 'you **** fool', ['phone one', 'laptop']],
      ['no key', null, []],
      ['no key', null, []],
    ]);
    expect((await archive.search({ user: 'yara@copies.example', limit: 0 })).map((m) => [m.text, m.devices])).toEqual([['you **** fool', ['desk']]]);
    // Both copies in one batch.
    const both = { ...typed, messageKey: `${key}-2` };
    await archive.insert([event({ ...both, text: 'again', data: { device: 'phone' } }), event({ ...both, text: 'again', data: { device: 'laptop' } })]);
    expect((await archive.search({ user: 'zed@copies.example', text: 'again', limit: 0 })).map((m) => m.devices)).toEqual([['phone', 'laptop']]);
    // A client that reuses an id for another message: not a copy, so it does not vanish into the first.
    await archive.insert([event({ ...typed, text: 'a different message', data: { device: 'phone' } })]);
    expect((await archive.search({ user: 'zed@copies.example', text: 'different', limit: 0 })).map((m) => [m.text, m.devices])).toEqual([['a different message', ['phone']]]);
  });

  it('the copies index holds keyed rows only (migration 0007, MySQL: all rows), and a copy stored before it still merges', async () => {
    const rawDb = (a: SqlArchive) => (a as unknown as { db: Kysely<Database> }).db;
    const typed = { protocol: 'xmpp', localId: 'ix@copies.example', remoteId: 'iy@copies.example', messageKey: 'xmpp outgoing ix iy id=i1' };
    await archive.insert([event({ ...typed, text: 'kept once', data: { device: 'phone' } })]);
    // The archive as 0006 left it: the index over every row, 0007 not run.
    const direct = new SqlArchive(target);
    const db = rawDb(direct);
    await direct.migrate();
    await sql`DROP INDEX messages_local_message_key${sql.raw(kind === 'mysql' ? ' ON messages' : '')}`.execute(db);
    await sql`CREATE UNIQUE INDEX messages_local_message_key ON messages (local_id, message_key)`.execute(db);
    await sql`DELETE FROM ${sql.table(MIGRATION_TABLE)} WHERE name >= ${'0007-keyed-copies-index'}`.execute(db);
    await direct.close();

    const upgraded = new SqlArchive(target);
    try {
      await upgraded.migrate();
      const udb = rawDb(upgraded);
      if (kind === 'sqlite') {
        const { rows } = await sql<{ sql: string }>`SELECT sql FROM sqlite_master WHERE name = 'messages_local_message_key'`.execute(udb);
        expect(rows[0]?.sql).toMatch(/WHERE message_key IS NOT NULL$/);
        // The copy lookup (store.ts) is still an index lookup, not a scan of the table.
        const plan = await sql<{ detail: string }>`EXPLAIN QUERY PLAN SELECT id, devices FROM messages WHERE local_id = ${'ix@copies.example'} AND message_key = ${'k'}`.execute(
          udb,
        );
        expect(plan.rows.map((r) => r.detail).join('\n')).toMatch(/USING INDEX messages_local_message_key/);
      } else if (kind === 'postgres') {
        const { rows } = await sql<{ indexdef: string }>`SELECT indexdef FROM pg_indexes WHERE indexname = 'messages_local_message_key'`.execute(udb);
        expect(rows[0]?.indexdef).toMatch(/^CREATE UNIQUE INDEX .* WHERE \(message_key IS NOT NULL\)$/);
      } else {
        const { rows } = await sql<{ Non_unique: number }>`SHOW INDEX FROM messages WHERE Key_name = 'messages_local_message_key'`.execute(udb);
        expect(rows.map((r) => Number(r.Non_unique))).toEqual([0, 0]);
      }
      // A copy of the message stored before the migration merges into its row; keyless rows are all stored.
      await upgraded.insert([event({ ...typed, text: 'kept once', data: { device: 'laptop' } })]);
      await upgraded.insert([event({ ...typed, messageKey: undefined, text: 'keyless' }), event({ ...typed, messageKey: undefined, text: 'keyless' })]);
      const rows = await upgraded.search({ user: 'ix@copies.example', limit: 0 });
      expect(rows.map((m) => [m.text, m.devices])).toEqual([
        ['kept once', ['phone', 'laptop']],
        ['keyless', []],
        ['keyless', []],
      ]);
    } finally {
      await upgraded.close();
    }
  });

  it('migration 0005 turns data strings stored before into JSON pairs; search and export read old and new rows alike', async () => {
    const typed = { protocol: 'msn', localId: 'mig@example.com', remoteId: 'peer@example.com' };
    const old = [
      event({ ...typed, type: 'login', text: undefined, data: { client: 'MSNMSGR', version: '8.5.1302', 'protocol-version': 'MSNP15' } }),
      event({ ...typed, text: 'migrated row', data: { group: 'Friends & Family', odd: '%zz' } }),
      event({ ...typed, type: 'file', text: undefined, file: { name: 'a b.txt', size: 12 }, data: { address: '192.0.2.7:5000' } }),
    ];
    await archive.insert(old);
    // The archive as the previous version left it: `data` a key=value string, migration 0005 not run.
    const { sql } = await import('kysely');
    const rawDb = (a: SqlArchive) => (a as unknown as { db: Kysely<Database> }).db;
    const direct = new SqlArchive(target);
    const db = rawDb(direct);
    const legacy = ['client=MSNMSGR version=8.5.1302 protocol-version=MSNP15', 'group=Friends%20&%20Family odd=%zz', 'address=192.0.2.7:5000'];
    for (const [i, e] of old.entries()) await db.updateTable('messages').set({ data: legacy[i] }).where('event_id', '=', e.id).execute();
    // The migrations after 0005 too (Kysely refuses to run one before a later one that ran).
    await sql`DELETE FROM ${sql.table(MIGRATION_TABLE)} WHERE name >= ${'0005-typed-data'}`.execute(db);
    await direct.close();

    const upgraded = new SqlArchive(target);
    try {
      await upgraded.migrate();
      const rows = await upgraded.search({ user: 'mig@example.com', limit: 0 });
      expect(rows.map((m) => m.data)).toEqual([
        { client: 'MSNMSGR', version: '8.5.1302', 'protocol-version': 'MSNP15' },
        { group: 'Friends & Family', odd: '%zz' },
        { address: '192.0.2.7:5000' },
      ]);
      // event_data was written by this version (only `data` was made old): a literal % is encoded.
      expect(rows.map((m) => m.eventData)).toEqual(['client=MSNMSGR version=8.5.1302 protocol-version=MSNP15', 'group=Friends%20&%20Family odd=%25zz', 'a b.txt 12']);
      const stored = (await rawDb(upgraded).selectFrom('messages').select(['data']).where('local_id', '=', 'mig@example.com').orderBy('id').execute()) as Array<{ data: string }>;
      expect(stored.map((r) => JSON.parse(r.data))).toEqual(rows.map((m) => m.data));
      // A row an older gateway still writes into the shared database after the migration is read too.
      await rawDb(upgraded).updateTable('messages').set({ data: 'from=late%20gateway' }).where('event_id', '=', old[1]!.id).execute();
      await upgraded.insert([event({ ...typed, text: 'typed row', data: { port: 5000, groupchat: true } })]);
      const paged: unknown[] = [];
      for await (const page of upgraded.iterate({ user: 'mig@example.com' }, 2)) paged.push(...page.map((m) => m.data));
      expect(paged).toEqual([
        { client: 'MSNMSGR', version: '8.5.1302', 'protocol-version': 'MSNP15' },
        { from: 'late gateway' },
        { address: '192.0.2.7:5000' },
        { port: 5000, groupchat: true },
      ]);
    } finally {
      await upgraded.close();
    }
  });

  if (kind === 'sqlite') {
    it('the plugin writes through its worker thread, idempotently, and closes', async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-logger-sql-'));
      try {
        const hooks = (await plugin.setup({
          name: 'logger-sql',
          logger: quiet,
          options: { url: '', file: 'a/archive.sqlite', poolSize: 1, connectTimeoutMs: 1000, synchronous: 'full' },
          hostVersion: '0.1.0',
          dataDir: dir,
          configDir: dir,
        })) as LoggerHooks;
        const batch = [event({ text: 'one' }), event({ text: 'two 😀' })];
        await hooks.write(batch);
        await hooks.write(batch);
        await hooks.close!();
        const check = openArchive(resolveTarget({ file: 'a/archive.sqlite' }, dir));
        expect((await check.search({ limit: 0 })).map((m) => m.text)).toEqual(['one', 'two 😀']);
        await check.close();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
}

describe('SQLite archive', () => {
  archiveSuite('sqlite', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-logger-sql-'));
    return { target: resolveTarget({}, dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
  });
});

describeWithService('PostgreSQL archive', await postgresMissing(), () => {
  archiveSuite('postgres', async () => {
    const db: TestDatabase = await createPostgresDatabase();
    return { target: resolveTarget({ url: db.url }, '/'), cleanup: () => db.drop() };
  });
});

describeWithService('MariaDB/MySQL archive', await mysqlMissing(), () => {
  archiveSuite('mysql', async () => {
    const db: TestDatabase = await createMysqlDatabase();
    return { target: resolveTarget({ url: db.url.replace(/^mysql:/, 'mariadb:') }, '/'), cleanup: () => db.drop() };
  });
});

describe('SQLite search of dense and absent words', () => {
  it('walks words the index matches often and looks up the others, with the same answers (case folded in every script)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-search-plan-'));
    try {
      const archive = new SqlArchive({ kind: 'sqlite', file: path.join(dir, 'a.sqlite'), synchronous: 'normal' } as SqlTarget);
      const texts: string[] = [];
      const batch: ImEvent[] = [];
      // 2,400 messages: "école" (in either case) in 9 of 10 (dense: walked), "Ärger" in 1 of 5, "zanzibar" in 1 of 400.
      for (let i = 0; i < 2400; i++) {
        const text = `${i % 10 === 0 ? 'plain' : i % 2 ? 'ÉCOLE' : 'école'} ${i % 5 === 0 ? 'ÄRGER' : 'calm'} ${i % 400 === 0 ? 'zanzibar' : ''} n${i}`;
        texts.push(text);
        batch.push(event({ text }));
      }
      await archive.insert(batch);
      const expected = (words: string[], n: number) =>
        texts
          .filter((t) => words.every((w) => t.toLowerCase().includes(w.toLowerCase())))
          .slice(-n)
          .reverse();
      for (const query of [['école'], ['École', 'ärger'], ['zanzibar'], ['nowhere-to-be-found'], ['ÉCOLE', 'zanzibar']]) {
        const page = await archive.page({ text: query.join(' ') }, { size: 50, newestFirst: true });
        expect(
          page.messages.map((m) => m.text),
          query.join(' '),
        ).toEqual(expected(query, 50));
      }
      // Every match, oldest first, a page at a time: the walk pages like the lookup.
      const all: string[] = [];
      for await (const rows of archive.iterate({ text: 'école' }, 700)) all.push(...rows.map((m) => m.text!));
      expect(all).toEqual(texts.filter((t) => t.toLowerCase().includes('école')));
      await archive.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('console audit trail on SQLite', () => {
  it('refuses to update or delete its rows', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-audit-'));
    try {
      const archive = new SqlArchive({ kind: 'sqlite', file: path.join(dir, 'a.sqlite'), synchronous: 'normal' } as SqlTarget);
      await archive.appendAudit({ atMs: 1, actor: 'ada', role: 'admin', action: 'login', detail: {}, source: '127.0.0.1' });
      const { DatabaseSync } = await import('node:sqlite');
      const db = new DatabaseSync(path.join(dir, 'a.sqlite'));
      expect(() => db.exec("UPDATE console_audit SET actor = 'mallory'")).toThrow(/append-only/);
      expect(() => db.exec('DELETE FROM console_audit')).toThrow(/append-only/);
      db.close();
      expect((await archive.listAudit({ size: 10 })).map((e) => e.actor)).toEqual(['ada']);
      await archive.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('SQLite batch insert and the full-text index that follows the table (migration 0006)', () => {
  const rawDb = (a: SqlArchive) => (a as unknown as { db: Kysely<Database> }).db;
  /** The index's position and the last row id. */
  const positions = async (a: SqlArchive) =>
    (await sql<{ indexed: number; last: number }>`SELECT (SELECT id FROM messages_fts_position) AS indexed, (SELECT coalesce(max(id), 0) FROM messages) AS last`.execute(rawDb(a)))
      .rows[0]!;
  /** FTS5 compares its index with the table: every row up to the position indexed once, nothing else. */
  const checkIndex = async (a: SqlArchive) => {
    await waitUntil(async () => {
      const p = await positions(a);
      return p.indexed === p.last;
    });
    await sql`INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')`.execute(rawDb(a));
  };

  it('stores a batch all or none: a batch that failed midway and is retried stores and indexes every event once', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-logger-sql-'));
    const archive = new SqlArchive(resolveTarget({}, dir));
    try {
      await archive.migrate();
      const { DatabaseSync } = await import('node:sqlite');
      const other = new DatabaseSync(path.join(dir, 'archive.sqlite'));
      // Another connection's trigger fails the fourth row of the batch, as a full disk or a crash would.
      other.exec("CREATE TRIGGER fail_once BEFORE INSERT ON messages WHEN new.text = 'retry four' BEGIN SELECT RAISE(ABORT, 'disk full'); END");
      const stored = [event({ text: 'retry one' }), event({ text: 'retry two' })];
      await archive.insert(stored);
      // Re-delivered in part: the second event is stored already.
      const batch = [stored[1]!, event({ text: 'retry three' }), event({ text: 'retry four' }), event({ text: 'retry five' })];
      await expect(archive.insert(batch)).rejects.toThrow(/disk full/);
      expect(await archive.count()).toBe(2);
      expect(await archive.search({ text: 'three', limit: 0 })).toEqual([]);
      other.exec('DROP TRIGGER fail_once');
      other.close();
      expect(await archive.insert(batch)).toBe(3);
      expect(await archive.insert(batch)).toBe(0);
      expect(await archive.count()).toBe(5);
      for (const word of ['one', 'two', 'three', 'four', 'five']) expect((await archive.search({ text: word, limit: 0 })).map((m) => m.text)).toEqual([`retry ${word}`]);
      await checkIndex(archive);
    } finally {
      await archive.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('finds rows the index has not caught up with yet, the way the index would, and indexes them with the next batch', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-logger-sql-'));
    const archive = new SqlArchive(resolveTarget({}, dir));
    try {
      await archive.insert([event({ text: 'Ünïcode Straße one' }), event({ text: 'plain two' }), event({ text: 'CJK 你好世界 three' })]);
      await checkIndex(archive);
      // As if the index had not caught up with any of them (stopped before its steps ran).
      await sql`INSERT INTO messages_fts(messages_fts) VALUES ('delete-all')`.execute(rawDb(archive));
      await sql`UPDATE messages_fts_position SET id = 0`.execute(rawDb(archive));
      expect((await archive.search({ text: 'straße', limit: 0 })).map((m) => m.text)).toEqual(['Ünïcode Straße one']);
      expect((await archive.search({ text: 'ÜNÏCODE one', limit: 0 })).map((m) => m.text)).toEqual(['Ünïcode Straße one']);
      expect((await archive.search({ text: '你好世', limit: 0 })).map((m) => m.text)).toEqual(['CJK 你好世界 three']);
      expect((await archive.search({ text: 'absent', limit: 0 })).map((m) => m.text)).toEqual([]);
      await archive.insert([event({ text: 'plain four' })]);
      await checkIndex(archive);
      expect((await positions(archive)).indexed).toBe(4);
      expect((await archive.search({ text: 'plain', limit: 0 })).map((m) => m.text)).toEqual(['plain two', 'plain four']);
    } finally {
      await archive.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a row deleted before the index reached it leaves the index whole (only indexed rows are taken out of it)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-logger-sql-'));
    const archive = new SqlArchive(resolveTarget({}, dir));
    try {
      await archive.insert([event({ text: 'kept and indexed' }), event({ text: 'deleted before indexing' })]);
      await checkIndex(archive);
      // Row 2 as if the index had not reached it yet: out of the index, past the position.
      await sql`INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', 2, 'deleted before indexing')`.execute(rawDb(archive));
      await sql`UPDATE messages_fts_position SET id = 1`.execute(rawDb(archive));
      await sql`DELETE FROM messages WHERE id = 2`.execute(rawDb(archive));
      await checkIndex(archive);
      expect((await archive.search({ text: 'indexed', limit: 0 })).map((m) => m.text)).toEqual(['kept and indexed']);
      // An indexed row still leaves the index with it.
      await sql`DELETE FROM messages WHERE id = 1`.execute(rawDb(archive));
      await checkIndex(archive);
      expect(await archive.search({ text: 'kept', limit: 0 })).toEqual([]);
    } finally {
      await archive.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an archive from before migration 0006 loses the per-row trigger and keeps its rows searchable with the new ones', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-logger-sql-'));
    try {
      const file = path.join(dir, 'old.sqlite');
      const { Kysely, SqliteDialect } = await import('kysely');
      const { Migrator } = await import('kysely/migration');
      const { openNodeSqlite } = await import('../dist/drivers.js');
      const old = new Kysely<any>({ dialect: new SqliteDialect({ database: openNodeSqlite(file, 'normal') }) });
      const before = Object.fromEntries(Object.entries(await migrationProvider('sqlite').getMigrations()).filter(([name]) => name < '0006'));
      const result = await new Migrator({
        db: old,
        provider: { getMigrations: async () => before },
        migrationTableName: MIGRATION_TABLE,
        migrationLockTableName: 'imspect_migration_lock',
      }).migrateToLatest();
      expect(result.error).toBeUndefined();
      await old
        .insertInto('messages')
        .values([toRow(event({ text: 'indexed by the old trigger' }))])
        .execute();
      await old.destroy();
      const archive = new SqlArchive(resolveTarget({ file }, dir));
      await archive.insert([event({ text: 'indexed by the archive' })]);
      expect((await archive.search({ text: 'indexed', limit: 0 })).map((m) => m.text)).toEqual(['indexed by the old trigger', 'indexed by the archive']);
      const triggers = await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'messages'`.execute(rawDb(archive));
      expect(triggers.rows.map((r) => r.name)).toEqual(['messages_fts_delete']);
      await checkIndex(archive);
      await archive.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

async function waitUntil(done: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500 && !(await done()); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('migration 0004 (network)', () => {
  it('adds the network column and fills it for IRC rows stored before, from the server host', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-logger-sql-'));
    try {
      const file = path.join(dir, 'old.sqlite');
      const { Kysely, SqliteDialect } = await import('kysely');
      const { Migrator } = await import('kysely/migration');
      const { openNodeSqlite } = await import('../dist/drivers.js');
      const old = new Kysely<any>({ dialect: new SqliteDialect({ database: openNodeSqlite(file, 'normal') }) });
      const all = await migrationProvider('sqlite').getMigrations();
      const before = { '0001-messages': all['0001-messages']!, '0002-full-text': all['0002-full-text']! };
      const result = await new Migrator({
        db: old,
        provider: { getMigrations: async () => before },
        migrationTableName: MIGRATION_TABLE,
        migrationLockTableName: 'imspect_migration_lock',
      }).migrateToLatest();
      expect(result.error).toBeUndefined();
      const rows = [
        event({ text: 'by name', server: { host: 'IRC.Example.ORG.', port: 6667 } }),
        event({ text: 'by v6 address', server: { host: '2001:db8::7', port: 6697 } }),
        event({ protocol: 'xmpp', localId: 'a@example.org', remoteId: 'b@example.org', text: 'global', server: { host: 'example.org', port: 5222 } }),
      ].map((e) => {
        // The columns of migrations 0003 and 0004, which the old archive does not have yet.
        const { network: _network, message_key: _key, devices: _devices, ...row } = toRow(e);
        return row;
      });
      await old.insertInto('messages').values(rows).execute();
      await old.destroy();
      const archive = new SqlArchive(resolveTarget({ file }, dir));
      const found = await archive.search({ limit: 0 });
      expect(found.map((m) => [m.text, m.network])).toEqual([
        ['by name', 'irc.example.org'],
        ['by v6 address', '2001:db8::7'],
        ['global', null],
      ]);
      expect((await archive.search({ network: 'irc.example.org' })).map((m) => m.text)).toEqual(['by name']);
      await archive.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('takes the host out of the server column', () => {
    expect(hostOf('irc.example.org:6667')).toBe('irc.example.org');
    expect(hostOf('[2001:db8::1]:6697')).toBe('2001:db8::1');
    expect(hostOf('Host.Example.:7000')).toBe('host.example');
    expect(hostOf('2001:db8::1')).toBe('2001:db8::1');
  });
});

describe('names taken by many identities', () => {
  it('more identities than MAX_IDENTITIES_PER_NAME behind one name is an error that asks for a narrower search', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-logger-sql-'));
    const archive = new SqlArchive(resolveTarget({}, dir));
    try {
      const renames = Array.from({ length: MAX_IDENTITIES_PER_NAME + 1 }, (_, i) =>
        event({ localId: `user${i}`, network: i === 0 ? 'irc.small.example' : 'irc.big.example', type: 'other', subtype: 'nick', remoteId: 'guest', text: undefined }),
      );
      await archive.insert(renames);
      await expect(archive.search({ user: 'guest' })).rejects.toThrow(/more than 500 identities went by the name "guest"; narrow the search with --network/);
      expect((await archive.search({ user: 'guest', network: 'irc.small.example' })).map((m) => m.localId)).toEqual(['user0']);
    } finally {
      await archive.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('options and times', () => {
  it('resolves the default SQLite file in the data folder, URLs by scheme, and rejects others naming the option', () => {
    expect(resolveTarget({}, '/var/lib/imspect')).toEqual({ kind: 'sqlite', file: '/var/lib/imspect/archive.sqlite', synchronous: 'full' });
    expect(resolveTarget({ url: 'sqlite:/tmp/x.db' }, '/d')).toMatchObject({ kind: 'sqlite', file: '/tmp/x.db' });
    expect(resolveTarget({ url: 'sqlite:rel.db' }, '/d')).toMatchObject({ kind: 'sqlite', file: '/d/rel.db' });
    expect(resolveTarget({ url: 'postgresql://u:p@h/db' }, '/d')).toMatchObject({ kind: 'postgres' });
    expect(resolveTarget({ url: 'mariadb://u:p@h/db' }, '/d')).toMatchObject({ kind: 'mysql', url: 'mysql://u:p@h/db' });
    expect(() => resolveTarget({ url: 'oracle://u:secret@h/db' }, '/d')).toThrow(/option url: "oracle:\/\/u:\*\*\*@h\/db"/);
  });

  it('parses --since / --until times', () => {
    const now = Date.parse('2026-03-01T12:00:00Z');
    expect(parseTime('2h', now)).toBe(now - 7_200_000);
    expect(parseTime('7d', now)).toBe(now - 7 * 86_400_000);
    expect(parseTime('2026-03-01T10:00:00Z', now)).toBe(Date.parse('2026-03-01T10:00:00Z'));
    expect(parseTime('1700000000', now)).toBe(1_700_000_000_000);
    expect(() => parseTime('yesterday-ish', now)).toThrow(/is not a time/);
  });
});
