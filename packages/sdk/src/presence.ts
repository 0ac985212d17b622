/**
 * Presence: who is online, away or gone, as protocol plugins report it. A contact's change is a `contact` event
 * with subtype `status` (remoteId the contact); the local user's own change is an `other` event with subtype
 * `status` (remoteId the server, as other account-level events have it). Both carry a {@link PresenceChange} in
 * `data`:
 *
 * | key | type | meaning |
 * | --- | --- | --- |
 * | `status` | text | the status in imspect's words ({@link PRESENCE_STATUSES}), the same on every protocol |
 * | `protocol-status` | text | the protocol's own code, as it was sent (MSN `BSY`, Yahoo `2`, XMPP `dnd`, Gadu-Gadu `0x0003`) |
 * | `description` | text | the status text or personal message, when the frame carries one (an empty text is left out) |
 *
 * A presence event is not a message: no text a filter masks, nothing an ACL blocks; loggers store it, archive
 * searches leave it out unless asked (`imspect logs search --presence`).
 */
import type { EventData, ImEvent } from './event.js';
import { dataValue } from './event-data.js';

/**
 * The normalised statuses. `online` (available), `away` (any "not at my desk"), `busy` (do not disturb),
 * `idle` (the client noticed the user gone), `be-right-back`, `on-the-phone`, `out-to-lunch`, `free-for-chat`,
 * `invisible` (the local user hides; contacts see `offline`), `offline`, `blocked` (the contact blocks the user:
 * Gadu-Gadu), `unknown` (a code imspect does not know: `protocol-status` has it).
 */
export const PRESENCE_STATUSES = [
  'online',
  'away',
  'busy',
  'idle',
  'be-right-back',
  'on-the-phone',
  'out-to-lunch',
  'free-for-chat',
  'invisible',
  'offline',
  'blocked',
  'unknown',
] as const;

export type PresenceStatus = (typeof PRESENCE_STATUSES)[number];

/** What a presence event says, as its `data` holds it. */
export interface PresenceChange {
  status: PresenceStatus;
  /** The protocol's own code (`BSY`, `0x0003`, `dnd`). */
  'protocol-status': string;
  /** Status text or personal message; absent when none was given. */
  description?: string;
}

/** The `data` of a presence event: the change, without an empty description or protocol code (a personal message alone has none). */
export function presenceData(change: PresenceChange, extra?: Readonly<Record<string, string | number | boolean>>): EventData {
  const data: Record<string, string | number | boolean> = { status: change.status };
  if (change['protocol-status'].length > 0) data['protocol-status'] = change['protocol-status'];
  if (change.description !== undefined && change.description.length > 0) data.description = change.description;
  if (extra !== undefined) Object.assign(data, extra);
  return data;
}

/** True for a presence event: a contact's (`contact`/`status`) or the local user's (`other`/`status`). */
export function isPresenceEvent(event: Pick<ImEvent, 'type' | 'subtype'>): boolean {
  return event.subtype === 'status' && (event.type === 'contact' || event.type === 'other');
}

/** The change a presence event carries, or undefined for any other event (or one without a `status`). */
export function presenceOf(event: Pick<ImEvent, 'type' | 'subtype' | 'data'>): PresenceChange | undefined {
  if (!isPresenceEvent(event)) return undefined;
  const status = dataValue(event.data, 'status');
  if (status === undefined) return undefined;
  const known = (PRESENCE_STATUSES as readonly string[]).includes(status) ? (status as PresenceStatus) : 'unknown';
  const change: PresenceChange = { status: known, 'protocol-status': dataValue(event.data, 'protocol-status') ?? status };
  const description = dataValue(event.data, 'description');
  if (description !== undefined && description.length > 0) change.description = description;
  return change;
}
