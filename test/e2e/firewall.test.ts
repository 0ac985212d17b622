/**
 * `imspect firewall`: the printed rules, and --apply / --remove with the real kernel tools inside a network
 * namespace this test creates (the host's tables are never touched). Apply twice equals apply once; remove
 * leaves the tables exactly as they were, other rules included.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { describeWithService } from '../support/e2e.js';
import { CLI } from '../support/imspect-process.js';
import { netnsMissing, nsRun, nsTry } from '../support/netns.js';

/** The IRC plugin's ports (plain and TLS). Other protocol plugins installed beside it add theirs. */
const IRC_PORTS = [6665, 6666, 6667, 6668, 6669, 6697, 7000];

/** Every port of the iptables REDIRECT rules to `toPort` in `text` (`--dports a,b,c ... --to-ports N`). */
function iptablesPorts(text: string, tool: 'iptables' | 'ip6tables' | '', toPort: number): number[] {
  // Printed commands start with `<tool> -t nat`; `iptables -S` lines with `-A`.
  const rule = new RegExp(`^${tool ? `${tool} -t nat ` : ''}-A IMSPECT -p tcp -m multiport --dports ([0-9,]+) -j REDIRECT --to-ports ${toPort}$`, 'gm');
  return [...text.matchAll(rule)].flatMap((m) => m[1]!.split(',').map(Number));
}

/** The ports of the nftables redirect rule to `toPort` in `text`. */
function nftPorts(text: string, toPort: number, prefix = ''): number[] {
  const match = new RegExp(`${prefix}tcp dport \\{ ([0-9, ]+) \\} redirect to :${toPort}`).exec(text);
  return match ? match[1]!.split(', ').map(Number) : [];
}

/** Sorted, no duplicates, every IRC port, never the listener's own. */
function expectPortSet(ports: number[], toPort: number): void {
  expect(ports).toEqual([...new Set(ports)].sort((a, b) => a - b));
  for (const port of IRC_PORTS) expect(ports).toContain(port);
  expect(ports).not.toContain(toPort);
}

