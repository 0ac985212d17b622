/**
 * A relay under test: a forward listener on 127.0.0.1 (port 0) whose connections run through ProxyConnection
 * with a fake line-based protocol, to an upstream server the test controls.
 */
import { afterEach } from 'vitest';
import net from 'node:net';
import type { ForwardListenerConfig } from '../src/config/schema.js';
import { startListener, type RunningListener } from '../src/net/listeners.js';
import { TurnBudget } from '../src/proxy/turn-budget.js';
import { ProxyConnection } from '../src/proxy/connection.js';
import { EventSink } from '../src/proxy/event-sink.js';
import { Policy, type NamedContent, type NamedFilter } from '../src/proxy/policy.js';
import { ProtocolRegistry } from '../src/proxy/protocols.js';
import type { Responses } from '../src/proxy/responses.js';
import type { Direction, EventDraft, ImEvent } from '@imspect/sdk';
import type { LoggerHooks } from '@imspect/sdk';
import type { Frame, ProtocolHooks, ProtocolSession } from '@imspect/sdk';
import type { TlsInterceptor } from '../src/tls/interceptor.js';
import type { UnreadablePolicyConfig } from '../src/proxy/unreadable.js';
import { closeServer, connect, listen, recordingLogger, type LogRecord } from './helpers.js';

export interface LineProtocolOptions {
  /** Never return a frame: the parser holds everything it is given. */
  holdAll?: boolean;
  /** The sessions' `network` (ids per network, as IRC). */
  network?: string;
  /**
   * `respondLater`: `queue` takes the text and puts `LATER <text>` before the next incoming frame (as an HTTP
   * transport carries replies in its next response); `decline` says it cannot; `throw` fails.
   */
  respondLater?: 'queue' | 'decline' | 'throw';
}

/**
 * The fake protocol: each `\n`-terminated line is a frame. `MSG <to> <text>` carries a message event (outgoing:
 * from `me` to `<to>`; incoming: to `me` from `<to>`), `MSGNET <network> <to> <text>` one that names its network; `TLS` announces a switch to TLS; `CRASH` makes push throw;
 * `GARBAGE` makes push return a frame without bytes (a buggy parser); `MSGDATA <to> <text>` a message event with a file and data.
 */
export function lineProtocol(options: LineProtocolOptions = {}): ProtocolHooks & { sessions: LineSession[] } {
  const sessions: LineSession[] = [];
  return {
    ports: [],
    sessions,
    createSession() {
      const session = new LineSession(options);
      sessions.push(session);
      return session;
    },
  };
}

export class LineSession implements ProtocolSession {
  private readonly buffers: Record<Direction, Buffer> = { outgoing: Buffer.alloc(0), incoming: Buffer.alloc(0) };
  /** Bytes pushed, per direction (what the core gave the parser). */
  pushed: Record<Direction, number> = { outgoing: 0, incoming: 0 };
  /** Most bytes the parser itself held at once. */
  maxHeld = 0;
  /** Times core said it decrypts the TLS after an upgrade frame. */
  intercepted = 0;
  /** Stream name to report (as XMPP's stream `to`). */
  streamTo: string | undefined;

  tlsIntercepted(): void {
    this.intercepted++;
  }

  readonly network: string | undefined;

  constructor(private readonly options: LineProtocolOptions) {
    this.network = options.network;
  }

