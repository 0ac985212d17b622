/**
 * The redirect rules `imspect firewall` prints and applies: connections to the enabled protocols' ports are sent
 * to the transparent listener. Everything imspect adds lives in its own chain (iptables: IMSPECT in the nat
 * table, one jump from PREROUTING) or its own table (nftables: inet imspect), so applying twice is the same as
 * once, and removing takes away exactly what was added.
 */

export type Family = 'ipv4' | 'ipv6';
export type Backend = 'iptables' | 'nftables';

export interface RedirectPlan {
  /** Destination ports to redirect, sorted. */
  ports: number[];
  /** The transparent listener's port. */
  toPort: number;
  /** Only connections arriving on these interfaces (the LAN side); every interface when empty. */
  interfaces: string[];
  families: Family[];
  /**
   * Classic QQ: its UDP port and its TCP port 8000 are dropped in forwarding for every LAN host but `allow`
   * (addresses or CIDR networks). Its other TCP fallbacks (80, 443) are redirected to imspect, which recognises
   * QQ there and applies `policy.unreadable`.
   */
  qq?: { allow: string[] };
}

/** QQ's server port, UDP first and TCP as a fallback. */
export const QQ_PORT = 8000;
/** The TCP ports QQ falls back to besides 8000: redirected to imspect when QQ is blocked. */
export const QQ_TCP_FALLBACKS = [80, 443] as const;
export const IPTABLES_QQ_CHAIN = 'IMSPECT-QQ';

/** The allowed hosts of one family (an IPv6 address has a colon). */
function allowedOf(plan: RedirectPlan, family: Family): string[] {
  return (plan.qq?.allow ?? []).filter((a) => a.includes(':') === (family === 'ipv6'));
}

export const IPTABLES_CHAIN = 'IMSPECT';
export const NFT_TABLE = 'imspect';

/** iptables' multiport match takes at most 15 ports. */
const MULTIPORT_MAX = 15;

export function iptablesTool(family: Family): string {
  return family === 'ipv4' ? 'iptables' : 'ip6tables';
}

/** Arguments of the rules in the IMSPECT chain. */
export function iptablesChainRules(plan: RedirectPlan): string[][] {
  const rules: string[][] = [];
  for (let i = 0; i < plan.ports.length; i += MULTIPORT_MAX) {
    const ports = plan.ports.slice(i, i + MULTIPORT_MAX).join(',');
    rules.push(['-t', 'nat', '-A', IPTABLES_CHAIN, '-p', 'tcp', '-m', 'multiport', '--dports', ports, '-j', 'REDIRECT', '--to-ports', String(plan.toPort)]);
  }
  return rules;
}

/** Arguments of the jumps from PREROUTING into the IMSPECT chain (one per LAN interface, or one for all). */
export function iptablesJumps(plan: RedirectPlan): string[][] {
  const base = ['-t', 'nat', '-A', 'PREROUTING'];
  const jump = ['-p', 'tcp', '-m', 'comment', '--comment', 'imspect', '-j', IPTABLES_CHAIN];
  if (plan.interfaces.length === 0) return [[...base, ...jump]];
  return plan.interfaces.map((name) => [...base, '-i', name, ...jump]);
}

/** Arguments of the QQ rules in the filter table: the IMSPECT-QQ chain's rules, then the jump from FORWARD. */
export function iptablesQqRules(plan: RedirectPlan, family: Family): string[][] {
  if (!plan.qq) return [];
  const chain = ['-t', 'filter', '-A', IPTABLES_QQ_CHAIN];
  const jumpMatch = plan.interfaces.length === 0 ? [[]] : plan.interfaces.map((name) => ['-i', name]);
  return [
    ...allowedOf(plan, family).map((source) => [...chain, '-s', source, '-j', 'RETURN']),
    [...chain, '-p', 'udp', '--dport', String(QQ_PORT), '-j', 'DROP'],
    [...chain, '-p', 'tcp', '--dport', String(QQ_PORT), '-j', 'REJECT', '--reject-with', 'tcp-reset'],
    ...jumpMatch.map((iface) => ['-t', 'filter', '-A', 'FORWARD', ...iface, '-m', 'comment', '--comment', 'imspect', '-j', IPTABLES_QQ_CHAIN]),
  ];
}

/** The whole nftables table, as `nft -f` reads it. */
export function nftTable(plan: RedirectPlan): string {
  const match: string[] = [];
  if (!plan.families.includes('ipv4')) match.push('meta nfproto ipv6');
  if (!plan.families.includes('ipv6')) match.push('meta nfproto ipv4');
  if (plan.interfaces.length > 0) match.push(`iifname { ${plan.interfaces.map((i) => JSON.stringify(i)).join(', ')} }`);
  match.push(`tcp dport { ${plan.ports.join(', ')} }`);
  const lines = [
    `table inet ${NFT_TABLE} {`,
    '  chain prerouting {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    `    ${match.join(' ')} redirect to :${plan.toPort}`,
    '  }',
  ];
  if (plan.qq) {
    const iface = plan.interfaces.length > 0 ? `iifname { ${plan.interfaces.map((i) => JSON.stringify(i)).join(', ')} } ` : '';
    lines.push('  chain forward {', '    type filter hook forward priority filter; policy accept;');
    const v4 = allowedOf(plan, 'ipv4');
    const v6 = allowedOf(plan, 'ipv6');
    if (v4.length > 0) lines.push(`    ip saddr { ${v4.join(', ')} } return`);
    if (v6.length > 0) lines.push(`    ip6 saddr { ${v6.join(', ')} } return`);
    lines.push(`    ${iface}udp dport ${QQ_PORT} drop`, `    ${iface}tcp dport ${QQ_PORT} reject with tcp reset`, '  }');
  }
  lines.push('}');
  return lines.join('\n');
}

/**
 * One nft transaction that replaces the table: creating it first makes the delete succeed when it is absent,
 * so applying is idempotent and atomic.
 */
export function nftApplyScript(plan: RedirectPlan): string {
  return `table inet ${NFT_TABLE}\ndelete table inet ${NFT_TABLE}\n${nftTable(plan)}\n`;
}

function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:,=+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The rules as shell commands, for people to read or paste. */
export function describeRules(plan: RedirectPlan, backends: readonly Backend[]): string {
  const lines: string[] = [];
  if (backends.includes('iptables')) {
    for (const family of plan.families) {
      const tool = iptablesTool(family);
      lines.push(`# ${tool} (${family === 'ipv4' ? 'IPv4' : 'IPv6'})`);
      lines.push(`${tool} -t nat -N ${IPTABLES_CHAIN}`);
      for (const rule of [...iptablesChainRules(plan), ...iptablesJumps(plan)]) lines.push(`${tool} ${rule.map(shellWord).join(' ')}`);
      if (plan.qq) {
        lines.push(`${tool} -t filter -N ${IPTABLES_QQ_CHAIN}`);
        for (const rule of iptablesQqRules(plan, family)) lines.push(`${tool} ${rule.map(shellWord).join(' ')}`);
      }
      lines.push('');
    }
  }
  if (backends.includes('nftables')) {
    lines.push(`# nftables (${plan.families.map((f) => (f === 'ipv4' ? 'IPv4' : 'IPv6')).join(' and ')}); replaces the table if it exists`);
    lines.push("nft -f - <<'EOF'", nftApplyScript(plan).trimEnd(), 'EOF', '');
  }
  return lines.join('\n');
}
