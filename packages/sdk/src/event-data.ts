/**
 * Conventions for what protocol plugins put in an event's `data` (typed key/value pairs, {@link EventData}), so
 * filters read it the same way on every protocol. Text stays text, sizes, ports and counts are numbers, flags are
 * `true` (a flag that does not hold is left out).
 *
 * Well-known keys: a key means one thing with one value type on every protocol, so a filter may read it without
 * asking which protocol reported it (text: `string`, number: `number`, flag: `true`, left out when it does not hold).
 *
 * | key | type | meaning | reported by |
 * | --- | --- | --- | --- |
 * | `client` | text | the client program (`MSNMSGR`), on `login` or `other`/`client` | MSN, Gadu-Gadu, OSCAR, XMPP |
 * | `version` | text | the client's version (`8.5.1302`), with `client` | MSN, Yahoo, Gadu-Gadu, OSCAR, XMPP |
 * | `protocol-version` | text | the protocol dialect the client speaks (`MSNP15`, `YMSG16`) | MSN, Yahoo, Gadu-Gadu |
 * | `groupchat` | flag | the event belongs to a group conversation (see {@link isGroupChat}) | MSN, Gadu-Gadu |
 * | `from` | text | who sent a message to a group (nick, passport, id, room nick) | IRC, MSN, Yahoo, OSCAR, XMPP |
 * | `participants` | text | the other people of a conversation, comma-separated | MSN, Yahoo |
 * | `nick` | text | the nick the local user goes by (IRC: when not its identity; XMPP: in a room) | IRC, XMPP |
 * | `device` | text | the device (XMPP resource) a copy of a message reached, with a `messageKey` | XMPP |
 * | `address` / `port` | text / number | where a direct connection goes | IRC (DCC), OSCAR (rendezvous) |
 * | `url` | text | where a file was put | Yahoo, XMPP |
 * | `transfer` | text | the protocol's id of a file transfer or call | Yahoo, Gadu-Gadu |
 * | `files` | number | how many files one offer holds (when more than one) | OSCAR |
 * | `contacts` | number | how many contacts a contact list (`list`, `export`, `import`) holds | Gadu-Gadu, XMPP |
 * | `ids` | text | the ids of a contact list event, comma-separated | Gadu-Gadu |
 * | `list` | text | the contact lists a change is about, comma-separated (`FL`, `BL`) | MSN |
 * | `group` | text | the contact group a contact goes in | Yahoo, OSCAR |
 * | `request` | flag | the event asks for something not done yet: to join (subtype `request`), a peer's file | IRC, XMPP |
 * | `reason` | text | why, in words (an `encrypted` event's `STARTTLS passed through`, `refused`, `mailbox-full`) | core, Gadu-Gadu |
 * | `error` | number | the protocol's error code (a refused login, a sign-off) | OSCAR |
 * | `status` / `protocol-status` / `description` | text | a presence change (see `presence.ts`): the normalised status, the protocol's code, the status text | MSN, Yahoo, XMPP, OSCAR, Gadu-Gadu, IRC |
 * | `html` | text | the message as the client wrote it in HTML (`text` is the plain text) | Gadu-Gadu, OSCAR |
 *
 * Other keys belong to one protocol and are listed in its plugin's README (IRC `previous`, `by`, `statusmsg`,
 * `redacted`, `ctcp`, `dcc`, `token`; MSN `participant`, `guid`, `session`; XMPP `subscription`, `roster`, `name`,
 * `jid`, `os`, `source`; OSCAR `client-id` (number), `auth`, `offline` (flag), `sent`, `service`; Gadu-Gadu
 * `recipients`, `copy`, `kind`, `part`, `crc32`, `sha1`, `size` and `length` (numbers)).
 * A new protocol uses a well-known key only with its meaning and type, and a new name for anything else.
 *
 * Events stored before data was typed (journal records of version 1, archive rows before migration 0005) held
 * one string of space-separated `key=value` items, values percent-encoded: {@link parseDataString} reads it into
 * pairs (every value a string), {@link formatDataString} writes pairs back in that form for text columns.
 */
import type { EventData, EventDataValue, ImEvent } from './event.js';

/**
 * The value of `key` as a string (`String(value)`: a number in decimal, a flag as `true` / `false`), or undefined
 * when the event has no such key. The one accessor filters need for any key.
 */
export function dataValue(data: EventData | undefined, key: string): string | undefined {
  if (data === undefined || data === null || !Object.hasOwn(data, key)) return undefined;
  const value = data[key];
  return value === undefined || value === null ? undefined : String(value);
}

/**
 * True when flag `key` is set: `true`, a non-zero number, or (as events stored before data was typed have it)
 * the text `1`, `true` or `yes`.
 */
export function dataFlag(data: EventData | undefined, key: string): boolean {
  if (data === undefined || data === null || !Object.hasOwn(data, key)) return false;
  const value = data[key];
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  return value === '1' || value === 'true' || value === 'yes';
}

/**
 * The pairs whose value is defined (`compactData({ client: name, version })`), or undefined when none is: what
 * producers use to build `data` from what a frame did or did not say.
 */
export function compactData(pairs: Readonly<Record<string, EventDataValue | undefined>>): EventData | undefined {
  let out: Record<string, EventDataValue> | undefined;
  for (const key of Object.keys(pairs)) {
    const value = pairs[key];
    if (value === undefined) continue;
    (out ??= {})[key] = value;
  }
  return out;
}