  push(direction: Direction, chunk: Uint8Array): Frame[] {
    this.pushed[direction] += chunk.length;
    if (this.options.holdAll) return [];
    const buf = Buffer.concat([this.buffers[direction], chunk]);
    const frames: Frame[] = [];
    let start = 0;
    for (let lf = buf.indexOf(10, start); lf >= 0; lf = buf.indexOf(10, start)) {
      const raw = buf.subarray(start, lf + 1);
      start = lf + 1;
      const line = raw.toString('utf8', 0, raw.length - 1);
      if (line === 'CRASH') throw new Error('parser crashed on CRASH');
      if (line === 'GARBAGE') return [{ raw: undefined }] as unknown as Frame[];
      if (line === 'TLS') {
        frames.push({ raw, upgrade: 'tls' });
        continue;
      }
      const onNetwork = /^MSGNET (\S+) (\S+) (.*)$/s.exec(line);
      if (onNetwork) {
        const [, network, peer, text] = onNetwork as unknown as [string, string, string, string];
        frames.push({ raw, events: [{ type: 'message', localId: 'me', remoteId: peer, network, text }] });
        continue;
      }
      const withData = /^MSGDATA (\S+) (.*)$/s.exec(line);
      if (withData) {
        const [, peer, text] = withData as unknown as [string, string, string];
        const event: EventDraft = {
          type: 'message',
          localId: 'me',
          remoteId: peer,
          text,
          file: { name: 'a.txt', size: 42 },
          data: { address: '192.0.2.7', port: 5000, groupchat: false },
        };
        frames.push({ raw, events: [event], rewrite: (newText) => Buffer.from(`MSGDATA ${peer} ${newText}\n`) });
        continue;
      }
      if (direction === 'incoming' && this.queued.length > 0) {
        frames.push({ raw, replacement: Buffer.concat([...this.queued.splice(0).map((t) => Buffer.from(`LATER ${t}\n`)), raw]) });
        continue;
      }
      const match = /^MSG (\S+) (.*)$/s.exec(line);
      if (match) {
        const [, peer, text] = match as unknown as [string, string, string];
        const event: EventDraft = { type: 'message', localId: 'me', remoteId: peer, text };
        frames.push({ raw, events: [event], rewrite: (newText) => Buffer.from(`MSG ${peer} ${newText}\n`) });
      } else {
        frames.push({ raw });
      }
    }
    this.buffers[direction] = buf.subarray(start);
    this.maxHeld = Math.max(this.maxHeld, this.buffers[direction].length);
    return frames;
  }

  end(direction: Direction): Frame[] {
    const rest = this.buffers[direction];
    this.buffers[direction] = Buffer.alloc(0);
    return rest.length > 0 ? [{ raw: rest }] : [];
  }

  respond(text: string, about: ImEvent): Uint8Array {
    return Buffer.from(`NOTICE ${about.localId} ${text}\n`);
  }

  /** Texts taken by `respondLater`, for the next incoming frame. */
  private readonly queued: string[] = [];

  respondLater(text: string): boolean {
    if (this.options.respondLater === 'throw') throw new Error('respondLater failed');
    if (this.options.respondLater !== 'queue') return false;
    this.queued.push(text);
    return true;
  }
}

export interface UpstreamServer {
  port: number;
  /** Sockets accepted, in order. */
  sockets: net.Socket[];
  /** Everything each accepted socket sent, by index. */
  received: Buffer[][];
  ended: boolean[];
  close(): Promise<void>;
}

/** An upstream server; `onSocket` decides what it does (default: echo). */
export async function upstreamServer(onSocket?: (socket: net.Socket, index: number) => void): Promise<UpstreamServer> {
  const sockets: net.Socket[] = [];
  const received: Buffer[][] = [];
  const ended: boolean[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    const index = sockets.length;
    sockets.push(socket);
    received.push([]);
    ended.push(false);
    socket.on('error', () => undefined);
    socket.on('end', () => {
      ended[index] = true;
    });
    if (onSocket) {
      socket.on('data', (c: Buffer) => received[index]!.push(c));
      onSocket(socket, index);
    } else {
      socket.on('data', (c: Buffer) => {
        received[index]!.push(c);
        socket.write(c);
      });
      socket.on('end', () => socket.end());
    }
  });
  const port = await listen(server);
  return {
    port,
    sockets,
    received,
    ended,
    close: async () => {
      for (const s of sockets) s.destroy();
      await closeServer(server);
    },
  };
}

export interface RelayOptions {
  protocol?: ProtocolHooks | undefined;
  maxFrameSize?: number;
  filters?: readonly NamedFilter[];
  contents?: readonly NamedContent[];
  failMode?: 'open' | 'closed';
  hookTimeoutMs?: number;
  loggers?: Array<{ name: string; hooks: LoggerHooks }>;
  /** Let the connection pick the protocol by sniffing (within this many ms) instead of forcing it. */
  sniffTimeoutMs?: number;
  /** Blocked-message replies and the monitoring notice. */
  responses?: Responses;
  /** TLS interception (as live connections have it). */
  tls?: TlsInterceptor;
  /** Host the forward listener connects to (default 127.0.0.1). */
  upstreamHost?: string;
  /** `policy.unreadable`. */
  unreadable?: UnreadablePolicyConfig;
  /** The configuration's `ports` (port -> protocol name; the fake protocol is `lines`). */
  ports?: Record<string, string>;
}

