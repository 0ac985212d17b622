/**
 * Events of one connection made whole from a protocol's drafts: id, time, endpoints, frozen data, identity marks
 * for connections joined mid-way, and the bookkeeping they feed (the connection's user among the local users,
 * the logins seen per client address, the client's software). Also the circumvention event, held until the
 * protocol names the local user.
 */
import { isUnknownId, toEventData, unknownId, type IdentityMark } from '@imspect/sdk';
import { dataValue, type EventData, type EventDataValue } from '@imspect/sdk';
import type { Direction, Endpoint, EventDraft, ImEvent, ProtocolSession, ServerEndpoint } from '@imspect/sdk';
import { uuidv7 } from '../runtime/ids.js';
import type { ConnectionInfo, RelayDeps } from './relay-deps.js';
import { localUserKey } from './local-users.js';

/** `client version` from a login event's data (`client` and `version`), for the console's who-is-online list. */
export function clientVersionOf(data: EventData | undefined): string | undefined {
  const parts = [dataValue(data, 'client'), dataValue(data, 'version')].filter((v) => v !== undefined && v !== '');
  return parts.length > 0 ? parts.join(' ') : undefined;
}

/** The words of a circumvention event's reason. */
function describeWays(ways: readonly string[], protocol: string): string {
  const words: Record<string, string> = {
    'odd-port': 'on a port that is not its own',
    http: 'inside HTTP requests',
    'http-connect': "through imspect's HTTP CONNECT proxy",
    'http-proxy': "through imspect's HTTP proxy",
    socks5: "through imspect's SOCKS5 proxy",
  };
  return `${protocol} ${ways.map((way) => words[way] ?? way).join(', ')}`;
}

/** Where completed events are counted (the connection's `eventCount`). */
export interface EventCounter {
  eventCount: number;
}

/** One per connection: the state its events are completed with. */
export class EventCompletion {
  /** A login event came from this connection: its ids need no mark even when it was joined mid-way. */
  private sawLogin = false;
  /** The protected user as last seen in the events (login, nick change); undefined before. */
  lastLocalId: string | undefined;
  /** The client software the user logged in with, as the protocol reported it (`client` / `version` in a login event's data). */
  clientVersion: string | undefined;
  /** This connection's user in the policy's LocalUsers (the key it is counted under), while it is open. */
  private localUser: string | undefined;
  /** The local id `localUser` was built from. */
  private localUserId: string | undefined;
  /** The circumvention event, until the local user is known (see {@link holdCircumvention}). */
  private heldCircumvention: ImEvent | undefined;
  private closed = false;

  constructor(
    private readonly deps: RelayDeps,
    private readonly client: Endpoint,
    private readonly server: ServerEndpoint,
    private readonly midstream: boolean,
    private readonly via: ConnectionInfo['via'],
    private readonly counter: EventCounter,
  ) {}

  /** `protocol` and `session`: the connection's, at the time the event is made. */
  complete(draft: EventDraft, direction: Direction, protocolName: string | undefined, session: ProtocolSession | undefined): ImEvent {
    const id = uuidv7();
    const at = isoTime(this.deps.now ? this.deps.now() : Date.now());
    const protocol = protocolName ?? 'unknown';
    const localId = String(draft.localId ?? '');
    const remoteId = String(draft.remoteId ?? '');
    const network = draft.network ?? session?.network;
    const { conversation, text } = draft;
    let event: ImEvent;
    if (draft.subtype === undefined && network !== undefined && conversation !== undefined && text !== undefined) {
      // A line to a group, the commonest event, as one literal with its members in the order they are otherwise
      // added: one object (kept in the journal's memory window) rather than one plus a grown property store.
      event = {
        id,
        at,
        protocol,
        direction: draft.direction ?? direction,
        type: draft.type,
        localId,
        remoteId,
        client: this.client,
        server: this.server,
        filtered: false,
        categories: [],
        network: String(network),
        conversation,
        text,
      };
    } else {
      event = {
        id,
        at,
        protocol,
        direction: draft.direction ?? direction,
        type: draft.type,
        localId,
        remoteId,
        client: this.client,
        server: this.server,
        filtered: false,
        categories: [],
      };
      if (draft.subtype !== undefined) event.subtype = draft.subtype;
      if (network !== undefined) event.network = String(network);
      if (conversation !== undefined) event.conversation = conversation;
      if (text !== undefined) event.text = text;
    }
    if (draft.file !== undefined) event.file = Object.freeze({ ...draft.file });
    let data = draft.data !== undefined ? toEventData(draft.data) : undefined;
    // Only what a protocol session read is about a user; an `encrypted` note is about the connection.
    const marked = data?.identity === 'inferred' || data?.identity === 'unknown';
    if (marked || (this.midstream && !this.sawLogin && session !== undefined && event.type !== 'encrypted')) data = this.markIdentity(event, data);
    // A copy with only text, number and flag values (a JavaScript plugin is not type-checked), frozen: filters
    // read it, nothing changes it.
    if (data !== undefined) event.data = Object.freeze(data);
    if (draft.messageKey !== undefined) event.messageKey = String(draft.messageKey);
    if (event.type === 'login' && event.data !== undefined) this.clientVersion = clientVersionOf(event.data) ?? this.clientVersion;
    if ((event.type === 'login' || event.type === 'logout') && this.deps.identity) this.deps.identity.record(event, this.client.ip);
    const users = this.deps.policy.localUsers;
    if (event.localId.length > 0) {
      this.lastLocalId = event.localId;
      if (this.heldCircumvention) this.releaseCircumvention(event.localId, session);
    }
    if (users && !this.closed && event.localId !== this.localUserId) {
      // Only when the user's id changes (login, nick change): no key built per event.
      this.localUserId = event.localId;
      this.localUser = users.move(this.localUser, localUserKey(event.protocol, event.localId, this.server));
    }
    return event;
  }

