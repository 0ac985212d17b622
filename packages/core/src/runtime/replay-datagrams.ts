/**
 * IM over UDP in a capture: datagrams are not connections and no protocol plugin parses them, but classic QQ
 * (OICQ over UDP 8000) is recognised by its packet header and reported as live QQ over TCP is: one
 * `other`/`unreadable` event per flow (client address, server and QQ number), judged by `policy.unreadable`.
 */
import type { ImEvent } from '@imspect/sdk';
import type { UdpDatagram } from '../capture/ip.js';
import type { RelayDeps } from '../proxy/connection.js';
import { parseOicqPacket, unreadableAction, type UnreadableAction } from '../proxy/unreadable.js';
import { uuidv7 } from './ids.js';

/** QQ's UDP server port. */
export const QQ_UDP_PORT = 8000;

/** One client's QQ traffic to one server, as a replay summary lists it. */
export interface DatagramFlow {
  protocol: 'qq';
  transport: 'udp';
  client: string;
  server: string;
  /** The QQ number the client's packets carry. */
  qqNumber: number;
  packets: number;
  /** Capture time of the first packet (ms since the epoch). */
  firstAt: number;
  /** What `policy.unreadable` says for QQ (a replay blocks nothing: `block` marks the event filtered). */
  action: UnreadableAction;
}

export class DatagramWatch {
  /** Flows by client address, server and QQ number (a client's source port changes from packet to packet). */
  private readonly byKey = new Map<string, DatagramFlow>();

  constructor(private readonly deps: RelayDeps) {}

  get flows(): DatagramFlow[] {
    return [...this.byKey.values()];
  }

  /** A datagram of the capture, at capture time `time`. */
  datagram(datagram: UdpDatagram, time: number): void {
    // QQ's server port only: a header this short would match the odd datagram of other UDP traffic by chance
    // (a few in a hundred million), and a capture can hold that many. A server's packets carry no QQ number.
    if (datagram.dstPort !== QQ_UDP_PORT) return;
    const header = parseOicqPacket(datagram.payload);
    if (!header) return;
    const server = `${datagram.dst}:${datagram.dstPort}`;
    const key = `${datagram.src} ${server} ${header.qqNumber}`;
    const known = this.byKey.get(key);
    if (known) {
      known.packets++;
      return;
    }
    const action = unreadableAction(this.deps.options.unreadable, 'qq', 'qq');
    const flow: DatagramFlow = {
      protocol: 'qq',
      transport: 'udp',
      client: `${datagram.src}:${datagram.srcPort}`,
      server,
      qqNumber: header.qqNumber,
      packets: 1,
      firstAt: time,
      action,
    };
    this.byKey.set(key, flow);
    if (action === 'allow') return;
    const reason = `QQ (OICQ) over UDP to port ${datagram.dstPort}: recognised, not parsed`;
    const event: ImEvent = {
      id: uuidv7(),
      at: new Date(Math.trunc(time)).toISOString(),
      protocol: 'qq',
      direction: 'outgoing',
      type: 'other',
      subtype: 'unreadable',
      localId: String(header.qqNumber),
      remoteId: datagram.dst,
      client: Object.freeze({ ip: datagram.src, port: datagram.srcPort }),
      server: Object.freeze({ host: datagram.dst, port: datagram.dstPort }),
      filtered: action === 'block',
      categories: action === 'block' ? ['unreadable'] : [],
      data: Object.freeze({
        protocol: 'qq',
        kind: 'qq',
        action,
        transport: 'udp',
        reason: action === 'block' ? `${reason}; blocked (policy.unreadable)` : reason,
        qqNumber: header.qqNumber,
        command: header.command,
        version: header.version,
      }),
    };
    this.deps.sink.accept([event]);
  }
}
