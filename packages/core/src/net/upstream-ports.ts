/**
 * The local ports of the transparent listeners' upstream sockets, shared by the relay threads. A connection that
 * arrives at a transparent listener from one of them is imspect's own upstream connection sent back to it (a
 * redirect rule on the OUTPUT chain); the thread that accepts it may not be the one that opened it, so each
 * thread's own list (transparent.ts) is not enough. Shared memory, no messages: the check runs at accept.
 *
 * Layout (Int32Array over a SharedArrayBuffer): [0] upstream connects in progress in every thread, then one count
 * per port, 1..65535, of open upstream sockets using it as their local port. Ports, not addresses: the same
 * local port on two of the gateway's addresses counts as one, which can only make a connection from the gateway
 * itself look like a loop, never let a loop through.
 */
const PENDING = 0;
const WORDS = 1 + 65_536;

export class SharedUpstreamPorts {
  private readonly words: Int32Array;

  static create(): SharedUpstreamPorts {
    return new SharedUpstreamPorts(new SharedArrayBuffer(WORDS * Int32Array.BYTES_PER_ELEMENT));
  }

  constructor(readonly buffer: SharedArrayBuffer) {
    if (buffer.byteLength !== WORDS * Int32Array.BYTES_PER_ELEMENT) throw new TypeError('SharedUpstreamPorts: not a buffer made by SharedUpstreamPorts.create()');
    this.words = new Int32Array(buffer);
  }

  /** An upstream connect starts; call the returned function once it succeeded or failed (once). */
  connecting(): () => void {
    Atomics.add(this.words, PENDING, 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      Atomics.sub(this.words, PENDING, 1);
    };
  }

  /** Upstream connects in progress in every thread. */
  get pending(): number {
    return Atomics.load(this.words, PENDING);
  }

  /** An upstream socket is open on local `port`; call the returned function when it closes (once). */
  opened(port: number): () => void {
    if (!validPort(port)) return () => undefined;
    Atomics.add(this.words, 1 + port, 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      Atomics.sub(this.words, 1 + port, 1);
    };
  }

  /** Some thread has an open upstream socket on local `port`. */
  isOwn(port: number): boolean {
    return validPort(port) && Atomics.load(this.words, 1 + port) > 0;
  }
}

function validPort(port: number): boolean {
  return Number.isInteger(port) && port > 0 && port < 65_536;
}
