/** Installs and removes the redirect rules with the kernel's own tools (iptables/ip6tables or nft). */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import {
  IPTABLES_CHAIN,
  IPTABLES_QQ_CHAIN,
  NFT_TABLE,
  QQ_PORT,
  iptablesChainRules,
  iptablesJumps,
  iptablesQqRules,
  iptablesTool,
  nftApplyScript,
  type Backend,
  type Family,
  type RedirectPlan,
} from './rules.js';

export class FirewallError extends Error {
  constructor(
    message: string,
    readonly code: 'TOOL_MISSING' | 'COMMAND_FAILED',
  ) {
    super(message);
  }
}

const INSTALL_HINT: Record<string, string> = { iptables: 'iptables', ip6tables: 'iptables', nft: 'nftables' };

/** The tool in PATH (what the shell would run), else undefined. */
export function findTool(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function requireTool(name: string, otherBackend: string): string {
  const found = findTool(name);
  if (found) return found;
  throw new FirewallError(
    `${name} not found in PATH (${process.env['PATH'] ?? ''}): install it (Debian: apt-get install ${INSTALL_HINT[name] ?? name}), add its folder (often /usr/sbin) to PATH, or use --backend ${otherBackend}`,
    'TOOL_MISSING',
  );
}

/** nftables when `nft` is there, else iptables; a clear error when neither is. */
export function chooseBackend(requested: Backend | undefined): Backend {
  if (requested) return requested;
  if (findTool('nft')) return 'nftables';
  if (findTool('iptables')) return 'iptables';
  throw new FirewallError('neither nft (nftables) nor iptables was found in PATH: install one (Debian: apt-get install nftables) or add /usr/sbin to PATH', 'TOOL_MISSING');
}

interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(tool: string, args: string[], input?: string): RunResult {
  const result = spawnSync(tool, args, { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
  if (result.error) return { status: null, stdout: '', stderr: result.error.message };
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function must(tool: string, args: string[], input?: string): string {
  const result = run(tool, args, input);
  if (result.status !== 0) {
    const why = result.stderr.trim() || result.stdout.trim() || `exit code ${result.status}`;
    const root = process.getuid?.() !== 0 ? ' (changing the firewall needs root)' : '';
    throw new FirewallError(`${path.basename(tool)} ${args.join(' ')} failed${root}: ${why}`, 'COMMAND_FAILED');
  }
  return result.stdout;
}

/** Installs the rules; whatever an earlier apply left is replaced, so applying twice equals applying once. */
export function applyRules(plan: RedirectPlan, backend: Backend): string[] {
  const done: string[] = [];
  if (backend === 'nftables') {
    const nft = requireTool('nft', 'iptables');
    must(nft, ['-f', '-'], nftApplyScript(plan));
    done.push(`nftables: table inet ${NFT_TABLE} redirects tcp ports ${plan.ports.join(',')} to ${plan.toPort}`);
    if (plan.qq) done.push(`nftables: table inet ${NFT_TABLE} drops QQ (udp and tcp port ${QQ_PORT}) in forwarding${qqAllowed(plan)}`);
    return done;
  }
  for (const family of plan.families) {
    const tool = requireTool(iptablesTool(family), 'nftables');
    removeIptables(tool);
    must(tool, ['-t', 'nat', '-N', IPTABLES_CHAIN]);
    for (const rule of [...iptablesChainRules(plan), ...iptablesJumps(plan)]) must(tool, rule);
    done.push(`${path.basename(tool)}: chain ${IPTABLES_CHAIN} in the nat table redirects tcp ports ${plan.ports.join(',')} to ${plan.toPort}`);
    if (plan.qq) {
      must(tool, ['-t', 'filter', '-N', IPTABLES_QQ_CHAIN]);
      for (const rule of iptablesQqRules(plan, family)) must(tool, rule);
      done.push(`${path.basename(tool)}: chain ${IPTABLES_QQ_CHAIN} in the filter table drops QQ (udp and tcp port ${QQ_PORT}) in forwarding${qqAllowed(plan)}`);
    }
  }
  return done;
}

/** Removes everything imspect added (nothing else); removing what is not there is not an error. */
export function removeRules(backend: Backend, families: readonly Family[]): string[] {
  const done: string[] = [];
  if (backend === 'nftables') {
    const nft = requireTool('nft', 'iptables');
    if (run(nft, ['list', 'table', 'inet', NFT_TABLE]).status === 0) {
      must(nft, ['delete', 'table', 'inet', NFT_TABLE]);
      done.push(`nftables: table inet ${NFT_TABLE} deleted`);
    } else done.push(`nftables: no table inet ${NFT_TABLE} (nothing to remove)`);
    return done;
  }
  for (const family of families) {
    const tool = requireTool(iptablesTool(family), 'nftables');
    done.push(
      removeIptables(tool) ? `${path.basename(tool)}: chain ${IPTABLES_CHAIN} and its jumps removed` : `${path.basename(tool)}: no chain ${IPTABLES_CHAIN} (nothing to remove)`,
    );
  }
  return done;
}

function qqAllowed(plan: RedirectPlan): string {
  return plan.qq && plan.qq.allow.length > 0 ? ` except from ${plan.qq.allow.join(', ')}` : '';
}

/** Deletes imspect's chains (IMSPECT in the nat table, IMSPECT-QQ in the filter table) and every jump into them; true if one existed. */
function removeIptables(tool: string): boolean {
  const nat = removeChain(tool, 'nat', IPTABLES_CHAIN);
  const qq = removeChain(tool, 'filter', IPTABLES_QQ_CHAIN);
  return nat || qq;
}

function removeChain(tool: string, table: string, chain: string): boolean {
  const listing = must(tool, ['-t', table, '-S']);
  for (const line of listing.split('\n')) {
    const words = splitRule(line);
    const jump = words.indexOf('-j');
    if (words[0] === '-A' && jump > 0 && words[jump + 1] === chain) must(tool, ['-t', table, '-D', ...words.slice(1)]);
  }
  const exists = listing.split('\n').some((line) => line.trim() === `-N ${chain}`);
  if (exists) {
    must(tool, ['-t', table, '-F', chain]);
    must(tool, ['-t', table, '-X', chain]);
  }
  return exists;
}

/** `iptables -S` output words; quoted comments ("...") kept as one word. */
function splitRule(line: string): string[] {
  const words: string[] = [];
  for (const match of line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) words.push(match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : match[2]!);
  return words;
}
