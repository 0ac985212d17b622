import type { Direction, Endpoint } from '@imspect/sdk';
import type { TcpSegment } from './ip.js';

/**
 * How a connection ended. `fin`: both sides closed (FIN seen both ways). `rst`: reset. `end-of-capture`:
 * still open when the capture ended. `reused`: a new SYN on the same addresses and ports replaced it.
 * `evicted`: dropped to stay under `maxConnections`.
 */
export type CloseReason = 'fin' | 'rst' | 'end-of-capture' | 'reused' | 'evicted';

/** Bytes of one direction that the capture does not have; the stream resumes after them. */
export interface GapAnomaly {
  kind: 'gap';
  direction: Direction;
  bytesMissing: number;
  /** Stream offset in `direction` where the hole starts (bytes delivered plus bytes missing before it). */
  offset: number;
  /** Capture time (ms since the epoch) at which the hole was given up on. */
  at: number;
}

export type ConnectionAnomaly = GapAnomaly;

export interface TcpConnection {
  /** In order of first packet, from 0 (matches tshark's `tcp.stream` in captures without port reuse). */
  readonly id: number;
  readonly client: Endpoint;
  readonly server: Endpoint;
  /** The handshake was not captured: roles were guessed from the ports and the stream starts part-way. */
  readonly midstream: boolean;
  /** Capture time (ms since the epoch) of the first packet. */
  readonly openedAt: number;
}

export interface ReassemblyHandlers {
  open?(conn: TcpConnection): void;
  /** `bytes` is a view into the capture's read buffer or a buffered copy: copy it to keep it for long. */
  data?(conn: TcpConnection, direction: Direction, bytes: Uint8Array, time: number): void;
  anomaly?(conn: TcpConnection, anomaly: ConnectionAnomaly): void;
  close?(conn: TcpConnection, reason: CloseReason, time: number): void;
}

export interface ReassemblyOptions {
  /**
   * Ports that identify the server when the handshake was not captured (e.g. the protocol plugins' ports).
   * Otherwise the lower port is taken as the server's.
   */
  serverPorts?: Iterable<number>;
  /**
   * Out-of-order bytes held per connection, both directions together, while waiting for a hole to be
   * filled (default 2 MiB: several windows of a LAN connection). Past it the oldest hole is declared a gap.
   */
  maxBufferedBytes?: number;
  /** Out-of-order segments held per connection (default 2048); bounds the bookkeeping of tiny segments. */
  maxBufferedSegments?: number;
  /** Live connections kept at once (default 100 000); past it the least recently active one is closed. */
  maxConnections?: number;
  /**
   * How long (capture time, ms) the addresses of a closed connection are remembered, so its last ACKs and
   * retransmitted FINs do not open a new connection (default 120 000, twice the usual MSL).
   */
  closedLingerMs?: number;
}

const DEFAULTS = {
  maxBufferedBytes: 2 * 1024 * 1024,
  maxBufferedSegments: 2048,
  maxConnections: 100_000,
  closedLingerMs: 120_000,
};

/**
 * A sequence number further ahead than this is not a hole but a wrong guess (a stray packet, a reused
 * port): no TCP window reaches 1 GiB, so nothing legitimate lies that far ahead.
 */
const MAX_JUMP = 1 << 30;

/** Signed distance from `b` to `a` in 32-bit sequence space: handles wraparound. */
function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

interface Held {
  seq: number;
  data: Uint8Array;
}

/** One direction of a connection. */
class HalfStream {
  /** Whether `nextSeq` is known: from a SYN, the first data or FIN, or the other side's ACK. */
  started = false;
  nextSeq = 0;
  /** Bytes delivered plus bytes declared missing. */
  offset = 0;
  /** Out-of-order data, sorted by sequence number, never overlapping, all after `nextSeq`. */
  held: Held[] = [];
  heldBytes = 0;
  synSeq: number | undefined;
  /** Sequence number the FIN occupies. */
  finSeq: number | undefined;
  finDone = false;

  start(seq: number): void {
    this.started = true;
    this.nextSeq = seq >>> 0;
  }
}

class Connection implements TcpConnection {
  readonly outgoing = new HalfStream();
  readonly incoming = new HalfStream();
  closed = false;
  lastSeen: number;

  constructor(
    readonly id: number,
    readonly key: string,
    readonly client: Endpoint,
    readonly server: Endpoint,
    readonly midstream: boolean,
    readonly openedAt: number,
  ) {
    this.lastSeen = openedAt;
  }

  half(direction: Direction): HalfStream {
    return direction === 'outgoing' ? this.outgoing : this.incoming;
  }
}

