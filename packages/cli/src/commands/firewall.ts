import { Command, Flags } from '@oclif/core';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { configFlag, discoveryOptions, explain, failWith, loadConfigOrExit } from '../shared.js';
import type { Family } from '../firewall/rules.js';

export default class Firewall extends Command {
  static override summary = 'Print, apply or remove the firewall rules that redirect IM ports to the transparent listener';
  static override description =
    `Without --apply or --remove, prints the iptables/ip6tables and nftables rules (IPv4 and IPv6) that redirect the ports of the enabled protocol plugins to imspect's transparent listener. --apply installs them (idempotent: applying again replaces them), --remove takes away exactly what --apply added. Rules live in their own chain (iptables: IMSPECT in the nat table) or table (nftables: inet imspect). Changing the firewall needs root.`;
  static override examples = [
    '<%= config.bin %> firewall',
    '<%= config.bin %> firewall --backend nftables --interface eth1',
    'sudo <%= config.bin %> firewall --apply --interface eth1',
    'sudo <%= config.bin %> firewall --remove',
  ];
  static override flags = {
    config: configFlag,
    apply: Flags.boolean({ description: 'install the rules (replacing any imspect installed before)', exclusive: ['remove'] }),
    remove: Flags.boolean({ description: 'remove the rules imspect installed', exclusive: ['apply'] }),
    backend: Flags.string({
      options: ['iptables', 'nftables'],
      description: 'which tool to use; printing shows both by default, --apply/--remove use nft when present, else iptables',
    }),
    family: Flags.string({ options: ['ipv4', 'ipv6', 'both'], default: 'both', description: 'address families to redirect' }),
    interface: Flags.string({ char: 'i', multiple: true, description: 'only redirect connections arriving on this (LAN) interface; repeat for several', helpValue: 'NAME' }),
    port: Flags.integer({ min: 1, max: 65535, description: "the transparent listener's port (default: from the configuration, else 16667)" }),
    'block-qq': Flags.boolean({
      description:
        'also drop classic QQ in forwarding (UDP port 8000, and TCP 8000 with a reset) and redirect its other TCP fallbacks (80, 443) to imspect, which recognises QQ there (policy.unreadable: { qq: block } closes it; other HTTP and TLS pass at once)',
    }),
    'qq-allow': Flags.string({
      multiple: true,
      dependsOn: ['block-qq'],
      description: 'a LAN host or network (CIDR) whose QQ is not dropped; repeat for several',
      helpValue: 'CIDR',
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Firewall);
    const { chooseBackend, applyRules, removeRules, FirewallError } = await import('../firewall/apply.js');
    const { describeRules } = await import('../firewall/rules.js');
    const families: Family[] = flags.family === 'both' ? ['ipv4', 'ipv6'] : [flags.family as Family];
    const requested = flags.backend as 'iptables' | 'nftables' | undefined;
    try {
      if (flags.remove) {
        for (const line of removeRules(chooseBackend(requested), [...families])) this.log(line);
        return;
      }
      const redirect = await redirectPlan(flags.config, flags.port, flags['block-qq'] === true);
      const plan = {
        ...redirect,
        interfaces: flags.interface ?? [],
        families: [...families],
        ...(flags['block-qq'] ? { qq: { allow: checkedSources(flags['qq-allow'] ?? []) } } : {}),
      };
      if (plan.ports.length === 0) failWith(new Error('no enabled protocol plugin declares a port: nothing to redirect'), 1);
      if (!flags.apply) {
        this.log(`# imspect: redirect tcp ports ${plan.ports.join(',')} (${plan.describe}) to the transparent listener on port ${plan.toPort}`);
        if (plan.qq) this.log(`# imspect: drop QQ (udp and tcp port 8000) in forwarding${plan.qq.allow.length > 0 ? `, except from ${plan.qq.allow.join(', ')}` : ''}`);
        this.log(describeRules(plan, requested ? [requested] : ['iptables', 'nftables']));
        return;
      }
      for (const line of applyRules(plan, chooseBackend(requested))) this.log(line);
      for (const warning of forwardingWarnings(families)) this.logToStderr(`imspect: ${warning}`);
    } catch (error) {
      if (error instanceof FirewallError) failWith(error, 1);
      failWith(new Error(explain(error)), 1);
    }
  }
}

/** The enabled protocols' ports (plain and TLS, plus the configuration's `ports`) and the transparent port. */
async function redirectPlan(configFile: string | undefined, portFlag: number | undefined, blockQq: boolean) {
  const { discoverPlugins, loadPlugins, createOperationalLogger, HOST_VERSION } = await import('@imspect/core/runtime');
  const loaded = await loadConfigOrExit(configFile);
  const { config } = loaded;
  const transparent = config.listeners.find((l) => l.type === 'transparent');
  if (!transparent && portFlag === undefined) {
    process.stderr.write('imspect: note: the configuration has no transparent listener; add `- type: transparent` (port 16667) to `listeners`\n');
  }
  const toPort = portFlag ?? transparent?.port ?? 16667;
  const discovered = await discoverPlugins(await discoveryOptions(loaded));
  // Protocol plugins only: their setup does no I/O, and their hooks name the ports.
  const { loaded: plugins } = await loadPlugins(discovered, {
    hostVersion: HOST_VERSION,
    sections: config.plugins,
    logger: createOperationalLogger({ level: 'error' }),
    dataDir: loaded.dataDir,
    configDir: loaded.baseDir,
    configFile: loaded.file,
    skipKinds: ['logger', 'filter', 'content'],
  });
  const byPort = new Map<number, string>();
  for (const plugin of plugins) {
    const hooks = plugin.hooks as { ports?: number[]; tlsPorts?: number[] };
    for (const port of [...(hooks.ports ?? []), ...(hooks.tlsPorts ?? [])]) if (!byPort.has(port)) byPort.set(port, plugin.name);
  }
  const names = new Set(plugins.map((p) => p.name));
  for (const [port, name] of Object.entries(config.ports)) if (names.has(name)) byPort.set(Number(port), name);
  // QQ's TCP fallbacks go to imspect, which recognises QQ there without a plugin.
  if (blockQq) for (const port of [80, 443]) if (!byPort.has(port)) byPort.set(port, 'qq');
  // Redirecting the listener's own port would send its connections to itself.
  byPort.delete(toPort);
  const ports = [...byPort.keys()].sort((a, b) => a - b);
  return { ports, toPort, describe: ports.map((p) => `${p}=${byPort.get(p)}`).join(' ') };
}

/** `--qq-allow` values: an IPv4 or IPv6 address, optionally with a prefix length; anything else is refused. */
function checkedSources(values: readonly string[]): string[] {
  return values.map((value) => {
    const [address, prefix, extra] = value.split('/');
    const family = isIP(address ?? '');
    const max = family === 4 ? 32 : 128;
    if (family === 0 || extra !== undefined || (prefix !== undefined && !(/^\d{1,3}$/.test(prefix) && Number(prefix) <= max))) {
      failWith(new Error(`--qq-allow ${value}: not an address or CIDR network (e.g. 10.0.0.5 or 10.0.1.0/24)`), 2);
    }
    return value;
  });
}

function forwardingWarnings(families: readonly string[]): string[] {
  const warnings: string[] = [];
  const read = (file: string) => {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  if (families.includes('ipv4') && read('/proc/sys/net/ipv4/ip_forward') === '0') warnings.push('IPv4 forwarding is off: sysctl -w net.ipv4.ip_forward=1 (see docs/gateway.md)');
  if (families.includes('ipv6') && read('/proc/sys/net/ipv6/conf/all/forwarding') === '0')
    warnings.push('IPv6 forwarding is off: sysctl -w net.ipv6.conf.all.forwarding=1 (see docs/gateway.md)');
  return warnings;
}
