import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { latin1 } from '../sdk/bytes.js';
import { describeError } from '../sdk/errors.js';
import type { Direction, Endpoint, EventDraft, ImEvent, ServerEndpoint } from '../sdk/event.js';
import type { PluginLogger } from '../sdk/plugin.js';
import type { Frame, ProtocolSession } from '../sdk/protocol.js';
import { uuidv7 } from '../runtime/ids.js';
import { callHook, isPromiseLike } from '../runtime/hooks.js';
import type { EventSink } from './event-sink.js';
import type { FrameDecision, Policy } from './policy.js';
import type { ProtocolRegistry, RegisteredProtocol } from './protocols.js';

export interface RelayOptions {
  idleTimeoutMs: number;
  sniffTimeoutMs: number;
  /** Frame-level detail in the operational log. */
  debug: boolean;
}

export interface RelayDeps {
  /** Time for new events, in ms since the epoch: the wall clock live, the capture's time when replaying. */
  now?: () => number;
  registry: ProtocolRegistry;
  policy: Policy;
  sink: EventSink;
  log: PluginLogger;
  options: RelayOptions;
}

export interface ConnectionInfo {
  id: string;
  client: Endpoint;
  server: ServerEndpoint;
  /** Protocol forced by the listener; otherwise chosen by port, then by sniffing. */
  protocol?: string;
  /** Client bytes already read (e.g. sent right behind a SOCKS request). */
  initialClientData?: Uint8Array;
  /** The stream is joined mid-way (a capture that missed the start). */
  midstream?: boolean;
}

/** Most protocol errors one connection logs before it only counts them. */
const MAX_LOGGED_ERRORS = 20;
/** A parsed chunk at least this large makes its flow yield to the other connections before reading on. */
const YIELD_AFTER_BYTES = 16 * 1024;
/** Bytes held back while sniffing before giving up and relaying unparsed. */
const MAX_SNIFF_BYTES = 4096;

/**
 * One proxied TCP connection: two sockets, one protocol session, two flows. Frames are forwarded in order as
 * soon as they are complete; policy may drop or rewrite them; events go to the sink.
 */
export class ProxyConnection {
  readonly id: string;
  readonly client: Endpoint;
  readonly server: ServerEndpoint;
  protocol: RegisteredProtocol | undefined;
  session: ProtocolSession | undefined;
  readonly log: PluginLogger;
  readonly startedAt = Date.now();
  private readonly flows: Record<Direction, Flow>;
  private errorsLogged = 0;
  private sniffing: { seen: Record<Direction, Buffer[]>; timer: NodeJS.Timeout | undefined } | undefined;
  private readonly midstream: boolean;
  /** Why the connection's content is not visible, when it is encrypted (a TLS port, or after STARTTLS). */
  encrypted: 'tls-port' | 'starttls' | undefined;
  /** The first protocol errors, kept for summaries (replay). */
  readonly protocolErrors: Array<{ direction: Direction; code: string; message: string }> = [];
  private closed = false;
  private closeListeners: Array<() => void> = [];
  bytes: Record<Direction, number> = { outgoing: 0, incoming: 0 };
  eventCount = 0;

