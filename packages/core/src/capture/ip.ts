import { readU16BE, readU32, readU32BE } from './endian.js';
import { LinkType } from './link-types.js';

export interface TcpFlags {
  syn: boolean;
  ack: boolean;
  fin: boolean;
  rst: boolean;
  psh: boolean;
}

/** A TCP segment decoded from one link-layer frame. */
export interface TcpSegment {
  ipVersion: 4 | 6;
  /** Addresses as tshark prints them: dotted quad, or RFC 5952 text for IPv6 (`::1`, `2001:db8::5`). */
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  /** Raw 32-bit sequence and acknowledgement numbers (unsigned). */
  seq: number;
  ack: number;
  flags: TcpFlags;
  /** The segment's data as captured: a view into the frame. */
  payload: Uint8Array;
  /** Data bytes the IP header announces but the capture cut off (snapshot length). */
  uncaptured: number;
}

/** A UDP datagram decoded from one link-layer frame (replay reads them to recognise IM over UDP, as QQ). */
export interface UdpDatagram {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  /** The datagram's data as captured: a view into the frame. */
  payload: Uint8Array;
}

/** Why a frame that carried IP was not turned into a TCP segment. */
export interface PacketAnomaly {
  kind: 'ip-fragment' | 'malformed';
  message: string;
}

export type DecodedFrame =
  | { kind: 'tcp'; segment: TcpSegment }
  | { kind: 'udp'; datagram: UdpDatagram }
  /** Not IP, or IP but not TCP (ARP, UDP, ICMP, ...): nothing to report. */
  | { kind: 'other'; what: string }
  | { kind: 'anomaly'; anomaly: PacketAnomaly };

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
/** 802.1Q, 802.1ad (QinQ) and the pre-standard QinQ tag: each adds 4 bytes before the real ethertype. */
const VLAN_TAGS = new Set([0x8100, 0x88a8, 0x9100]);
/** AF_INET6 differs per OS: Linux 10, NetBSD/OpenBSD 24, FreeBSD 28, macOS 30. AF_INET is 2 everywhere. */
const AF_INET = 2;
const AF_INET6 = new Set([10, 24, 28, 30]);
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

const other = (what: string): DecodedFrame => ({ kind: 'other', what });
const malformed = (message: string): DecodedFrame => ({ kind: 'anomaly', anomaly: { kind: 'malformed', message } });

/** Decodes a frame of a supported link type down to TCP. Never throws on bad input. */
export function decodeFrame(linkType: number, frame: Uint8Array): DecodedFrame {
  switch (linkType) {
    case LinkType.ETHERNET:
      if (frame.byteLength < 14) return malformed('Ethernet frame shorter than its header');
      return decodeEthertype(frame, readU16BE(frame, 12), 14);
    case LinkType.LINUX_SLL:
      if (frame.byteLength < 16) return malformed('Linux cooked frame shorter than its header');
      return decodeEthertype(frame, readU16BE(frame, 14), 16);
    case LinkType.LINUX_SLL2:
      if (frame.byteLength < 20) return malformed('Linux cooked v2 frame shorter than its header');
      return decodeEthertype(frame, readU16BE(frame, 0), 20);
    case LinkType.NULL:
    case LinkType.LOOP: {
      if (frame.byteLength < 4) return malformed('loopback frame shorter than its header');
      // NULL stores the family in the capturing host's byte order; a value that does not fit in 16 bits
      // was written by a host of the other byte order.
      let family = readU32BE(frame, 0);
      if (linkType === LinkType.NULL && family > 0xffff) family = readU32(frame, 0, true);
      if (family === AF_INET) return decodeIp(frame.subarray(4), 4);
      if (AF_INET6.has(family)) return decodeIp(frame.subarray(4), 6);
      return other(`loopback family ${family}`);
    }
    case LinkType.RAW: {
      if (frame.byteLength < 1) return malformed('empty raw IP frame');
      const version = frame[0]! >> 4;
      if (version === 4 || version === 6) return decodeIp(frame, version);
      return malformed(`raw IP frame of version ${version}`);
    }
    case LinkType.IPV4:
      return decodeIp(frame, 4);
    case LinkType.IPV6:
      return decodeIp(frame, 6);
    default:
      return other(`link type ${linkType}`);
  }
}

function decodeEthertype(frame: Uint8Array, ethertype: number, offset: number): DecodedFrame {
  let type = ethertype;
  let at = offset;
  while (VLAN_TAGS.has(type)) {
    if (frame.byteLength < at + 4) return malformed('VLAN tag cut short');
    type = readU16BE(frame, at + 2);
    at += 4;
  }
  if (type === ETHERTYPE_IPV4) return decodeIp(frame.subarray(at), 4);
  if (type === ETHERTYPE_IPV6) return decodeIp(frame.subarray(at), 6);
  return other(`ethertype 0x${type.toString(16).padStart(4, '0')}`);
}

function decodeIp(packet: Uint8Array, version: 4 | 6): DecodedFrame {
  return version === 4 ? decodeIpv4(packet) : decodeIpv6(packet);
}