function keyOf(s: TcpSegment): string {
  const a = `${s.src}|${s.srcPort}`;
  const b = `${s.dst}|${s.dstPort}`;
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

/**
 * Turns TCP segments, in capture order, into per-connection byte streams: ordered, without retransmitted
 * or overlapping bytes, with holes reported as gaps. Everything is synchronous: each `push` emits the
 * events it causes before returning. Connections are independent; memory per connection is bounded by
 * `maxBufferedBytes`, the number of connections by `maxConnections`.
 *
 * A hole is given up on (reported as a gap, then skipped) as soon as the receiver's ACK covers it, since
 * then the bytes reached the receiver and will never be retransmitted; otherwise when the held data exceeds
 * the cap, or when the connection ends.
 */
export class TcpReassembler {
  private readonly live = new Map<string, Connection>();
  /** Keys of recently closed connections, oldest first, with their closing time. */
  private readonly closed = new Map<string, number>();
  private readonly serverPorts: ReadonlySet<number>;
  private readonly limits: typeof DEFAULTS;
  private nextId = 0;

  constructor(
    private readonly handlers: ReassemblyHandlers,
    options: ReassemblyOptions = {},
  ) {
    this.serverPorts = new Set(options.serverPorts ?? []);
    this.limits = {
      maxBufferedBytes: options.maxBufferedBytes ?? DEFAULTS.maxBufferedBytes,
      maxBufferedSegments: options.maxBufferedSegments ?? DEFAULTS.maxBufferedSegments,
      maxConnections: options.maxConnections ?? DEFAULTS.maxConnections,
      closedLingerMs: options.closedLingerMs ?? DEFAULTS.closedLingerMs,
    };
  }

  /** Connections currently open. */
  get openConnections(): number {
    return this.live.size;
  }

  push(segment: TcpSegment, time: number): void {
    this.forgetClosed(time);
    const key = keyOf(segment);
    const opening = segment.flags.syn && !segment.flags.ack;
    let conn = this.live.get(key);
    if (conn !== undefined && opening) {
      const client = conn.outgoing;
      const fromClient = this.directionOf(conn, segment) === 'outgoing';
      // A retransmitted SYN, or one the capture shows after the SYN-ACK that started the connection.
      const sameSyn =
        client.synSeq === undefined ? !conn.midstream && client.started && client.offset === 0 && client.nextSeq === (segment.seq + 1) >>> 0 : client.synSeq === segment.seq;
      if (fromClient && sameSyn) {
        client.synSeq = segment.seq;
        conn.lastSeen = time;
        return;
      }
      this.finish(conn, 'reused', time);
      conn = undefined;
    }
    if (conn === undefined) {
      if (this.closed.has(key)) {
        if (!opening) return; // the tail of a closed connection: last ACKs, a retransmitted FIN, a RST
        this.closed.delete(key);
      }
      if (segment.flags.rst) return; // a lone reset opens nothing
      conn = this.open(key, segment, time);
    } else {
      // Map order is the eviction order: move the connection to the back.
      this.live.delete(key);
      this.live.set(key, conn);
    }
    conn.lastSeen = time;
    this.handle(conn, segment, time);
  }

  /** The capture ended: flushes held data (reporting the holes) and closes every open connection. */
  end(): void {
    const open = [...this.live.values()].sort((a, b) => a.id - b.id);
    for (const conn of open) {
      const bothFins = conn.outgoing.finSeq !== undefined && conn.incoming.finSeq !== undefined;
      this.finish(conn, bothFins ? 'fin' : 'end-of-capture', conn.lastSeen);
    }
  }

  private open(key: string, s: TcpSegment, time: number): Connection {
    const src = { ip: s.src, port: s.srcPort };
    const dst = { ip: s.dst, port: s.dstPort };
    let clientIsSource: boolean;
    let midstream = false;
    if (s.flags.syn) {
      clientIsSource = !s.flags.ack; // SYN from the client, SYN-ACK from the server
    } else {
      midstream = true;
      const srcKnown = this.serverPorts.has(s.srcPort);
      const dstKnown = this.serverPorts.has(s.dstPort);
      if (srcKnown !== dstKnown) clientIsSource = dstKnown;
      else if (s.srcPort !== s.dstPort) clientIsSource = s.srcPort > s.dstPort;
      else clientIsSource = true;
    }
    const conn = new Connection(this.nextId++, key, clientIsSource ? src : dst, clientIsSource ? dst : src, midstream, time);
    this.live.set(key, conn);
    if (this.live.size > this.limits.maxConnections) {
      const oldest = this.live.values().next().value;
      if (oldest !== undefined && oldest !== conn) this.finish(oldest, 'evicted', time);
    }
    this.handlers.open?.(conn);
    return conn;
  }

  private directionOf(conn: Connection, s: TcpSegment): Direction {
    return s.srcPort === conn.client.port && s.src === conn.client.ip ? 'outgoing' : 'incoming';
  }

  private handle(conn: Connection, s: TcpSegment, time: number): void {
    const direction = this.directionOf(conn, s);
    const half = conn.half(direction);
    const peerDirection: Direction = direction === 'outgoing' ? 'incoming' : 'outgoing';
    const peer = conn.half(peerDirection);

    let dataSeq = s.seq;
    if (s.flags.syn) {
      half.synSeq ??= s.seq;
      dataSeq = (s.seq + 1) >>> 0;
      if (!half.started) half.start(dataSeq);
    }
    if (s.flags.rst) {
      this.finish(conn, 'rst', time);
      return;
    }
    // Only data or a FIN start a direction from its own packets: a pure ACK may be a keep-alive probe,
    // whose sequence number is one before the real one.
    if (!half.started && (s.payload.byteLength > 0 || s.uncaptured > 0 || s.flags.fin)) half.start(dataSeq);

    if (s.payload.byteLength > 0) this.addData(conn, direction, half, dataSeq, s.payload, time);
    if (s.uncaptured > 0) {
      // The snapshot length cut this segment: if it was next in line, its missing tail is a known hole.
      const end = (dataSeq + s.payload.byteLength) >>> 0;
      if (half.nextSeq === end && !half.finDone) this.skip(conn, direction, half, s.uncaptured, time);
    }
    if (s.flags.fin && half.finSeq === undefined) {
      half.finSeq = (dataSeq + s.payload.byteLength + s.uncaptured) >>> 0;
      this.checkFin(half);
    }
    if (s.flags.ack) {
      if (peer.started) this.acknowledge(conn, peerDirection, peer, s.ack, time);
      else peer.start(s.ack);
    }
    if (conn.outgoing.finDone && conn.incoming.finDone) this.finish(conn, 'fin', time);
  }

  private addData(conn: Connection, direction: Direction, half: HalfStream, seq: number, payload: Uint8Array, time: number): void {
    if (half.finDone) return;
    const start = seqDiff(seq, half.nextSeq);
    const end = start + payload.byteLength;
    if (end <= 0) return; // all of it delivered already: a retransmission
    if (start > MAX_JUMP) return;
    if (start <= 0) {
      this.deliver(conn, direction, half, payload.subarray(-start), time);
      this.drain(conn, direction, half, time);
      return;
    }
    this.hold(half, start, payload);
    this.enforceLimits(conn, time);
  }

  /** Keeps the parts of an early segment that no held segment covers yet (first copy wins). */
  private hold(half: HalfStream, start: number, payload: Uint8Array): void {
    const end = start + payload.byteLength;
    const pieces: Array<[number, number]> = [];
    let cursor = start;
    for (const h of half.held) {
      const hs = seqDiff(h.seq, half.nextSeq);
      const he = hs + h.data.byteLength;
      if (he <= cursor) continue;
      if (hs >= end) break;
      if (hs > cursor) pieces.push([cursor, hs]);
      cursor = Math.max(cursor, he);
      if (cursor >= end) break;
    }
    if (cursor < end) pieces.push([cursor, end]);
    if (pieces.length === 0) return;
    for (const [a, b] of pieces) {
      // A copy, so that held data neither pins the read buffer nor depends on it staying unchanged.
      const data = new Uint8Array(b - a);
      data.set(payload.subarray(a - start, b - start));
      half.held.push({ seq: (half.nextSeq + a) >>> 0, data });
      half.heldBytes += data.byteLength;
    }
    const base = half.nextSeq;
    half.held.sort((x, y) => seqDiff(x.seq, base) - seqDiff(y.seq, base));
  }

  private deliver(conn: Connection, direction: Direction, half: HalfStream, bytes: Uint8Array, time: number): void {
    let data = bytes;
    if (half.finSeq !== undefined) {
      // Nothing follows a FIN; bytes claimed beyond it are garbage.
      const room = seqDiff(half.finSeq, half.nextSeq);
      if (room <= 0) return;
      if (data.byteLength > room) data = data.subarray(0, room);
    }
    if (data.byteLength === 0) return;
    half.nextSeq = (half.nextSeq + data.byteLength) >>> 0;
    half.offset += data.byteLength;
    this.handlers.data?.(conn, direction, data, time);
  }

  /** Delivers held data that has become contiguous. */
  private drain(conn: Connection, direction: Direction, half: HalfStream, time: number): void {
    while (half.held.length > 0) {
      const first = half.held[0]!;
      const start = seqDiff(first.seq, half.nextSeq);
      if (start > 0) break;
      half.held.shift();
      half.heldBytes -= first.data.byteLength;
      if (start + first.data.byteLength > 0) this.deliver(conn, direction, half, first.data.subarray(-start), time);
    }
    this.checkFin(half);
  }

  /** Reports `count` missing bytes at the current position and resumes after them. */
  private skip(conn: Connection, direction: Direction, half: HalfStream, count: number, time: number): void {
    const anomaly: GapAnomaly = { kind: 'gap', direction, bytesMissing: count, offset: half.offset, at: time };
    half.nextSeq = (half.nextSeq + count) >>> 0;
    half.offset += count;
    this.handlers.anomaly?.(conn, anomaly);
    this.drain(conn, direction, half, time);
  }

  /** Skips the hole before the first held segment. */
  private skipFirstHole(conn: Connection, direction: Direction, half: HalfStream, time: number): void {
    const first = half.held[0];
    if (first === undefined) return;
    this.skip(conn, direction, half, seqDiff(first.seq, half.nextSeq), time);
  }

  /** The receiver acknowledged up to `ack`: bytes before it that we lack were lost by the capture. */
  private acknowledge(conn: Connection, direction: Direction, half: HalfStream, ack: number, time: number): void {
    if (half.finDone) return;
    let limit = ack;
    if (half.finSeq !== undefined && seqDiff(ack, half.finSeq) > 0) limit = half.finSeq;
    let missing = seqDiff(limit, half.nextSeq);
    if (missing <= 0 || missing > MAX_JUMP) return;
    // One byte acknowledged beyond everything we have is most likely a FIN the capture missed (or has not
    // shown yet), not data: wait for more evidence.
    if (missing === 1 && half.finSeq === undefined && half.held.length === 0) return;
    while (missing > 0) {
      const first = half.held[0];
      const hole = first === undefined ? missing : Math.min(missing, seqDiff(first.seq, half.nextSeq));
      this.skip(conn, direction, half, hole, time);
      if (half.finDone) return;
      missing = seqDiff(limit, half.nextSeq);
    }
  }

  private checkFin(half: HalfStream): void {
    if (half.finDone || half.finSeq === undefined || seqDiff(half.nextSeq, half.finSeq) < 0) return;
    half.finDone = true;
    half.nextSeq = (half.finSeq + 1) >>> 0;
    half.held = [];
    half.heldBytes = 0;
  }

  private enforceLimits(conn: Connection, time: number): void {
    const { maxBufferedBytes, maxBufferedSegments } = this.limits;
    for (;;) {
      const bytes = conn.outgoing.heldBytes + conn.incoming.heldBytes;
      const segments = conn.outgoing.held.length + conn.incoming.held.length;
      if (bytes <= maxBufferedBytes && segments <= maxBufferedSegments) return;
      const out = conn.outgoing;
      const inc = conn.incoming;
      if (out.held.length === 0 && inc.held.length === 0) return;
      const direction: Direction = inc.held.length === 0 || (out.held.length > 0 && out.heldBytes >= inc.heldBytes) ? 'outgoing' : 'incoming';
      this.skipFirstHole(conn, direction, conn.half(direction), time);
    }
  }

  /** Flushes what is held (each hole a gap), closes, and remembers the addresses for a while. */
  private finish(conn: Connection, reason: CloseReason, time: number): void {
    if (conn.closed) return;
    for (const direction of ['outgoing', 'incoming'] as const) {
      const half = conn.half(direction);
      while (half.held.length > 0) this.skipFirstHole(conn, direction, half, time);
      if (half.finSeq !== undefined && !half.finDone) {
        const missing = seqDiff(half.finSeq, half.nextSeq);
        if (missing > 0 && missing <= MAX_JUMP) this.skip(conn, direction, half, missing, time);
        this.checkFin(half);
      }
    }
    conn.closed = true;
    this.live.delete(conn.key);
    this.closed.delete(conn.key);
    this.closed.set(conn.key, time);
    while (this.closed.size > this.limits.maxConnections) {
      const oldest = this.closed.keys().next().value;
      if (oldest === undefined) break;
      this.closed.delete(oldest);
    }
    this.handlers.close?.(conn, reason, time);
  }

  private forgetClosed(now: number): void {
    for (const [key, closedAt] of this.closed) {
      if (now - closedAt <= this.limits.closedLingerMs) break;
      this.closed.delete(key);
    }
  }
}