  constructor(
    readonly clientSocket: Duplex,
    readonly upstreamSocket: Duplex,
    info: ConnectionInfo,
    readonly deps: RelayDeps,
  ) {
    this.id = info.id;
    this.midstream = info.midstream === true;
    this.client = info.client;
    this.server = info.server;
    this.log = deps.log.child({ conn: this.id, client: `${info.client.ip}:${info.client.port}`, server: `${info.server.host}:${info.server.port}` });
    this.flows = {
      outgoing: new Flow(this, 'outgoing', clientSocket, upstreamSocket),
      incoming: new Flow(this, 'incoming', upstreamSocket, clientSocket),
    };
    for (const socket of [clientSocket, upstreamSocket]) {
      // Replaying a capture runs the same connection over in-memory streams: only real sockets have these.
      if (socket instanceof Socket) {
        socket.setNoDelay(true);
        if (deps.options.idleTimeoutMs > 0) {
          socket.setTimeout(deps.options.idleTimeoutMs, () => this.destroy(`idle for ${deps.options.idleTimeoutMs} ms`));
        }
      }
      socket.on('error', (error: NodeJS.ErrnoException) => this.destroy(`${socket === clientSocket ? 'client' : 'server'} socket error: ${error.code ?? error.message}`));
      socket.on('close', () => this.onSocketClose());
    }
    const initial = info.initialClientData && info.initialClientData.length > 0 ? Buffer.from(info.initialClientData) : undefined;
    if (initial) this.flows.outgoing.receive(initial);
    const forced = info.protocol ? deps.registry.get(info.protocol) : undefined;
    if (info.protocol && !forced) this.log.warn({ protocol: info.protocol }, `protocol "${info.protocol}" is not loaded; relaying unparsed`);
    const chosen = forced ?? deps.registry.forPort(info.server.port);
    if (chosen) this.begin(chosen);
    else if (deps.registry.isTlsPort(info.server.port)) {
      this.encrypted = 'tls-port';
      this.beginRaw(`TLS port ${info.server.port}: encrypted, passed through`);
    }
    else if (deps.options.sniffTimeoutMs > 0 && deps.registry.all.length > 0) this.sniff(initial);
    else this.beginRaw('no protocol for this port');
  }

  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  private begin(protocol: RegisteredProtocol): void {
    this.protocol = protocol;
    try {
      this.session = callHook(protocol.name, 'createSession', () =>
        protocol.hooks.createSession({
          client: this.client,
          server: this.server,
          maxFrameSize: protocol.maxFrameSize,
          ...(this.midstream ? { midstream: true } : {}),
        }),
      );
    } catch (error) {
      this.log.error({ plugin: protocol.name, hook: 'createSession', err: error }, 'protocol session could not start; relaying unparsed');
      this.beginRaw('createSession failed');
      return;
    }
    this.log.debug({ protocol: protocol.name }, 'connection open');
    this.flows.outgoing.start('parse');
    this.flows.incoming.start('parse');
  }

  private beginRaw(reason: string): void {
    this.log.debug({ reason }, 'relaying unparsed');
    this.flows.outgoing.start('raw');
    this.flows.incoming.start('raw');
  }

  /**
   * Watches the first bytes (either side) until a protocol recognises them, the limit is reached, the stream
   * ends, or time runs out. The flows hold the bytes meanwhile; nothing is forwarded before the decision.
   */
  private sniff(initial: Buffer | undefined): void {
    this.sniffing = { seen: { outgoing: initial ? [initial] : [], incoming: [] }, timer: undefined };
    this.sniffing.timer = setTimeout(() => this.decideSniff(undefined, 'no protocol recognised the first bytes in time'), this.deps.options.sniffTimeoutMs);
    this.sniffing.timer.unref?.();
    this.inspectSniff('outgoing');
  }

  /** A flow still waiting for the protocol received `chunk`. */
  sniffChunk(direction: Direction, chunk: Buffer): void {
    if (!this.sniffing) return;
    this.sniffing.seen[direction].push(chunk);
    this.inspectSniff(direction);
  }

  /** A flow's source ended before the protocol was known. */
  sniffEnded(): void {
    this.decideSniff(undefined, 'stream ended before a protocol was recognised');
  }

  private inspectSniff(direction: Direction): void {
    const first = Buffer.concat(this.sniffing?.seen[direction] ?? []);
    if (first.length === 0) return;
    const protocol = this.deps.registry.sniff(first, direction);
    if (protocol) this.decideSniff(protocol, '');
    else if (first.length >= MAX_SNIFF_BYTES) this.decideSniff(undefined, 'no protocol recognised the first bytes');
  }

  private decideSniff(protocol: RegisteredProtocol | undefined, reason: string): void {
    if (!this.sniffing) return;
    clearTimeout(this.sniffing.timer);
    this.sniffing = undefined;
    if (protocol) this.begin(protocol);
    else this.beginRaw(reason);
  }

  flow(direction: Direction): Flow {
    return this.flows[direction];
  }

