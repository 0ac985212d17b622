/**
 * The events the AIM capture in shared/captures must give, written from tshark's AIM dissector
 * (`tshark -r lmg-aim-evidence01.pcap -d tcp.port==443,aim -Y aim -V`), not from this parser's output.
 *
 * What tshark shows:
 * - 192.168.1.158:51128 -> 64.12.24.50:443, joined after the login (no sign-on, no screen name of the local user
 *   anywhere: only the buddy "Sec558user1"). Outgoing FLAPs (7): keep-alive (ch 5, seq 96); 4/0x06 channel 1 to
 *   Sec558user1, charset 0, "Here's the secret recipe... I just downloaded it from the file server. Just copy to a
 *   thumb drive and you're good to go &gt;:-)" (NUL-terminated); 4/0x14 MTN type 0; 4/0x06 channel 2 rendezvous
 *   Request, Send File {09461343-4c7f-11d1-8222-444553540000}, rendezvous IP 192.168.1.158, port 5190, extended
 *   data (0x2711): one file, 12008 bytes (0x2EE8), "recipe.docx"; 4/0x14 MTN type 2; then one segment with 4/0x06
 *   "see you in hawaii!" and 4/0x14 MTN type 0. Incoming FLAPs (13): 1/0x0A rate change (x3), 4/0x0C ack (x3),
 *   4/0x07 channel 2 rendezvous Accept of the same cookie; 4/0x14 MTN type 2 (x3) and 0 (x1); 4/0x07 channel 1
 *   "<HTML><BODY><FONT FACE="Arial" SIZE=2 COLOR=#000000>thanks dude</FONT></BODY></HTML>" and "... can't wait
 *   to sell it on ebay ...".
 * - 192.168.1.159:1271 -> 205.188.13.12:443, a whole connection: the server's hello (ch 1), the client's sign-on
 *   by cookie (ch 1, TLV 6 of 256 bytes) with client id string "imApp", client id 0x0126, version 6.9.17.2 (TLVs
 *   0x17-0x1A), then generic SNACs and an SST (family 0x10) request and its 29 KB answer. Outgoing 6, incoming 5.
 * - 192.168.1.159:1221 -> 64.12.25.91:443 is TLS ("Application Data"), not OSCAR.
 * - 192.168.1.159:1272 -> 192.168.1.158:5190 is the OFT2 file transfer itself (`tshark -q -z follow,tcp,hex,5`):
 *   the sender (192.168.1.158, the server side) opens with an OFT2 prompt header (type 0x0101, 256 bytes: one
 *   file, total and file size 0x2EE8 = 12008, "Cool FileXfer", name "recipe.docx" at offset 0xC0); the receiver
 *   acknowledges (0x0202 with the cookie "7174647"); then the file's bytes.
 */
import { fileURLToPath } from 'node:url';
import type { Direction, EventDraft } from '@imspect/sdk';

export const CAPTURES = fileURLToPath(new URL('../../../../shared/captures/', import.meta.url));
export const AIM_CAPTURE = 'lmg-aim-evidence01.pcap';

export type Expected = EventDraft & { direction: Direction };
const out = (e: EventDraft): Expected => ({ direction: 'outgoing', ...e });
const inc = (e: EventDraft): Expected => ({ direction: 'incoming', ...e });

export interface ConnectionCase {
  clientPort: number;
  server: string;
  events: Expected[];
  /** FLAPs per direction, as tshark counts them. */
  flaps: Record<Direction, number>;
}

/** The local user is never named in the capture: the SDK's unknown id. */
const ME = '*';
const BUDDY = 'sec558user1';
const FONT = '<HTML><BODY><FONT FACE="Arial" SIZE=2 COLOR=#000000>';
const FIRST = "Here's the secret recipe... I just downloaded it from the file server. Just copy to a thumb drive and you're good to go";

export const CASES: ConnectionCase[] = [
  {
    clientPort: 51128,
    server: '64.12.24.50',
    flaps: { outgoing: 7, incoming: 13 },
    events: [
      out({ type: 'message', localId: ME, remoteId: BUDDY, text: `${FIRST} >:-)`, data: { html: `${FIRST} &gt;:-)` } }),
      out({ type: 'typing', subtype: 'done', localId: ME, remoteId: BUDDY }),
      out({
        type: 'file',
        subtype: 'file-transfer',
        localId: ME,
        remoteId: BUDDY,
        file: { name: 'recipe.docx', size: 12008 },
        data: { service: 'file-transfer', address: '192.168.1.158', port: 5190 },
      }),
      inc({ type: 'other', subtype: 'rendezvous-accept', localId: ME, remoteId: BUDDY, data: { service: 'file-transfer' } }),
      inc({ type: 'typing', subtype: 'active', localId: ME, remoteId: BUDDY }),
      inc({ type: 'message', localId: ME, remoteId: BUDDY, text: 'thanks dude', data: { html: `${FONT}thanks dude</FONT></BODY></HTML>` } }),
      inc({ type: 'typing', subtype: 'active', localId: ME, remoteId: BUDDY }),
      inc({
        type: 'message',
        localId: ME,
        remoteId: BUDDY,
        text: "can't wait to sell it on ebay",
        data: { html: `${FONT}can't wait to sell it on ebay</FONT></BODY></HTML>` },
      }),
      inc({ type: 'typing', subtype: 'active', localId: ME, remoteId: BUDDY }),
      inc({ type: 'typing', subtype: 'done', localId: ME, remoteId: BUDDY }),
      out({ type: 'typing', subtype: 'active', localId: ME, remoteId: BUDDY }),
      out({ type: 'message', localId: ME, remoteId: BUDDY, text: 'see you in hawaii!' }),
      out({ type: 'typing', subtype: 'done', localId: ME, remoteId: BUDDY }),
    ],
  },
  {
    clientPort: 1271,
    server: '205.188.13.12',
    flaps: { outgoing: 6, incoming: 5 },
    events: [out({ type: 'other', subtype: 'client', localId: ME, remoteId: '205.188.13.12', data: { client: 'imApp', version: '6.9.17.2', 'client-id': 0x0126 } })],
  },
];

/** The OFT connection: one file event, from the sender's prompt. */
export const OFT_CASE = {
  clientPort: 1272,
  server: '192.168.1.158',
  events: [inc({ type: 'file', subtype: 'oft', localId: ME, remoteId: '192.168.1.158', file: { name: 'recipe.docx', size: 12008 } })],
};
