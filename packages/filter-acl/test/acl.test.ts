import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FilterHooks, ImEvent, PluginLogger } from '@imspect/sdk';
import plugin, { aclVerdict, DEFAULT_TYPES, firstMatch, idMatches, parseAcl } from '../src/index.js';

function event(localId: string, remoteId: string, extra: Partial<ImEvent> = {}): ImEvent {
  return {
    id: '1',
    at: '',
    protocol: 'msn',
    direction: 'outgoing',
    type: 'message',
    localId,
    remoteId,
    text: 'hi',
    client: { ip: '127.0.0.1', port: 1 },
    server: { host: 'h', port: 2 },
    filtered: false,
    categories: [],
    ...extra,
  };
}

const SAMPLE = `# IMSpector's example
allow sales@hotmail.com client@hotmail.com company.com
allow admin@company.com
allow all support@company.com
deny all
`;

describe('parseAcl', () => {
  it('reads the IMSpector grammar', () => {
    const rules = parseAcl(SAMPLE);
    expect(rules).toHaveLength(4);
    expect(rules[0]).toMatchObject({ action: 'allow', local: 'sales@hotmail.com', remotes: ['client@hotmail.com', 'company.com'], groupchat: false, line: 2 });
    expect(rules[2]).toMatchObject({ action: 'allow', local: undefined, remotes: ['support@company.com'] });
    expect(rules[3]).toMatchObject({ action: 'deny', local: undefined, remotes: [] });
  });

  it('reports a broken line with its number', () => {
    expect(() => parseAcl('allow bob\npermit alice carol\n')).toThrow('line 2: "permit alice carol": a rule starts with allow or deny');
    expect(() => parseAcl('deny\n')).toThrow('line 1');
  });

  it('reads protocol sections; # starts a comment only at the start of a line (IRC channels start with #)', () => {
    const rules = parseAcl('# comment\ndeny alice groupchat\n[irc]\ndeny bob carol #secret\n  # indented comment\n[all]\nallow all\n');
    expect(rules.map((r) => [r.action, r.local, r.protocol, r.groupchat, r.remotes])).toEqual([
      ['deny', 'alice', undefined, true, []],
      ['deny', 'bob', 'irc', false, ['carol', '#secret']],
      ['allow', undefined, undefined, false, []],
    ]);
    expect(firstMatch(rules, event('bob', '#Secret', { protocol: 'irc', conversation: '#Secret' }))?.line).toBe(4);
  });
});

describe('protocol aliases', () => {
  it('[jabber] is the xmpp section: its rules apply to the events the xmpp plugin reports', () => {
    const rules = parseAcl('[Jabber]\ndeny alice bob\n[all]\nallow all\n');
    expect(rules[0]!.protocol).toBe('xmpp');
    expect(firstMatch(rules, event('alice', 'bob', { protocol: 'xmpp' }))?.action).toBe('deny');
    expect(firstMatch(rules, event('alice', 'bob', { protocol: 'irc' }))?.action).toBe('allow');
  });
});