  /**
   * A connection joined mid-way whose login was not seen (or an event its session marked itself, e.g. after
   * lost bytes): its ids come from other evidence. An id the session
   * could not tell is looked up among the logins seen from the same client address (`inferred`), else made
   * from that address (`unknown`, `*@ip`); an id the session read from the traffic is `inferred`. Never dropped.
   */
  private markIdentity(event: ImEvent, data: EventData | undefined): EventData | undefined {
    if (event.type === 'login' && !isUnknownId(event.localId)) {
      this.sawLogin = true;
      return data;
    }
    // The session's own mark stands, unless core can name the user it could not.
    let mark: IdentityMark = data?.identity === 'unknown' ? 'unknown' : 'inferred';
    if (isUnknownId(event.localId)) {
      const known = this.deps.identity?.localUser(this.client.ip, event.protocol);
      if (known !== undefined) {
        event.localId = known;
        mark = 'inferred';
      } else {
        event.localId = unknownId(this.client.ip);
        mark = 'unknown';
      }
    }
    // `data` is the event's own fresh copy (toEventData), not yet frozen: marked in place.
    const marked = (data ?? {}) as Record<string, EventDataValue>;
    marked['identity'] = mark;
    return marked;
  }

  /**
   * One `other`/`circumvention` event per connection where IM took a way around the IM ports: `how` lists
   * `odd-port` (recognised on a port that names no protocol, or another protocol's), `http` (carried in HTTP
   * requests) and the proxy the client used (`http-connect`, `http-proxy`, `socks5`). Dated now, it is held
   * until the protocol names the local user (so the archive files it under that user), or the connection ends.
   */
  holdCircumvention(protocol: string, how: string, protocolName: string | undefined, session: ProtocolSession | undefined): void {
    const ways = how === '' ? [] : how.split(',');
    if (this.via === 'http-connect' || this.via === 'http-proxy' || (this.via === 'socks5' && ways.length > 0)) ways.push(this.via);
    if (ways.length === 0) return;
    this.heldCircumvention = this.complete(
      {
        type: 'other',
        subtype: 'circumvention',
        localId: '',
        remoteId: this.server.host,
        data: { protocol, how: ways.join(','), port: this.server.port, reason: describeWays(ways, protocol) },
      },
      'outgoing',
      protocolName,
      session,
    );
    this.heldCircumvention.protocol = protocol;
  }

  /** Accepts the held circumvention event, for `localId` (the first local user seen, or none at the end). */
  releaseCircumvention(localId: string, session: ProtocolSession | undefined): void {
    const event = this.heldCircumvention;
    if (!event) return;
    this.heldCircumvention = undefined;
    event.localId = localId;
    // Ids per network (IRC): the network the session learned since.
    const network = event.network ?? session?.network;
    if (network !== undefined) event.network = String(network);
    this.counter.eventCount++;
    this.deps.sink.accept([event]);
  }

  /** The connection closed: its user is no longer counted among the local users. */
  close(): void {
    this.closed = true;
    this.localUser = this.deps.policy.localUsers?.move(this.localUser, undefined);
  }
}

let lastIsoMs = -1;
let lastIso = '';

/**
 * ISO time, formatted once per millisecond: a busy connection makes many events in the same one. A capture's
 * times have fractions of a millisecond, which Date drops: the whole millisecond is the key.
 */
function isoTime(ms: number): string {
  const whole = Math.trunc(ms);
  if (whole !== lastIsoMs) {
    lastIsoMs = whole;
    lastIso = new Date(whole).toISOString();
  }
  return lastIso;
}
