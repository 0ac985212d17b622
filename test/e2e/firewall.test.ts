/**
 * `imspect firewall`: the printed rules, and --apply / --remove with the real kernel tools inside a network
 * namespace this test creates (the host's tables are never touched). Apply twice equals apply once; remove
 * leaves the tables exactly as they were, other rules included.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { describeWithService } from '../support/e2e.js';
import { CLI } from '../support/imspect-process.js';
import { netnsMissing, nsRun, nsTry } from '../support/netns.js';

const IRC_PORTS = '6665,6666,6667,6668,6669,6697,7000';

function imspect(args: string[], env?: NodeJS.ProcessEnv) {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: path.dirname(CLI), env: { ...process.env, ...env } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Every protocol plugin imspect discovers here (the list grows as protocol plugins are added). */
function protocolPlugins(): string[] {
  const listed = imspect(['plugins', 'list', '--json']);
  if (listed.status !== 0) throw new Error(`imspect plugins list: ${listed.stderr}`);
  const { plugins } = JSON.parse(listed.stdout) as { plugins: { name: string; kind: string }[] };
  return plugins.filter((p) => p.kind === 'protocol').map((p) => p.name);
}

const configDir = mkdtempSync(path.join(os.tmpdir(), 'imspect-fw-'));
afterAll(() => rmSync(configDir, { recursive: true, force: true }));

/** A configuration with only the named protocol plugins enabled, so the expected ports are known exactly. */
function configEnabling(name: string, enabled: string[]): string {
  const plugins = Object.fromEntries(protocolPlugins().map((p) => [p, { enabled: enabled.includes(p) }]));
  const file = path.join(configDir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ plugins }));
  return file;
}

