import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { PluginHookError } from '@imspect/sdk';
import type { ImEvent } from '@imspect/sdk';
import type { Verdict } from '@imspect/sdk';
import { Policy, verdictProblem, type FrameDecision, type NamedFilter } from '../src/proxy/policy.js';
import { DEFAULT_RESPONSE_SETTINGS, noticeClient, Responses, responseSettings, type ResponseSettings } from '../src/proxy/responses.js';
import { fillBlockedText, quoteSnippet } from '../src/proxy/blocked-text.js';
import { LocalUsers, localUserKey } from '../src/proxy/local-users.js';
import { resolveConfig } from '../src/config/load.js';
import { recordingLogger, removeTempDirs, tempDir, waitFor } from './helpers.js';
import { lineProtocol, relayClient, startRelay, upstreamServer } from './relay-harness.js';

function event(text: string, extra: Partial<ImEvent> = {}): ImEvent {
  return {
    id: text,
    at: new Date(0).toISOString(),
    protocol: 'test',
    direction: 'outgoing',
    type: 'message',
    localId: 'me',
    remoteId: 'you',
    text,
    client: { ip: '127.0.0.1', port: 1 },
    server: { host: '127.0.0.1', port: 2 },
    filtered: false,
    categories: [],
    ...extra,
  };
}

const filter = (name: string, check: (e: Readonly<ImEvent>) => unknown): NamedFilter => ({ name, hooks: { check: check as (e: Readonly<ImEvent>) => Verdict } });

function settings(change: (s: ResponseSettings) => void = () => undefined): ResponseSettings {
  const s = structuredClone(DEFAULT_RESPONSE_SETTINGS);
  change(s);
  return s;
}

afterAll(removeTempDirs);

describe('verdicts are validated', () => {
  it('names what is wrong', () => {
    expect(verdictProblem({ action: 'pass' })).toBeUndefined();
    expect(verdictProblem({ action: 'block', categories: ['a'], reason: 'r', respond: 'x', text: 't' })).toBeUndefined();
    expect(verdictProblem(undefined)).toBe('returned undefined instead of a verdict object');
    expect(verdictProblem('block')).toMatch(/instead of a verdict object/);
    expect(verdictProblem({ action: 'maybe' })).toBe('verdict action is "maybe", not "pass" or "block"');
    expect(verdictProblem({ action: 'block', categories: 'spam' })).toBe('verdict categories is "spam", not a list of strings');
    expect(verdictProblem({ action: 'block', categories: 42 })).toMatch(/not a list of strings/);
    expect(verdictProblem({ action: 'block', categories: [1] })).toMatch(/not a list of strings/);
    expect(verdictProblem({ action: 'block', respond: 5 })).toBe('verdict respond is number 5, not a string');
    expect(verdictProblem({ action: 'block', disconnect: 'yes' })).toBe('verdict disconnect is "yes", not true or false');
  });

  it.each([
    ['non-iterable categories', { action: 'block', categories: 7 }],
    ['no verdict at all', undefined],
    ['an unknown action', { action: 'drop' }],
  ])('%s: a PluginHookError naming plugin and hook, handled per failMode (sync and async)', async (_label, bad) => {
    for (const failMode of ['open', 'closed'] as const) {
      for (const asynchronous of [false, true]) {
        const log = recordingLogger();
        const policy = new Policy([filter('sloppy', () => (asynchronous ? Promise.resolve(bad) : bad))], [], { failMode, hookTimeoutMs: 500 }, log);
        const events = [event('hello')];
        const decision = (await policy.decide(events)) as FrameDecision;
        expect(decision.block).toBe(failMode === 'closed');
        expect(events[0]!.categories).toEqual(failMode === 'closed' ? ['error sloppy'] : []);
        const error = log.records.find((r) => r.level === 'error');
        const err = (error?.obj as { err: unknown; plugin: string; hook: string }) ?? {};
        expect(err.err).toBeInstanceOf(PluginHookError);
        expect([err.plugin, err.hook, (err.err as PluginHookError).plugin, (err.err as PluginHookError).hook]).toEqual(['sloppy', 'check', 'sloppy', 'check']);
      }
    }
  });
});

