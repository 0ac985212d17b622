/**
 * Where clients may be connected to (the `destinations` configuration): every listener asks this module before
 * it opens an upstream connection, so that an allowed client cannot use imspect to reach the gateway itself
 * (its loopback databases, its own addresses), link-local services or private networks, or ports no IM
 * protocol uses. The same check applies to servers a protocol names (an MSN `XFR`/`RNG` on a forward listener).
 *
 * Names are resolved once, here; the address that passed the check is the one connected to, so a second DNS
 * answer (rebinding) cannot move the connection elsewhere. Numeric spellings (`2130706433`, `0x7f.1`, `127.1`,
 * `::ffff:127.0.0.1`) are resolved by the system resolver like any name and judged by the address they give.
 */
import { BlockList, isIP } from 'node:net';
import dns from 'node:dns';
import os from 'node:os';
import { parseCidr } from '../config/load.js';
import type { DestinationsConfig } from '../config/schema.js';

/** The rule that refused a destination (logged; stable names for administrators and tests). */
export type DestinationRule = 'denyNetworks' | 'ports' | 'unspecified' | 'loopback' | 'gateway' | 'multicast' | 'broadcast' | 'link-local' | 'private' | 'reserved' | 'unresolved';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export type DestinationVerdict =
  | ({ allowed: true /** Every allowed address of a resolved name, in the resolver's order (the first is `address`). */; alternatives?: ResolvedAddress[] } & ResolvedAddress)
  | { allowed: false; rule: DestinationRule; reason: string; address?: string };

/** The schema's defaults: what listeners started without a policy (tests, embedders) apply. */
export const DEFAULT_DESTINATIONS: DestinationsConfig = { allowNetworks: [], denyNetworks: [], ports: 'protocols', extraPorts: [], localClientsReachGateway: true };

/** Fallback ports IM clients use when their own port is blocked (HTTP gateways, BOSH, TLS on 443). */
export const FALLBACK_PORTS = [80, 443] as const;

/** Networks refused to a client that is not on the gateway, whatever `allowNetworks` says: the gateway itself. */
const FIXED_DENY: ReadonlyArray<readonly [DestinationRule, readonly string[]]> = [
  ['unspecified', ['0.0.0.0/8', '::/128']],
  ['loopback', ['127.0.0.0/8', '::1/128']],
  ['multicast', ['224.0.0.0/4', 'ff00::/8']],
  ['broadcast', ['255.255.255.255/32']],
];