describe('imspect firewall (printing)', () => {
  it('prints iptables, ip6tables and nftables rules for the enabled protocols’ ports', () => {
    const result = imspect(['firewall', '-c', configEnabling('irc-only', ['irc']), '--port', '17000', '-i', 'lan0']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(`iptables -t nat -A IMSPECT -p tcp -m multiport --dports ${IRC_PORTS} -j REDIRECT --to-ports 17000`);
    expect(result.stdout).toContain(`ip6tables -t nat -A IMSPECT -p tcp -m multiport --dports ${IRC_PORTS} -j REDIRECT --to-ports 17000`);
    expect(result.stdout).toContain('iptables -t nat -A PREROUTING -i lan0 -p tcp -m comment --comment imspect -j IMSPECT');
    expect(result.stdout).toContain('iifname { "lan0" } tcp dport { 6665, 6666, 6667, 6668, 6669, 6697, 7000 } redirect to :17000');
  });

  it('the example gateway configuration in docs/ is valid and its rules target its transparent listener', () => {
    const example = path.join(path.dirname(CLI), '../../../docs/examples/gateway.yaml');
    const checked = imspect(['config', 'check', '-c', example]);
    expect(checked.status, checked.stderr).toBe(0);
    const printed = imspect(['firewall', '-c', example, '--backend', 'nftables']);
    expect(printed.status, printed.stderr).toBe(0);
    expect(printed.stdout).toContain('redirect to :16667');
    expect(printed.stdout).not.toContain('iptables');
  });

  it('leaves out the ports of disabled protocols', () => {
    const all = imspect(['firewall', '--backend', 'iptables', '--port', '17000']);
    expect(all.status, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/--dports [0-9,]*6667[0-9,]* /);
    const withoutIrc = imspect(['firewall', '-c', configEnabling('no-irc', protocolPlugins().filter((p) => p !== 'irc')), '--backend', 'iptables']);
    expect(withoutIrc.status, withoutIrc.stderr).toBe(0);
    expect(withoutIrc.stdout).not.toMatch(/\b(6665|6666|6667|6668|6669|6697|7000)\b/);
    const result = imspect(['firewall', '--config', configEnabling('none', [])]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('no enabled protocol plugin declares a port');
  });

  it('says clearly which kernel tool is missing', () => {
    const bare = { PATH: '/nonexistent' };
    const iptables = imspect(['firewall', '--apply', '--backend', 'iptables'], bare);
    expect(iptables.status).toBe(1);
    expect(iptables.stderr).toMatch(/imspect: iptables not found in PATH .*apt-get install iptables/);
    const nft = imspect(['firewall', '--remove', '--backend', 'nftables'], bare);
    expect(nft.status).toBe(1);
    expect(nft.stderr).toMatch(/imspect: nft not found in PATH .*apt-get install nftables/);
    const any = imspect(['firewall', '--apply'], bare);
    expect(any.status).toBe(1);
    expect(any.stderr).toContain('neither nft (nftables) nor iptables was found in PATH');
  });
});

describeWithService('imspect firewall --apply/--remove', netnsMissing(['iptables', 'ip6tables', 'nft', 'iptables-save', 'ip6tables-save']), () => {
  let namespace: string | undefined;
  afterEach(() => {
    if (namespace) spawnSync('ip', ['netns', 'del', namespace]);
    namespace = undefined;
  });

  const firewall = (ns: string, args: string[]) => nsTry(ns, process.execPath, [CLI, 'firewall', ...args]);
  const snapshot = (ns: string) => ({
    v4: nsRun(ns, 'iptables-save', ['-t', 'nat']).replace(/^#.*\n/gm, '').replace(/\[\d+:\d+\]/g, ''),
    v6: nsRun(ns, 'ip6tables-save', ['-t', 'nat']).replace(/^#.*\n/gm, '').replace(/\[\d+:\d+\]/g, ''),
  });

  it('iptables: apply twice equals apply once; remove restores the tables, other rules untouched', () => {
    const ns = createNamespace('a');
    // A gateway's own rules, which imspect must leave alone.
    nsRun(ns, 'iptables', ['-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan0', '-j', 'MASQUERADE']);
    nsRun(ns, 'iptables', ['-t', 'nat', '-A', 'PREROUTING', '-p', 'tcp', '--dport', '8443', '-j', 'DNAT', '--to-destination', '198.18.5.5:443']);
    nsRun(ns, 'ip6tables', ['-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan0', '-j', 'MASQUERADE']);
    const before = snapshot(ns);

    for (const interfaces of [['-i', 'lan0', '-i', 'lan1'], ['-i', 'lan0']]) {
      const applied = firewall(ns, ['--apply', '-c', configEnabling('irc-only', ['irc']), '--backend', 'iptables', '--port', '16667', ...interfaces]);
      expect(applied.status, applied.stderr).toBe(0);
    }
    for (const tool of ['iptables', 'ip6tables']) {
      const rules = nsRun(ns, tool, ['-t', 'nat', '-S']).split('\n');
      expect(rules.filter((r) => r.includes('-j IMSPECT'))).toEqual(['-A PREROUTING -i lan0 -p tcp -m comment --comment imspect -j IMSPECT']);
      expect(rules.filter((r) => r.startsWith('-A IMSPECT'))).toEqual([`-A IMSPECT -p tcp -m multiport --dports ${IRC_PORTS} -j REDIRECT --to-ports 16667`]);
    }
    expect(snapshot(ns)).not.toEqual(before);

    const removed = firewall(ns, ['--remove', '--backend', 'iptables']);
    expect(removed.status, removed.stderr).toBe(0);
    expect(removed.stdout).toContain('iptables: chain IMSPECT and its jumps removed');
    expect(snapshot(ns)).toEqual(before);
    const again = firewall(ns, ['--remove', '--backend', 'iptables']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain('no chain IMSPECT (nothing to remove)');
    expect(snapshot(ns)).toEqual(before);
  });

  it('nftables: apply twice equals apply once; remove restores the ruleset, other tables untouched', () => {
    const ns = createNamespace('b');
    nsRun(ns, 'nft', ['-f', '-'], 'table inet gateway {\n chain post {\n  type nat hook postrouting priority srcnat; policy accept;\n  oifname "wan0" masquerade\n }\n}\n');
    const before = nsRun(ns, 'nft', ['list', 'ruleset']);

    for (let i = 0; i < 2; i++) {
      const applied = firewall(ns, ['--apply', '-c', configEnabling('irc-only', ['irc']), '--backend', 'nftables', '--port', '16667']);
      expect(applied.status, applied.stderr).toBe(0);
    }
    const ruleset = nsRun(ns, 'nft', ['list', 'ruleset']);
    expect(ruleset.match(/table inet imspect/g)).toHaveLength(1);
    expect(ruleset).toContain('tcp dport { 6665, 6666, 6667, 6668, 6669, 6697, 7000 } redirect to :16667');
    expect(ruleset).toContain('oifname "wan0" masquerade');

    const removed = firewall(ns, ['--remove', '--backend', 'nftables']);
    expect(removed.status, removed.stderr).toBe(0);
    expect(nsRun(ns, 'nft', ['list', 'ruleset'])).toBe(before);
  });

  function createNamespace(tag: string): string {
    namespace = `imsp${process.pid % 100000}fw${tag}`;
    spawnSync('ip', ['netns', 'del', namespace], { stdio: 'ignore' });
    const added = spawnSync('ip', ['netns', 'add', namespace], { encoding: 'utf8' });
    if (added.status !== 0) throw new Error(`ip netns add ${namespace}: ${added.stderr}`);
    return namespace;
  }
});
