/**
 * Yahoo presence (as libpurple's yahoo_process_status reads it): each buddy record starts at key 7 (the buddy),
 * followed by key 10 (status number), 19 (custom status text), 47 (away flag of a custom status: 0 available,
 * 1 away, 2 busy), 13 (where the buddy is signed in, a bit mask: 0 = nowhere, offline whatever key 10 says),
 * 97 (the text is UTF-8). The server sends them in LOGON (the buddies online at sign-in and
 * later arrivals), ISAWAY/ISBACK, Y6_STATUS_UPDATE and STATUS_15; the client sets its own with ISAWAY/ISBACK or
 * Y6_STATUS_UPDATE (key 10, 19, 47 without key 7). Parsing only.
 */
import { presenceData, type EventData, type PresenceStatus } from '@imspect/sdk';
import { decodeText } from './text.js';
import type { YmsgPacket } from './ymsg-packet.js';

/** Services that carry statuses (besides LOGON and LOGOFF). */
export const STATUS_SERVICE = { ISAWAY: 0x03, ISBACK: 0x04, Y6_STATUS_UPDATE: 0xc6, STATUS_15: 0xf0 } as const;

const STATUS_NAMES = new Map<number, PresenceStatus>([
  [0, 'online'],
  [1, 'be-right-back'],
  [2, 'busy'],
  [3, 'away'], // not at home
  [4, 'away'], // not at desk
  [5, 'away'], // not in office
  [6, 'on-the-phone'],
  [7, 'away'], // on vacation
  [8, 'out-to-lunch'],
  [9, 'away'], // stepped out
  [12, 'invisible'],
  [999, 'idle'],
  [0x5a55aa56, 'offline'],
]);

const CUSTOM = 99;

function statusName(code: string, awayFlag: string | undefined): PresenceStatus {
  if (!/^\d{1,10}$/.test(code)) return 'unknown';
  const n = Number(code);
  if (n === CUSTOM) return awayFlag === '1' ? 'away' : awayFlag === '2' ? 'busy' : 'online';
  return STATUS_NAMES.get(n) ?? 'unknown';
}

/** One status: whose (undefined: the sender's own, as the client sends it), and its data. */
export interface YahooStatus {
  who: string | undefined;
  data: EventData;
}

interface Record_ {
  who: string | undefined;
  code?: string;
  away?: string;
  /** Key 13: 0 when the buddy is signed in nowhere. */
  signedIn?: string;
  text?: Uint8Array;
  utf8: boolean;
}

function toStatus(r: Record_): YahooStatus | undefined {
  if (r.code === undefined) return undefined;
  const description = r.text === undefined ? undefined : decodeText(r.text, r.utf8);
  const status = r.signedIn === '0' ? 'offline' : statusName(r.code, r.away);
  return { who: r.who, data: presenceData({ status, 'protocol-status': r.code, ...(description !== undefined ? { description } : {}) }) };
}

/**
 * The statuses a packet carries, in order: a record per key 7 (keys before the first 7 describe the sender
 * itself, `who` undefined). A record without key 10 says nothing about status and is left out.
 */
export function statusesOf(packet: YmsgPacket): YahooStatus[] {
  const out: YahooStatus[] = [];
  let current: Record_ = { who: undefined, utf8: false };
  const flush = () => {
    const status = toStatus(current);
    if (status !== undefined) out.push(status);
  };
  for (const pair of packet.pairs) {
    switch (pair.key) {
      case 7:
        flush();
        current = { who: packet.value(pair), utf8: false };
        break;
      case 10:
        current.code = packet.value(pair).trim();
        break;
      case 19:
        current.text = packet.valueBytes(pair);
        break;
      case 47:
        current.away = packet.value(pair).trim();
        break;
      case 13:
        current.signedIn = packet.value(pair).trim();
        break;
      case 97:
        current.utf8 = packet.value(pair) === '1';
        break;
    }
  }
  flush();
  return out;
}
