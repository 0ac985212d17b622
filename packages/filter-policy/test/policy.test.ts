import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDataString, type FilterHooks, type ImEvent, type PluginLogger } from '@imspect/sdk';
import plugin, { compareVersions, compilePolicy, judgedTypes, policyVerdict, type PolicyRules } from '../src/index.js';
import { parsePolicyFile } from '../src/policy-file.js';

function event(extra: Partial<ImEvent>): ImEvent {
  return {
    id: '1',
    at: '',
    protocol: 'msn',
    direction: 'outgoing',
    type: 'message',
    localId: 'alice@example.com',
    remoteId: 'bob@example.com',
    client: { ip: '127.0.0.1', port: 1 },
    server: { host: 'h', port: 2 },
    filtered: false,
    categories: [],
    ...extra,
  };
}

const judge = (rules: PolicyRules, e: Partial<ImEvent>) => policyVerdict(compilePolicy(rules), event(e));

describe('protocol aliases', () => {
  it('jabber names xmpp in per-protocol blocks, protocol:user keys, user protocol lists and client rules', () => {
    const rules: PolicyRules = {
      protocols: { jabber: { block: { file: true } } },
      users: { 'Jabber:boss@example.com': { block: { file: false } }, 'carol@example.com': { protocols: ['jabber'] } },
      clients: [{ protocol: 'JABBER', client: 'Psi', minVersion: '2.0' }],
    };
    expect(judge(rules, { type: 'file', protocol: 'xmpp' }).action).toBe('block');
    expect(judge(rules, { type: 'file', protocol: 'msn' }).action).toBe('pass');
    expect(judge(rules, { type: 'file', protocol: 'xmpp', localId: 'boss@example.com' }).action).toBe('pass');
    expect(judge(rules, { protocol: 'xmpp', localId: 'carol@example.com' }).action).toBe('pass');
    expect(judge(rules, { protocol: 'msn', localId: 'carol@example.com' }).action).toBe('block');
    expect(compilePolicy(rules).clients[0]!.protocol).toBe('xmpp');
  });
});

describe('blocking kinds of action', () => {
  it('blocks globally, overridden per protocol and then per user', () => {
    const rules: PolicyRules = {
      block: { file: true, webcam: true },
      protocols: { irc: { block: { file: false } } },
      users: { 'boss@example.com': { block: { file: false } }, 'msn:intern@example.com': { block: { emoticon: true, 'display-picture': true } } },
    };
    expect(judge(rules, { type: 'file' })).toMatchObject({ action: 'block', categories: ['policy file'] });
    expect(judge(rules, { type: 'webcam' })).toMatchObject({ action: 'block', categories: ['policy webcam'] });
    expect(judge(rules, { type: 'file', protocol: 'irc' }).action).toBe('pass');
    expect(judge(rules, { type: 'file', localId: 'Boss@Example.com' }).action).toBe('pass');
    expect(judge(rules, { type: 'emoticon' }).action).toBe('pass');
    expect(judge(rules, { type: 'emoticon', localId: 'intern@example.com' })).toMatchObject({ action: 'block', categories: ['policy emoticon'] });
    expect(judge(rules, { type: 'display-picture', localId: 'intern@example.com', protocol: 'jabber' }).action).toBe('pass');
    expect(judge(rules, { type: 'message' }).action).toBe('pass');
  });

  it('blocks contact additions, not contact lists or removals', () => {
    const rules: PolicyRules = { block: { contact: true } };
    expect(judge(rules, { type: 'contact', subtype: 'add' }).action).toBe('block');
    expect(judge(rules, { type: 'contact' }).action).toBe('block');
    expect(judge(rules, { type: 'contact', subtype: 'remove' }).action).toBe('pass');
    expect(judge(rules, { type: 'contact', subtype: 'list' }).action).toBe('pass');
  });

  it('limits users to their protocols', () => {
    const rules: PolicyRules = { users: { alice: { protocols: ['irc'] } } };
    expect(judge(rules, { localId: 'alice', protocol: 'irc' }).action).toBe('pass');
    expect(judge(rules, { localId: 'alice', protocol: 'msn', type: 'login' })).toMatchObject({
      action: 'block',
      categories: ['policy protocol'],
      respond: 'You may not use msn here',
      disconnect: true,
    });
    expect(judge(rules, { localId: 'bob', protocol: 'msn' }).action).toBe('pass');
  });
});

describe('old clients', () => {
  const rules: PolicyRules = {
    clients: [
      { protocol: 'msn', denyProtocolVersions: ['MSNP8', 'MSNP9'] },
      { protocol: 'msn', client: 'MSNMSGR', minVersion: '8.1', denyVersions: ['8.5.9*'] },
    ],
  };
  const login = (data: string, protocol = 'msn') => judge(rules, { type: 'login', protocol, data: parseDataString(data) });

  it('denies by protocol dialect and by client version, with a reason for the client and the log', () => {
    expect(login('client=MSNMSGR version=8.5.1302 protocol-version=MSNP15').action).toBe('pass');
    const old = login('client=MSNMSGR version=7.0.0816 protocol-version=MSNP11');
    expect(old).toMatchObject({
      action: 'block',
      disconnect: true,
      categories: ['policy client'],
      reason: 'client MSNMSGR 7.0.0816 on msn denied: version 8.1 or newer is required',
    });
    expect(old.respond).toBe('Your IM client (MSNMSGR 7.0.0816) is not allowed here: version 8.1 or newer is required. Please upgrade.');
    expect(login('protocol-version=MSNP8').reason).toBe('client MSNP8 on msn denied: protocol MSNP8 is not allowed');
    expect(login('client=msnmsgr version=8.5.9000').reason).toMatch(/version 8.5.9000 is not allowed/);
    expect(login('client=Pidgin version=2.0').action).toBe('pass');
    expect(login('client=MSNMSGR version=7.0', 'jabber').action).toBe('pass');
    expect(judge(rules, { type: 'other', subtype: 'client', data: { 'protocol-version': 'MSNP9' } }).action).toBe('block');
    expect(judge(rules, { type: 'login' }).action).toBe('pass');
  });

  it('compares versions part by part', () => {
    expect(compareVersions('8.10', '8.9')).toBe(1);
    expect(compareVersions('8', '8.0.0')).toBe(0);
    expect(compareVersions('7.0.0816', '8.1')).toBe(-1);
    expect(compareVersions('1.2b', '1.2a')).toBe(1);
  });
});

