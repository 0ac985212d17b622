/**
 * One direction of a connection: bytes received from the source are parsed, judged and written to the target,
 * in order. While an asynchronous policy decision is pending, or the target is full, reading is paused.
 *
 * The flow does no stream I/O: events come in (`receive`, `sourceEnded`, `drained`) and commands go out through its
 * {@link FlowPort} (write, pause reading, resume reading). `stream-port.ts` binds a port to a pair of streams.
 */
import { describeError, latin1, type Direction, type Endpoint, type EventDraft, type Frame, type ImEvent, type PluginLogger, type ProtocolSession } from '@imspect/sdk';
import { isPromiseLike, type PluginHost } from '../runtime/plugin-host.js';
import type { RelayDeps } from './relay-deps.js';
import type { FrameDecision } from './policy.js';
import type { RegisteredProtocol } from './protocols.js';
import { noticeClient } from './responses.js';
import type { TurnBudget } from './turn-budget.js';

/** A parsed chunk at least this large makes its flow yield to the other connections before reading on. */
const YIELD_AFTER_BYTES = 16 * 1024;

/**
 * What a flow needs of its connection (ProxyConnection): the protocol being parsed, where events go, and the
 * connection-wide steps a frame can start (a reply, a refusal, a disconnect, STARTTLS, the end of a side).
 */
export interface FlowConnection {
  readonly deps: RelayDeps;
  readonly log: PluginLogger;
  readonly client: Endpoint;
  readonly host: PluginHost;
  readonly protocol: RegisteredProtocol | undefined;
  readonly session: ProtocolSession | undefined;
  /** Bytes received per direction. */
  readonly bytes: Record<Direction, number>;
  eventCount: number;
  /** Policy disconnected the client: nothing more is written. */
  readonly disconnecting: boolean;
  /** A chunk arrived while the protocol is still being chosen. */
  sniffChunk(direction: Direction): void;
  /** The source ended while the protocol is still being chosen. */
  sniffEnded(): void;
  switchToRaw(reason: string): void;
  protocolError(direction: Direction, code: string, message: string): void;
  completeEvent(draft: EventDraft, direction: Direction): ImEvent;
  refuse(frame: Frame, direction: Direction): void;
  respond(text: string, about: ImEvent): boolean;
  disconnect(reason: string): void;
  startTls(direction: Direction, upgradeBytes: Uint8Array[], after: Uint8Array[]): Promise<void> | undefined;
  endOf(direction: Direction): void;
}

/**
 * Where a flow's commands go: the target it writes and the source it reads. Method calls, not command objects,
 * so the hot path allocates nothing for them.
 */
export interface FlowPort {
  /** Writes the chunks in order, as one write where the target can; false: the target is full, wait for {@link Flow.drained}. */
  write(chunks: readonly Uint8Array[]): boolean;
  pauseReading(): void;
  resumeReading(): void;
  /** False once the target can take no more bytes (destroyed): writes are dropped. */
  readonly writable: boolean;
  /** The source shares the relay's turn budget (a socket). A replay's flows never wait (their events carry the capture's time). */
  readonly paced: boolean;
}

type PauseReason = 'target' | 'policy' | 'yield' | 'journal' | 'turn';

/** One bit per reason: a Set per flow would cost a hash table for every idle connection. */
const PAUSE_BIT: Record<PauseReason, number> = { target: 1, policy: 2, yield: 4, journal: 8, turn: 16 };

export class Flow {
  private mode: 'wait' | 'parse' | 'raw' = 'wait';
  /** Chunks received and not yet given to the parser (held while busy or before the mode is known). */
  private inbox: Buffer[] = [];
  /** Chunks given to the parser whose bytes it has not yet returned as frames: what to forward if it fails. */
  private held: Buffer[] = [];
  private heldBytes = 0;
  private busy = false;
  private ended = false;
  private finished = false;
  /** Why reading is paused: {@link PAUSE_BIT}s; 0 while reading. */
  private pauses = 0;
  /** Chunks wait in `inbox` for the next turn's budget (see {@link TurnBudget}). */
  private deferred = false;
  /** Reading from a socket: shares the relay's turn budget. A replay's flows never wait (their events carry the capture's time). */
  private budget: TurnBudget | undefined;
  private readonly conn: FlowConnection;
  /** Bytes lost (capture gaps) since the last chunk received, and the chunks that follow a loss. */
  private lostBefore = 0;
  /** Made at the first gap: only replays of captures with losses have any. */
  private gaps: WeakMap<Buffer, number> | undefined;
  /** Callers of {@link whenIdle}, resolved once nothing is pending. */
  private idleWaiters: Array<() => void> | undefined;

