/**
 * Status numbers: the low byte says the state (with and without a description); 8.0 adds mask bits above it
 * (0x4000 description, 0x8000 friends only, 0x0100 graphic status). Named in imspect's presence words, the same
 * on logins, the user's own changes and contacts' notifications.
 */
import type { PresenceStatus } from '@imspect/sdk';

const NAMES = new Map<number, PresenceStatus>([
  [0x01, 'offline'],
  [0x15, 'offline'],
  [0x02, 'online'],
  [0x04, 'online'],
  // GG_STATUS_BUSY ("zaraz wracam" / "zajęty"): the client's away state.
  [0x03, 'away'],
  [0x05, 'away'],
  [0x14, 'invisible'],
  [0x16, 'invisible'],
  [0x17, 'free-for-chat'],
  [0x18, 'free-for-chat'],
  [0x21, 'busy'],
  [0x22, 'busy'],
  [0x06, 'blocked'],
  [0x23, 'unknown'],
]);

/** Low bytes of the states that carry a description. */
const WITH_DESCRIPTION = new Set([0x04, 0x05, 0x15, 0x16, 0x18, 0x22]);

export function statusName(status: number): PresenceStatus {
  return NAMES.get(status & 0xff) ?? 'unknown';
}

/** The status number as the protocol sent it (`0x0002`, `0x4004`): an event's `protocol-status`. */
export function statusCode(status: number): string {
  return `0x${(status >>> 0).toString(16).padStart(4, '0')}`;
}

/** The state says a description follows (GG_NOTIFY_REPLY60/77 records carry one only then). */
export function hasDescription(status: number): boolean {
  return WITH_DESCRIPTION.has(status & 0xff);
}

/** Offline with or without a description: the client is going away. */
export function isOffline(status: number): boolean {
  const base = status & 0xff;
  return base === 0x01 || base === 0x15;
}