describe('the event types the policy judges (judges)', () => {
  it('nothing for an empty policy; the blockable kinds once one is blocked anywhere; logins for client rules; all for protocol limits', () => {
    expect([...judgedTypes(compilePolicy({}))!]).toEqual([]);
    expect([...judgedTypes(compilePolicy({ block: { file: false } }))!]).toEqual([]);
    expect([...judgedTypes(compilePolicy({ users: { bob: { block: { webcam: true } } } }))!].sort()).toEqual(['contact', 'display-picture', 'emoticon', 'file', 'webcam']);
    expect([...judgedTypes(compilePolicy({ protocols: { irc: { block: { file: true } } } }))!]).toContain('file');
    expect([...judgedTypes(compilePolicy({ clients: [{ protocol: 'msn', minVersion: '7' }] }))!].sort()).toEqual(['login', 'other']);
    expect(judgedTypes(compilePolicy({ users: { bob: { protocols: ['irc'] } } }))).toBeUndefined();
  });

  it('every event the policy would block is of a type it judges', () => {
    const policies: PolicyRules[] = [
      { users: { 'alice@example.com': { block: { file: true } } } },
      { block: { contact: true } },
      { clients: [{ protocol: 'msn', denyVersions: ['1.0'] }] },
    ];
    const events = [event({ type: 'file' }), event({ type: 'contact' }), event({ type: 'message' }), event({ type: 'login', data: parseDataString('client=x version=1.0') })];
    for (const rules of policies) {
      const compiled = compilePolicy(rules);
      const blocked = events.filter((e) => policyVerdict(compiled, e).action === 'block');
      expect(blocked.length, JSON.stringify(rules)).toBeGreaterThan(0);
      for (const e of blocked) expect(judgedTypes(compiled)!.has(e.type), `${e.type} under ${JSON.stringify(rules)}`).toBe(true);
    }
  });

  it('follows a reloaded policy file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-policy-'));
    try {
      await writeFile(path.join(dir, 'policy.yaml'), '{}\n');
      const log: PluginLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, child: () => log };
      const hooks = (await plugin.setup({
        name: 'filter-policy',
        logger: log,
        hostVersion: '0.1.0',
        dataDir: dir,
        configDir: dir,
        options: { file: 'policy.yaml', watch: false } as never,
      })) as FilterHooks;
      expect(hooks.judges?.size).toBe(0);
      await writeFile(path.join(dir, 'policy.yaml'), 'block: { file: true }\n');
      await hooks.reload!();
      expect(hooks.judges?.has('file')).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the policy file', () => {
  it('is YAML or JSON, checked with errors that name the key', () => {
    expect(parsePolicyFile('block:\n  file: true\n')).toEqual({ block: { file: true } });
    expect(parsePolicyFile('{"users": {"a": {"protocols": ["irc"]}}}')).toEqual({ users: { a: { protocols: ['irc'] } } });
    expect(parsePolicyFile('')).toEqual({});
    expect(() => parsePolicyFile('block:\n  files: true\n')).toThrow(/block/);
    expect(() => parsePolicyFile('block: [\n')).toThrow(/not valid YAML/);
  });

  it('is reloaded on demand; a broken file leaves the last good policy in force', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-policy-'));
    try {
      await writeFile(path.join(dir, 'policy.yaml'), 'block: { file: true }\n');
      const log: PluginLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, child: () => log };
      const hooks = (await plugin.setup({
        name: 'filter-policy',
        logger: log,
        hostVersion: '0.1.0',
        dataDir: dir,
        configDir: dir,
        options: { file: 'policy.yaml', watch: false } as never,
      })) as FilterHooks;
      expect((await hooks.check(event({ type: 'file' }))).action).toBe('block');
      await writeFile(path.join(dir, 'policy.yaml'), 'block: { webcam: true }\n');
      await hooks.reload!();
      expect((await hooks.check(event({ type: 'file' }))).action).toBe('pass');
      await writeFile(path.join(dir, 'policy.yaml'), 'block: { webcams: yes\n');
      await expect(hooks.reload!()).rejects.toThrow();
      expect((await hooks.check(event({ type: 'webcam' }))).action).toBe('block');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('inline options work without a file', async () => {
    const log: PluginLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, child: () => log };
    const hooks = (await plugin.setup({
      name: 'filter-policy',
      logger: log,
      hostVersion: '0.1.0',
      dataDir: '/tmp',
      configDir: '/tmp',
      options: { block: { webcam: true }, watch: true } as never,
    })) as FilterHooks;
    expect((await hooks.check(event({ type: 'webcam' }))).action).toBe('block');
    expect((await hooks.check(event({ type: 'file' }))).action).toBe('pass');
  });
});