function decodeIpv4(p: Uint8Array): DecodedFrame {
  if (p.byteLength < 20) return malformed('IPv4 header cut short');
  if (p[0]! >> 4 !== 4) return malformed(`IPv4 ethertype but IP version ${p[0]! >> 4}`);
  const headerLength = (p[0]! & 0x0f) * 4;
  if (headerLength < 20) return malformed(`IPv4 header length ${headerLength}`);
  if (p.byteLength < headerLength) return malformed('IPv4 options cut short');
  let totalLength = readU16BE(p, 2);
  // Captures taken on the sending host with segmentation offload show total length 0: trust the frame.
  if (totalLength === 0) totalLength = p.byteLength;
  if (totalLength < headerLength) return malformed(`IPv4 total length ${totalLength} below its header length`);
  const protocol = p[9]!;
  const src = formatIpv4(p, 12);
  const dst = formatIpv4(p, 16);
  const fragment = readU16BE(p, 6);
  if ((fragment & 0x3fff) !== 0) {
    // More-fragments set or a non-zero offset. Reassembling IP fragments is out of scope: TCP stacks avoid
    // fragmentation (path MTU discovery), so this is rare and reported rather than guessed at.
    return {
      kind: 'anomaly',
      anomaly: {
        kind: 'ip-fragment',
        message: `IPv4 fragment ${src} -> ${dst} (protocol ${protocol}, offset ${(fragment & 0x1fff) * 8}), ignored`,
      },
    };
  }
  if (protocol === IPPROTO_UDP) return decodeUdp(p, headerLength, totalLength, src, dst);
  if (protocol !== IPPROTO_TCP) return other(`IPv4 protocol ${protocol}`);
  return decodeTcp(p, headerLength, totalLength, 4, src, dst);
}

function decodeIpv6(p: Uint8Array): DecodedFrame {
  if (p.byteLength < 40) return malformed('IPv6 header cut short');
  if (p[0]! >> 4 !== 6) return malformed(`IPv6 ethertype but IP version ${p[0]! >> 4}`);
  const payloadLength = readU16BE(p, 4);
  // 0 is a jumbogram or offloaded segment: the frame's own length is the only length there is.
  const end = payloadLength === 0 ? p.byteLength : 40 + payloadLength;
  const src = formatIpv6(p, 8);
  const dst = formatIpv6(p, 24);
  let next = p[6]!;
  let at = 40;
  for (;;) {
    switch (next) {
      case IPPROTO_TCP:
        return decodeTcp(p, at, end, 6, src, dst);
      case IPPROTO_UDP:
        return decodeUdp(p, at, end, src, dst);
      case 0: // hop-by-hop options
      case 43: // routing
      case 60: // destination options
      case 135: // mobility
      case 139: // HIP
      case 140: {
        // shim6
        if (p.byteLength < at + 2) return malformed('IPv6 extension header cut short');
        next = p[at]!;
        at += (p[at + 1]! + 1) * 8;
        break;
      }
      case 51: {
        // authentication header: its length counts 4-byte words, minus 2
        if (p.byteLength < at + 2) return malformed('IPv6 authentication header cut short');
        next = p[at]!;
        at += (p[at + 1]! + 2) * 4;
        break;
      }
      case 44: {
        if (p.byteLength < at + 8) return malformed('IPv6 fragment header cut short');
        const fragment = readU16BE(p, at + 2);
        if ((fragment & 0xfff9) !== 0) {
          return {
            kind: 'anomaly',
            anomaly: {
              kind: 'ip-fragment',
              message: `IPv6 fragment ${src} -> ${dst} (offset ${fragment & 0xfff8}), ignored`,
            },
          };
        }
        // An atomic fragment (offset 0, no more fragments) is a whole packet.
        next = p[at]!;
        at += 8;
        break;
      }
      default:
        return other(`IPv6 next header ${next}`);
    }
    if (at > end) return malformed('IPv6 extension headers run past the packet');
  }
}

function decodeTcp(p: Uint8Array, at: number, end: number, ipVersion: 4 | 6, src: string, dst: string): DecodedFrame {
  const captured = Math.min(end, p.byteLength);
  if (captured - at < 20) return malformed(`TCP header cut short (${src} -> ${dst})`);
  const headerLength = (p[at + 12]! >> 4) * 4;
  if (headerLength < 20) return malformed(`TCP header length ${headerLength} (${src} -> ${dst})`);
  if (at + headerLength > end) {
    return malformed(`TCP header length ${headerLength} runs past the IP packet (${src} -> ${dst})`);
  }
  if (at + headerLength > captured) return malformed(`TCP options cut short by the capture (${src} -> ${dst})`);
  const flags = p[at + 13]!;
  return {
    kind: 'tcp',
    segment: {
      ipVersion,
      src,
      dst,
      srcPort: readU16BE(p, at),
      dstPort: readU16BE(p, at + 2),
      seq: readU32BE(p, at + 4),
      ack: readU32BE(p, at + 8),
      flags: {
        fin: (flags & 0x01) !== 0,
        syn: (flags & 0x02) !== 0,
        rst: (flags & 0x04) !== 0,
        psh: (flags & 0x08) !== 0,
        ack: (flags & 0x10) !== 0,
      },
      payload: p.subarray(at + headerLength, captured),
      uncaptured: end - captured,
    },
  };
}

function decodeUdp(p: Uint8Array, at: number, end: number, src: string, dst: string): DecodedFrame {
  const captured = Math.min(end, p.byteLength);
  if (captured - at < 8) return malformed(`UDP header cut short (${src} -> ${dst})`);
  const length = readU16BE(p, at + 4);
  // 0 (IPv6 jumbograms) or a length past the IP packet: the IP packet's end is what there is.
  const datagramEnd = length >= 8 && at + length <= captured ? at + length : captured;
  return { kind: 'udp', datagram: { src, dst, srcPort: readU16BE(p, at), dstPort: readU16BE(p, at + 2), payload: p.subarray(at + 8, datagramEnd) } };
}

export function formatIpv4(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** RFC 5952: lower case, no leading zeros, the longest run of two or more zero groups as `::`. */
export function formatIpv6(b: Uint8Array, at: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(readU16BE(b, at + i * 2));
  // IPv4-mapped addresses keep the dotted quad, as tshark and every resolver print them.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return `::ffff:${formatIpv4(b, at + 12)}`;
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
