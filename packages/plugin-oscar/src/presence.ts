/**
 * OSCAR presence: the buddy family's arrivals (0x03,0x0B) and departures (0x03,0x0C), each a run of user-info
 * blocks (screen name, warning level, TLV count, TLVs), and the client's own status (0x01,0x1E, TLV 6). ICQ says
 * the status in TLV 6 (flags in the high word, the status in the low one); AIM says away in the user class (TLV 1,
 * bit 0x20) and idle minutes in TLV 4. Parsing only.
 */
import { presenceData, type EventData, type PresenceStatus } from '@imspect/sdk';
import { Cursor } from './cursor.js';
import { screenNameId } from './screen-name.js';
import { numberOf, readTlvs } from './tlv.js';

/** ICQ status bits, most telling first (an invisible user may also carry the away bit). */
const ICQ_STATUS: ReadonlyArray<[number, PresenceStatus]> = [
  [0x0100, 'invisible'],
  [0x0002, 'busy'], // do not disturb
  [0x0010, 'busy'], // occupied
  [0x0004, 'away'], // not available
  [0x0001, 'away'],
  [0x0020, 'free-for-chat'],
];

const CLASS_AWAY = 0x0020;
const hex = (n: number) => `0x${n.toString(16).padStart(4, '0')}`;

/** The status an ICQ TLV 6 value says (`online` when no bit is set). */
export function icqStatus(value: number): PresenceStatus {
  const status = value & 0xffff;
  return ICQ_STATUS.find(([bit]) => (status & bit) !== 0)?.[1] ?? 'online';
}

/** One user-info block's presence: the buddy and its data. */
export interface BuddyPresence {
  who: string;
  data: EventData;
}

/**
 * The user-info blocks of an arrival or departure SNAC body from `start` to `end`; a block cut short ends the list
 * with an error (the blocks before it count).
 */
export function readBuddyPresence(bytes: Uint8Array, start: number, end: number, departed: boolean): { buddies: BuddyPresence[]; error?: string } {
  const buddies: BuddyPresence[] = [];
  const c = new Cursor(bytes, start, end);
  while (c.left > 0) {
    const name = c.take(c.u8());
    c.u16(); // warning level
    const count = c.u16();
    if (c.overflow || name.length === 0) return { buddies, error: 'buddy user info cut short' };
    const tlvs = readTlvs(bytes, c.at, end, count);
    if (tlvs.error !== undefined) return { buddies, error: `buddy user info: ${tlvs.error}` };
    c.skip(tlvs.end - c.at);
    const who = screenNameId(name);
    if (departed) {
      buddies.push({ who, data: presenceData({ status: 'offline', 'protocol-status': '' }) });
      continue;
    }
    const icq = numberOf(bytes, tlvs.tlvs, 0x0006);
    if (icq !== undefined) {
      buddies.push({ who, data: presenceData({ status: icqStatus(icq), 'protocol-status': hex(icq & 0xffff) }) });
      continue;
    }
    const userClass = numberOf(bytes, tlvs.tlvs, 0x0001) ?? 0;
    const idle = numberOf(bytes, tlvs.tlvs, 0x0004) ?? 0;
    const status: PresenceStatus = (userClass & CLASS_AWAY) !== 0 ? 'away' : idle > 0 ? 'idle' : 'online';
    buddies.push({ who, data: presenceData({ status, 'protocol-status': `class ${hex(userClass)}` }) });
  }
  return { buddies };
}

/** The client's own status (0x01,0x1E: TLVs, status in TLV 6), or undefined when it sets something else. */
export function readOwnStatus(bytes: Uint8Array, start: number, end: number): EventData | undefined {
  const tlvs = readTlvs(bytes, start, end);
  const value = numberOf(bytes, tlvs.tlvs, 0x0006);
  if (value === undefined) return undefined;
  return presenceData({ status: icqStatus(value), 'protocol-status': hex(value & 0xffff) });
}