describe('masking verdicts', () => {
  it('a passing verdict with text rewrites the message; content plugins see the masked text', async () => {
    const seen: string[] = [];
    const policy = new Policy(
      [filter('mask', (e) => ({ action: 'pass', categories: ['1 badwords'], text: (e.text as string).replace('darn', '****') }))],
      [{ name: 'upper', hooks: { transform: (e) => (seen.push(e.text!), e.text!.toUpperCase()) } }],
      { failMode: 'open', hookTimeoutMs: 500 },
      recordingLogger(),
    );
    const events = [event('oh darn')];
    const decision = (await policy.decide(events)) as FrameDecision;
    expect(seen).toEqual(['oh ****']);
    expect(decision.text).toBe('OH ****');
    expect(events[0]).toMatchObject({ text: 'oh darn', deliveredText: 'OH ****', categories: ['1 badwords'], filtered: false });
  });
});

describe('two masking filters', () => {
  it('the second masks the text the first produced', async () => {
    const mask = (name: string, word: string) =>
      filter(name, (e) => (e.text?.includes(word) ? { action: 'pass', categories: [`1 ${name}`], text: e.text.replace(word, '#'.repeat(word.length)) } : { action: 'pass' }));
    const policy = new Policy([mask('one', 'darn'), mask('two', 'heck')], [], { failMode: 'open', hookTimeoutMs: 500 }, recordingLogger());
    const events = [event('darn and heck')];
    const decision = (await policy.decide(events)) as FrameDecision;
    expect(decision.text).toBe('#### and ####');
    expect(events[0]).toMatchObject({ text: 'darn and heck', deliveredText: '#### and ####', categories: ['1 one', '1 two'] });
  });
});

describe('blocked replies', () => {
  it('relay threads keep one rate limit: a reply given in one thread holds the others back for the period', () => {
    let now = 2_000_000;
    const make = () =>
      new Responses(
        settings((s) => (s.blocked.rateLimitSeconds = 10)),
        () => now,
      );
    const [a, b] = [make(), make()];
    // Wired as the engine does it: each thread's replies reach the other through a cloned message.
    const keys: string[] = [];
    a.onBlockedReply = (key, at) => (keys.push(key), b.learnBlockedReply(structuredClone(key), at));
    b.onBlockedReply = (key, at) => a.learnBlockedReply(structuredClone(key), at);
    const blocked = (extra: Partial<ImEvent> = {}) => [{ ...event('x', extra), filtered: true }];
    expect(a.blockedReplies(blocked(), [])).toHaveLength(1);
    expect(b.blockedReplies(blocked(), [])).toEqual([]); // the same user, in the other thread, within 10 s
    expect(b.blockedReplies(blocked({ localId: 'other' }), [])).toHaveLength(1);
    expect(a.blockedReplies(blocked({ localId: 'other' }), [])).toEqual([]);
    now += 10_000;
    expect(b.blockedReplies(blocked(), [])).toHaveLength(1);
    expect(a.blockedReplies(blocked(), [])).toEqual([]);
    // An older reply learnt late (a slow message from a third thread) does not move the period back.
    a.learnBlockedReply(keys[0]!, now - 60_000);
    expect(a.blockedReplies(blocked(), [])).toEqual([]);
  });

  it('default text for what the user sent, the filter’s own text first, prefix and suffix, rate-limited per user', () => {
    let now = 1_000_000;
    const responses = new Responses(
      settings((s) => ((s.prefix = '[imspect] '), (s.suffix = ' <'), (s.blocked.rateLimitSeconds = 10))),
      () => now,
    );
    const blocked = (extra: Partial<ImEvent> = {}) => [{ ...event('x', extra), filtered: true }];
    expect(responses.blockedReplies(blocked(), [])).toEqual(['[imspect] Blocked (policy): message "x" to you <']);
    expect(responses.blockedReplies(blocked(), [])).toEqual([]); // same user, within 10 s
    expect(responses.blockedReplies(blocked({ localId: 'other' }), ['custom', 'custom'])).toEqual(['[imspect] custom <']);
    expect(responses.blockedReplies(blocked({ localId: 'me', protocol: 'irc' }), [])).toHaveLength(1); // another protocol, another user
    expect(responses.blockedReplies(blocked({ localId: 'third', direction: 'incoming' }), [])).toEqual([]); // the sender is remote
    now += 10_000;
    expect(responses.blockedReplies(blocked(), [])).toHaveLength(1);
    const off = new Responses(settings((s) => ((s.blocked.enabled = false), (s.blocked.rateLimitSeconds = 0))));
    expect(off.blockedReplies(blocked(), [])).toEqual([]);
    expect(off.blockedReplies(blocked(), ['filter says'])).toEqual(['filter says']);
    expect(off.blockedReplies(blocked(), ['filter says'])).toEqual(['filter says']);
  });
});