  /** Both directions stop parsing and relay bytes as they come (STARTTLS, or a parser that failed). */
  switchToRaw(reason: string): void {
    this.log.info({ protocol: this.protocol?.name, reason }, 'relaying the rest of the connection unparsed');
    this.flows.outgoing.toRaw();
    this.flows.incoming.toRaw();
  }

  completeEvent(draft: EventDraft, direction: Direction): ImEvent {
    const event: ImEvent = {
      id: uuidv7(),
      at: isoTime(this.deps.now ? this.deps.now() : Date.now()),
      protocol: this.protocol?.name ?? 'unknown',
      direction: draft.direction ?? direction,
      type: draft.type,
      localId: String(draft.localId ?? ''),
      remoteId: String(draft.remoteId ?? ''),
      client: this.client,
      server: this.server,
      filtered: false,
      categories: [],
    };
    if (draft.subtype !== undefined) event.subtype = draft.subtype;
    if (draft.conversation !== undefined) event.conversation = draft.conversation;
    if (draft.text !== undefined) event.text = draft.text;
    if (draft.file !== undefined) event.file = { ...draft.file };
    if (draft.data !== undefined) event.data = draft.data;
    return event;
  }

  protocolError(direction: Direction, code: string, message: string): void {
    this.errorsLogged++;
    if (this.protocolErrors.length < MAX_LOGGED_ERRORS) this.protocolErrors.push({ direction, code, message });
    if (this.errorsLogged <= MAX_LOGGED_ERRORS) {
      this.log.warn({ protocol: this.protocol?.name, direction, code }, `protocol error: ${message}`);
      if (this.errorsLogged === MAX_LOGGED_ERRORS) this.log.warn('further protocol errors on this connection are not logged');
    }
  }

  /** Bytes for the local client, e.g. a policy notice. */
  respond(text: string, about: ImEvent): void {
    const session = this.session;
    if (!session?.respond || !this.protocol) return;
    let bytes: Uint8Array | undefined;
    try {
      bytes = callHook(this.protocol.name, 'respond', () => session.respond!(text, about));
    } catch (error) {
      this.log.error({ plugin: this.protocol.name, hook: 'respond', err: error }, 'could not build a response');
      return;
    }
    if (bytes && bytes.length > 0) this.flows.incoming.inject(bytes);
  }

  /** One side finished sending: pass the half-close on once everything before it is forwarded. */
  endOf(direction: Direction): void {
    const target = direction === 'outgoing' ? this.upstreamSocket : this.clientSocket;
    if (!target.destroyed) target.end();
  }

  destroy(reason: string): void {
    if (this.sniffing) clearTimeout(this.sniffing.timer);
    if (this.closed) return;
    this.log.debug({ reason }, 'connection closing');
    this.clientSocket.destroy();
    this.upstreamSocket.destroy();
  }

  /** Ends both directions gracefully (shutdown): what was received is forwarded first. */
  end(): void {
    if (this.closed) return;
    this.clientSocket.end();
    this.upstreamSocket.end();
  }

  /**
   * A socket closed. After a graceful end in both directions the other socket is closing too; otherwise (reset,
   * error) the other side is cut at once, since nothing more can cross.
   */
  private onSocketClose(): void {
    const clientClosed = this.clientSocket.closed;
    const upstreamClosed = this.upstreamSocket.closed;
    if (!clientClosed || !upstreamClosed) {
      const other = clientClosed ? this.upstreamSocket : this.clientSocket;
      if (!(this.flows.outgoing.hasEnded && this.flows.incoming.hasEnded)) other.destroy();
      return;
    }
    if (this.closed) return;
    this.closed = true;
    this.log.debug({ bytes: this.bytes, events: this.eventCount, ms: Date.now() - this.startedAt }, 'connection closed');
    for (const listener of this.closeListeners) listener();
  }
}

/**
 * One direction of a connection: reads from `source`, parses, judges and writes to `target`, in order.
 * While an asynchronous policy decision is pending, or `target` is full, `source` is paused.
 */
