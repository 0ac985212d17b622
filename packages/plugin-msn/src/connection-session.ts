/**
 * The session core gets for an MSN connection: MSNP straight over TCP (`MsnSession`), or MSN's HTTP gateway
 * (`MsnHttpSession`), told apart by the client's first line: an HTTP request line means HTTP. The choice is made
 * once; until then the client's bytes are held (at most one line). No I/O.
 */
import { concatChunks, latin1, type Direction, type Frame, type ImEvent, type ProtocolSession } from '@imspect/sdk';
import { MsnHttpSession } from './http-session.js';
import type { MsnSession } from './session.js';

/** A client's first line longer than this is no HTTP request line worth waiting for: MSNP over TCP. */
const MAX_FIRST_LINE = 2048;
const REQUEST_LINE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+ [\x21-\x7e\x80-\xff]+ HTTP\/1\.[01]\r?$/;

export class MsnConnectionSession implements ProtocolSession {
  private inner: MsnSession | MsnHttpSession | undefined;
  /** The client's bytes before the choice. */
  private held: Uint8Array[] = [];
  private heldBytes = 0;

  constructor(
    private readonly tcp: () => MsnSession,
    private readonly http: () => MsnHttpSession,
  ) {}

  /** Which transport this connection turned out to be (undefined before the client's first line). */
  get transport(): 'tcp' | 'http' | undefined {
    return this.inner === undefined ? undefined : this.inner instanceof MsnHttpSession ? 'http' : 'tcp';
  }

  /** The session chosen for the transport (undefined before the client's first line). */
  get chosen(): MsnSession | MsnHttpSession | undefined {
    return this.inner;
  }

  get localId(): string | undefined {
    return this.inner?.localId;
  }

  get clientId(): string | undefined {
    return this.inner?.clientId;
  }

  bufferedBytes(direction: Direction): number {
    return (direction === 'outgoing' ? this.heldBytes : 0) + (this.inner?.bufferedBytes(direction) ?? 0);
  }

  push(direction: Direction, chunk: Uint8Array): Frame[] {
    if (this.inner === undefined) {
      if (direction === 'incoming') {
        // The server spoke first: no HTTP client waits for that, and no MSNP one either. Read it as MSNP.
        this.inner = this.tcp();
        return this.inner.push(direction, chunk);
      }
      this.held.push(chunk);
      this.heldBytes += chunk.byteLength;
      const first = concatChunks(this.held, this.heldBytes);
      this.held = [first];
      const lf = first.indexOf(0x0a);
      if (lf < 0 && first.byteLength < MAX_FIRST_LINE) return [];
      const line = lf < 0 ? '' : latin1(first.subarray(0, lf));
      this.inner = REQUEST_LINE.test(line) ? this.http() : this.tcp();
      return this.release(direction);
    }
    if (direction === 'outgoing' && this.heldBytes > 0) {
      this.held.push(chunk);
      this.heldBytes += chunk.byteLength;
      return this.release(direction);
    }
    return this.inner.push(direction, chunk);
  }

  /** The held client bytes, and what came with them, into the chosen session. */
  private release(direction: Direction): Frame[] {
    const bytes = concatChunks(this.held, this.heldBytes);
    this.held = [];
    this.heldBytes = 0;
    return this.inner!.push(direction, bytes);
  }

  end(direction: Direction): Frame[] {
    if (direction === 'outgoing' && this.heldBytes > 0) {
      const bytes = concatChunks(this.held, this.heldBytes);
      this.held = [];
      this.heldBytes = 0;
      if (this.inner === undefined) return [{ raw: bytes }];
      return [...this.inner.push(direction, bytes), ...this.inner.end(direction)];
    }
    return this.inner?.end(direction) ?? [];
  }

  respond(text: string, about: ImEvent): Uint8Array | undefined {
    return this.inner?.respond(text, about);
  }

  respondLater(text: string, about: ImEvent): boolean {
    return this.inner instanceof MsnHttpSession ? this.inner.respondLater(text, about) : false;
  }
}
