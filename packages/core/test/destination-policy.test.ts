/**
 * The destination policy (`destinations`): what a client that is not on the gateway may be connected to. Every
 * spelling of loopback is judged by the address the system resolver gives, mapped and NAT64 IPv6 by the IPv4
 * inside, the gateway's own addresses are never reachable for remote clients, private networks only where
 * configured, ports only from the allowed set; a name is resolved once and the checked address is the answer.
 */
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/load.js';
import { ConfigError } from '../src/config/validate.js';
import type { DestinationsConfig } from '../src/config/schema.js';
import { parseAuthority } from '../src/net/http-connect.js';
import { DEFAULT_DESTINATIONS, DestinationPolicy, normaliseAddress, type DestinationPolicyOptions } from '../src/net/destination-policy.js';

const REMOTE = '198.18.1.2';
const GATEWAY = ['198.18.1.1', '2001:2:0:1::1', '127.0.0.1', '::1'];
const IM_PORTS = [1863, 5050, 5222, 6667, 6697];

function policy(config: Partial<DestinationsConfig> = {}, options: DestinationPolicyOptions = {}) {
  return new DestinationPolicy({ ...DEFAULT_DESTINATIONS, ...config }, { protocolPorts: IM_PORTS, localAddresses: () => GATEWAY, ...options });
}

