/**
 * The events the Gadu-Gadu capture in shared/captures must give, written from tshark's `gadu-gadu` dissector
 * (`tshark -r pygadu-libgadu-gg.pcapng -Y gadu-gadu -V`, and `-T fields -e gadu-gadu.data` for the message
 * bytes), not from this parser's output.
 *
 * What tshark shows (both clients talk to 127.0.0.1:8074; client 38801 is uin 1001, client 38185 is uin 1002):
 * GG_WELCOME (seed); GG_LOGIN80 (uin, "pl", SHA-1 hash, status 0x02, version "Gadu-Gadu Client build
 * 8.0.0.10102", features 0x2737, no description); GG_LOGIN80_OK; 1001 sends GG_LIST_EMPTY, 1002 GG_NOTIFY_LAST
 * with contact 1001 (type 3) and later 1001 sends GG_NOTIFY_LAST with 1002; GG_NOTIFY_REPLY80 from the server (the contact available, 0x02);
 * 1001 sends GG_TYPING_NOTIFY (type 5, recipient 1002) and two GG_SEND_MSG80 to 1002 (HTML in a span, then the
 * plain text, then a rich-text attribute), which reach 1002 as GG_RECV_MSG (the old packet: CP1250 text only);
 * 1002 acknowledges each (GG_RECV_MSG_ACK) and answers with one GG_SEND_MSG80, delivered to 1001 as GG_RECV_MSG;
 * each client sets GG_NEW_STATUS80 0x01 (not available, no description) and the server says GG_DISCONNECTING.
 */
import { fileURLToPath } from 'node:url';
import type { Direction, EventDraft } from '@imspect/sdk';

export const CAPTURES = fileURLToPath(new URL('../../../../shared/captures/', import.meta.url));
export const GG_CAPTURE = 'pygadu-libgadu-gg.pcapng';
/** The server address in the capture: login and logout name it as the remote party. */
export const SERVER = '127.0.0.1';

export type Expected = EventDraft & { direction: Direction };
const out = (e: EventDraft): Expected => ({ direction: 'outgoing', ...e });
const inc = (e: EventDraft): Expected => ({ direction: 'incoming', ...e });

export interface ConnectionCase {
  clientPort: number;
  events: Expected[];
  /** Gadu-Gadu packets per direction, as tshark counts them. */
  packets: Record<Direction, number>;
}

const CLIENT = { client: 'Gadu-Gadu Client', version: '8.0.0.10102', 'protocol-version': 'GG_LOGIN80', status: 'online' };
/** A contact's status 0x02 in a GG_NOTIFY_REPLY80 record. */
const AVAILABLE = { status: 'online', 'protocol-status': '0x0002' };
const span = (text: string) => ({ html: `<span style="color:#000000; font-family:'MS Shell Dlg 2'; font-size:9pt; ">${text}</span>` });

export const CASES: ConnectionCase[] = [
  {
    clientPort: 38801,
    packets: { outgoing: 8, incoming: 5 },
    events: [
      out({ type: 'other', subtype: 'client', localId: '1001', remoteId: SERVER, data: CLIENT }),
      inc({ type: 'login', localId: '1001', remoteId: SERVER, data: CLIENT }),
      out({ type: 'contact', subtype: 'list', localId: '1001', remoteId: SERVER, data: { contacts: 1, ids: '1002' } }),
      out({ type: 'typing', subtype: 'active', localId: '1001', remoteId: '1002', data: { length: 5 } }),
      out({ type: 'message', localId: '1001', remoteId: '1002', text: 'hello bob, test message 1', data: span('hello bob, test message 1') }),
      out({ type: 'message', localId: '1001', remoteId: '1002', text: 'second line zazolc gesla jazn', data: span('second line zazolc gesla jazn') }),
      // GG_NOTIFY_REPLY80 after the client's GG_NOTIFY_LAST: 1002 is available (0x02, no description).
      inc({ type: 'contact', subtype: 'status', localId: '1001', remoteId: '1002', data: AVAILABLE }),
      inc({ type: 'message', localId: '1001', remoteId: '1002', text: 'hi alice, reply' }),
      out({ type: 'logout', localId: '1001', remoteId: SERVER }),
    ],
  },
  {
    clientPort: 38185,
    packets: { outgoing: 6, incoming: 6 },
    events: [
      out({ type: 'other', subtype: 'client', localId: '1002', remoteId: SERVER, data: CLIENT }),
      inc({ type: 'login', localId: '1002', remoteId: SERVER, data: CLIENT }),
      out({ type: 'contact', subtype: 'list', localId: '1002', remoteId: SERVER, data: { contacts: 1, ids: '1001' } }),
      // GG_NOTIFY_REPLY80: 1001 is available (0x02, no description).
      inc({ type: 'contact', subtype: 'status', localId: '1002', remoteId: '1001', data: AVAILABLE }),
      inc({ type: 'message', localId: '1002', remoteId: '1001', text: 'hello bob, test message 1' }),
      inc({ type: 'message', localId: '1002', remoteId: '1001', text: 'second line zazolc gesla jazn' }),
      out({ type: 'message', localId: '1002', remoteId: '1001', text: 'hi alice, reply', data: span('hi alice, reply') }),
      out({ type: 'logout', localId: '1002', remoteId: SERVER }),
    ],
  },
];
