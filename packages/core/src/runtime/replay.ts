import { Duplex } from 'node:stream';
import { replayCapture, type ReplayStats } from '../capture/connections.js';
import type { CaptureError } from '../capture/capture-error.js';
import type { PacketAnomaly } from '../capture/ip.js';
import type { CloseReason, ConnectionAnomaly, TcpConnection } from '../capture/tcp-reassembly.js';
import type { Direction, ImEvent } from '@imspect/sdk';
import { ProxyConnection, type RelayDeps } from '../proxy/connection.js';
import { DatagramWatch, type DatagramFlow } from './replay-datagrams.js';
import { IdentityRecords } from '../proxy/identity-records.js';

export interface ReplayedConnection {
  id: number;
  client: string;
  server: string;
  /** Protocol plugin that parsed it, or undefined when it was relayed unparsed. */
  protocol: string | undefined;
  midstream: boolean;
  encrypted: 'tls-port' | 'starttls' | 'tls' | undefined;
  /** Capture time of its first payload byte (ms since the epoch). */
  firstDataAt?: number;
  bytes: Record<Direction, number>;
  events: number;
  closed: CloseReason | undefined;
  anomalies: ConnectionAnomaly[];
  protocolErrors: Array<{ direction: Direction; code: string; message: string }>;
  /**
   * A protocol plugin parsed it and it carried bytes, yet it gave no event: IM traffic the parsers could not
   * read into events (a start not captured, a dialect they do not know), not a connection where nothing happened.
   */
  silent: boolean;
  /**
   * A filter or content plugin gave no decision within the replay's bound ({@link ReplayFileOptions.settleTimeoutMs}):
   * the replay went on without it, and events it held back may be missing from this summary.
   */
  unsettled?: boolean;
}

/** The silent connections of one protocol (see {@link ReplayedConnection.silent}). */
export interface SilentConnections {
  connections: number;
  /** Their bytes, both directions. */
  bytes: number;
  /** Their ids, in capture order. */
  ids: number[];
}

export interface ReplaySummary {
  file: string;
  stats: ReplayStats | undefined;
  connections: ReplayedConnection[];
  eventsByType: Record<string, number>;
  connectionsByProtocol: Record<string, number>;
  /** Per protocol, the connections that carried its traffic but gave no events. */
  silentByProtocol: Record<string, SilentConnections>;
  /**
   * Circumvention attempts, in event order: IM on an odd port, inside HTTP or through a proxy (`circumvention`
   * events), and IM or TLS imspect could not read (`unreadable` events, blocked or not).
   */
  circumvention: CircumventionAttempt[];
  /** IM recognised in UDP datagrams (QQ), one entry per client, server and QQ number. */
  datagramFlows: DatagramFlow[];
  /**
   * Per protocol, the events whose ids did not come from a login the capture holds (`data.identity`): read from
   * other evidence (`inferred`) or not known at all (`unknown`, a `*@<client address>` id).
   */
  identityByProtocol: Record<string, { inferred: number; unknown: number }>;
  /** Capture-level problems: a truncated file, undecodable packets (fragments, bad headers). */
  fileAnomalies: string[];
  /** A problem that stopped reading (damaged file); the summary covers what came before it. */
  error: CaptureError | Error | undefined;
}

export interface ReplayFileOptions {
  deps: RelayDeps;
  /** Called with the bytes of the file read so far. */
  onProgress?(bytesRead: number): void;
  /** Server ports to assume when a connection's start was not captured (the protocols' ports). */
  serverPorts?: number[];
  /**
   * Longest wait, in ms, for a connection's pending filter decisions before the replay goes on without them
   * (default 60 s; the policy's own hook timeout normally answers long before).
   */
  settleTimeoutMs?: number;
  /**
   * Asked after each packet: a promise holds reading until it settles. For whoever consumes the events at its
   * own pace (the CLI's standard output when a slow reader is behind a pipe), so they do not pile up in memory.
   */
  holdReading?(): Promise<void> | undefined;
}