describe('response settings from the configuration', () => {
  it('defaults: blocked replies on, notice off; a legal notice is read from its file, relative to the config', async () => {
    const dir = await tempDir();
    expect(await responseSettings(resolveConfig({}, undefined, dir).config.responses)).toEqual(DEFAULT_RESPONSE_SETTINGS);
    await writeFile(path.join(dir, 'legal.txt'), 'LEGAL NOTICE\nThis system is monitored.\n');
    const loaded = resolveConfig({ responses: { prefix: '> ', notice: { enabled: true, file: 'legal.txt', everyDays: 30 } } }, path.join(dir, 'imspect.config.json'), dir);
    const s = await responseSettings(loaded.config.responses);
    expect(s.notice).toEqual({ enabled: true, text: 'LEGAL NOTICE\nThis system is monitored.\n', everyDays: 30 });
    expect(s.prefix).toBe('> ');
    const missing = resolveConfig({ responses: { notice: { file: 'nope.txt' } } }, undefined, dir);
    await expect(responseSettings(missing.config.responses)).rejects.toMatchObject({
      key: 'responses.notice.file',
      message: expect.stringMatching(/^responses\.notice\.file: cannot read .*nope\.txt/),
    });
    expect(() => resolveConfig({ responses: { notice: { everyDays: 0 } } }, undefined, dir)).toThrow(/responses\.notice\.everyDays/);
  });
});

describe('the monitoring notice over a relay', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function run(responses: Responses, lines: string) {
    const server = await upstreamServer(() => undefined);
    cleanups.push(() => server.close());
    const relay = await startRelay(server.port, { protocol: lineProtocol(), responses });
    cleanups.push(() => relay.close());
    const c = await relayClient(relay.port);
    cleanups.push(() => void c.socket.destroy());
    c.socket.write(lines);
    await waitFor(() => Buffer.concat(server.received[0] ?? []).toString() === lines, 2_000, 'the frames upstream');
    await new Promise((r) => setTimeout(r, 50));
    return c.received().toString();
  }

  it('is sent once per user (every line of a multi-line notice), remembered across restarts, again after everyDays', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'state', 'notice.json');
    let now = Date.UTC(2026, 0, 1);
    const open = async () => {
      const r = new Responses(
        settings((s) => ((s.notice.enabled = true), (s.notice.text = 'Your activities are being logged\nSee the policy.\n'), (s.notice.everyDays = 2), (s.prefix = '* '))),
        () => now,
      );
      await r.openNotice(file, recordingLogger());
      return r;
    };
    let responses = await open();
    expect(await run(responses, 'MSG bob one\nMSG bob two\n')).toBe('NOTICE me * Your activities are being logged\nNOTICE me * See the policy.\n');
    expect(await run(responses, 'MSG bob three\n')).toBe('');
    await responses.close();
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ version: 1, sent: { 'lines\u0000me\u0000address 127.0.0.1': now } });

    responses = await open(); // a restart
    now += 47 * 3_600_000;
    expect(await run(responses, 'MSG bob four\n')).toBe('');
    now += 2 * 3_600_000;
    expect(await run(responses, 'MSG bob five\n')).toMatch(/^NOTICE me \* Your activities/);
    await responses.close();
  });

  it('is not sent while disabled or before the notice state is open (a replay), and a damaged state file starts afresh', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'notice.json');
    const enabled = settings((s) => (s.notice.enabled = true));
    expect(await run(new Responses(enabled), 'MSG bob one\n')).toBe('');
    const disabled = new Responses(settings());
    await disabled.openNotice(file, recordingLogger());
    expect(await run(disabled, 'MSG bob one\n')).toBe('');
    await writeFile(file, '{not json');
    const log = recordingLogger();
    const fresh = new Responses(enabled);
    await fresh.openNotice(file, log);
    expect(log.records.some((r) => r.level === 'warn' && /damaged/.test(r.msg ?? ''))).toBe(true);
    expect(await run(fresh, 'MSG bob one\n')).toBe('NOTICE me Your activities are being logged\n');
    await fresh.close();
  });

  it('a disconnecting verdict: the client gets the reply, then the end of the stream; nothing more crosses', async () => {
    const server = await upstreamServer(() => undefined);
    cleanups.push(() => server.close());
    const relay = await startRelay(server.port, {
      protocol: lineProtocol(),
      responses: new Responses(settings()),
      filters: [
        filter('gate', (e) => (e.text === 'old client' ? { action: 'block', respond: 'Your client is too old', reason: 'too old', disconnect: true } : { action: 'pass' })),
      ],
    });
    cleanups.push(() => relay.close());
    const c = await relayClient(relay.port);
    cleanups.push(() => void c.socket.destroy());
    const ended = new Promise<void>((resolve) => c.socket.once('end', () => resolve()));
    c.socket.write('MSG srv hello\nMSG srv old client\nMSG srv after\n');
    await ended;
    expect(c.received().toString()).toBe('NOTICE me Your client is too old\n');
    await waitFor(() => server.ended[0] === true || server.sockets[0]?.destroyed === true, 2_000, 'the server side to close');
    expect(Buffer.concat(server.received[0] ?? []).toString()).toBe('MSG srv hello\n');
    expect(relay.logs.some((r) => r.msg === 'disconnecting the client: policy' && (r.obj as { reason?: string }).reason === 'too old')).toBe(true);
  });

  it('a blocked frame gets the default reply through the relay, rate-limited', async () => {
    const responses = new Responses(settings());
    const server = await upstreamServer(() => undefined);
    cleanups.push(() => server.close());
    const relay = await startRelay(server.port, { protocol: lineProtocol(), responses, filters: [filter('f', (e) => ({ action: e.text?.includes('bad') ? 'block' : 'pass' }))] });
    cleanups.push(() => relay.close());
    const c = await relayClient(relay.port);
    cleanups.push(() => void c.socket.destroy());
    c.socket.write('MSG bob bad one\nMSG bob fine\nMSG bob bad two\nMSG bob end\n');
    await waitFor(
      () =>
        Buffer.concat(server.received[0] ?? [])
          .toString()
          .includes('end'),
      2_000,
      'frames',
    );
    expect(Buffer.concat(server.received[0]!).toString()).toBe('MSG bob fine\nMSG bob end\n');
    await new Promise((r) => setTimeout(r, 50));
    expect(c.received().toString()).toBe('NOTICE me Blocked (policy): message "bad one" to bob\n');
  });
});

