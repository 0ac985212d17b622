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

export class StreamPort implements FlowPort {
  private flow!: Flow;
  private readonly onData = (chunk: Buffer) => this.flow.receive(chunk);
  private readonly onEnd = () => this.flow.sourceEnded();
  private readonly onDrain = () => this.flow.drained();
  /** While detached: bytes that arrive before the TLS socket takes the source over. */
  private stash: Buffer[] = EMPTY;
  private readonly onStash = (chunk: Buffer) => {
    this.stash.push(chunk);
  };

  constructor(
    private source: Duplex,
    private target: Duplex,
  ) {}

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
    this.source.on('data', this.onData);
    this.source.on('end', this.onEnd);
    this.target.on('drain', this.onDrain);
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
    this.source.off('data', this.onData);
    this.source.off('end', this.onEnd);
    this.target.off('drain', this.onDrain);
    this.stash = this.flow.detach();
    this.source.on('data', this.onStash);
    this.source.pause();
  }

  /** The bytes kept since {@link detach}; the source is left paused, for the TLS socket to read. */
  release(): Buffer[] {
    this.source.off('data', this.onStash);
    this.source.pause();
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
