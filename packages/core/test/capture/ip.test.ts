import { describe, expect, it } from 'vitest';
import { LinkType, decodeFrame, formatIpv6, type DecodedFrame, type TcpSegment } from '../../src/capture/index.js';
import { concat, enc, ethernet, ipv4, ipv6, loopLink, nullLink, sll, sll2, tcpHeader } from './helpers.js';

const tcp = tcpHeader({ sport: 40000, dport: 6667, seq: 0xfffffff0, ack: 77, flags: 'PA', payload: enc('PRIVMSG #x :hi\r\n') });
const v4 = ipv4('192.168.1.10', '10.0.0.1', 6, tcp);
const v6 = ipv6('2001:db8::10', 'fe80::1', 6, tcp);

function segment(d: DecodedFrame): TcpSegment {
  if (d.kind !== 'tcp') throw new Error(`expected TCP, got ${JSON.stringify(d)}`);
  return d.segment;
}

function expectV4(d: DecodedFrame): void {
  const s = segment(d);
  expect(s).toMatchObject({ ipVersion: 4, src: '192.168.1.10', dst: '10.0.0.1', srcPort: 40000, dstPort: 6667, seq: 0xfffffff0, ack: 77, uncaptured: 0 });
  expect(s.flags).toEqual({ syn: false, ack: true, fin: false, rst: false, psh: true });
  expect(Buffer.from(s.payload).toString()).toBe('PRIVMSG #x :hi\r\n');
}

function expectV6(d: DecodedFrame): void {
  const s = segment(d);
  expect(s).toMatchObject({ ipVersion: 6, src: '2001:db8::10', dst: 'fe80::1', srcPort: 40000, dstPort: 6667 });
  expect(Buffer.from(s.payload).toString()).toBe('PRIVMSG #x :hi\r\n');
}

describe('link layers', () => {
  it('Ethernet, with and without 802.1Q / QinQ tags', () => {
    expectV4(decodeFrame(LinkType.ETHERNET, ethernet(0x0800, v4)));
    expectV6(decodeFrame(LinkType.ETHERNET, ethernet(0x86dd, v6)));
    expectV4(decodeFrame(LinkType.ETHERNET, ethernet(0x0800, v4, [[0x8100, 42]])));
    expectV6(
      decodeFrame(
        LinkType.ETHERNET,
        ethernet(0x86dd, v6, [
          [0x88a8, 100],
          [0x8100, 42],
        ]),
      ),
    );
    expect(decodeFrame(LinkType.ETHERNET, ethernet(0x0806, new Uint8Array(28)))).toEqual({ kind: 'other', what: 'ethertype 0x0806' });
  });

  it('ignores Ethernet padding after a short IP packet', () => {
    const small = ipv4('1.2.3.4', '5.6.7.8', 6, tcpHeader({ sport: 1, dport: 2, seq: 1, flags: 'PA', payload: enc('x') }));
    const padded = concat(ethernet(0x0800, small), new Uint8Array(60 - 14 - small.byteLength).fill(0xee));
    expect(Buffer.from(segment(decodeFrame(LinkType.ETHERNET, padded)).payload).toString()).toBe('x');
  });

  it('Linux cooked v1 and v2', () => {
    expectV4(decodeFrame(LinkType.LINUX_SLL, sll(0x0800, v4)));
    expectV6(decodeFrame(LinkType.LINUX_SLL, sll(0x86dd, v6)));
    expectV4(decodeFrame(LinkType.LINUX_SLL2, sll2(0x0800, v4)));
    expectV6(decodeFrame(LinkType.LINUX_SLL2, sll2(0x86dd, v6)));
  });

  it('BSD null in either byte order, with every OS value of AF_INET6, and OpenBSD loop', () => {
    expectV4(decodeFrame(LinkType.NULL, nullLink(2, v4, true)));
    expectV4(decodeFrame(LinkType.NULL, nullLink(2, v4, false)));
    for (const af6 of [10, 24, 28, 30]) {
      expectV6(decodeFrame(LinkType.NULL, nullLink(af6, v6, true)));
      expectV6(decodeFrame(LinkType.NULL, nullLink(af6, v6, false)));
    }
    expectV4(decodeFrame(LinkType.LOOP, loopLink(2, v4)));
    expectV6(decodeFrame(LinkType.LOOP, loopLink(24, v6)));
    expect(decodeFrame(LinkType.NULL, nullLink(7, v4, true)).kind).toBe('other');
  });

  it('raw IP (101, 228, 229)', () => {
    expectV4(decodeFrame(LinkType.RAW, v4));
    expectV6(decodeFrame(LinkType.RAW, v6));
    expectV4(decodeFrame(LinkType.IPV4, v4));
    expectV6(decodeFrame(LinkType.IPV6, v6));
    expect(decodeFrame(LinkType.RAW, Uint8Array.of(0x50, 0, 0))).toMatchObject({ kind: 'anomaly', anomaly: { kind: 'malformed' } });
  });
});