  constructor(
    conn: FlowConnection,
    readonly direction: Direction,
    private readonly port: FlowPort,
  ) {
    this.conn = conn;
    this.budget = port.paced ? conn.deps.turnBudget : undefined;
  }

  /** The target can take bytes again after a write returned false. */
  drained(): void {
    this.resume('target');
  }

  /**
   * Stops processing (a TLS handshake is about to take the source over): returns what was received and not
   * processed, the start of the TLS stream. Nothing is received until {@link attached}.
   */
  detach(): Buffer[] {
    const unprocessed = this.inbox;
    this.inbox = [];
    // Deferred chunks are handed back now; the TLS socket reads on once attached.
    this.deferred = false;
    this.pauses &= ~PAUSE_BIT.turn;
    return unprocessed;
  }

  /** The port reads and writes new streams (the TLS sockets once intercepted). */
  attached(): void {
    this.budget = this.port.paced ? this.conn.deps.turnBudget : undefined;
    // Waiting for the old target to drain means nothing for the new one.
    this.pauses &= ~PAUSE_BIT.target;
    if (this.pauses === 0) this.port.resumeReading();
    else this.port.pauseReading();
  }

  /** Writes bytes now, whatever the flow is doing (the frame accepting STARTTLS, when passed through). */
  writeNow(chunks: Uint8Array[]): void {
    this.write(chunks);
  }

  /** The chunks received and not yet processed: while the protocol is sniffed, every byte seen so far. */
  get waiting(): readonly Buffer[] {
    return this.inbox;
  }

  get hasEnded(): boolean {
    return this.ended;
  }

