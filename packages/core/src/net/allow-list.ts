import { BlockList, isIPv4 } from 'node:net';
import { parseCidr } from '../config/load.js';

/** The client networks a listener accepts. IPv4 clients on a dual-stack socket (`::ffff:a.b.c.d`) match IPv4 rules. */
export class AllowList {
  private readonly list = new BlockList();
  readonly networks: readonly string[];

  constructor(networks: readonly string[]) {
    this.networks = networks;
    for (const network of networks) {
      const cidr = parseCidr(network);
      if (!cidr) throw new TypeError(`not an address or CIDR network: ${network}`);
      this.list.addSubnet(cidr.address, cidr.prefix, cidr.family);
    }
  }

  allows(address: string | undefined): boolean {
    if (!address) return false;
    const plain = unmapIPv4(address);
    return this.list.check(plain, isIPv4(plain) ? 'ipv4' : 'ipv6');
  }
}

/** `::ffff:192.0.2.1` -> `192.0.2.1`; anything else unchanged. */
export function unmapIPv4(address: string): string {
  const match = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return match ? match[1]! : address;
}