describe('IP and TCP', () => {
  it('skips IPv6 extension headers (hop-by-hop, routing, destination, AH, atomic fragment)', () => {
    const withExt = ipv6('::1', '::1', 6, tcp, [
      [0, new Uint8Array(6)],
      [43, new Uint8Array(14)],
      [60, new Uint8Array(6)],
      [51, new Uint8Array(14)],
      [44, new Uint8Array(6)], // offset 0, M=0: an atomic fragment is a whole packet
    ]);
    const s = segment(decodeFrame(LinkType.RAW, withExt));
    expect([s.src, s.dst, s.srcPort, s.dstPort]).toEqual(['::1', '::1', 40000, 6667]);
    expect(Buffer.from(s.payload).toString()).toBe('PRIVMSG #x :hi\r\n');
  });

  it('reports IPv4 and IPv6 fragments as anomalies and ignores them', () => {
    const more = decodeFrame(LinkType.RAW, ipv4('1.1.1.1', '2.2.2.2', 6, tcp, { flagsFragment: 0x2000 }));
    expect(more).toMatchObject({ kind: 'anomaly', anomaly: { kind: 'ip-fragment' } });
    const later = decodeFrame(LinkType.RAW, ipv4('1.1.1.1', '2.2.2.2', 6, new Uint8Array(24), { flagsFragment: 185 }));
    expect(later).toMatchObject({ kind: 'anomaly', anomaly: { kind: 'ip-fragment' } });
    if (later.kind === 'anomaly') expect(later.anomaly.message).toContain('offset 1480');
    const frag6 = ipv6('::1', '::2', 6, tcp, [[44, Uint8Array.of(0x05, 0xc9, 0, 0, 0, 1)]]); // offset 185*8, M=1
    expect(decodeFrame(LinkType.RAW, frag6)).toMatchObject({ kind: 'anomaly', anomaly: { kind: 'ip-fragment' } });
  });

  it('decodes UDP datagrams (IPv4 and IPv6), their length from the UDP header', () => {
    const udp = Uint8Array.of(0x1f, 0x40, 0xeb, 0x35, 0, 11, 0, 0, 0x61, 0x62, 0x63, 0xff);
    const v4 = decodeFrame(LinkType.RAW, ipv4('1.1.1.1', '2.2.2.2', 17, udp));
    expect(v4).toMatchObject({ kind: 'udp', datagram: { src: '1.1.1.1', dst: '2.2.2.2', srcPort: 8000, dstPort: 60213 } });
    expect(v4.kind === 'udp' && Buffer.from(v4.datagram.payload).toString('latin1')).toBe('abc');
    expect(decodeFrame(LinkType.RAW, ipv6('::1', '::2', 17, udp))).toMatchObject({ kind: 'udp', datagram: { src: '::1', dstPort: 60213 } });
    expect(decodeFrame(LinkType.RAW, ipv4('1.1.1.1', '2.2.2.2', 17, new Uint8Array(5)))).toMatchObject({ kind: 'anomaly', anomaly: { kind: 'malformed' } });
  });

  it('passes non-TCP traffic over without complaint', () => {
    expect(decodeFrame(LinkType.RAW, ipv4('1.1.1.1', '2.2.2.2', 1, new Uint8Array(8)))).toEqual({ kind: 'other', what: 'IPv4 protocol 1' });
    expect(decodeFrame(LinkType.RAW, ipv6('::1', '::2', 58, new Uint8Array(8)))).toEqual({ kind: 'other', what: 'IPv6 next header 58' });
  });

  it('reports malformed headers instead of throwing', () => {
    const bad = [
      ethernet(0x0800, v4.subarray(0, 12)),
      ethernet(0x0800, v4).subarray(0, 10),
      ethernet(0x0800, ipv4('1.1.1.1', '2.2.2.2', 6, tcpHeader({ sport: 1, dport: 2, seq: 0, flags: 'A', dataOffsetWords: 3 }))),
      ethernet(0x0800, ipv4('1.1.1.1', '2.2.2.2', 6, tcpHeader({ sport: 1, dport: 2, seq: 0, flags: 'A', dataOffsetWords: 15 }))),
      ethernet(0x0800, ipv4('1.1.1.1', '2.2.2.2', 6, tcp, { totalLength: 10 })),
      ethernet(0x86dd, v6.subarray(0, 30)),
      ethernet(0x8100, new Uint8Array(2)),
    ];
    for (const frame of bad) {
      const d = decodeFrame(LinkType.ETHERNET, frame);
      expect(d.kind, Buffer.from(frame).toString('hex')).toBe('anomaly');
    }
  });

  it('tells how much of a segment the snapshot length cut off', () => {
    const full = ethernet(0x0800, v4);
    const s = segment(decodeFrame(LinkType.ETHERNET, full.subarray(0, full.byteLength - 6)));
    expect(Buffer.from(s.payload).toString()).toBe('PRIVMSG #x');
    expect(s.uncaptured).toBe(6);
  });

  it('uses the frame length when IPv4 total length is 0 (segmentation offload)', () => {
    const s = segment(decodeFrame(LinkType.RAW, ipv4('1.1.1.1', '2.2.2.2', 6, tcp, { totalLength: 0 })));
    expect(Buffer.from(s.payload).toString()).toBe('PRIVMSG #x :hi\r\n');
  });

  it('decodes every flag', () => {
    const flags = (f: string) => segment(decodeFrame(LinkType.RAW, ipv4('1.1.1.1', '2.2.2.2', 6, tcpHeader({ sport: 1, dport: 2, seq: 0, flags: f })))).flags;
    expect(flags('S')).toEqual({ syn: true, ack: false, fin: false, rst: false, psh: false });
    expect(flags('SA')).toEqual({ syn: true, ack: true, fin: false, rst: false, psh: false });
    expect(flags('FA')).toEqual({ syn: false, ack: true, fin: true, rst: false, psh: false });
    expect(flags('R')).toEqual({ syn: false, ack: false, fin: false, rst: true, psh: false });
  });
});

describe('IPv6 text (RFC 5952)', () => {
  const v6bytes = (groups: number[]): Uint8Array => {
    const b = new Uint8Array(16);
    groups.forEach((g, i) => new DataView(b.buffer).setUint16(i * 2, g));
    return b;
  };
  it.each([
    [[0, 0, 0, 0, 0, 0, 0, 1], '::1'],
    [[0, 0, 0, 0, 0, 0, 0, 0], '::'],
    [[0x2001, 0xdb8, 0, 0, 0, 0, 0, 1], '2001:db8::1'],
    [[0x2001, 0xdb8, 0, 1, 1, 1, 1, 1], '2001:db8:0:1:1:1:1:1'],
    [[1, 0, 0, 2, 0, 0, 0, 3], '1:0:0:2::3'],
    [[1, 0, 0, 2, 2, 0, 0, 3], '1::2:2:0:0:3'],
    [[0xfe80, 0, 0, 0, 0xabcd, 0, 0, 0], 'fe80::abcd:0:0:0'],
    [[0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201], '::ffff:192.0.2.1'],
  ])('%j -> %s', (groups, expected) => {
    expect(formatIpv6(v6bytes(groups), 0)).toBe(expected);
  });
});
