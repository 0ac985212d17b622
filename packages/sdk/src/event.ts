/**
 * The event: one thing a user did over IM, as protocol plugins report it and loggers store it.
 */

/** `outgoing`: from the protected (local) client towards the server; `incoming`: the other way. */
export type Direction = 'outgoing' | 'incoming';

export const DIRECTIONS: readonly Direction[] = ['outgoing', 'incoming'];

export function opposite(direction: Direction): Direction {
  return direction === 'outgoing' ? 'incoming' : 'outgoing';
}

/**
 * Event types. The first four keep IMSpector's numeric codes (message=1, file=2, typing=3, webcam=4) so
 * archives stay comparable; the others continue the numbering.
 */
export const EVENT_TYPE_CODES = {
  message: 1,
  file: 2,
  typing: 3,
  webcam: 4,
  login: 5,
  logout: 6,
  join: 7,
  leave: 8,
  contact: 9,
  encrypted: 10,
  other: 11,
  /** A custom emoticon transfer (MSN MSNObject type 2, ...). */
  emoticon: 12,
  /** A display picture / avatar transfer (MSN MSNObject type 3, ...). */
  'display-picture': 13,
} as const;

export type EventType = keyof typeof EVENT_TYPE_CODES;

export interface Endpoint {
  ip: string;
  port: number;
}

export interface ServerEndpoint {
  host: string;
  port: number;
}

/**
 * The subtypes imspect's protocol plugins report, per event type: what filters compare `subtype` with. A protocol
 * may report others (an OSCAR or third-party plugin has its own words), so `ImEvent.subtype` is any string;
 * these unions give filters completion and typo checks through {@link isSubtype}.
 */
export interface EventSubtypes {
  message: 'action' | 'notice' | 'groupchat' | 'headline' | 'nudge' | 'conference';
  file: 'dcc-send' | 'dcc-chat' | 'p2p' | 'filetransfer' | 'filetrans15' | 'oob' | 'http-upload' | 'http-upload-request' | 'link' | 'si' | 'jingle';
  typing: 'active' | 'composing' | 'paused' | 'inactive' | 'gone' | 'done';
  webcam: 'invite' | 'accept' | 'decline' | 'push' | 'pull';
  login: never;
  logout: 'oth' | 'ssd';
  join: 'request' | 'conference' | 'invite' | 'conference-invite';
  leave: 'part' | 'kick' | 'ban' | 'affiliation' | 'members-only' | 'shutdown' | 'conference-decline';
  contact: 'add' | 'remove' | 'list' | 'added-by' | 'accepted' | 'removed-by' | 'status';
  encrypted: 'otr' | 'omemo' | 'pgp' | 'openpgp' | 'starttls' | 'tls-port' | 'tls';
  other: 'client' | 'nick' | 'ctcp' | 'ctcp-reply' | 'conference-invite' | 'status' | 'circumvention' | 'unreadable';
  emoticon: never;
  'display-picture': never;
}

/** A subtype imspect's own plugins report, for any event type. */
export type KnownSubtype = EventSubtypes[EventType];

/**
 * An event's subtype: a {@link KnownSubtype}, or a protocol's own word. Open on purpose: the contract is frozen
 * when the SDK is published, and a new protocol plugin must not need a new SDK to describe what it sees.
 */
export type EventSubtype = KnownSubtype | (string & {});

/**
 * True when the event is of `type` with `subtype`, the subtype checked against that type's known ones at compile
 * time (`isSubtype(event, 'contact', 'add')`; `'ad'` does not compile).
 */
export function isSubtype<T extends EventType>(event: { readonly type: string; readonly subtype?: string | undefined }, type: T, subtype: EventSubtypes[T]): boolean {
  return event.type === type && event.subtype === subtype;
}

/** One value in an event's {@link EventData}: text, a number (a size, a port, a count), or a flag. */
export type EventDataValue = string | number | boolean;

/**
 * Protocol detail as typed key/value pairs (`{ client: 'MSNMSGR', version: '8.5.1302', groupchat: true }`). The
 * well-known keys are described in `event-data.ts`; read them with `dataValue` / `dataFlag`.
 */
export type EventData = Readonly<Record<string, EventDataValue>>;

export interface FileOffer {
  name: string;
  /** Size in bytes, when the protocol says it. */
  size?: number;
}

/**
 * A complete event, as filters, content plugins and loggers see it. Core fills in the fields that are the
 * same for every protocol (id, time, addresses, verdict); protocol plugins produce {@link EventDraft}s.
 */
export interface ImEvent {
  /** Unique, time-ordered (UUIDv7). Loggers use it to store each event once. */
  id: string;
  /** ISO 8601 time the frame was seen (capture time when replaying). */
  at: string;
  /** Protocol plugin name, e.g. `irc`. */
  protocol: string;
  direction: Direction;
  type: EventType;
  /** Protocol detail that refines `type`: `action`, `notice`, `dcc-send`, `dcc-chat`, `groupchat`, ... ({@link EventSubtypes}). */
  subtype?: EventSubtype;
  /** The protected user: sender of outgoing events, recipient of incoming ones. */
  localId: string;
  /** The other party, or the group / channel. */
  remoteId: string;
  /**
   * Where `localId` and `remoteId` are valid, for protocols whose ids are per network (IRC: the server host the
   * client connected to, lower-cased). Absent where ids are global (MSN passport, Yahoo id, JID).
   */
  network?: string;
  /** Conversation (switchboard session, channel, thread) when the protocol has one. */
  conversation?: string;
  /** What the user typed, exactly. */
  text?: string;
  /** What reached the other side when a content plugin rewrote the text. */
  deliveredText?: string;
  file?: FileOffer;
  /**
   * Protocol detail as key/value pairs (a client version, a DCC address and port, `groupchat: true`); loggers
   * store it (the "event data" column renders it as `key=value` items).
   */
  data?: EventData;
  /**
   * The same for every copy of one message that reaches the user on several devices (XMPP carbons, a message to
   * a bare JID): loggers store one message per `localId` and key, merging the devices (`device` in `data`).
   */
  messageKey?: string;
  client: Endpoint;
  server: ServerEndpoint;
  /** True when policy blocked the frame: it never reached the other side. */
  filtered: boolean;
  /** Policy categories that matched (e.g. `2 badwords`). */
  categories: string[];
}

/** What a protocol plugin says about one event; core completes it into an {@link ImEvent}. */
export interface EventDraft {
  type: EventType;
  subtype?: EventSubtype;
  localId: string;
  remoteId: string;
  /** See {@link ImEvent.network}. */
  network?: string;
  conversation?: string;
  text?: string;
  file?: FileOffer;
  data?: EventData;
  /** See {@link ImEvent.messageKey}. */
  messageKey?: string;
  /**
   * Overrides the frame's direction when the event travels against it (e.g. an XMPP carbon of a message the
   * local user sent from another device arrives from the server but is outgoing).
   */
  direction?: Direction;
}