  /** The source sent its last byte (a socket's 'end', or the end of a replayed stream). */
  sourceEnded(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.mode === 'wait') this.conn.sniffEnded();
    else if (!this.busy && !this.deferred) this.finish();
  }

  start(mode: 'parse' | 'raw'): void {
    this.mode = mode;
    this.process();
  }

  /**
   * `bytesMissing` bytes of this direction were lost (a capture's gap): the session hears of it right before
   * the next chunk is parsed (`ProtocolSession.gap`), in order with the chunks still waiting.
   */
  gap(bytesMissing: number): void {
    if (this.mode === 'raw' || bytesMissing <= 0) return;
    this.lostBefore += bytesMissing;
  }

  receive(chunk: Buffer): void {
    if (this.lostBefore > 0) {
      (this.gaps ??= new WeakMap()).set(chunk, this.lostBefore);
      this.lostBefore = 0;
    }
    this.conn.bytes[this.direction] += chunk.length;
    if (this.mode === 'raw' && !this.busy && this.inbox.length === 0) {
      this.write([chunk]);
      return;
    }
    this.inbox.push(chunk);
    if (this.mode === 'wait') this.conn.sniffChunk(this.direction);
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

  /** A policy decision is pending, or received chunks wait for the next turn: events are still to come. */
  get pending(): boolean {
    return this.busy || this.deferred;
  }

  /**
   * Resolves once no policy decision is pending and every chunk received so far is processed (its events are
   * in the sink); undefined when that is already so. A replay waits for it before going on, and before ending
   * a connection, so asynchronous decisions cannot lose the last events.
   */
  whenIdle(): Promise<void> | undefined {
    if (!this.pending) return undefined;
    return new Promise((resolve) => (this.idleWaiters ??= []).push(resolve));
  }

  private settle(): void {
    if (!this.idleWaiters || this.pending) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = undefined;
    for (const resolve of waiters) resolve();
  }

  /** The next turn's budget is here (called by the {@link TurnBudget}). */
  runDeferred(): void {
    if (!this.deferred) return;
    this.deferred = false;
    this.resume('turn');
    this.process();
  }

  private process(): void {
    if (this.busy || this.mode === 'wait' || this.deferred) return;
    while (this.inbox.length > 0) {
      if (this.mode === 'raw') {
        this.write([this.inbox.shift()!]);
        continue;
      }
      if (this.budget?.exhausted) {
        // This turn's budget is spent: wait for the next one, reading nothing more meanwhile.
        this.deferred = true;
        this.pause('turn');
        this.budget.wait(this);
        return;
      }
      const chunk = this.inbox.shift()!;
      this.budget?.charge(chunk.length);
      const lost = this.gaps?.get(chunk);
      const pending = lost === undefined ? this.parse(chunk) : this.afterGap(lost, chunk);
      if (!pending && chunk.length >= YIELD_AFTER_BYTES && (this.pauses & PAUSE_BIT.yield) === 0) {
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
    this.settle();
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
    // Held from here on: if the parser fails, these bytes are forwarded as they came.
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    let frames: Frame[];
    try {
      frames = this.conn.host.call('session', protocol.name, session, 'push', this.direction, chunk);
    } catch (error) {
      this.conn.log.error({ plugin: protocol.name, hook: 'push', err: error }, 'protocol parser failed');
      this.conn.switchToRaw(`parser failed: ${describeError(error)}`);
      return undefined;
    }
    const consumed = frameBytes(frames);
    if (consumed === undefined) {
      this.conn.log.error({ plugin: protocol.name, hook: 'push' }, 'protocol parser returned something that is not a list of frames');
      this.conn.switchToRaw('parser returned no frames');
      return undefined;
    }
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

  /** Tells the session of lost bytes (what it held comes back as frames), then parses the chunk after them. */
  private afterGap(lost: number, chunk: Buffer): Promise<void> | undefined {
    const session = this.conn.session!;
    const protocol = this.conn.protocol!;
    if (session.gap) {
      let frames: Frame[];
      try {
        frames = this.conn.host.call('session', protocol.name, session, 'gap', this.direction, lost);
      } catch (error) {
        this.conn.log.error({ plugin: protocol.name, hook: 'gap', err: error }, 'protocol parser failed at a gap');
        this.inbox.unshift(chunk);
        this.conn.switchToRaw(`parser failed: ${describeError(error)}`);
        return undefined;
      }
      const consumed = frameBytes(frames);
      if (consumed === undefined || consumed > this.heldBytes) {
        this.conn.log.error({ plugin: protocol.name, hook: 'gap' }, 'protocol parser returned bytes it did not hold at a gap');
        this.inbox.unshift(chunk);
        this.conn.switchToRaw('parser accounting error');
        return undefined;
      }
      this.dropHeld(consumed);
      const pending = this.handleFrames(frames, 0, []);
      if (pending) return pending.then(() => (this.mode === 'parse' ? this.parse(chunk) : (this.inbox.unshift(chunk), undefined)));
    }
    return this.parse(chunk);
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
        out.push(frame.replacement ?? frame.raw);
      } else {
        const events = completeAll(conn, frame.events, this.direction);
        const policy = conn.deps.policy;
        const decision = policy.isEmpty || policy.passesUnseen(events) ? NO_DECISION : policy.decide(events);
        if (isPromiseLike(decision)) {
          // Forward what is decided so far, keep the frame's view alive until the decision arrives.
          this.write(out);
          return decision.then((d) => {
            const next: Uint8Array[] = [];
            this.apply(frame, events, d, next);
            if (frame.upgrade === 'tls') return this.upgrade(frames, i, next, 0);
            return this.handleFrames(frames, i + 1, next);
          });
        }
        const before = out.length;
        this.apply(frame, events, decision, out);
        if (frame.upgrade === 'tls') return this.upgrade(frames, i, out, before);
        continue;
      }
      if (frame.upgrade === 'tls') return this.upgrade(frames, i, out, out.length - 1);
    }
    this.write(out);
    return undefined;
  }

  /**
   * Frame `index` switched the connection to TLS (`out[upgradeAt..]` is what it forwards). What the parser made
   * of the bytes after it is no protocol: those are TLS records. Core then intercepts (the session goes on with
   * the decrypted bytes), or relays the rest of the connection unread.
   */
  private upgrade(frames: Frame[], index: number, out: Uint8Array[], upgradeAt: number): Promise<void> | undefined {
    const after: Uint8Array[] = [];
    // Copied: the parser may reuse the memory behind its frames once the session reads decrypted bytes.
    for (let i = index + 1; i < frames.length; i++) after.push(Buffer.from(frames[i]!.raw));
    // Bytes the parser still holds came after the upgrade frame: TLS records too (core's own chunks, not copied).
    for (const held of this.held) after.push(held);
    this.dropHeld(this.heldBytes);
    this.write(out.slice(0, upgradeAt));
    return this.conn.startTls(this.direction, out.slice(upgradeAt), after);
  }

  private apply(frame: Frame, events: ImEvent[], decision: FrameDecision, out: Uint8Array[]): void {
    const conn = this.conn;
    if (decision.block) {
      conn.log.info({ events: events.map((e) => ({ type: e.type, localId: e.localId, remoteId: e.remoteId, categories: e.categories })) }, 'frame blocked by policy');
      conn.refuse(frame, this.direction);
      if (decision.responses.length > 0) {
        // A response to an incoming frame goes to the same socket as the frames before it: those go first.
        this.write(out);
        out.length = 0;
        // About the event that was stopped, so the reply can go to its conversation.
        const about = events.find((e) => e.filtered) ?? events[0]!;
        for (const text of decision.responses) conn.respond(text, about);
      }
      if (decision.disconnect) conn.disconnect(decision.reason ?? 'policy');
    } else if (decision.text !== undefined) {
      let rewritten: Uint8Array | undefined;
      try {
        if (frame.rewrite) rewritten = conn.host.call('frame', conn.protocol!.name, frame, 'rewrite', decision.text);
      } catch (error) {
        conn.log.error({ plugin: conn.protocol?.name, hook: 'rewrite', err: error }, 'rewrite failed; original frame forwarded');
      }
      if (rewritten) out.push(rewritten);
      else {
        for (const event of events) delete event.deliveredText;
        conn.log.warn({ protocol: conn.protocol?.name }, 'a content plugin changed the text, but this frame cannot be rewritten; forwarded as it was');
        out.push(frame.replacement ?? frame.raw);
      }
    } else {
      out.push(frame.replacement ?? frame.raw);
    }
    if (!decision.block && conn.session?.respond && conn.deps.policy.noticeActive) {
      // The monitoring notice follows the frame that made it due (a login, a first message).
      conn.deps.policy.offerNotice(
        events,
        (text, about) => {
          this.write(out);
          out.length = 0;
          return conn.respond(text, about);
        },
        noticeClient(conn.session.clientId, conn.client.ip),
      );
    }
    conn.eventCount += events.length;
    conn.deps.sink.accept(events);
    if (conn.deps.sink.blocked && (this.pauses & PAUSE_BIT.journal) === 0) {
      // The journal is full and configured to block: relaying waits until the loggers catch up.
      this.pause('journal');
      void conn.deps.sink.whenUnblocked().then(() => this.resume('journal'));
    }
  }

  private write(chunks: Uint8Array[]): void {
    // The events of these frames reach the journal's file before the frames reach the other side.
    this.conn.deps.sink.commit();
    if (chunks.length === 0 || !this.port.writable || this.conn.disconnecting) return;
    if (!this.port.write(mergeAdjacent(chunks))) this.pause('target');
  }

  private pause(reason: PauseReason): void {
    if (this.pauses === 0) this.port.pauseReading();
    this.pauses |= PAUSE_BIT[reason];
  }

  private resume(reason: PauseReason): void {
    const bit = PAUSE_BIT[reason];
    if ((this.pauses & bit) === 0) return;
    this.pauses &= ~bit;
    if (this.pauses === 0) this.port.resumeReading();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.mode === 'parse' && this.conn.session?.end) {
      const session = this.conn.session;
      try {
        const frames = this.conn.host.call('session', this.conn.protocol!.name, session, 'end', this.direction);
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
    // A frame that carries a password is never shown, not even in part.
    const preview =
      frame.secret === true
        ? '(withheld: it carries a secret)'
        : latin1(frame.raw.subarray(0, 160)).replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
    this.conn.log.debug({ direction: this.direction, bytes: frame.raw.length, events: frame.events?.length ?? 0, frame: preview }, 'frame');
  }
}

const NO_DECISION: FrameDecision = Object.freeze({ block: false, responses: [] }) as FrameDecision;

/** A frame's events, completed: no callback per frame, and an array of their number (most frames carry one). */
function completeAll(conn: FlowConnection, drafts: readonly EventDraft[], direction: Direction): ImEvent[] {
  if (drafts.length === 1) return [conn.completeEvent(drafts[0]!, direction)];
  const events = new Array<ImEvent>(drafts.length);
  for (let i = 0; i < drafts.length; i++) events[i] = conn.completeEvent(drafts[i]!, direction);
  return events;
}

/** The bytes a parser's frames account for, in one pass; undefined when it returned no list of frames. */
export function frameBytes(frames: unknown): number | undefined {
  if (!Array.isArray(frames)) return undefined;
  let bytes = 0;
  for (const frame of frames as Array<Frame | undefined>) {
    if (!(frame?.raw instanceof Uint8Array)) return undefined;
    bytes += frame.raw.length;
  }
  return bytes;
}

/** Consecutive views of one buffer become one view, so a chunk of many pass-through frames is one write. */
export function mergeAdjacent(chunks: Uint8Array[]): Uint8Array[] {
  if (chunks.length < 2) return chunks;
  const out: Uint8Array[] = [];
  // The run being merged: its first chunk and its length; one view is made per run, not per chunk joined.
  let first = chunks[0]!;
  let length = first.length;
  const flush = () => {
    if (length === 0) return;
    out.push(length === first.length ? first : new Uint8Array(first.buffer, first.byteOffset, length));
  };
  for (let i = 1; i < chunks.length; i++) {
    const next = chunks[i]!;
    if (next.length === 0) continue;
    if (next.buffer === first.buffer && first.byteOffset + length === next.byteOffset) {
      length += next.length;
    } else {
      flush();
      first = next;
      length = next.length;
    }
  }
  flush();
  return out;
}
