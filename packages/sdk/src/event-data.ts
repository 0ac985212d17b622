/**
 * Conventions for what protocol plugins put in an event's `data`, so filters read it the same way on every
 * protocol: space-separated `key=value` items (IRC's `from=bob statusmsg=@`). A value runs to the next space;
 * a plugin percent-encodes spaces and `%` inside values.
 *
 * Keys filters rely on:
 * - `client`: the client program (MSN `MSNMSGR`), `version`: its version (`8.5.1302`),
 *   `protocol-version`: the protocol dialect it speaks (MSN `MSNP15`). Reported on the `login` event, or on an
 *   `other` event with subtype `client` when the client says it before logging in.
 * - `groupchat=1`: the event belongs to a group conversation (also implied when `conversation` equals
 *   `remoteId`, as for IRC channels, or by subtype `groupchat`).
 * - `device`: the device (XMPP resource) a copy of a message reached, on events with a `messageKey`.
 */
import type { ImEvent } from './event.js';

/** The value of `key` in a `key=value` data string (percent-decoded), or undefined. */
export function dataValue(data: string | undefined, key: string): string | undefined {
  if (data === undefined || data.length === 0) return undefined;
  const prefix = `${key}=`;
  for (const item of data.split(' ')) {
    if (!item.startsWith(prefix)) continue;
    const raw = item.slice(prefix.length);
    try {
      return decodeURIComponent(raw);
    } catch {
      return raw;
    }
  }
  return undefined;
}

/** One `key=value` item, percent-encoding what would break the format. */
export function dataItem(key: string, value: string): string {
  return `${key}=${value.replace(/[% ]/g, (c) => (c === '%' ? '%25' : '%20'))}`;
}

/** True when the event belongs to a group conversation (a channel, a multi-party chat). */
export function isGroupChat(event: Pick<ImEvent, 'conversation' | 'remoteId' | 'subtype' | 'data'>): boolean {
  if (event.subtype === 'groupchat') return true;
  if (event.conversation !== undefined && event.conversation.length > 0 && event.conversation === event.remoteId) return true;
  const flag = dataValue(event.data, 'groupchat');
  return flag === '1' || flag === 'true' || flag === 'yes';
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
