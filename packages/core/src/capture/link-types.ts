/**
 * The link-layer header types (LINKTYPE_* values as stored in pcap and pcapng files, see
 * https://www.tcpdump.org/linktypes.html) that `ip.ts` can decode down to IP.
 */
export const LinkType = {
  /** BSD loopback: a 4-byte address family in the byte order of the capturing host. */
  NULL: 0,
  ETHERNET: 1,
  /** Raw IP: the version nibble tells IPv4 from IPv6. */
  RAW: 101,
  /** OpenBSD loopback: like NULL, but the family is always big-endian. */
  LOOP: 108,
  /** Linux "cooked" capture v1 (`tcpdump -i any`). */
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  /** Linux "cooked" capture v2. */
  LINUX_SLL2: 276,
} as const;

export type LinkTypeValue = (typeof LinkType)[keyof typeof LinkType];

const NAMES = new Map<number, string>(Object.entries(LinkType).map(([name, value]) => [value, name]));

/** What to tell the user whose capture has another link type. */
export const SUPPORTED_LINK_TYPES = 'only Ethernet, raw IP, Linux cooked and BSD/OpenBSD loopback captures can be decoded';

export function isSupportedLinkType(linkType: number): linkType is LinkTypeValue {
  return NAMES.has(linkType);
}

/** A readable name for messages: `ETHERNET (1)`, or just the number for link types we do not decode. */
export function describeLinkType(linkType: number): string {
  const name = NAMES.get(linkType);
  return name === undefined ? `link type ${linkType}` : `${name} (${linkType})`;
}