/** Networks refused unless `allowNetworks` names them. */
const DEFAULT_DENY: ReadonlyArray<readonly [DestinationRule, readonly string[]]> = [
  ['link-local', ['169.254.0.0/16', 'fe80::/10']],
  ['private', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7', 'fec0::/10']],
  // 240/4 is unroutable; `::/96` (other than :: and ::1) are deprecated IPv4-compatible addresses.
  ['reserved', ['240.0.0.0/4', '::/96']],
];

/** NAT64 (RFC 6052) and IPv4-translated (RFC 2765) prefixes: the IPv4 address in the last 32 bits is judged too. */
const EMBEDDED_IPV4 = ['64:ff9b::/96', '64:ff9b:1::/48', '::ffff:0:0:0/96'];

export interface DestinationPolicyOptions {
  /** The enabled protocols' ports (plain and TLS): with `ports: 'protocols'` these are allowed. */
  protocolPorts?: Iterable<number>;
  /** The gateway's own addresses; default: every address of `os.networkInterfaces()`, re-read every few seconds. */
  localAddresses?: () => readonly string[];
  /** Whether a client address is on the gateway itself; default: loopback or one of `localAddresses`. */
  isGatewayClient?: (clientIp: string) => boolean;
  /** Name resolution; default: the system resolver (`dns.lookup`, all addresses, in its order). */
  lookup?: (host: string) => Promise<ReadonlyArray<{ address: string; family: number }>>;
}

class Networks {
  private readonly list = new BlockList();
  private empty = true;
  add(cidr: string): void {
    const parsed = parseCidr(cidr);
    if (!parsed) throw new TypeError(`not an address or CIDR network: ${cidr}`);
    this.list.addSubnet(parsed.address, parsed.prefix, parsed.family);
    this.empty = false;
  }
  has(address: string): boolean {
    return !this.empty && this.list.check(address, isIP(address) === 4 ? 'ipv4' : 'ipv6');
  }
}

function networks(cidrs: Iterable<string>): Networks {
  const out = new Networks();
  for (const cidr of cidrs) out.add(cidr);
  return out;
}

const fixedDeny = FIXED_DENY.map(([rule, cidrs]) => [rule, networks(cidrs)] as const);
const defaultDeny = DEFAULT_DENY.map(([rule, cidrs]) => [rule, networks(cidrs)] as const);
const embeddedIPv4 = networks(EMBEDDED_IPV4);
const loopback = networks(['127.0.0.0/8', '::1/128']);

/** How long the list of the gateway's addresses is reused before `os.networkInterfaces()` is read again. */
const LOCAL_ADDRESSES_TTL_MS = 5_000;

export class DestinationPolicy {
  private readonly allow: Networks;
  private readonly deny: Networks;
  /** Allowed ports as sorted inclusive ranges; undefined = any port. */
  private readonly portRanges: Array<[number, number]> | undefined;
  private readonly localAddresses: () => readonly string[];
  private readonly interfaces = cachedInterfaces();
  private readonly lookup: (host: string) => Promise<ReadonlyArray<{ address: string; family: number }>>;
  private readonly gatewayClient: ((clientIp: string) => boolean) | undefined;

  constructor(
    readonly config: DestinationsConfig,
    options: DestinationPolicyOptions = {},
  ) {
    this.allow = networks(config.allowNetworks);
    this.deny = networks(config.denyNetworks);
    if (config.ports === 'any') this.portRanges = undefined;
    else {
      const base: Array<number | string> = config.ports === 'protocols' ? [...(options.protocolPorts ?? []), ...FALLBACK_PORTS] : config.ports;
      this.portRanges = [...base, ...config.extraPorts].map(parsePortRange).sort((a, b) => a[0] - b[0]);
    }
    this.localAddresses = options.localAddresses ?? addressesOf(this.interfaces);
    this.gatewayClient = options.isGatewayClient;
    this.lookup = options.lookup ?? ((host) => dns.promises.lookup(host, { all: true, verbatim: true }));
  }

  /** Whether `port` is one clients may be connected to (what `ports`/`extraPorts` allow). */
  allowsPort(port: number): boolean {
    return this.portRanges === undefined || this.portRanges.some(([low, high]) => port >= low && port <= high);
  }

  /** The client is on the gateway itself: a loopback address or one of the machine's own. */
  isGatewayClient(clientIp: string): boolean {
    if (this.gatewayClient) return this.gatewayClient(clientIp);
    const ip = normaliseAddress(clientIp);
    return ip !== undefined && (loopback.has(ip) || this.isOwnAddress(ip));
  }

  /** Judges an IP address (any spelling `isIP` accepts); a name gets `unresolved` (use {@link resolve}). */
  check(address: string, port: number, clientIp: string): DestinationVerdict {
    const ip = normaliseAddress(address);
    if (ip === undefined) return { allowed: false, rule: 'unresolved', reason: `"${address}" is not an IP address` };
    const family = isIP(ip) as 4 | 6;
    const refuse = (rule: DestinationRule, reason: string): DestinationVerdict => ({ allowed: false, rule, reason, address: ip });
    const embedded = family === 6 && embeddedIPv4.has(ip) ? embeddedV4(ip) : undefined;
    const candidates = embedded ? [ip, embedded] : [ip];
    if (candidates.some((a) => this.deny.has(a))) return refuse('denyNetworks', `${ip} is in destinations.denyNetworks`);
    const gatewayDestination = (a: string) => this.isOwnAddress(a) || fixedDeny.some(([rule, nets]) => (rule === 'unspecified' || rule === 'loopback') && nets.has(a));
    // A client on the gateway could open this connection itself: imspect gives it no reach it did not have.
    if (this.config.localClientsReachGateway && candidates.every(gatewayDestination) && this.isGatewayClient(clientIp)) {
      return { allowed: true, address: ip, family };
    }
    if (!this.allowsPort(port)) return refuse('ports', `port ${port} is not in the allowed destination ports (destinations.ports, destinations.extraPorts)`);
    for (const candidate of candidates) {
      for (const [rule, nets] of fixedDeny) if (nets.has(candidate)) return refuse(rule, `${candidate} is ${describe(rule)}`);
      if (this.isOwnAddress(candidate)) return refuse('gateway', `${candidate} is an address of the gateway itself`);
      if (this.isOwnBroadcast(candidate)) return refuse('broadcast', `${candidate} is the broadcast address of a gateway network`);
      if (this.allow.has(candidate)) continue;
      for (const [rule, nets] of defaultDeny) if (nets.has(candidate)) return refuse(rule, `${candidate} is ${describe(rule)} (allow it in destinations.allowNetworks)`);
    }
    return { allowed: true, address: ip, family };
  }

  /**
   * Resolves `host` once and judges its addresses in the resolver's order: the allowed ones are the ones to
   * connect to (the first, then the others as fallbacks). When none is allowed, the first refusal is the answer.
   */
  async resolve(host: string, port: number, clientIp: string): Promise<DestinationVerdict> {
    const literal = normaliseAddress(host);
    if (literal !== undefined) return this.check(literal, port, clientIp);
    // The port is judged before any lookup: a forbidden port costs no DNS query.
    if (!this.allowsPort(port) && !this.isGatewayClient(clientIp)) {
      return { allowed: false, rule: 'ports', reason: `port ${port} is not in the allowed destination ports (destinations.ports, destinations.extraPorts)` };
    }
    const answers = await this.lookup(host);
    if (answers.length === 0) return { allowed: false, rule: 'unresolved', reason: `${host} has no address` };
    let refused: DestinationVerdict | undefined;
    const allowed: ResolvedAddress[] = [];
    for (const answer of answers) {
      const verdict = this.check(answer.address, port, clientIp);
      if (verdict.allowed) {
        if (!allowed.some((a) => a.address === verdict.address)) allowed.push({ address: verdict.address, family: verdict.family });
      } else refused ??= verdict;
    }
    if (allowed.length === 0) return refused!;
    return { allowed: true, ...allowed[0]!, ...(allowed.length > 1 ? { alternatives: allowed } : {}) };
  }

  private isOwnAddress(ip: string): boolean {
    const addresses = this.localAddresses();
    // Normalised once per list the provider hands out (the default hands out the same list for a few seconds).
    if (this.own?.from !== addresses) {
      this.own = { from: addresses, set: new Set(addresses.map(normaliseAddress).filter((a): a is string => a !== undefined)) };
    }
    return this.own.set.has(ip);
  }

  private own: { from: readonly string[]; set: Set<string> } | undefined;

  private isOwnBroadcast(ip: string): boolean {
    if (isIP(ip) !== 4) return false;
    const value = ipv4ToNumber(ip);
    for (const entry of this.interfaces()) {
      if (entry.family !== 'IPv4' || entry.internal) continue;
      const mask = ipv4ToNumber(entry.netmask);
      if (mask === 0xffffffff || mask === 0xfffffffe) continue; // point-to-point links have no broadcast
      if (((ipv4ToNumber(entry.address) & mask) | ~mask) >>> 0 === value) return true;
    }
    return false;
  }
}

/** A refusal carried as an error through the listeners' connect path. */
export class DestinationRefusedError extends Error {
  readonly code = 'DESTINATION_REFUSED';
  constructor(
    readonly requested: string,
    readonly verdict: Extract<DestinationVerdict, { allowed: false }>,
  ) {
    super(`destination ${requested} refused (${verdict.rule}): ${verdict.reason}`);
    this.name = 'DestinationRefusedError';
  }
}

function describe(rule: DestinationRule): string {
  switch (rule) {
    case 'unspecified':
      return 'an unspecified address (it reaches the gateway itself)';
    case 'loopback':
      return 'a loopback address (the gateway itself)';
    case 'multicast':
      return 'a multicast address';
    case 'broadcast':
      return 'a broadcast address';
    case 'link-local':
      return 'a link-local address';
    case 'private':
      return 'in a private network';
    case 'reserved':
      return 'in a reserved network';
    default:
      return rule;
  }
}

/**
 * The canonical text of an IP address, IPv4-mapped IPv6 (`::ffff:127.0.0.1`, `::ffff:7f00:1`) as plain IPv4;
 * undefined when `text` is not an address (a name, or a numeric form only a resolver understands).
 */
export function normaliseAddress(text: string): string | undefined {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const version = isIP(bare);
  if (version === 4) return bare;
  if (version !== 6) return undefined;
  // Zone ids (`fe80::1%eth0`) name an interface, not another address.
  const zoneless = bare.split('%')[0]!;
  let canonical: string;
  try {
    canonical = new URL(`http://[${zoneless}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (mapped) return v4FromGroups(parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16));
  return canonical;
}

function embeddedV4(canonical: string): string {
  const groups = canonical.split(':');
  const low = groups.pop() || '0';
  const high = groups.pop() || '0';
  return v4FromGroups(parseInt(high, 16), parseInt(low, 16));
}

function v4FromGroups(high: number, low: number): string {
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

function ipv4ToNumber(ip: string): number {
  return ip.split('.').reduce((n, part) => ((n << 8) | Number(part)) >>> 0, 0);
}

/** `5222` or `"6660-6669"` -> an inclusive range; the configuration check has already rejected anything else. */
export function parsePortRange(spec: number | string): [number, number] {
  if (typeof spec === 'number') return [spec, spec];
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(spec.trim());
  if (!match) throw new TypeError(`not a port or port range: ${spec}`);
  const low = Number(match[1]);
  const high = match[2] === undefined ? low : Number(match[2]);
  if (low > 65535 || high > 65535 || low > high) throw new TypeError(`not a port or port range: ${spec}`);
  return [low, high];
}

/** The addresses of `interfaces()`, the same array as long as the interfaces were not read again. */
function addressesOf(interfaces: () => readonly os.NetworkInterfaceInfo[]): () => readonly string[] {
  let from: readonly os.NetworkInterfaceInfo[] | undefined;
  let addresses: string[] = [];
  return () => {
    const entries = interfaces();
    if (entries !== from) {
      from = entries;
      addresses = entries.map((entry) => entry.address);
    }
    return addresses;
  };
}

/** The machine's interface addresses, read again when older than a few seconds (DHCP, VPNs come and go). */
function cachedInterfaces(): () => readonly os.NetworkInterfaceInfo[] {
  let entries: os.NetworkInterfaceInfo[] = [];
  let readAt = -Infinity;
  return () => {
    const now = Date.now();
    if (now - readAt > LOCAL_ADDRESSES_TTL_MS) {
      entries = Object.values(os.networkInterfaces()).flatMap((list) => list ?? []);
      readAt = now;
    }
    return entries;
  };
}
