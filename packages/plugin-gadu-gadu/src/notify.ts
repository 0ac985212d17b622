/**
 * Contacts' statuses as the server reports them: GG_STATUS (one contact, old), GG_STATUS60/77 (one contact),
 * GG_NOTIFY_REPLY60/77 (records, each with a description when its state has one), GG_STATUS80 and
 * GG_NOTIFY_REPLY80 (records of 28 bytes plus a description). Layouts from libgadu's protocol description.
 * Parsing only; a record cut short ends the list with an error, the records before it still count.
 */
import type { GgPacket } from './packet.js';
import { In } from './packet-types.js';
import { hasDescription } from './status.js';

export interface ContactStatus {
  uin: string;
  status: number;
  /** Raw description bytes (UTF-8 in 8.0 records, else UTF-8 or CP1250); undefined when none. */
  description?: Uint8Array;
}

export interface NotifyOutcome {
  statuses: ContactStatus[];
  error?: string;
}

/** The uin of a 6.0/7.7 record: the top byte holds flags. */
const UIN_MASK = 0x00ffffff;

/** The packet types this module reads. */
export const CONTACT_STATUS_TYPES: ReadonlySet<number> = new Set([
  In.STATUS,
  In.STATUS60,
  In.STATUS77,
  In.NOTIFY_REPLY60,
  In.NOTIFY_REPLY77,
  In.STATUS80BETA,
  In.NOTIFY_REPLY80BETA,
  In.STATUS80,
  In.NOTIFY_REPLY80,
]);

export function decodeContactStatuses(packet: GgPacket): NotifyOutcome {
  switch (packet.type) {
    case In.STATUS:
      return single(packet, 8, packet.u32(4));
    case In.STATUS60:
      return single(packet, 14, packet.u8(4), UIN_MASK);
    case In.STATUS77:
      return single(packet, 18, packet.u8(4), UIN_MASK);
    case In.NOTIFY_REPLY60:
      return records60(packet, 14);
    case In.NOTIFY_REPLY77:
      return records60(packet, 18);
    default:
      return records80(packet);
  }
}

/** One contact: uin, status, fixed fields up to `fixed`, then the description to the end (NUL-terminated maybe). */
function single(packet: GgPacket, fixed: number, status: number | undefined, mask = 0xffffffff): NotifyOutcome {
  const uin = packet.u32(0);
  if (uin === undefined || status === undefined || packet.body.length < Math.min(fixed, 8)) return { statuses: [], error: 'status packet too short' };
  const entry: ContactStatus = { uin: String((uin & mask) >>> 0), status };
  if (packet.body.length > fixed) entry.description = packet.bytes(fixed, packet.nul(fixed));
  return { statuses: [entry] };
}

/** 6.0 / 7.7 records: fixed part, then a length byte and the description when the state has one. */
function records60(packet: GgPacket, fixed: number): NotifyOutcome {
  const statuses: ContactStatus[] = [];
  let at = 0;
  while (at < packet.body.length) {
    if (at + fixed > packet.body.length) return { statuses, error: 'contact status record cut short' };
    const entry: ContactStatus = { uin: String((packet.u32(at)! & UIN_MASK) >>> 0), status: packet.u8(at + 4)! };
    at += fixed;
    if (hasDescription(entry.status)) {
      const length = packet.u8(at);
      if (length === undefined || at + 1 + length > packet.body.length) return { statuses, error: 'contact status description past the end of the packet' };
      entry.description = packet.bytes(at + 1, at + 1 + length);
      at += 1 + length;
    }
    statuses.push(entry);
  }
  return { statuses };
}

/** 8.0 records: uin, status, features, ip, port, image size, a byte, flags, description length (u32), text. */
function records80(packet: GgPacket): NotifyOutcome {
  const statuses: ContactStatus[] = [];
  let at = 0;
  while (at < packet.body.length) {
    if (at + 28 > packet.body.length) return { statuses, error: 'contact status record cut short' };
    const length = packet.u32(at + 24)!;
    if (length > packet.body.length - at - 28) return { statuses, error: 'contact status description past the end of the packet' };
    const entry: ContactStatus = { uin: String(packet.u32(at)!), status: packet.u32(at + 4)! };
    if (length > 0) entry.description = packet.bytes(at + 28, at + 28 + length);
    statuses.push(entry);
    at += 28 + length;
  }
  return { statuses };
}
