import { afterAll, describe, expect, it } from 'vitest';
import { LinkType, TcpReassembler, readConnections, streamBytes, type ReassemblyOptions, type TcpSegment } from '../../src/capture/index.js';
import { conversation, concat, enc, epb, ethernet, flowPacket, idb, loopLink, nullLink, pcapFile, removeTemp, shb, sll, sll2, text, writeTemp, type Flow } from './helpers.js';

afterAll(removeTemp);

const CLIENT = { ip: '10.0.0.1', port: 40000 };
const SERVER = { ip: '10.0.0.2', port: 6667 };

/** A segment from the client ('c') or the server ('s'). Flags: letters of S A F R P. */
function seg(from: 'c' | 's', seq: number, data = '', flags = 'A', ack = 0, endpoints = { c: CLIENT, s: SERVER }): TcpSegment {
  const a = from === 'c' ? endpoints.c : endpoints.s;
  const b = from === 'c' ? endpoints.s : endpoints.c;
  return {
    ipVersion: 4,
    src: a.ip,
    srcPort: a.port,
    dst: b.ip,
    dstPort: b.port,
    seq: seq >>> 0,
    ack: ack >>> 0,
    flags: { syn: flags.includes('S'), ack: flags.includes('A'), fin: flags.includes('F'), rst: flags.includes('R'), psh: flags.includes('P') },
    payload: enc(data),
    uncaptured: 0,
  };
}

/** Feeds segments (one per millisecond from t=1000) and records every event as a compact string. */
function run(segments: TcpSegment[], options?: ReassemblyOptions, end = true): string[] {
  const events: string[] = [];
  const r = new TcpReassembler(
    {
      open: (c) => events.push(`open #${c.id} ${c.client.ip}:${c.client.port} > ${c.server.ip}:${c.server.port}${c.midstream ? ' midstream' : ''}`),
      data: (c, d, bytes, time) => events.push(`#${c.id} ${d === 'outgoing' ? '>' : '<'} ${text(bytes)} @${time}`),
      anomaly: (c, a) => events.push(`#${c.id} gap ${a.direction} ${a.bytesMissing} at offset ${a.offset} @${a.at}`),
      close: (c, reason) => events.push(`close #${c.id} ${reason}`),
    },
    options,
  );
  segments.forEach((s, i) => r.push(s, 1000 + i));
  if (end) r.end();
  return events;
}

const ISN_C = 100;
const ISN_S = 900;
const handshake = [seg('c', ISN_C, '', 'S'), seg('s', ISN_S, '', 'SA', ISN_C + 1), seg('c', ISN_C + 1, '', 'A', ISN_S + 1)];