describe('the blocked reply names what was stopped and why', () => {
  const blockedEvent = (extra: Partial<ImEvent>) => ({ ...event('', extra), filtered: true });

  it('fills {what}, {category} and {reason}: the first 40 characters of a message, a file name, a channel', () => {
    const responses = new Responses(settings((s) => ((s.blocked.rateLimitSeconds = 0), (s.blocked.text = '{what} | {category} | {reason}'))));
    const long = 'the quarterly numbers are attached, please do not forward them';
    expect(responses.blockedReplies([blockedEvent({ text: long, categories: ['2 badwords', 'acl'] })], [], ['ACL line 1: deny me you'])).toEqual([
      'message "the quarterly numbers are attached, plea…" to you | 2 badwords, acl | ACL line 1: deny me you',
    ]);
    expect(responses.blockedReplies([blockedEvent({ type: 'file', file: { name: 'report.pdf', size: 3 }, categories: ['policy file'] })], [])).toEqual([
      'file "report.pdf" to you | policy file | policy file',
    ]);
    expect(responses.blockedReplies([blockedEvent({ type: 'join', remoteId: '#secret', conversation: '#secret', categories: ['acl'] })], [])).toEqual(['join #secret | acl | acl']);
    // The default text names both.
    const plain = new Responses(settings((s) => (s.blocked.rateLimitSeconds = 0)));
    expect(plain.blockedReplies([blockedEvent({ text: 'hello carol', remoteId: 'carol', categories: ['acl'] })], [])).toEqual(['Blocked (acl): message "hello carol" to carol']);
  });

  it('hostile text stays one line: control characters (CR, LF, NUL, CTCP \\x01) become spaces; a placeholder in the text is not expanded', () => {
    const responses = new Responses(settings((s) => ((s.blocked.rateLimitSeconds = 0), (s.blocked.text = '{what} ({category})'))));
    const [reply] = responses.blockedReplies([blockedEvent({ text: '\x01ACTION hi\r\nPRIVMSG #x :{reason}\0\x01', categories: ['acl'] })], []);
    expect(reply).toBe('message "ACTION hi PRIVMSG #x :{reason}" to you (acl)');
    expect(reply).not.toMatch(/[\0-\x1f]/);
    expect(fillBlockedText('{what}', blockedEvent({ text: `${'x'.repeat(39)}😀😀` }), [])).toBe(`message "${'x'.repeat(39)}😀…" to you`);
    expect(quoteSnippet('a\u202eb')).toBe('a b');
  });
});