const DEFAULT_SETTLE_TIMEOUT_MS = 60_000;

interface LiveConnection {
  proxy: ProxyConnection;
  record: ReplayedConnection;
  /** Set while the replay waits for this connection's pending decisions. */
  waiting?: Promise<void>;
}

/**
 * Runs a capture through the same connection processing as live traffic: every TCP connection becomes a
 * {@link ProxyConnection} over in-memory streams, fed in capture order with the capture's time as the clock.
 * Events go to `deps.sink` exactly as live events do.
 */
export async function replayFile(file: string, options: ReplayFileOptions): Promise<ReplaySummary> {
  let clock = Date.now();
  // No TLS interception in a capture: bytes after STARTTLS or on a TLS port stay encrypted.
  const { tls: _live, ...liveDeps } = options.deps;
  const deps: RelayDeps = {
    ...liveDeps,
    now: () => clock,
    options: { ...options.deps.options, idleTimeoutMs: 0, sniffTimeoutMs: 24 * 3600_000, keepDisconnected: true },
    // The capture's own logins, in capture order: a connection joined mid-way asks who logged in from its client.
    identity: new IdentityRecords(),
  };
  const summary: ReplaySummary = {
    file,
    stats: undefined,
    connections: [],
    eventsByType: {},
    connectionsByProtocol: {},
    silentByProtocol: {},
    circumvention: [],
    datagramFlows: [],
    identityByProtocol: {},
    fileAnomalies: [],
    error: undefined,
  };
  const live = new Map<number, LiveConnection>();
  const settleTimeoutMs = options.settleTimeoutMs ?? DEFAULT_SETTLE_TIMEOUT_MS;
  /**
   * Waits for connections whose filters decide asynchronously. Reading holds until they are done, so the frames
   * behind a pending decision are parsed with their own capture time, memory stays bounded, and a connection's
   * end waits for its last events.
   */
  const stalled = new Set<Promise<void>>();
  const waitForStalled = (): Promise<void> | undefined => {
    // A full journal that blocks (`loggers.journal.onFull: block`): reading waits for the loggers, as live
    // relaying does, instead of journaling the whole capture past its limit.
    if (deps.sink.blocked) return deps.sink.whenUnblocked();
    const held = options.holdReading?.();
    if (stalled.size === 0) return held;
    return Promise.all(held ? [held, ...stalled] : stalled).then(() => undefined);
  };
  /** `then` runs once the connection's decisions are in, or the bound is reached (the connection is then marked unsettled). */
  const whenSettled = (entry: LiveConnection, then?: () => void): void => {
    if (entry.waiting) {
      if (then) track(entry.waiting.then(then));
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        entry.record.unsettled = true;
        summary.fileAnomalies.push(
          `connection ${entry.record.id}: a filter or content plugin gave no decision within ${settleTimeoutMs} ms; the replay went on without it (events may be missing)`,
        );
        resolve();
      }, settleTimeoutMs);
    });
    const waiting = Promise.race([entry.proxy.settled(), bound]).finally(() => {
      clearTimeout(timer);
      entry.waiting = undefined;
    });
    entry.waiting = waiting;
    track(then ? waiting.then(then) : waiting);
  };
  const track = (promise: Promise<void>): void => {
    const tracked = promise.finally(() => stalled.delete(tracked));
    stalled.add(tracked);
  };
  const datagrams = new DatagramWatch(deps);
  const firstBytes = new Map<string, Uint8Array>();
  const stopCounting = deps.sink.onEvents((events: readonly ImEvent[]) => {
    for (const event of events) {
      summary.eventsByType[event.type] = (summary.eventsByType[event.type] ?? 0) + 1;
      if (event.type === 'other' && (event.subtype === 'circumvention' || event.subtype === 'unreadable')) summary.circumvention.push(circumventionOf(event));
      const mark = event.data?.identity;
      if (mark === 'inferred' || mark === 'unknown') (summary.identityByProtocol[event.protocol] ??= { inferred: 0, unknown: 0 })[mark]++;
    }
  });

  const finish = (id: number, reason: CloseReason | undefined) => {
    const entry = live.get(id);
    if (!entry) return;
    live.delete(id);
    entry.proxy.flow('outgoing').sourceEnded();
    entry.proxy.flow('incoming').sourceEnded();
    // The end of the stream waits behind pending decisions: the connection is done once they are in.
    if ((entry.proxy.pending || entry.waiting) && !entry.record.unsettled) whenSettled(entry, () => complete(entry, reason));
    else complete(entry, reason);
  };

  const complete = ({ proxy, record }: LiveConnection, reason: CloseReason | undefined) => {
    record.closed = reason;
    record.protocol = proxy.protocol?.name;
    record.encrypted ??= proxy.encrypted;
    record.protocolErrors = proxy.protocolErrors;
    // TLS from the first byte: on a port no plugin knows, or on a plugin's plaintext port (TLS spoken where the
    // plugin expected its protocol, which then gave no event), rather than a silent IM connection.
    if (!record.encrypted && (!record.protocol || proxy.eventCount === 0) && looksLikeTls(record)) {
      record.encrypted = 'tls';
      // Dated when the connection's first bytes were, as the other encrypted events are.
      const now = clock;
      clock = record.firstDataAt ?? clock;
      proxy.encryptedEvent('tls', 'TLS records from the first byte: encrypted, not readable');
      clock = now;
    }
    record.events = proxy.eventCount;
    const key = record.protocol ?? 'unparsed';
    summary.connectionsByProtocol[key] = (summary.connectionsByProtocol[key] ?? 0) + 1;
    const bytes = record.bytes.outgoing + record.bytes.incoming;
    if (record.protocol !== undefined && record.events === 0 && bytes > 0) {
      record.silent = true;
      const silent = (summary.silentByProtocol[record.protocol] ??= { connections: 0, bytes: 0, ids: [] });
      silent.connections++;
      silent.bytes += bytes;
      silent.ids.push(record.id);
    }
    proxy.destroy('end of capture');
  };

  try {
    summary.stats = await replayCapture(
      file,
      {
        open(conn: TcpConnection) {
          clock = conn.openedAt;
          const record: ReplayedConnection = {
            id: conn.id,
            client: `${conn.client.ip}:${conn.client.port}`,
            server: `${conn.server.ip}:${conn.server.port}`,
            protocol: undefined,
            midstream: conn.midstream,
            encrypted: undefined,
            bytes: { outgoing: 0, incoming: 0 },
            events: 0,
            closed: undefined,
            anomalies: [],
            protocolErrors: [],
            silent: false,
          };
          summary.connections.push(record);
          const proxy = new ProxyConnection(
            discardingStream(),
            discardingStream(),
            {
              id: String(conn.id),
              client: { ip: conn.client.ip, port: conn.client.port },
              server: { host: conn.server.ip, port: conn.server.port },
              midstream: conn.midstream,
            },
            deps,
          );
          live.set(conn.id, { proxy, record });
        },
        data(conn, direction, bytes, time) {
          const entry = live.get(conn.id);
          if (!entry) return;
          clock = time;
          entry.record.bytes[direction] += bytes.length;
          entry.record.firstDataAt ??= time;
          if (entry.record.bytes[direction] === bytes.length) firstBytes.set(`${conn.id}:${direction}`, Uint8Array.from(bytes.subarray(0, 3)));
          // A view, not a copy: the reassembler's bytes are views into the file's read chunks, which are never
          // reused, so a parser may keep them (holding at most one 256 KB chunk per partial frame).
          entry.proxy.flow(direction).receive(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
          if (entry.proxy.pending && !entry.record.unsettled) whenSettled(entry);
        },
        anomaly(conn, anomaly) {
          const entry = live.get(conn.id);
          if (!entry) return;
          entry.record.anomalies.push(anomaly);
          // The parser resynchronises after the hole (ProtocolSession.gap) instead of reading on as if nothing were lost.
          if (anomaly.kind === 'gap') entry.proxy.flow(anomaly.direction).gap(anomaly.bytesMissing);
        },
        close(conn, reason, time) {
          clock = time;
          finish(conn.id, reason);
        },
      },
      {
        ...(options.serverPorts ? { serverPorts: options.serverPorts } : {}),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        waitAfterPacket: waitForStalled,
        onDatagram: (datagram, time) => {
          clock = time;
          datagrams.datagram(datagram, time);
        },
        onTruncated: (error: CaptureError) => summary.fileAnomalies.push(`${error.code}: ${error.message}`),
        onPacketAnomaly: (anomaly: PacketAnomaly, packet) => {
          if (summary.fileAnomalies.length < 100) summary.fileAnomalies.push(`packet ${packet.index}: ${describeAnomaly(anomaly)}`);
        },
      },
    );
  } catch (error) {
    summary.error = error as Error;
  } finally {
    for (const id of [...live.keys()]) finish(id, 'end-of-capture');
    while (stalled.size > 0) await Promise.all(stalled);
    for (const silent of Object.values(summary.silentByProtocol)) silent.ids.sort((a, b) => a - b);
    summary.datagramFlows = datagrams.flows;
    stopCounting();
  }
  return summary;

  /** Both directions start with a TLS record header (content type 20-23, version 3.x), e.g. on port 5223. */
  function looksLikeTls(record: ReplayedConnection): boolean {
    const isRecord = (b: Uint8Array | undefined) => b !== undefined && b.length === 3 && b[0]! >= 20 && b[0]! <= 23 && b[1] === 3 && b[2]! <= 4;
    const out = firstBytes.get(`${record.id}:outgoing`);
    const inc = firstBytes.get(`${record.id}:incoming`);
    return isRecord(out) && (inc === undefined || isRecord(inc));
  }
}