describe('TcpReassembler', () => {
  it('in-order conversation: open, data both ways, close on FINs', () => {
    expect(
      run([
        ...handshake,
        seg('c', 101, 'NICK a\r\n', 'PA', 901),
        seg('s', 901, ':srv 001 a\r\n', 'PA', 109),
        seg('c', 109, '', 'FA', 913),
        seg('s', 913, '', 'FA', 110),
        seg('c', 110, '', 'A', 914),
      ]),
    ).toEqual(['open #0 10.0.0.1:40000 > 10.0.0.2:6667', '#0 > NICK a\r\n @1003', '#0 < :srv 001 a\r\n @1004', 'close #0 fin']);
  });

  it('puts out-of-order segments back in order', () => {
    expect(run([...handshake, seg('c', 107, 'ghi'), seg('c', 104, 'def'), seg('c', 101, 'abc'), seg('c', 110, 'jkl')])).toEqual([
      'open #0 10.0.0.1:40000 > 10.0.0.2:6667',
      '#0 > abc @1005',
      '#0 > def @1005',
      '#0 > ghi @1005',
      '#0 > jkl @1006',
      'close #0 end-of-capture',
    ]);
  });

  it('drops retransmissions and keeps only the new part of a partial one', () => {
    expect(run([...handshake, seg('c', 101, 'abc'), seg('c', 101, 'abc'), seg('c', 101, 'abcdef'), seg('c', 104, 'def'), seg('c', 102, 'bcdefg')])).toEqual([
      'open #0 10.0.0.1:40000 > 10.0.0.2:6667',
      '#0 > abc @1003',
      '#0 > def @1005',
      '#0 > g @1007',
      'close #0 end-of-capture',
    ]);
  });

  it('trims overlapping out-of-order segments (the first copy of a byte wins)', () => {
    const events = run([
      ...handshake,
      seg('c', 105, 'EFGH'), // bytes 4..7
      seg('c', 103, 'cdefgHIJ'), // 2..9: only 2..3 and 8..9 are new
      seg('c', 111, 'KL'), // 10..11
      seg('c', 101, 'ab'), // fills the hole
    ]);
    expect(
      events
        .filter((e) => e.startsWith('#0 >'))
        .map((e) => e.slice(5, -6))
        .join(''),
    ).toBe('abcdEFGHIJKL');
  });

  it('reports a missing segment once the receiver acknowledges past it, then resynchronises', () => {
    expect(
      run([
        ...handshake,
        seg('c', 101, 'one '),
        // 'two ' (105..108) never captured
        seg('c', 109, 'three ', 'PA'),
        seg('s', 901, '', 'A', 115), // the server has everything up to 115
        seg('c', 115, 'four'),
      ]),
    ).toEqual([
      'open #0 10.0.0.1:40000 > 10.0.0.2:6667',
      '#0 > one  @1003',
      '#0 gap outgoing 4 at offset 4 @1005',
      '#0 > three  @1005',
      '#0 > four @1006',
      'close #0 end-of-capture',
    ]);
  });

  it('an ACK past everything captured is a gap even with nothing held', () => {
    expect(run([...handshake, seg('s', 901, 'x'), seg('c', 101, '', 'A', 910), seg('s', 910, 'y')])).toEqual([
      'open #0 10.0.0.1:40000 > 10.0.0.2:6667',
      '#0 < x @1003',
      '#0 gap incoming 8 at offset 1 @1004',
      '#0 < y @1005',
      'close #0 end-of-capture',
    ]);
  });

  it('gives up on a hole when the held data exceeds the cap', () => {
    const events = run([...handshake, seg('c', 111, '0123456789'), seg('c', 121, 'abcdefghij'), seg('c', 131, 'ABCDEFGHIJ')], { maxBufferedBytes: 25 });
    expect(events).toEqual([
      'open #0 10.0.0.1:40000 > 10.0.0.2:6667',
      '#0 gap outgoing 10 at offset 0 @1005',
      '#0 > 0123456789 @1005',
      '#0 > abcdefghij @1005',
      '#0 > ABCDEFGHIJ @1005',
      'close #0 end-of-capture',
    ]);
  });

  it('caps the number of held segments too', () => {
    const events = run([...handshake, seg('c', 103, 'b'), seg('c', 105, 'd'), seg('c', 107, 'f')], { maxBufferedSegments: 2 });
    expect(events.slice(1, 4)).toEqual(['#0 gap outgoing 2 at offset 0 @1005', '#0 > b @1005', '#0 gap outgoing 1 at offset 3 @1005']);
  });

  it('reports the holes still open at the end of the capture', () => {
    expect(run([...handshake, seg('c', 101, 'ab'), seg('c', 106, 'fg'), seg('c', 110, '', 'FA')])).toEqual([
      'open #0 10.0.0.1:40000 > 10.0.0.2:6667',
      '#0 > ab @1003',
      '#0 gap outgoing 3 at offset 2 @1005',
      '#0 > fg @1005',
      '#0 gap outgoing 2 at offset 7 @1005',
      'close #0 end-of-capture',
    ]);
  });

  it('joins a connection whose handshake was not captured (midstream), lower port as server', () => {
    const a = { ip: '10.1.1.1', port: 5000 };
    const b = { ip: '10.2.2.2', port: 60000 };
    const ends = { c: b, s: a }; // 'c' = the high port
    expect(run([seg('s', 7000, 'from 5000', 'PA', 3000, ends), seg('c', 3000, 'from 60000', 'PA', 7009, ends)])).toEqual([
      'open #0 10.2.2.2:60000 > 10.1.1.1:5000 midstream',
      '#0 < from 5000 @1000',
      '#0 > from 60000 @1001',
      'close #0 end-of-capture',
    ]);
  });

  it('prefers a known server port over the lower-port rule', () => {
    const ends = { c: { ip: '10.1.1.1', port: 1863 }, s: { ip: '10.2.2.2', port: 5050 } };
    const events = run([seg('c', 1, 'x', 'PA', 1, ends)], { serverPorts: [5050] });
    expect(events[0]).toBe('open #0 10.1.1.1:1863 > 10.2.2.2:5050 midstream');
    expect(events[1]).toBe('#0 > x @1000');
  });

  it('a keep-alive probe (one below the next byte) is not data and not a gap', () => {
    expect(run([seg('c', 499, '', 'A', 2000), seg('s', 2000, '', 'A', 500), seg('c', 500, 'data', 'PA', 2000), seg('s', 2000, '', 'A', 504)])).toEqual([
      'open #0 10.0.0.1:40000 > 10.0.0.2:6667 midstream',
      '#0 > data @1002',
      'close #0 end-of-capture',
    ]);
  });

  it('handles sequence numbers that wrap around 2^32', () => {
    const isn = 0xfffffffa;
    expect(
      run([
        seg('c', isn, '', 'S'),
        seg('s', 0xffffff00, '', 'SA', isn + 1),
        seg('c', 0x00000001, 'ghij', 'A', 0xffffff01), // after the wrap, early
        seg('c', 0x00000003, 'ijKL', 'A', 0xffffff01), // overlaps the held one: only KL is new
        seg('c', isn + 1, 'abcdef', 'A', 0xffffff01), // 0xfffffffb..0x00000000
        seg('c', 0x00000007, '', 'FA', 0xffffff01),
        seg('s', 0xffffff01, '', 'FA', 8),
      ]),
    ).toEqual(['open #0 10.0.0.1:40000 > 10.0.0.2:6667', '#0 > abcdef @1004', '#0 > ghij @1004', '#0 > KL @1004', 'close #0 fin']);
  });

  it('closes on RST, ignores the tail, and opens a new connection on a new SYN for the same ports', () => {
    expect(
      run([
        ...handshake,
        seg('c', 101, 'bye'),
        seg('s', 901, '', 'RA', 104),
        seg('c', 104, 'late'),
        seg('s', 901, '', 'R'),
        seg('c', 5000, '', 'S'),
        seg('s', 8000, '', 'SA', 5001),
        seg('c', 5001, 'again', 'PA', 8001),
      ]),
    ).toEqual([
      'open #0 10.0.0.1:40000 > 10.0.0.2:6667',
      '#0 > bye @1003',
      'close #0 rst',
      'open #1 10.0.0.1:40000 > 10.0.0.2:6667',
      '#1 > again @1009',
      'close #1 end-of-capture',
    ]);
  });

  it('a reset with data held reports the hole before closing', () => {
    expect(run([...handshake, seg('c', 105, 'late'), seg('c', 109, '', 'R')])).toEqual([
      'open #0 10.0.0.1:40000 > 10.0.0.2:6667',
      '#0 gap outgoing 4 at offset 0 @1004',
      '#0 > late @1004',
      'close #0 rst',
    ]);
  });

  it('a new SYN on an open connection replaces it; a retransmitted SYN does not', () => {
    expect(run([seg('c', 1, '', 'S'), seg('c', 1, '', 'S'), seg('s', 50, '', 'SA', 2), seg('c', 2, 'a', 'PA', 51), seg('c', 777, '', 'S')])).toEqual([
      'open #0 10.0.0.1:40000 > 10.0.0.2:6667',
      '#0 > a @1003',
      'close #0 reused',
      'open #1 10.0.0.1:40000 > 10.0.0.2:6667',
      'close #1 end-of-capture',
    ]);
  });

  it('a SYN-ACK seen before (or without) the SYN still gives the roles', () => {
    expect(run([seg('s', ISN_S, '', 'SA', 101), seg('c', ISN_C, '', 'S'), seg('c', 101, 'hi', 'PA', 901)])).toEqual([
      'open #0 10.0.0.1:40000 > 10.0.0.2:6667',
      '#0 > hi @1002',
      'close #0 end-of-capture',
    ]);
  });

  it('keeps connections apart and evicts the least recently active one past maxConnections', () => {
    const other = { c: { ip: '10.0.0.9', port: 50000 }, s: SERVER };
    const third = { c: { ip: '10.0.0.7', port: 50001 }, s: SERVER };
    expect(
      run([seg('c', 1, '', 'S'), seg('c', 10, '', 'S', 0, other), seg('c', 11, 'B', 'PA', 0, other), seg('c', 2, 'A', 'PA'), seg('c', 20, '', 'S', 0, third)], {
        maxConnections: 2,
      }),
    ).toEqual([
      'open #0 10.0.0.1:40000 > 10.0.0.2:6667',
      'open #1 10.0.0.9:50000 > 10.0.0.2:6667',
      '#1 > B @1002',
      '#0 > A @1003',
      'close #1 evicted',
      'open #2 10.0.0.7:50001 > 10.0.0.2:6667',
      'close #0 end-of-capture',
      'close #2 end-of-capture',
    ]);
  });

  it('treats the part of a segment cut by the snapshot length as a gap', () => {
    const cut = { ...seg('c', 101, 'abc'), uncaptured: 5 };
    expect(run([...handshake, cut, seg('c', 109, 'next')])).toEqual([
      'open #0 10.0.0.1:40000 > 10.0.0.2:6667',
      '#0 > abc @1003',
      '#0 gap outgoing 5 at offset 3 @1003',
      '#0 > next @1004',
      'close #0 end-of-capture',
    ]);
  });

  it('both FINs with a hole before one of them: gap at the end, closed as fin', () => {
    expect(run([...handshake, seg('c', 101, 'ab'), seg('c', 110, '', 'FA', 901), seg('s', 901, '', 'FA', 111)], {}, true)).toEqual([
      'open #0 10.0.0.1:40000 > 10.0.0.2:6667',
      '#0 > ab @1003',
      '#0 gap outgoing 7 at offset 2 @1005',
      'close #0 fin',
    ]);
  });
});