/** Decodes a percent-encoded value; a broken escape leaves the value as it was (what filters always saw). */
function decodeValue(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * Key under which {@link parseDataString} keeps the items of an old data string that were not `key=value` (free
 * text, such as the reason an `encrypted` event once carried), joined by spaces as they were.
 */
export const LEGACY_TEXT_KEY = 'text';

/**
 * Pairs from a data string as events had it before data was typed (`from=bob statusmsg=@`): items separated by
 * spaces, the key up to the first `=`, the value percent-decoded (left as it was when the escape is broken), the
 * first of a repeated key kept (as the reader of that string did), every value a string. Items without `=` are
 * kept under {@link LEGACY_TEXT_KEY}. Nothing is lost: {@link formatDataString} gives back an equivalent string.
 */
export function parseDataString(text: string): EventData {
  const out: Record<string, EventDataValue> = {};
  const loose: string[] = [];
  for (const item of text.split(' ')) {
    if (item.length === 0) continue;
    const eq = item.indexOf('=');
    if (eq <= 0) {
      loose.push(item);
      continue;
    }
    const key = item.slice(0, eq);
    if (!Object.hasOwn(out, key)) out[key] = decodeValue(item.slice(eq + 1));
  }
  if (loose.length > 0 && !Object.hasOwn(out, LEGACY_TEXT_KEY)) out[LEGACY_TEXT_KEY] = loose.join(' ');
  return out;
}

const encodeValue = (value: string) => value.replace(/[% ]/g, (c) => (c === '%' ? '%25' : '%20'));

/**
 * The pairs as one line of `key=value` items, the form data had before it was typed, for text columns (CSV,
 * the archive's `event_data`): values percent-encode `%` and spaces, numbers are decimal, flags `1` / `0` (as
 * they were written then), keys in the order the event has them.
 */
export function formatDataString(data: EventData | undefined): string {
  if (data === undefined || data === null) return '';
  const items: string[] = [];
  for (const key of Object.keys(data)) {
    const value = data[key];
    if (value === undefined || value === null) continue;
    const text = typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
    items.push(`${encodeValue(key)}=${encodeValue(text)}`);
  }
  return items.join(' ');
}

/**
 * An event's data as pairs whatever form it was stored in: pairs as they are, an old string parsed, anything
 * else (damage) dropped. For code reading events back from storage.
 */
export function toEventData(stored: unknown): EventData | undefined {
  if (stored === undefined || stored === null) return undefined;
  if (typeof stored === 'string') return stored.length === 0 ? undefined : parseDataString(stored);
  if (typeof stored !== 'object' || Array.isArray(stored)) return undefined;
  const out: Record<string, EventDataValue> = {};
  const pairs = stored as Record<string, unknown>;
  // for-in with an own-key check: the keys Object.entries gives, in its order, without an array per pair.
  for (const key in pairs) {
    if (!Object.hasOwn(pairs, key)) continue;
    const value = pairs[key];
    if (typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) out[key] = value;
  }
  return out;
}

/** True when the event belongs to a group conversation (a channel, a multi-party chat). */
export function isGroupChat(event: Pick<ImEvent, 'conversation' | 'remoteId' | 'subtype' | 'data'>): boolean {
  if (event.subtype === 'groupchat') return true;
  if (event.conversation !== undefined && event.conversation.length > 0 && event.conversation === event.remoteId) return true;
  return dataFlag(event.data, 'groupchat');
}

/**
 * What makes two events copies of one message for loggers: the participant, the protocol's `messageKey`, and
 * the text as it was delivered (`deliveredText`, else `text`): the same for the original (typed text masked on
 * the way out) and its carbon (which carries the masked text), but not for a client that reuses an id for another
 * message, which must not vanish into the first. Undefined for an event without a key (never merged).
 */
export function messageCopyIdentity(event: Pick<ImEvent, 'localId' | 'messageKey' | 'text' | 'deliveredText'>): string | undefined {
  if (typeof event.messageKey !== 'string' || event.messageKey.length === 0) return undefined;
  return [String(event.localId), event.messageKey, event.deliveredText ?? event.text ?? ''].join('\u0000');
}

/** The categories of an event no filter has marked yet: one frozen empty list, shared. */
const NO_CATEGORIES: readonly string[] = Object.freeze([]);

/**
 * A deeply frozen copy of an event, as filters and content plugins get it: assigning to it, to its data, file,
 * addresses or categories throws a TypeError (modules are strict), so a filter cannot change what loggers store.
 * Parts already frozen (core freezes `data`, `file` and the addresses when it completes an event) are shared, not
 * copied: in the common case this is one shallow copy.
 */
export function frozenEvent(event: Readonly<ImEvent>): Readonly<ImEvent> {
  const copy: ImEvent = { ...event };
  copy.categories = (event.categories.length === 0 ? NO_CATEGORIES : Object.freeze(event.categories.slice())) as string[];
  const { data, file, client, server } = event;
  if (data !== undefined && !Object.isFrozen(data)) copy.data = Object.freeze({ ...data });
  if (file !== undefined && !Object.isFrozen(file)) copy.file = Object.freeze({ ...file });
  if (client !== undefined && !Object.isFrozen(client)) copy.client = Object.freeze({ ...client });
  if (server !== undefined && !Object.isFrozen(server)) copy.server = Object.freeze({ ...server });
  return Object.freeze(copy);
}
