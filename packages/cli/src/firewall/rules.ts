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

/** The whole nftables table, as `nft -f` reads it. */
export function nftTable(plan: RedirectPlan): string {
  const match: string[] = [];
  if (!plan.families.includes('ipv4')) match.push('meta nfproto ipv6');
  if (!plan.families.includes('ipv6')) match.push('meta nfproto ipv4');
  if (plan.interfaces.length > 0) match.push(`iifname { ${plan.interfaces.map((i) => JSON.stringify(i)).join(', ')} }`);
  match.push(`tcp dport { ${plan.ports.join(', ')} }`);
  return [
    `table inet ${NFT_TABLE} {`,
    '  chain prerouting {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    `    ${match.join(' ')} redirect to :${plan.toPort}`,
    '  }',
    '}',
  ].join('\n');
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
      lines.push('');
    }
  }
  if (backends.includes('nftables')) {
    lines.push(`# nftables (${plan.families.map((f) => (f === 'ipv4' ? 'IPv4' : 'IPv6')).join(' and ')}); replaces the table if it exists`);
    lines.push("nft -f - <<'EOF'", nftApplyScript(plan).trimEnd(), 'EOF', '');
  }
  return lines.join('\n');
}
