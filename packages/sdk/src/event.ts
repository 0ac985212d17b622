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
  /** Protocol detail that refines `type`: `action`, `notice`, `dcc-send`, `dcc-chat`, `groupchat`, ... */
  subtype?: string;
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
  /** Free-form protocol data for the log's "event data" column (e.g. a client version, a DCC address). */
  data?: string;
  /**
   * The same for every copy of one message that reaches the user on several devices (XMPP carbons, a message to
   * a bare JID): loggers store one message per `localId` and key, merging the devices (`device=` in `data`).
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
  subtype?: string;
  localId: string;
  remoteId: string;
  /** See {@link ImEvent.network}. */
  network?: string;
  conversation?: string;
  text?: string;
  file?: FileOffer;
  data?: string;
  /** See {@link ImEvent.messageKey}. */
  messageKey?: string;
  /**
   * Overrides the frame's direction when the event travels against it (e.g. an XMPP carbon of a message the
   * local user sent from another device arrives from the server but is outgoing).
   */
  direction?: Direction;
}