describe('destination policy: addresses', () => {
  it.each([
    '127.0.0.1',
    '127.1',
    '127.0.1',
    '0x7f.1',
    '0x7f000001',
    '2130706433',
    '017700000001',
    '0177.0.0.1',
    '127.255.255.254',
    'localhost',
    '::1',
    '0:0:0:0:0:0:0:1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '64:ff9b::7f00:1',
  ])('loopback spelled %s is refused to a remote client, judged by its resolved address', async (host) => {
    const verdict = await policy().resolve(host, 6667, REMOTE);
    expect(verdict).toMatchObject({ allowed: false, rule: 'loopback' });
    if (!verdict.allowed) expect(verdict.address === '::1' || verdict.address?.startsWith('127.') || verdict.address === '64:ff9b::7f00:1').toBe(true);
  });

  it.each(['0.0.0.0', '0', '::', '::ffff:0.0.0.0', '0.1.2.3'])('the unspecified address %s (it reaches the gateway) is refused', async (host) => {
    expect(await policy().resolve(host, 6667, REMOTE)).toMatchObject({ allowed: false, rule: 'unspecified' });
  });

  it.each(['198.18.1.1', '::ffff:198.18.1.1', '2001:2:0:1::1', '2001:0002:0000:0001:0000:0000:0000:0001'])(
    "the gateway's own address %s is refused, even inside allowNetworks",
    async (host) => {
      expect(await policy().resolve(host, 6667, REMOTE)).toMatchObject({ allowed: false, rule: 'gateway' });
      expect(await policy({ allowNetworks: ['198.18.0.0/15', '2001:2::/48'] }).resolve(host, 6667, REMOTE)).toMatchObject({ allowed: false, rule: 'gateway' });
    },
  );

  it('loopback cannot be allowed to remote clients by allowNetworks either (a forward listener is the way)', () => {
    expect(policy({ allowNetworks: ['127.0.0.0/8', '::1/128'] }).check('127.0.0.1', 6667, REMOTE)).toMatchObject({ allowed: false, rule: 'loopback' });
  });

  it.each([
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.254', 'private'],
    ['192.168.1.10', 'private'],
    ['100.64.0.1', 'private'],
    ['fd00::1', 'private'],
    ['::ffff:10.1.2.3', 'private'],
    ['64:ff9b::a01:203', 'private'],
    ['240.0.0.1', 'reserved'],
  ])('%s is refused by default (%s)', (address, rule) => {
    expect(policy().check(address, 6667, REMOTE)).toMatchObject({ allowed: false, rule });
  });

  it('private and link-local networks are allowed only where configured', () => {
    const configured = policy({ allowNetworks: ['10.1.0.0/16', '169.254.0.0/16', 'fd00::/8'] });
    expect(configured.check('10.1.2.3', 5222, REMOTE)).toEqual({ allowed: true, address: '10.1.2.3', family: 4 });
    expect(configured.check('::ffff:10.1.2.3', 5222, REMOTE)).toEqual({ allowed: true, address: '10.1.2.3', family: 4 });
    expect(configured.check('169.254.1.1', 5222, REMOTE)).toMatchObject({ allowed: true });
    expect(configured.check('fd00::5', 5222, REMOTE)).toMatchObject({ allowed: true });
    expect(configured.check('10.2.0.1', 5222, REMOTE)).toMatchObject({ allowed: false, rule: 'private' });
    expect(configured.check('192.168.0.1', 5222, REMOTE)).toMatchObject({ allowed: false, rule: 'private' });
  });

  it('public addresses are allowed; denyNetworks refuses them and wins over allowNetworks', () => {
    expect(policy().check('203.0.113.7', 5222, REMOTE)).toEqual({ allowed: true, address: '203.0.113.7', family: 4 });
    expect(policy().check('2001:db8::7', 5222, REMOTE)).toEqual({ allowed: true, address: '2001:db8::7', family: 6 });
    const denied = policy({ denyNetworks: ['203.0.113.0/24'], allowNetworks: ['203.0.113.0/24'] });
    expect(denied.check('203.0.113.7', 5222, REMOTE)).toMatchObject({ allowed: false, rule: 'denyNetworks' });
    expect(denied.check('::ffff:203.0.113.7', 5222, REMOTE)).toMatchObject({ allowed: false, rule: 'denyNetworks' });
  });

  it('normalises mapped IPv6 to IPv4 and refuses what is not an address', () => {
    expect(normaliseAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(normaliseAddress('::FFFF:7F00:0001')).toBe('127.0.0.1');
    expect(normaliseAddress('[::1]')).toBe('::1');
    expect(normaliseAddress('0:0::1')).toBe('::1');
    expect(normaliseAddress('fe80::1%eth0')).toBe('fe80::1');
    expect(normaliseAddress('2130706433')).toBeUndefined();
    expect(normaliseAddress('localhost')).toBeUndefined();
    expect(policy().check('localhost', 6667, REMOTE)).toMatchObject({ allowed: false, rule: 'unresolved' });
  });
});

describe('destination policy: ports', () => {
  it("'protocols' allows the protocols' ports and 80/443, nothing else", () => {
    const p = policy();
    for (const port of [...IM_PORTS, 80, 443]) expect(p.check('203.0.113.7', port, REMOTE), String(port)).toMatchObject({ allowed: true });
    for (const port of [22, 25, 3306, 5432, 8080]) expect(p.check('203.0.113.7', port, REMOTE), String(port)).toMatchObject({ allowed: false, rule: 'ports' });
  });

  it('extraPorts adds ports and ranges; a list replaces the set; any lifts the limit', () => {
    const extra = policy({ extraPorts: [8080, '6660-6669'] });
    expect(extra.check('203.0.113.7', 8080, REMOTE)).toMatchObject({ allowed: true });
    expect(extra.check('203.0.113.7', 6660, REMOTE)).toMatchObject({ allowed: true });
    expect(extra.check('203.0.113.7', 6669, REMOTE)).toMatchObject({ allowed: true });
    expect(extra.check('203.0.113.7', 6670, REMOTE)).toMatchObject({ allowed: false, rule: 'ports' });
    const listed = policy({ ports: [5222] });
    expect(listed.check('203.0.113.7', 5222, REMOTE)).toMatchObject({ allowed: true });
    expect(listed.check('203.0.113.7', 443, REMOTE)).toMatchObject({ allowed: false, rule: 'ports' });
    expect(policy({ ports: 'any' }).check('203.0.113.7', 5432, REMOTE)).toMatchObject({ allowed: true });
  });

  it('an allowed network does not lift the port limit', () => {
    expect(policy({ allowNetworks: ['10.0.0.0/8'] }).check('10.1.2.3', 5432, REMOTE)).toMatchObject({ allowed: false, rule: 'ports' });
  });
});

describe('destination policy: clients on the gateway', () => {
  it('a loopback client may reach loopback and the gateway on any port (it could connect there itself)', () => {
    const p = policy();
    expect(p.check('127.0.0.1', 5432, '127.0.0.1')).toMatchObject({ allowed: true });
    expect(p.check('::1', 5432, '::ffff:127.0.0.1')).toMatchObject({ allowed: true });
    expect(p.check('198.18.1.1', 5432, '127.0.0.1')).toMatchObject({ allowed: true });
    // A client on one of the gateway's own addresses is on the gateway too.
    expect(p.check('127.0.0.1', 5432, '198.18.1.1')).toMatchObject({ allowed: true });
  });

  it('elsewhere a local client gets the same policy as anyone', () => {
    const p = policy();
    expect(p.check('10.1.2.3', 5222, '127.0.0.1')).toMatchObject({ allowed: false, rule: 'private' });
    expect(p.check('169.254.169.254', 80, '127.0.0.1')).toMatchObject({ allowed: false, rule: 'link-local' });
    expect(p.check('203.0.113.7', 5432, '127.0.0.1')).toMatchObject({ allowed: false, rule: 'ports' });
    expect(p.check('127.0.0.1', 5432, '127.0.0.1')).toMatchObject({ allowed: true });
  });

  it('localClientsReachGateway: false and denyNetworks apply to local clients too', () => {
    expect(policy({ localClientsReachGateway: false }).check('127.0.0.1', 6667, '127.0.0.1')).toMatchObject({ allowed: false, rule: 'loopback' });
    expect(policy({ denyNetworks: ['127.0.0.2/32'] }).check('127.0.0.2', 6667, '127.0.0.1')).toMatchObject({ allowed: false, rule: 'denyNetworks' });
  });

  it('whether a client is on the gateway can be injected', () => {
    const p = policy({}, { isGatewayClient: () => false });
    expect(p.isGatewayClient('127.0.0.1')).toBe(false);
    expect(p.check('127.0.0.1', 6667, '127.0.0.1')).toMatchObject({ allowed: false, rule: 'loopback' });
  });
});

describe('destination policy: names', () => {
  function answering(...addresses: string[]) {
    const asked: string[] = [];
    const lookup = async (host: string) => {
      asked.push(host);
      return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    };
    return { asked, lookup };
  }

  it('resolves once and answers the first allowed address: a rebinding name cannot land on loopback', async () => {
    const dns = answering('127.0.0.1', '203.0.113.9');
    expect(await policy({}, { lookup: dns.lookup }).resolve('chat.example', 5222, REMOTE)).toEqual({ allowed: true, address: '203.0.113.9', family: 4 });
    expect(dns.asked).toEqual(['chat.example']);
    const only = answering('::ffff:127.0.0.1');
    expect(await policy({}, { lookup: only.lookup }).resolve('rebind.example', 5222, REMOTE)).toMatchObject({ allowed: false, rule: 'loopback', address: '127.0.0.1' });
  });

  it('a forbidden port is refused before any lookup; no address is refused as unresolved', async () => {
    const dns = answering('203.0.113.9');
    expect(await policy({}, { lookup: dns.lookup }).resolve('chat.example', 22, REMOTE)).toMatchObject({ allowed: false, rule: 'ports' });
    expect(dns.asked).toEqual([]);
    expect(await policy({}, { lookup: answering().lookup }).resolve('nothing.example', 5222, REMOTE)).toMatchObject({ allowed: false, rule: 'unresolved' });
  });
});

describe('HTTP CONNECT authorities reach the policy as addresses', () => {
  it('an IPv6 address only in brackets; whatever the spelling, the policy judges the address', async () => {
    expect(parseAuthority('::1:5432')).toBeUndefined();
    expect(parseAuthority('[::1]:5432')).toEqual({ host: '::1', port: 5432 });
    const mapped = parseAuthority('[::ffff:127.0.0.1]:6667')!;
    expect(mapped.host).toBe('::ffff:127.0.0.1');
    expect(await policy().resolve(mapped.host, mapped.port, REMOTE)).toMatchObject({ allowed: false, rule: 'loopback', address: '127.0.0.1' });
    const numeric = parseAuthority('2130706433:6667')!;
    expect(await policy().resolve(numeric.host, numeric.port, REMOTE)).toMatchObject({ allowed: false, rule: 'loopback', address: '127.0.0.1' });
  });
});

describe('destinations configuration', () => {
  it('has defaults that need no section at all', () => {
    expect(resolveConfig({}, undefined, '/tmp').config.destinations).toEqual(DEFAULT_DESTINATIONS);
  });

  it('reports a bad CIDR or port range with its key', () => {
    const attempt = (destinations: unknown) => {
      try {
        resolveConfig({ destinations }, 'imspect.config.json', '/tmp');
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as Error).message;
      }
      throw new Error('accepted');
    };
    expect(attempt({ allowNetworks: ['10.0.0/8'] })).toContain('imspect.config.json: destinations.allowNetworks[0]: "10.0.0/8" is not an address or CIDR network');
    expect(attempt({ denyNetworks: ['10.0.0.0/8', '192.168.0.0/33'] })).toContain('destinations.denyNetworks[1]: "192.168.0.0/33" is not an address or CIDR network');
    expect(attempt({ extraPorts: ['9000-8000'] })).toContain('destinations.extraPorts[0]: "9000-8000" is not a port range');
    expect(attempt({ ports: 'some' })).toContain('destinations.ports');
    expect(attempt({ extraPorts: [70000] })).toContain('destinations.extraPorts[0]');
  });
});
