import type { IdentityDirectory, ImEvent } from '@imspect/sdk';

/** What a login or logout tells the directory. */
export interface IdentityChange {
  type: 'login' | 'logout';
  protocol: string;
  localId: string;
}

/** How many client addresses are remembered at most (the oldest is forgotten first). */
const MAX_ADDRESSES = 100_000;

/**
 * Who logged in from which client address, per protocol: the directory sessions consult when their own
 * connection does not tell them who the local user is (a switchboard joined mid-way, a capture that missed the
 * login). Fed by the login and logout events of every connection, live or replayed, in the order they happen.
 */
export class IdentityRecords implements IdentityDirectory {
  private readonly byAddress = new Map<string, string>();

  /**
   * `onRecord`: told of every login and logout recorded here, so that relay threads side by side keep one
   * directory (a client's next connection may reach another thread): they pass it to {@link apply}.
   */
  constructor(private readonly onRecord?: (event: IdentityChange, clientIp: string) => void) {}

  localUser(clientIp: string, protocol: string): string | undefined {
    return this.byAddress.get(key(clientIp, protocol));
  }

  /** A login names the user of its client address; its logout forgets it (another user may log in there next). */
  record(event: Pick<ImEvent, 'type' | 'protocol' | 'localId' | 'data'>, clientIp: string): void {
    if (event.localId.length === 0 || event.data?.identity !== undefined) return;
    if (event.type !== 'login' && event.type !== 'logout') return;
    const change: IdentityChange = { type: event.type, protocol: event.protocol, localId: event.localId };
    this.apply(change, clientIp);
    this.onRecord?.(change, clientIp);
  }

  /** A login or logout recorded by another thread (see the constructor). */
  apply(event: IdentityChange, clientIp: string): void {
    const k = key(clientIp, event.protocol);
    if (event.type === 'login') {
      this.byAddress.delete(k);
      this.byAddress.set(k, event.localId);
      if (this.byAddress.size > MAX_ADDRESSES) this.byAddress.delete(this.byAddress.keys().next().value!);
    } else if (event.type === 'logout' && this.byAddress.get(k) === event.localId) {
      this.byAddress.delete(k);
    }
  }
}

function key(clientIp: string, protocol: string): string {
  return `${protocol}\u0000${clientIp}`;
}