class Flow {
  private mode: 'wait' | 'parse' | 'raw' = 'wait';
  /** Chunks received and not yet given to the parser (held while busy or before the mode is known). */
  private inbox: Buffer[] = [];
  /** Chunks given to the parser whose bytes it has not yet returned as frames: what to forward if it fails. */
  private held: Buffer[] = [];
  private heldBytes = 0;
  private busy = false;
  private ended = false;
  private finished = false;
  private pauses = new Set<'target' | 'policy' | 'yield' | 'journal'>();
  private readonly conn: ProxyConnection;

  constructor(
    conn: ProxyConnection,
    readonly direction: Direction,
    private readonly source: Duplex,
    private readonly target: Duplex,
  ) {
    this.conn = conn;
    source.on('data', (chunk: Buffer) => this.receive(chunk));
    source.on('end', () => this.sourceEnded());
    target.on('drain', () => this.resume('target'));
    // A paused socket still emits 'end' when its buffer is empty: a client that half-closed right after its
    // SOCKS request did so before this listener existed.
    if (source.readableEnded) this.ended = true;
  }

  get hasEnded(): boolean {
    return this.ended;
  }

  /** The source sent its last byte (a socket's 'end', or the end of a replayed stream). */
  sourceEnded(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.mode === 'wait') this.conn.sniffEnded();
    else if (!this.busy) this.finish();
  }

  start(mode: 'parse' | 'raw'): void {
    this.mode = mode;
    this.process();
  }

  receive(chunk: Buffer): void {
    this.conn.bytes[this.direction] += chunk.length;
    if (this.mode === 'raw' && !this.busy && this.inbox.length === 0) {
      this.write([chunk]);
      return;
    }
    this.inbox.push(chunk);
    if (this.mode === 'wait') this.conn.sniffChunk(this.direction, chunk);
    else if (!this.busy) this.process();
  }

  /** Stops parsing: whatever the parser held is forwarded as it arrived, then everything else unparsed. */
  toRaw(): void {
    if (this.mode === 'raw') return;
    this.mode = 'raw';
    // While a policy decision is pending, frames that came before the held bytes are still to be forwarded:
    // the held bytes follow them in afterAsync.
    if (this.busy) return;
    this.flushHeld();
    this.process();
  }

  private flushHeld(): void {
    if (this.heldBytes === 0) return;
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    this.write(held);
  }

  /** Writes bytes that are not from the stream (a response), between two frames. */
  inject(bytes: Uint8Array): void {
    this.write([bytes]);
  }

  private process(): void {
    if (this.busy || this.mode === 'wait') return;
    while (this.inbox.length > 0) {
      const chunk = this.inbox.shift()!;
      if (this.mode === 'raw') {
        this.write([chunk]);
        continue;
      }
      const pending = this.parse(chunk);
      if (!pending && chunk.length >= YIELD_AFTER_BYTES && !this.pauses.has('yield')) {
        // A large chunk took a while to parse: let the other connections have a turn before reading more
        // from this one, so one bulk sender cannot stall everyone's chat for seconds.
        this.pause('yield');
        setImmediate(() => this.resume('yield'));
      }
      if (pending) {
        this.busy = true;
        this.pause('policy');
        pending.then(
          () => this.afterAsync(),
          (error: unknown) => {
            this.conn.log.error({ err: error }, 'frame handling failed');
            this.afterAsync();
          },
        );
        return;
      }
    }
    if (this.ended) this.finish();
  }

  private afterAsync(): void {
    this.busy = false;
    if (this.mode === 'raw') this.flushHeld();
    this.resume('policy');
    this.process();
  }

  /** Parses one chunk and handles its frames; returns a promise only when policy answered asynchronously. */
  private parse(chunk: Buffer): Promise<void> | undefined {
    const session = this.conn.session!;
    const protocol = this.conn.protocol!;
    let frames: Frame[];
    try {
      frames = callHook(protocol.name, 'push', () => session.push(this.direction, chunk));
    } catch (error) {
      this.held.push(chunk);
      this.heldBytes += chunk.length;
      this.conn.log.error({ plugin: protocol.name, hook: 'push', err: error }, 'protocol parser failed');
      this.conn.switchToRaw(`parser failed: ${describeError(error)}`);
      return undefined;
    }
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    if (!Array.isArray(frames) || !frames.every((frame) => frame?.raw instanceof Uint8Array)) {
      this.conn.log.error({ plugin: protocol.name, hook: 'push' }, 'protocol parser returned something that is not a list of frames');
      this.conn.switchToRaw('parser returned no frames');
      return undefined;
    }
    let consumed = 0;
    for (const frame of frames) consumed += frame.raw.length;
    if (consumed > this.heldBytes) {
      // The parser returned bytes it was never given: its frames cannot be trusted, the held bytes can.
      this.conn.log.error({ plugin: protocol.name, hook: 'push', consumed, held: this.heldBytes }, 'protocol parser returned more bytes than it received');
      this.conn.switchToRaw('parser accounting error');
      return undefined;
    }
    this.dropHeld(consumed);
    if (this.heldBytes > protocol.maxFrameSize + chunk.length) {
      this.conn.log.error({ plugin: protocol.name, held: this.heldBytes, max: protocol.maxFrameSize }, 'protocol parser holds more than its frame limit');
      const pendingFrames = this.handleFrames(frames, 0, []);
      if (pendingFrames) return pendingFrames.then(() => this.conn.switchToRaw('parser exceeded its frame limit'));
      this.conn.switchToRaw('parser exceeded its frame limit');
      return undefined;
    }
    return this.handleFrames(frames, 0, []);
  }

  private dropHeld(count: number): void {
    this.heldBytes -= count;
    while (count > 0) {
      const first = this.held[0]!;
      if (first.length <= count) {
        this.held.shift();
        count -= first.length;
      } else {
        this.held[0] = first.subarray(count);
        count = 0;
      }
    }
  }

  private handleFrames(frames: Frame[], start: number, out: Uint8Array[]): Promise<void> | undefined {
    const conn = this.conn;
    for (let i = start; i < frames.length; i++) {
      const frame = frames[i]!;
      if (conn.deps.options.debug) this.debugFrame(frame);
      if (frame.error) conn.protocolError(this.direction, frame.error.code, frame.error.message);
      if (!frame.events || frame.events.length === 0) {
        out.push(frame.raw);
      } else {
        const events = frame.events.map((draft) => conn.completeEvent(draft, this.direction));
        const decision = conn.deps.policy.isEmpty ? NO_DECISION : conn.deps.policy.decide(events);
        if (isPromiseLike(decision)) {
          // Forward what is decided so far, keep the frame's view alive until the decision arrives.
          this.write(out);
          return decision.then((d) => {
            const next: Uint8Array[] = [];
            this.apply(frame, events, d, next);
            if (frame.upgrade === 'tls') return this.upgrade(frames, i, next);
            return this.handleFrames(frames, i + 1, next);
          });
        }
        this.apply(frame, events, decision, out);
      }
      if (frame.upgrade === 'tls') return this.upgrade(frames, i, out);
    }
    this.write(out);
    return undefined;
  }

  /**
   * Frame `index` switched the connection to TLS: what the parser made of the bytes after it is no protocol
   * any more, so those frames are forwarded as they arrived, unjudged, and the rest of the connection raw.
   */
  private upgrade(frames: Frame[], index: number, out: Uint8Array[]): undefined {
    for (let i = index + 1; i < frames.length; i++) out.push(frames[i]!.raw);
    this.write(out);
    this.conn.encrypted = 'starttls';
    this.conn.switchToRaw('connection switched to TLS');
    return undefined;
  }

  private apply(frame: Frame, events: ImEvent[], decision: FrameDecision, out: Uint8Array[]): void {
    const conn = this.conn;
    if (decision.block) {
      conn.log.info({ events: events.map((e) => ({ type: e.type, localId: e.localId, remoteId: e.remoteId, categories: e.categories })) }, 'frame blocked by policy');
      if (decision.responses.length > 0) {
        // A response to an incoming frame goes to the same socket as the frames before it: those go first.
        this.write(out);
        out.length = 0;
        for (const text of decision.responses) conn.respond(text, events[0]!);
      }
    } else if (decision.text !== undefined) {
      let rewritten: Uint8Array | undefined;
      try {
        rewritten = frame.rewrite?.(decision.text);
      } catch (error) {
        conn.log.error({ plugin: conn.protocol?.name, hook: 'rewrite', err: error }, 'rewrite failed; original frame forwarded');
      }
      if (rewritten) out.push(rewritten);
      else {
        for (const event of events) delete event.deliveredText;
        conn.log.warn({ protocol: conn.protocol?.name }, 'a content plugin changed the text, but this frame cannot be rewritten; forwarded as it was');
        out.push(frame.raw);
      }
    } else {
      out.push(frame.raw);
    }
    conn.eventCount += events.length;
    conn.deps.sink.accept(events);
    if (conn.deps.sink.blocked && !this.pauses.has('journal')) {
      // The journal is full and configured to block: relaying waits until the loggers catch up.
      this.pause('journal');
      void conn.deps.sink.whenUnblocked().then(() => this.resume('journal'));
    }
  }

  private write(chunks: Uint8Array[]): void {
    // The events of these frames reach the journal's file before the frames reach the other side.
    this.conn.deps.sink.commit();
    if (chunks.length === 0 || this.target.destroyed) return;
    const merged = mergeAdjacent(chunks);
    let ok = true;
    if (merged.length === 1) ok = this.target.write(merged[0]!);
    else {
      this.target.cork();
      for (const chunk of merged) ok = this.target.write(chunk) && ok;
      this.target.uncork();
    }
    if (!ok) this.pause('target');
  }

  private pause(reason: 'target' | 'policy' | 'yield' | 'journal'): void {
    if (this.pauses.size === 0) this.source.pause();
    this.pauses.add(reason);
  }

  private resume(reason: 'target' | 'policy' | 'yield' | 'journal'): void {
    if (!this.pauses.delete(reason)) return;
    if (this.pauses.size === 0 && !this.source.destroyed) this.source.resume();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.mode === 'parse' && this.conn.session?.end) {
      const session = this.conn.session;
      try {
        const frames = callHook(this.conn.protocol!.name, 'end', () => session.end!(this.direction));
        let consumed = 0;
        for (const frame of frames) consumed += frame.raw.length;
        if (consumed <= this.heldBytes) {
          this.dropHeld(consumed);
          this.write(frames.map((f) => f.raw));
        }
      } catch (error) {
        this.conn.log.error({ plugin: this.conn.protocol?.name, hook: 'end', err: error }, 'protocol parser failed at end of stream');
      }
    }
    if (this.heldBytes > 0) {
      this.write(this.held);
      this.held = [];
      this.heldBytes = 0;
    }
    this.conn.endOf(this.direction);
  }

  private debugFrame(frame: Frame): void {
    const preview = latin1(frame.raw.subarray(0, 160)).replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
    this.conn.log.debug({ direction: this.direction, bytes: frame.raw.length, events: frame.events?.length ?? 0, frame: preview }, 'frame');
  }
}

let lastIsoMs = -1;
let lastIso = '';

/** ISO time, formatted once per millisecond: a busy connection makes many events in the same one. */
function isoTime(ms: number): string {
  if (ms !== lastIsoMs) {
    lastIsoMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

const NO_DECISION: FrameDecision = Object.freeze({ block: false, responses: [] }) as FrameDecision;

/** Consecutive views of one buffer become one view, so a chunk of many pass-through frames is one write. */
function mergeAdjacent(chunks: Uint8Array[]): Uint8Array[] {
  if (chunks.length < 2) return chunks;
  const out: Uint8Array[] = [];
  let current = chunks[0]!;
  for (let i = 1; i < chunks.length; i++) {
    const next = chunks[i]!;
    if (next.length === 0) continue;
    if (current.buffer === next.buffer && current.byteOffset + current.length === next.byteOffset) {
      current = new Uint8Array(current.buffer, current.byteOffset, current.length + next.length);
    } else {
      if (current.length > 0) out.push(current);
      current = next;
    }
  }
  if (current.length > 0) out.push(current);
  return out;
}