describe('the monitoring notice per client', () => {
  it('each client of a user is told once; a state file from before (per user) is taken over by the first client seen', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'notice.json');
    const now = Date.UTC(2026, 0, 10);
    await writeFile(file, JSON.stringify({ version: 1, sent: { 'xmpp\u0000me': now - 3_600_000 } }));
    const responses = new Responses(
      settings((s) => (s.notice.enabled = true)),
      () => now,
    );
    await responses.openNotice(file, recordingLogger());
    const told: string[] = [];
    const offer = (client: string) => responses.offerNotice([event('x', { protocol: 'xmpp' })], (text) => (told.push(`${client}: ${text}`), true), client);
    offer('id laptop'); // the client the old entry stood for
    expect(told).toEqual([]);
    offer('id phone'); // a second device
    offer('id phone');
    offer('id laptop');
    expect(told).toEqual(['id phone: Your activities are being logged']);
    await responses.close();
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ version: 1, sent: { 'xmpp\u0000me\u0000id laptop': now - 3_600_000, 'xmpp\u0000me\u0000id phone': now } });
    expect(noticeClient('phone', '10.0.0.1')).toBe('id phone');
    expect(noticeClient(undefined, '10.0.0.1')).toBe('address 10.0.0.1');
  });
});

describe('a message between two users behind imspect is judged as the recipient will judge it', () => {
  // An ACL that says carol may not talk with bob: only carol's own events match it.
  const carolDeniesBob = filter('acl', (e) =>
    e.localId.toLowerCase() === 'carol' && e.remoteId === 'bob' ? { action: 'block', categories: ['acl'], reason: 'ACL line 1: deny carol bob' } : { action: 'pass' },
  );
  const server = { host: '127.0.0.1', port: 6667 };

  it('blocked at the sender when carol is connected, with the recipient’s categories; passes when she is not; group messages are not judged so', async () => {
    const users = new LocalUsers();
    const responses = new Responses(settings((s) => (s.blocked.rateLimitSeconds = 0)));
    const policy = new Policy([carolDeniesBob], [], { failMode: 'open', hookTimeoutMs: 500 }, recordingLogger(), responses, users);
    const fromBob = () => [event('hello carol', { protocol: 'irc', localId: 'bob', remoteId: 'Carol', server })];
    let events = fromBob();
    expect(((await policy.decide(events)) as FrameDecision).block).toBe(false); // carol is not behind imspect
    const carol = users.move(undefined, localUserKey('irc', 'carol', server));
    events = fromBob();
    const decision = policy.decide(events) as FrameDecision; // synchronous filters: a synchronous decision
    expect(decision.block).toBe(true);
    expect(events[0]).toMatchObject({ filtered: true, categories: ['acl'], localId: 'bob', direction: 'outgoing' });
    expect(decision.responses).toEqual(['Blocked (acl): message "hello carol" to Carol']);
    // Another IRC server's carol is another person.
    events = [event('hello carol', { protocol: 'irc', localId: 'bob', remoteId: 'carol', server: { host: '127.0.0.1', port: 6668 } })];
    expect(((await policy.decide(events)) as FrameDecision).block).toBe(false);
    // A channel message reaches others too: it is judged at each recipient.
    events = [event('hi all', { protocol: 'irc', localId: 'bob', remoteId: '#chan', conversation: '#chan', server })];
    expect(((await policy.decide(events)) as FrameDecision).block).toBe(false);
    users.move(carol, undefined);
    events = fromBob();
    expect(((await policy.decide(events)) as FrameDecision).block).toBe(false); // carol left
  });

  it('asynchronous filters too; XMPP ids compare bare and ignoring case', async () => {
    const users = new LocalUsers();
    users.move(undefined, localUserKey('xmpp', 'Carol@example.org/phone', server));
    const asyncAcl = filter('acl', (e) =>
      Promise.resolve(e.localId.startsWith('carol@') && e.remoteId === 'bob@example.org' ? { action: 'block', categories: ['acl'] } : { action: 'pass' }),
    );
    const policy = new Policy([asyncAcl], [], { failMode: 'open', hookTimeoutMs: 500 }, recordingLogger(), undefined, users);
    const events = [event('hi', { protocol: 'xmpp', localId: 'bob@example.org', remoteId: 'carol@example.org', server: { host: '10.0.0.5', port: 5222 } })];
    expect(((await policy.decide(events)) as FrameDecision).block).toBe(true);
    expect(events[0]!.categories).toEqual(['acl']);
  });
});
