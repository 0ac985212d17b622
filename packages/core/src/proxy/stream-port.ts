/**
 * The stream glue of a {@link Flow}: it turns a source stream's events into the flow's (bytes received, source
 * ended, target drained) and carries out the flow's commands on the streams (write, pause and resume reading).
 * TLS takeover detaches it from the plain sockets, keeps what arrives meanwhile, and attaches it to the TLS ones.
 */
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Flow, FlowPort } from './flow.js';

/** The stash of a port that is not detached: shared, never written (detach replaces it). */
const EMPTY: Buffer[] = [];

/*
 * The listeners are shared by every port: an emitter calls them with `this` set to itself, and they find their
 * port through a back-reference on the stream. Closures per port cost a function and a context each, for every
 * one of thousands of idle connections. A stream has one port reading it and one writing it (the client socket is
 * the source of the outgoing port and the target of the incoming one), hence two keys.
 */
const READER = Symbol('imspect.streamPort.reader');
const WRITER = Symbol('imspect.streamPort.writer');

interface PortStream extends Duplex {
  [READER]?: StreamPort | undefined;
  [WRITER]?: StreamPort | undefined;
}

function onData(this: PortStream, chunk: Buffer): void {
  this[READER]!.flow.receive(chunk);
}

function onEnd(this: PortStream): void {
  this[READER]!.flow.sourceEnded();
}

function onDrain(this: PortStream): void {
  this[WRITER]!.flow.drained();
}

function onStash(this: PortStream, chunk: Buffer): void {
  this[READER]!.stash.push(chunk);
}

export class StreamPort implements FlowPort {
  /** @internal Read by the shared listeners. */
  flow!: Flow;
  /** @internal While detached: bytes that arrive before the TLS socket takes the source over. */
  stash: Buffer[] = EMPTY;
  private source: PortStream;
  private target: PortStream;

  constructor(source: Duplex, target: Duplex) {
    this.source = source;
    this.target = target;
  }

  /** Feeds `flow`, made with this port, from now on (once, before its first byte). */
  connect(flow: Flow): Flow {
    this.flow = flow;
    this.listen();
    this.endedUnheard();
    return flow;
  }

  /** Reading from a socket: shares the relay's turn budget. A replay's in-memory streams never wait (their events carry the capture's time). */
  get paced(): boolean {
    return this.source instanceof Socket;
  }

  private listen(): void {
    this.source[READER] = this;
    this.target[WRITER] = this;
    this.source.on('data', onData);
    this.source.on('end', onEnd);
    this.target.on('drain', onDrain);
  }

  /**
   * Whether the source ended before it was listened to: a paused socket still emits 'end' when its buffer is
   * empty, so a client that half-closed right after its SOCKS request did so before this port existed.
   */
  private endedUnheard(): void {
    if (this.source.readableEnded) this.flow.sourceEnded();
  }

  get writable(): boolean {
    return !this.target.destroyed;
  }

  write(chunks: readonly Uint8Array[]): boolean {
    if (chunks.length === 1) return this.target.write(chunks[0]!);
    let ok = true;
    this.target.cork();
    for (const chunk of chunks) ok = this.target.write(chunk) && ok;
    this.target.uncork();
    return ok;
  }

  pauseReading(): void {
    this.source.pause();
  }

  resumeReading(): void {
    if (!this.source.destroyed) this.source.resume();
  }

  /**
   * Stops feeding the flow (a TLS handshake is about to take the source over): what it received and did not
   * process, and whatever arrives until {@link release}, is kept as the start of the TLS stream.
   */
  detach(): void {
    this.source.off('data', onData);
    this.source.off('end', onEnd);
    this.target.off('drain', onDrain);
    // The old target is written no more; the old source still feeds the stash until release().
    if (this.target[WRITER] === this) this.target[WRITER] = undefined;
    this.stash = this.flow.detach();
    this.source.on('data', onStash);
    this.source.pause();
  }

  /** The bytes kept since {@link detach}; the source is left paused, for the TLS socket to read. */
  release(): Buffer[] {
    this.source.off('data', onStash);
    this.source.pause();
    if (this.source[READER] === this) this.source[READER] = undefined;
    const stash = this.stash;
    this.stash = EMPTY;
    return stash;
  }

  /** Reads `source` and writes `target` from now on (the TLS sockets once intercepted). */
  attach(source: Duplex, target: Duplex): void {
    this.source = source;
    this.target = target;
    this.listen();
    this.flow.attached();
    this.endedUnheard();
  }
}