describe('readConnections over synthetic captures', () => {
  const flow4: Flow = { client: ['192.0.2.1', 51000], server: ['198.51.100.7', 5222] };
  const flow6: Flow = { client: ['2001:db8::1', 51001], server: ['2001:db8::2', 5222], v6: true };
  const check = (conns: Awaited<ReturnType<typeof readConnections>>, flows: Flow[]): void => {
    expect(conns).toHaveLength(flows.length);
    conns.forEach((c, i) => {
      const flow = flows[i]!;
      expect([c.client.ip, c.client.port, c.server.ip, c.server.port]).toEqual([...flow.client, ...flow.server]);
      expect(c.midstream).toBe(false);
      expect(c.closed).toBe('fin');
      expect(text(streamBytes(c, 'outgoing'))).toBe('hello\r\n');
      expect(text(streamBytes(c, 'incoming'))).toBe('welcome\r\n');
      expect(c.chunks.map((k) => k.direction)).toEqual(['outgoing', 'incoming']);
      expect(c.anomalies).toEqual([]);
    });
  };
  const linkFrames: Array<[string, number, (ip: Uint8Array, v6: boolean) => Uint8Array]> = [
    ['Ethernet', LinkType.ETHERNET, (ip, v6) => ethernet(v6 ? 0x86dd : 0x0800, ip)],
    ['Ethernet + VLAN', LinkType.ETHERNET, (ip, v6) => ethernet(v6 ? 0x86dd : 0x0800, ip, [[0x8100, 7]])],
    ['raw IP', LinkType.RAW, (ip) => ip],
    ['IPv4/IPv6 link types', -1, (ip) => ip],
    ['Linux SLL', LinkType.LINUX_SLL, (ip, v6) => sll(v6 ? 0x86dd : 0x0800, ip)],
    ['Linux SLL2', LinkType.LINUX_SLL2, (ip, v6) => sll2(v6 ? 0x86dd : 0x0800, ip)],
    ['BSD null (big-endian host)', LinkType.NULL, (ip, v6) => nullLink(v6 ? 30 : 2, ip, false)],
    ['BSD null (little-endian host)', LinkType.NULL, (ip, v6) => nullLink(v6 ? 28 : 2, ip, true)],
    ['OpenBSD loop', LinkType.LOOP, (ip, v6) => loopLink(v6 ? 24 : 2, ip)],
  ];
  for (const [name, linkType, frame] of linkFrames) {
    it(`pcap of ${name}`, async () => {
      for (const flow of [flow4, flow6]) {
        const lt = linkType === -1 ? (flow.v6 ? LinkType.IPV6 : LinkType.IPV4) : linkType;
        const records = conversation(flow).map((ip, i) => ({ seconds: 1700000000, fraction: i, data: frame(ip, flow.v6 === true) }));
        const path = writeTemp(`conv-${name.replace(/\W+/g, '-')}-${flow.v6 ? 6 : 4}.pcap`, pcapFile({ linkType: lt, littleEndian: false }, records));
        check(await readConnections(path), [flow]);
      }
    });
  }

  it('pcapng with several interfaces of different link types, interleaved', async () => {
    const a = conversation(flow4);
    const b = conversation(flow6);
    const blocks: Uint8Array[] = [shb(true), idb(true, { linkType: LinkType.ETHERNET }), idb(true, { linkType: LinkType.LINUX_SLL2, tsresol: 9 })];
    for (let i = 0; i < a.length; i++) {
      blocks.push(epb(true, 0, BigInt(1700000000_000000 + i * 10), ethernet(0x0800, a[i]!)));
      blocks.push(epb(true, 1, BigInt(1700000000_000000000) + BigInt(i * 10000 + 5000), sll2(0x86dd, b[i]!)));
    }
    const conns = await readConnections(writeTemp('multi.pcapng', concat(...blocks)));
    check(conns, [flow4, flow6]);
    expect(conns[0]!.openedAt).toBe(1700000000000);
    expect(conns[1]!.openedAt).toBe(1700000000000.005);
  });

  it('a lost segment in a file: gap, then the stream goes on', async () => {
    const flow = flow4;
    const packets = [
      flowPacket(flow, 'c', 1000, 0, 'S'),
      flowPacket(flow, 's', 5000, 1001, 'SA'),
      flowPacket(flow, 'c', 1001, 5001, 'PA', 'JOIN #a\r\n'),
      // lost: client 1010.. 'JOIN #b\r\n'
      flowPacket(flow, 'c', 1019, 5001, 'PA', 'JOIN #c\r\n'),
      flowPacket(flow, 's', 5001, 1028, 'A'),
    ];
    const [conn] = await readConnections(
      writeTemp(
        'lost.pcap',
        pcapFile(
          { linkType: LinkType.RAW },
          packets.map((data, i) => ({ seconds: 1, fraction: i, data })),
        ),
      ),
    );
    expect(text(streamBytes(conn!, 'outgoing'))).toBe('JOIN #a\r\nJOIN #c\r\n');
    expect(conn!.anomalies).toEqual([{ kind: 'gap', direction: 'outgoing', bytesMissing: 9, offset: 9, at: 1000.004 }]);
  });

  it('reports IP fragments through onPacketAnomaly and goes on', async () => {
    const frag = ethernet(0x0800, concat(flowPacket(flow4, 'c', 1, 0, 'PA', 'x').subarray(0, 6), Uint8Array.of(0x20, 0), flowPacket(flow4, 'c', 1, 0, 'PA', 'x').subarray(8)));
    const records = [frag, ...conversation(flow4).map((ip) => ethernet(0x0800, ip))].map((data, i) => ({ seconds: 1, fraction: i, data }));
    const anomalies: string[] = [];
    const conns = await readConnections(writeTemp('frag.pcap', pcapFile({ linkType: 1 }, records)), {
      onPacketAnomaly: (a, p) => anomalies.push(`${a.kind}@${p.index}`),
    });
    expect(anomalies).toEqual(['ip-fragment@0']);
    check(conns, [flow4]);
  });
});