/** One line of the replay's circumvention list. */
export interface CircumventionAttempt {
  at: string;
  kind: 'circumvention' | 'unreadable';
  protocol: string;
  client: string;
  server: string;
  localId: string;
  /** `odd-port`, `http`, `socks5`, `http-connect`, `http-proxy` (comma-separated), when given. */
  how: string | undefined;
  blocked: boolean;
  reason: string | undefined;
  /** `udp` for QQ datagrams (also listed, with their packet counts, in `datagramFlows`). */
  transport: 'tcp' | 'udp';
}

function circumventionOf(event: ImEvent): CircumventionAttempt {
  const text = (key: string) => {
    const value = event.data?.[key];
    return value === undefined ? undefined : String(value);
  };
  return {
    at: event.at,
    kind: event.subtype === 'unreadable' ? 'unreadable' : 'circumvention',
    protocol: event.protocol,
    client: `${event.client.ip}:${event.client.port}`,
    server: `${event.server.host}:${event.server.port}`,
    localId: event.localId,
    how: text('how'),
    blocked: event.filtered,
    reason: text('reason'),
    transport: text('transport') === 'udp' ? 'udp' : 'tcp',
  };
}

/** An in-memory stand-in for a socket: what is written to it is dropped (a replay has no one to send to). */
function discardingStream(): Duplex {
  const stream = new Duplex({
    read() {},
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
  // Every forwarded frame is written here: skipping the stream machinery (state, callbacks per write) saves a
  // good part of the per-frame cost. `end` and `destroy` stay the stream's own.
  (stream as { write: (chunk: unknown) => boolean }).write = () => true;
  return stream;
}

function describeAnomaly(anomaly: PacketAnomaly): string {
  return `${anomaly.kind}: ${anomaly.message}`;
}
