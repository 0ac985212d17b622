/**
 * The events the YMSG capture in shared/captures must give, written from tshark's YMSG dissector
 * (`tshark -r escargot-ymsg10.pcap -Y ymsg -V -O ymsg`), not from this parser's output. Used by the plugin's own
 * conformance tests and by the `imspect replay` tests.
 *
 * What tshark shows, per connection (client 60794 is t1y, client 60800 is t2y; both talk to 127.0.0.1:5050):
 * Verify (0x4c) both ways; Authentication (0x57) with key 1 = own id; Authentication Response (0x54); one
 * segment with List (0x55), Pager Logon (0x01, key 0/1 = own id, the contact list as repeated 7/10/11/17/13)
 * and Ping (0x12); a second Pager Logon from the server (key 7 = a contact coming online: t1y sees itself, then
 * t2y); Notify (0x4b, key 49 TYPING, key 13 = 1) from t1y (keys 4 = t1y, 5 = t2y) delivered to t2y (5 = t2y,
 * 4 = t1y); Message (0x06) "hello t2y, this is t1y" (keys 1, 5, 14, 97 = 1) delivered with 5/4 swapped; Message
 * "hi back" from t2y to t1y; Pager Logoff (0x02, empty body) from each client. Client headers carry the
 * version in the first byte (0A 00, tshark: 2560); the server's are 00 00.
 */
import { fileURLToPath } from 'node:url';
import type { Direction, EventDraft } from '@imspect/sdk';

export const CAPTURES = fileURLToPath(new URL('../../../../shared/captures/', import.meta.url));
export const YMSG_CAPTURE = 'escargot-ymsg10.pcap';
/** The server address in the capture: login and logout name it as the remote party. */
export const SERVER = '127.0.0.1';

export type Expected = EventDraft & { direction: Direction };
const out = (e: EventDraft): Expected => ({ direction: 'outgoing', ...e });

/**
 * The buddy records of the Pager Logon that ends each login, in their order (key 7, each with key 10 = 0): key 13
 * is 0 (signed in nowhere: offline) for all but the user itself and, for t2y, t1y (13 = 1: online).
 */
const BUDDIES = [
  't1e@example.com',
  't3e@example.com',
  't4e@example.com',
  't5e@example.com',
  't1y',
  't2y',
  't1h@hotmail.com',
  't2h@hotmail.com',
  'bot1@bot.log1p.xyz',
  'bot2@bot.log1p.xyz',
  'bot3@bot.log1p.xyz',
  'bot4@bot.log1p.xyz',
  't2e@example.com',
  't3y',
  't4y',
  't5y',
  't3h@hotmail.com',
  't4h@hotmail.com',
  't5h@hotmail.com',
  'bot0@bot.log1p.xyz',
];
const ONLINE = { status: 'online', 'protocol-status': '0' };
const OFFLINE = { status: 'offline', 'protocol-status': '0' };
/** What `self` learns of its buddies at sign-in: each one's status, itself left out. */
const buddyStatuses = (self: string, online: readonly string[]): Expected[] =>
  BUDDIES.filter((b) => b !== self).map((b) => ({
    direction: 'incoming',
    type: 'contact',
    subtype: 'status',
    localId: self,
    remoteId: b,
    data: online.includes(b) ? ONLINE : OFFLINE,
  }));
const inc = (e: EventDraft): Expected => ({ direction: 'incoming', ...e });

export interface ConnectionCase {
  clientPort: number;
  events: Expected[];
  /** YMSG packets per direction, as tshark counts them. */
  packets: Record<Direction, number>;
}

/** What both clients of the capture say about themselves. */
const CLIENT = { version: '5.5.0.1244', 'protocol-version': 'YMSG10' };

export const CASES: ConnectionCase[] = [
  {
    clientPort: 60794,
    packets: { outgoing: 6, incoming: 8 },
    events: [
      // AUTHRESP key 135 "5, 5, 0, 1244"; the client's headers say version 10 in their first byte (0A 00).
      out({ type: 'other', subtype: 'client', localId: 't1y', remoteId: SERVER, data: CLIENT }),
      inc({ type: 'login', localId: 't1y', remoteId: SERVER, data: CLIENT }),
      ...buddyStatuses('t1y', []),
      // The second Pager Logon naming t1y itself is no contact's; the third: t2y comes online.
      inc({ type: 'contact', subtype: 'status', localId: 't1y', remoteId: 't2y', data: ONLINE }),
      out({ type: 'typing', subtype: 'active', localId: 't1y', remoteId: 't2y' }),
      out({ type: 'message', localId: 't1y', remoteId: 't2y', text: 'hello t2y, this is t1y' }),
      inc({ type: 'message', localId: 't1y', remoteId: 't2y', text: 'hi back' }),
      out({ type: 'logout', localId: 't1y', remoteId: SERVER }),
    ],
  },
  {
    clientPort: 60800,
    packets: { outgoing: 5, incoming: 8 },
    events: [
      // AUTHRESP key 135 "5, 5, 0, 1244"; the client's headers say version 10 in their first byte (0A 00).
      out({ type: 'other', subtype: 'client', localId: 't2y', remoteId: SERVER, data: CLIENT }),
      inc({ type: 'login', localId: 't2y', remoteId: SERVER, data: CLIENT }),
      ...buddyStatuses('t2y', ['t1y']),
      inc({ type: 'typing', subtype: 'active', localId: 't2y', remoteId: 't1y' }),
      inc({ type: 'message', localId: 't2y', remoteId: 't1y', text: 'hello t2y, this is t1y' }),
      out({ type: 'message', localId: 't2y', remoteId: 't1y', text: 'hi back' }),
      out({ type: 'logout', localId: 't2y', remoteId: SERVER }),
    ],
  },
];
