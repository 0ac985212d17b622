import type { Direction, Endpoint } from '@imspect/sdk';
import { forEachPacket, type CaptureReadOptions } from './capture-file.js';
import { decodeFrame, type PacketAnomaly, type UdpDatagram } from './ip.js';
import type { CapturedPacket } from './packet.js';
import { TcpReassembler, type CloseReason, type ConnectionAnomaly, type ReassemblyHandlers, type ReassemblyOptions } from './tcp-reassembly.js';

export interface ReplayOptions extends CaptureReadOptions, ReassemblyOptions {
  /** A frame carrying IP that could not be decoded to TCP (IP fragments, malformed headers). */
  onPacketAnomaly?(anomaly: PacketAnomaly, packet: CapturedPacket): void;
  /**
   * Called after each packet: a promise holds reading until it settles (the handlers are still working on what
   * they were given, e.g. an asynchronous filter decision), so data is handled in capture order and with its time.
   */
  waitAfterPacket?(): Promise<void> | undefined;
  /** Each UDP datagram, with its capture time (ms since the epoch); they are counted in `otherPackets` too. */
  onDatagram?(datagram: UdpDatagram, time: number): void;
}

export interface ReplayStats {
  packets: number;
  tcpPackets: number;
  /** Frames that are not TCP over IP (ARP, UDP, ...); UDP datagrams also go to `onDatagram`. */
  otherPackets: number;
  /** Frames reported through `onPacketAnomaly`. */
  anomalousPackets: number;
}

/**
 * Streams a capture through the TCP reassembler: the handlers see every connection open, its data in
 * order, its gaps and its end, without the capture or its streams being held in memory.
 */
export async function replayCapture(path: string, handlers: ReassemblyHandlers, options: ReplayOptions = {}): Promise<ReplayStats> {
  const reassembler = new TcpReassembler(handlers, options);
  const stats: ReplayStats = { packets: 0, tcpPackets: 0, otherPackets: 0, anomalousPackets: 0 };
  const wait = options.waitAfterPacket;
  stats.packets = await forEachPacket(
    path,
    (packet): Promise<void> | undefined => {
      const decoded = decodeFrame(packet.linkType, packet.data);
      if (decoded.kind === 'tcp') {
        stats.tcpPackets++;
        reassembler.push(decoded.segment, packet.time);
      } else if (decoded.kind === 'anomaly') {
        stats.anomalousPackets++;
        options.onPacketAnomaly?.(decoded.anomaly, packet);
      } else {
        stats.otherPackets++;
        if (decoded.kind === 'udp') options.onDatagram?.(decoded.datagram, packet.time);
      }
      return wait?.();
    },
    options,
  );
  reassembler.end();
  return stats;
}

export interface CapturedChunk {
  direction: Direction;
  data: Uint8Array;
  /** Capture time (ms since the epoch) at which these bytes became available in order. */
  time: number;
}

/** One TCP connection of a capture, with its whole conversation. */
export interface CapturedConnection {
  id: number;
  client: Endpoint;
  server: Endpoint;
  midstream: boolean;
  openedAt: number;
  /** The data of both directions, interleaved in the order it became available. */
  chunks: CapturedChunk[];
  anomalies: ConnectionAnomaly[];
  closed: CloseReason;
  closedAt: number;
}

/**
 * Every TCP connection of a capture, in order of first packet, with all its data. Meant for tests and
 * small captures: it keeps every byte (copied out of the read buffers). Use {@link replayCapture} for
 * large files.
 */
export async function readConnections(path: string, options: ReplayOptions = {}): Promise<CapturedConnection[]> {
  const byId = new Map<number, CapturedConnection>();
  await replayCapture(
    path,
    {
      open(conn) {
        byId.set(conn.id, {
          id: conn.id,
          client: { ...conn.client },
          server: { ...conn.server },
          midstream: conn.midstream,
          openedAt: conn.openedAt,
          chunks: [],
          anomalies: [],
          closed: 'end-of-capture',
          closedAt: conn.openedAt,
        });
      },
      data(conn, direction, bytes, time) {
        byId.get(conn.id)!.chunks.push({ direction, data: new Uint8Array(bytes), time });
      },
      anomaly(conn, anomaly) {
        byId.get(conn.id)!.anomalies.push(anomaly);
      },
      close(conn, reason, time) {
        const captured = byId.get(conn.id)!;
        captured.closed = reason;
        captured.closedAt = time;
      },
    },
    options,
  );
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

/** All bytes of one direction of a captured connection, joined. */
export function streamBytes(conn: Pick<CapturedConnection, 'chunks'>, direction: Direction): Uint8Array {
  const parts = conn.chunks.filter((c) => c.direction === direction);
  const out = new Uint8Array(parts.reduce((n, c) => n + c.data.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part.data, at);
    at += part.data.byteLength;
  }
  return out;
}
