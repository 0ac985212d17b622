/**
 * Which protected users are connected through this imspect right now, per protocol, so that a message one of
 * them sends to another can be judged on the sender's side as the recipient's connection will judge it (see
 * Policy). A user counts while at least one of their connections is open.
 *
 * Ids compare ignoring case, an XMPP-style resource (`/laptop` after the `@`) ignored. An id with `@` is an
 * address valid on every server of its protocol; one without (an IRC nick) only names a user on the same
 * server, so it is kept together with the server's address.
 */
import type { ImEvent } from '@imspect/sdk';

/** The key of user `id` of `protocol` reached through `server`. */
export function localUserKey(protocol: string, id: string, server: { host: string; port: number }): string | undefined {
  let lower = id.toLowerCase();
  if (lower.length === 0 || lower === '*') return undefined;
  const at = lower.indexOf('@');
  if (at >= 0) {
    const slash = lower.indexOf('/', at);
    if (slash >= 0) lower = lower.slice(0, slash);
    return `${protocol}\u0000${lower}`;
  }
  return `${protocol}\u0000${lower}\u0000${server.host.toLowerCase()}:${server.port}`;
}

export class LocalUsers {
  /** user key -> number of open connections registered under it */
  private readonly counts = new Map<string, number>();

  /**
   * `onMove`: told of every change made here, so that relay threads side by side can apply it to theirs
   * ({@link applyMove}): a user connected through one thread is a local recipient for the others too.
   */
  constructor(private readonly onMove?: (from: string | undefined, to: string | undefined) => void) {}

  /** The connection's user is now `key` (undefined: none); returns the key to pass next time. */
  move(from: string | undefined, to: string | undefined): string | undefined {
    if (from === to) return to;
    this.applyMove(from, to);
    this.onMove?.(from, to);
    return to;
  }

  /** A change another thread made (see the constructor). */
  applyMove(from: string | undefined, to: string | undefined): void {
    if (from !== undefined) {
      const left = (this.counts.get(from) ?? 1) - 1;
      if (left <= 0) this.counts.delete(from);
      else this.counts.set(from, left);
    }
    if (to !== undefined) this.counts.set(to, (this.counts.get(to) ?? 0) + 1);
  }

  /** Is the other party of this event a protected user connected through imspect (and not its own sender)? */
  isLocalRecipient(event: Readonly<ImEvent>): boolean {
    const remote = localUserKey(event.protocol, event.remoteId, event.server);
    if (remote === undefined || remote === localUserKey(event.protocol, event.localId, event.server)) return false;
    return this.counts.has(remote);
  }

  get size(): number {
    return this.counts.size;
  }
}