describe('matching', () => {
  it('matches ids whole, ignoring case and XMPP resources; domains match their ids', () => {
    expect(idMatches('bob', 'bob')).toBe(true);
    expect(idMatches('bob', 'xbob')).toBe(false);
    expect(idMatches('bob', 'bob2')).toBe(false);
    expect(idMatches('bob', 'bob@example.com')).toBe(false);
    expect(idMatches('company.com', 'client@company.com')).toBe(true);
    expect(idMatches('company.com', 'a@eu.company.com')).toBe(true);
    expect(idMatches('company.com', 'a@badcompany.com')).toBe(false);
    expect(idMatches('company.com', 'company.com.evil')).toBe(false);
    const rules = parseAcl('deny Alice@Example.org carol@example.org\n');
    expect(firstMatch(rules, event('alice@example.org/laptop', 'CAROL@example.org/phone'))?.action).toBe('deny');
  });

  it('first match wins, default allow', () => {
    const rules = parseAcl(SAMPLE);
    const verdict = (l: string, r: string) => aclVerdict(rules, event(l, r), new Set(DEFAULT_TYPES)).action;
    expect(verdict('sales@hotmail.com', 'client@hotmail.com')).toBe('pass');
    expect(verdict('sales@hotmail.com', 'x@company.com')).toBe('pass');
    expect(verdict('sales@hotmail.com', 'x@other.com')).toBe('block');
    expect(verdict('admin@company.com', 'anyone@anywhere.net')).toBe('pass');
    expect(verdict('joe@company.com', 'support@company.com')).toBe('pass');
    expect(verdict('joe@company.com', 'friend@hotmail.com')).toBe('block');
    expect(aclVerdict(parseAcl('allow alice\n'), event('bob', 'x'), new Set(DEFAULT_TYPES))).toEqual({ action: 'pass' });
  });

  it('passes presence (a contact status, the user own status), still blocks the contact additions and messages', () => {
    const rules = parseAcl('deny joe@company.com friend@hotmail.com\ndeny joe@company.com all\n');
    const types = new Set(DEFAULT_TYPES);
    const status = { status: 'away', 'protocol-status': 'AWY', description: '<script>x</script>' };
    expect(aclVerdict(rules, event('joe@company.com', 'friend@hotmail.com', { type: 'contact', subtype: 'status', data: status }), types)).toEqual({ action: 'pass' });
    expect(aclVerdict(rules, event('joe@company.com', 'ns.example', { type: 'other', subtype: 'status', data: status }), new Set([...types, 'other']))).toEqual({ action: 'pass' });
    expect(aclVerdict(rules, event('joe@company.com', 'friend@hotmail.com', { type: 'contact', subtype: 'add' }), types).action).toBe('block');
    expect(aclVerdict(rules, event('joe@company.com', 'friend@hotmail.com'), types).action).toBe('block');
  });

  it('groupchat matches group conversations only; sections limit rules to a protocol', () => {
    const rules = parseAcl('deny alice groupchat\n[irc]\ndeny bob carol\n');
    const types = new Set(DEFAULT_TYPES);
    expect(aclVerdict(rules, event('alice', '#chan', { protocol: 'irc', conversation: '#chan' }), types).action).toBe('block');
    expect(aclVerdict(rules, event('alice', 'room', { subtype: 'groupchat' }), types).action).toBe('block');
    expect(aclVerdict(rules, event('alice', 'x@y', { data: { groupchat: true } }), types).action).toBe('block');
    expect(aclVerdict(rules, event('alice', 'carol'), types).action).toBe('pass');
    expect(aclVerdict(rules, event('bob', 'carol', { protocol: 'irc' }), types)).toMatchObject({ action: 'block', categories: ['acl'], reason: 'ACL line 3: deny bob carol' });
    expect(aclVerdict(rules, event('bob', 'carol', { protocol: 'msn' }), types).action).toBe('pass');
  });

  it('judges only the configured event types (not logins)', () => {
    const rules = parseAcl('deny all\n');
    expect(aclVerdict(rules, event('a', 'server', { type: 'login' }), new Set(DEFAULT_TYPES)).action).toBe('pass');
    expect(aclVerdict(rules, event('a', 'b', { type: 'file' }), new Set(DEFAULT_TYPES)).action).toBe('block');
  });
});

describe('the plugin', () => {
  it('loads the file, reloads it on demand and keeps the last good ACL when the new one is broken', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-acl-'));
    try {
      await writeFile(path.join(dir, 'acl.txt'), 'deny alice bob\n');
      const errors: string[] = [];
      const log: PluginLogger = { trace() {}, debug() {}, info() {}, warn() {}, error: (_o, m) => void errors.push(String(m)), child: () => log };
      const hooks = (await plugin.setup({
        name: 'filter-acl',
        logger: log,
        hostVersion: '0.1.0',
        dataDir: dir,
        configDir: dir,
        options: { file: 'acl.txt', types: DEFAULT_TYPES, watch: false } as never,
      })) as FilterHooks;
      expect((await hooks.check(event('alice', 'bob'))).action).toBe('block');
      await writeFile(path.join(dir, 'acl.txt'), 'deny alice carol\n');
      await hooks.reload!();
      expect((await hooks.check(event('alice', 'bob'))).action).toBe('pass');
      expect((await hooks.check(event('alice', 'carol'))).action).toBe('block');
      await writeFile(path.join(dir, 'acl.txt'), 'deny alice bob\nrefuse alice carol\n');
      await expect(hooks.reload!()).rejects.toThrow(/last good version/);
      expect(errors.join('\n')).toMatch(/line 2: "refuse alice carol"/);
      expect((await hooks.check(event('alice', 'carol'))).action).toBe('block');
      expect((await hooks.check(event('alice', 'bob'))).action).toBe('pass');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