export interface Relay {
  port: number;
  listener: RunningListener;
  connections: ProxyConnection[];
  events: ImEvent[];
  logs: LogRecord[];
  sink: EventSink;
  /** The parse budget the relay's socket flows share (as an engine's do). */
  turnBudget: TurnBudget;
  close(): Promise<void>;
}

export async function startRelay(upstreamPort: number, options: RelayOptions = {}): Promise<Relay> {
  const log = recordingLogger();
  const protocols = options.protocol ? [{ name: 'lines', hooks: options.protocol, maxFrameSize: options.maxFrameSize ?? 64 * 1024 }] : [];
  const registry = new ProtocolRegistry(protocols, options.ports ?? {}, log);
  const policy = new Policy(
    options.filters ?? [],
    options.contents ?? [],
    { failMode: options.failMode ?? 'open', hookTimeoutMs: options.hookTimeoutMs ?? 2_000 },
    log,
    options.responses,
  );
  const sink = new EventSink(options.loggers ?? [], { batchSize: 100, flushIntervalMs: 5, retryMaxDelayMs: 10, writeTimeoutMs: 1_000 }, log);
  const events: ImEvent[] = [];
  sink.onEvents((batch) => events.push(...batch));
  const turnBudget = new TurnBudget();
  const connections: ProxyConnection[] = [];
  const config: ForwardListenerConfig = {
    type: 'forward',
    host: '127.0.0.1',
    port: 0,
    upstream: { host: options.upstreamHost ?? '127.0.0.1', port: upstreamPort },
    allow: ['127.0.0.0/8'],
    ...(options.protocol && !options.sniffTimeoutMs ? { protocol: 'lines' } : {}),
  };
  const listener = await startListener(config, {
    log,
    connectTimeoutMs: 2_000,
    onConnection: (accepted) => {
      connections.push(
        new ProxyConnection(
          accepted.client,
          accepted.upstream,
          {
            id: String(connections.length + 1),
            client: accepted.clientAddress,
            server: accepted.destination,
            ...(accepted.protocol ? { protocol: accepted.protocol } : {}),
          },
          {
            registry,
            policy,
            sink,
            log,
            options: { idleTimeoutMs: 0, sniffTimeoutMs: options.sniffTimeoutMs ?? 0, debug: false, ...(options.unreadable ? { unreadable: options.unreadable } : {}) },
            ...(options.tls ? { tls: options.tls } : {}),
            turnBudget,
          },
        ),
      );
    },
  });
  return {
    port: listener.address.port,
    listener,
    connections,
    events,
    logs: log.records,
    sink,
    turnBudget,
    close: async () => {
      for (const c of connections) c.destroy('test over');
      await listener.close();
      await sink.close({ graceMs: 1_000 });
    },
  };
}

/** A client connected to the relay, with everything it receives collected. */
export async function relayClient(port: number): Promise<{ socket: net.Socket; received: () => Buffer; ended: Promise<Buffer> }> {
  const socket = await connect(port, { allowHalfOpen: true });
  socket.on('error', () => undefined);
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise<Buffer>((resolve) => {
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('close', () => resolve(Buffer.concat(chunks)));
  });
  return { socket, received: () => Buffer.concat(chunks), ended };
}

/**
 * The harness's upstream, relay and client for a test file, each closed after every test (latest first), so a
 * failing test leaves no socket or listener behind for the next one.
 */
export function relayFixtures() {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return {
    /** Run after the current test, with the fixtures. */
    cleanups,
    async upstream(onSocket?: Parameters<typeof upstreamServer>[0]): Promise<UpstreamServer> {
      const server = await upstreamServer(onSocket);
      cleanups.push(() => server.close());
      return server;
    },
    async relay(upstreamPort: number, options: Parameters<typeof startRelay>[1] = {}): Promise<Relay> {
      const r = await startRelay(upstreamPort, options);
      cleanups.push(() => r.close());
      return r;
    },
    async client(port: number): Promise<Awaited<ReturnType<typeof relayClient>>> {
      const c = await relayClient(port);
      cleanups.push(() => void c.socket.destroy());
      return c;
    },
  };
}
