import { describe, expect, it } from 'vitest';
import type { ImEvent } from '@imspect/sdk';
import type { RelayDeps } from '../src/proxy/connection.js';
import type { UnreadablePolicyConfig } from '../src/proxy/unreadable.js';
import { DatagramWatch } from '../src/runtime/replay-datagrams.js';

/** A client packet of ndpi-oicq.pcap (QQ number 1444875387, log out). */
const OICQ = Buffer.from('023b0b00010031561f0c7b00000000000000006b1293101de8332d4cd86b893d44950ca6f8e426f2f1ae3503', 'hex');

function watch(unreadable?: UnreadablePolicyConfig) {
  const events: ImEvent[] = [];
  const deps = {
    sink: { accept: (batch: ImEvent[]) => events.push(...batch) },
    options: { idleTimeoutMs: 0, sniffTimeoutMs: 0, debug: false, ...(unreadable ? { unreadable } : {}) },
  };
  return { events, watch: new DatagramWatch(deps as unknown as RelayDeps) };
}

const datagram = (srcPort: number, dstPort: number, payload: Uint8Array = OICQ) => ({ src: '10.0.0.7', dst: '58.60.10.45', srcPort, dstPort, payload });

describe('DatagramWatch (QQ over UDP in replays)', () => {
  it('one flow and one event per client, server and QQ number, whatever the source port; the count goes on', () => {
    const { events, watch: w } = watch();
    w.datagram(datagram(4000, 8000), 1_000);
    w.datagram(datagram(4001, 8000), 2_000);
    w.datagram(datagram(8000, 4000), 3_000); // the server's answer: no QQ number, not counted
    expect(w.flows).toEqual([
      { protocol: 'qq', transport: 'udp', client: '10.0.0.7:4000', server: '58.60.10.45:8000', qqNumber: 1444875387, packets: 2, firstAt: 1_000, action: 'log' },
    ]);
    expect(events.map((e) => [e.protocol, e.type, e.subtype, e.localId, e.at, e.filtered])).toEqual([
      ['qq', 'other', 'unreadable', '1444875387', new Date(1_000).toISOString(), false],
    ]);
  });

  it("only to QQ's server port, only whole OICQ packets", () => {
    const { events, watch: w } = watch();
    w.datagram(datagram(4000, 9000), 1);
    w.datagram(datagram(4000, 8000, OICQ.subarray(0, -1)), 2);
    w.datagram(datagram(53, 8000, Buffer.from('not qq at all')), 3);
    expect(w.flows).toEqual([]);
    expect(events).toEqual([]);
  });

  it('policy.unreadable: block marks the event blocked; allow counts the flow without an event', () => {
    const blocked = watch({ qq: 'block' });
    blocked.watch.datagram(datagram(4000, 8000), 1);
    expect(blocked.events.map((e) => [e.filtered, e.categories])).toEqual([[true, ['unreadable']]]);
    const allowed = watch('allow');
    allowed.watch.datagram(datagram(4000, 8000), 1);
    expect(allowed.events).toEqual([]);
    expect(allowed.watch.flows.map((f) => f.action)).toEqual(['allow']);
  });
});
