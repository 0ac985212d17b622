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
  const live = new Map<number, { proxy: ProxyConnection; record: ReplayedConnection }>();
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
    const { proxy, record } = entry;
    proxy.flow('outgoing').sourceEnded();
    proxy.flow('incoming').sourceEnded();
    record.closed = reason;
    record.protocol = proxy.protocol?.name;
    record.encrypted ??= proxy.encrypted;
    record.protocolErrors = proxy.protocolErrors;
    if (!record.protocol && !record.encrypted && looksLikeTls(record)) {
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
          // The reassembler's bytes are views into read buffers: the parser may keep them past this call.
          entry.proxy.flow(direction).receive(Buffer.from(bytes));
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
  return new Duplex({
    read() {},
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
}

function describeAnomaly(anomaly: PacketAnomaly): string {
  return `${anomaly.kind}: ${anomaly.message}`;
}