function imspect(args: string[], env?: NodeJS.ProcessEnv) {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: path.dirname(CLI), env: { ...process.env, ...env } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('imspect firewall (printing)', () => {
  it('prints iptables, ip6tables and nftables rules for the enabled protocols’ ports', () => {
    const result = imspect(['firewall', '--port', '17000', '-i', 'lan0']);
    expect(result.status, result.stderr).toBe(0);
    const v4 = iptablesPorts(result.stdout, 'iptables', 17000);
    expectPortSet(v4, 17000);
    // The built-in Gadu-Gadu plugin's port (IMSpector's gg_protocol).
    expect(v4).toContain(8074);
    expect(iptablesPorts(result.stdout, 'ip6tables', 17000)).toEqual(v4);
    expect(nftPorts(result.stdout, 17000, 'iifname \\{ "lan0" \\} ')).toEqual(v4);
    expect(result.stdout).toContain('iptables -t nat -A PREROUTING -i lan0 -p tcp -m comment --comment imspect -j IMSPECT');
    // The built-in protocol plugins' ports: MSN, Yahoo, XMPP, ICQ/AIM (OSCAR).
    for (const port of [1863, 5050, 5222, 5190]) expect(v4, `port ${port}`).toContain(port);
    expect(result.stdout).toMatch(/5190=oscar/);
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
    const dir = mkdtempSync(path.join(os.tmpdir(), 'imspect-fw-'));
    const config = path.join(dir, 'imspect.config.json');
    writeFileSync(config, JSON.stringify({ plugins: { irc: { enabled: false } }, ports: { '4444': 'irc' } }));
    const result = imspect(['firewall', '--config', config, '--backend', 'nftables']);
    writeFileSync(config, JSON.stringify({ ports: { '4444': 'irc' } }));
    const enabled = imspect(['firewall', '--config', config, '--backend', 'nftables']);
    rmSync(dir, { recursive: true, force: true });
    // The configuration's own port mapping counts while the plugin is enabled.
    expect(enabled.status, enabled.stderr).toBe(0);
    expect(nftPorts(enabled.stdout, 16667)).toContain(4444);
    if (result.status === 0) {
      // Other protocol plugins are installed: only their ports remain.
      const ports = nftPorts(result.stdout, 16667);
      expect(ports.length).toBeGreaterThan(0);
      for (const port of [...IRC_PORTS, 4444]) expect(ports).not.toContain(port);
    } else {
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('no enabled protocol plugin declares a port');
    }
  });

  it('--block-qq: drops QQ (UDP and TCP 8000) in forwarding for hosts not allowed, and redirects its fallbacks 80 and 443', () => {
    const result = imspect(['firewall', '--port', '17000', '--block-qq', '--qq-allow', '10.0.0.5', '--qq-allow', '2001:db8::/64']);
    expect(result.status, result.stderr).toBe(0);
    const v4 = iptablesPorts(result.stdout, 'iptables', 17000);
    for (const port of [80, 443]) expect(v4).toContain(port);
    expect(result.stdout).toMatch(/80=qq 443=qq|443=qq/);
    expect(result.stdout).toContain('iptables -t filter -A IMSPECT-QQ -s 10.0.0.5 -j RETURN');
    expect(result.stdout).toContain('iptables -t filter -A IMSPECT-QQ -p udp --dport 8000 -j DROP');
    expect(result.stdout).toContain('iptables -t filter -A IMSPECT-QQ -p tcp --dport 8000 -j REJECT --reject-with tcp-reset');
    expect(result.stdout).toContain('iptables -t filter -A FORWARD -m comment --comment imspect -j IMSPECT-QQ');
    // Each family gets only its own allowed hosts.
    expect(result.stdout).toContain('ip6tables -t filter -A IMSPECT-QQ -s 2001:db8::/64 -j RETURN');
    expect(result.stdout).not.toContain('ip6tables -t filter -A IMSPECT-QQ -s 10.0.0.5');
    expect(result.stdout).toMatch(/ip saddr \{ 10\.0\.0\.5 \} return\n\s+ip6 saddr \{ 2001:db8::\/64 \} return\n\s+udp dport 8000 drop\n\s+tcp dport 8000 reject with tcp reset/);
    // Without --block-qq: none of it.
    const plain = imspect(['firewall', '--port', '17000']);
    expect(plain.stdout).not.toContain('IMSPECT-QQ');
    expect(plain.stdout).not.toContain('dport 8000');
    const bad = imspect(['firewall', '--block-qq', '--qq-allow', '10.0.0.0/33']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--qq-allow 10.0.0.0/33: not an address or CIDR network');
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
    v4: nsRun(ns, 'iptables-save', ['-t', 'nat'])
      .replace(/^#.*\n/gm, '')
      .replace(/\[\d+:\d+\]/g, ''),
    v6: nsRun(ns, 'ip6tables-save', ['-t', 'nat'])
      .replace(/^#.*\n/gm, '')
      .replace(/\[\d+:\d+\]/g, ''),
  });

  it('iptables: apply twice equals apply once; remove restores the tables, other rules untouched', () => {
    const ns = createNamespace('a');
    // A gateway's own rules, which imspect must leave alone.
    nsRun(ns, 'iptables', ['-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan0', '-j', 'MASQUERADE']);
    nsRun(ns, 'iptables', ['-t', 'nat', '-A', 'PREROUTING', '-p', 'tcp', '--dport', '8443', '-j', 'DNAT', '--to-destination', '198.18.5.5:443']);
    nsRun(ns, 'ip6tables', ['-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan0', '-j', 'MASQUERADE']);
    const before = snapshot(ns);

    for (const interfaces of [
      ['-i', 'lan0', '-i', 'lan1'],
      ['-i', 'lan0'],
    ]) {
      const applied = firewall(ns, ['--apply', '--backend', 'iptables', '--port', '16667', ...interfaces]);
      expect(applied.status, applied.stderr).toBe(0);
    }
    for (const tool of ['iptables', 'ip6tables']) {
      const rules = nsRun(ns, tool, ['-t', 'nat', '-S']).split('\n');
      expect(rules.filter((r) => r.includes('-j IMSPECT'))).toEqual(['-A PREROUTING -i lan0 -p tcp -m comment --comment imspect -j IMSPECT']);
      const chain = rules.filter((r) => r.startsWith('-A IMSPECT')).join('\n');
      expectPortSet(iptablesPorts(chain, '', 16667), 16667);
      expect(chain.split('\n').every((r) => /^-A IMSPECT -p tcp -m multiport --dports [0-9,]+ -j REDIRECT --to-ports 16667$/.test(r))).toBe(true);
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
      const applied = firewall(ns, ['--apply', '--backend', 'nftables', '--port', '16667']);
      expect(applied.status, applied.stderr).toBe(0);
    }
    const ruleset = nsRun(ns, 'nft', ['list', 'ruleset']);
    expect(ruleset.match(/table inet imspect/g)).toHaveLength(1);
    expectPortSet(nftPorts(ruleset, 16667), 16667);
    expect(ruleset).toContain('oifname "wan0" masquerade');

    const removed = firewall(ns, ['--remove', '--backend', 'nftables']);
    expect(removed.status, removed.stderr).toBe(0);
    expect(nsRun(ns, 'nft', ['list', 'ruleset'])).toBe(before);
  });

  it('--block-qq with iptables and nftables: the QQ rules are applied, and removed with the rest', () => {
    const ns = createNamespace('q');
    const filterBefore = nsRun(ns, 'iptables-save', ['-t', 'filter'])
      .replace(/^#.*\n/gm, '')
      .replace(/\[\d+:\d+\]/g, '');
    const applied = firewall(ns, ['--apply', '--backend', 'iptables', '--port', '16667', '--block-qq', '--qq-allow', '10.0.0.5']);
    expect(applied.status, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('iptables: chain IMSPECT-QQ in the filter table drops QQ (udp and tcp port 8000) in forwarding except from 10.0.0.5');
    const rules = nsRun(ns, 'iptables', ['-t', 'filter', '-S']).split('\n');
    expect(rules.filter((r) => r.startsWith('-A IMSPECT-QQ') || r.includes('-j IMSPECT-QQ'))).toEqual([
      '-A FORWARD -m comment --comment imspect -j IMSPECT-QQ',
      '-A IMSPECT-QQ -s 10.0.0.5/32 -j RETURN',
      '-A IMSPECT-QQ -p udp -m udp --dport 8000 -j DROP',
      '-A IMSPECT-QQ -p tcp -m tcp --dport 8000 -j REJECT --reject-with tcp-reset',
    ]);
    expect(firewall(ns, ['--remove', '--backend', 'iptables']).status).toBe(0);
    expect(
      nsRun(ns, 'iptables-save', ['-t', 'filter'])
        .replace(/^#.*\n/gm, '')
        .replace(/\[\d+:\d+\]/g, ''),
    ).toBe(filterBefore);

    const nft = firewall(ns, ['--apply', '--backend', 'nftables', '--port', '16667', '--block-qq']);
    expect(nft.status, nft.stderr).toBe(0);
    const ruleset = nsRun(ns, 'nft', ['list', 'table', 'inet', 'imspect']);
    expect(ruleset).toMatch(/type filter hook forward priority filter; policy accept;\s+udp dport 8000 drop\s+tcp dport 8000 reject with tcp reset/);
    for (const port of [80, 443]) expect(nftPorts(ruleset, 16667)).toContain(port);
    expect(firewall(ns, ['--remove', '--backend', 'nftables']).status).toBe(0);
    expect(nsTry(ns, 'nft', ['list', 'table', 'inet', 'imspect']).status).not.toBe(0);
  });

  function createNamespace(tag: string): string {
    namespace = `imsp${process.pid % 100000}fw${tag}`;
    spawnSync('ip', ['netns', 'del', namespace], { stdio: 'ignore' });
    const added = spawnSync('ip', ['netns', 'add', namespace], { encoding: 'utf8' });
    if (added.status !== 0) throw new Error(`ip netns add ${namespace}: ${added.stderr}`);
    return namespace;
  }
});
