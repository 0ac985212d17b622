/**
 * The events each MSN capture in shared/captures must give, written by reading the captures with tshark
 * (`tshark -r F -q -z follow,tcp,ascii,N` and `follow,tcp,hex,N` for the UTF-8 text and the P2P header),
 * not from the parser's output. Used by the plugin's own conformance tests and by the `imspect replay` tests.
 */
import { fileURLToPath } from 'node:url';
import type { Direction, EventDraft } from '@imspect/sdk';

export const CAPTURES = fileURLToPath(new URL('../../../../shared/captures/', import.meta.url));

export type Expected = EventDraft & { direction: Direction };
const out = (e: Omit<Expected, 'direction'>): Expected => ({ direction: 'outgoing', ...e });
const inc = (e: Omit<Expected, 'direction'>): Expected => ({ direction: 'incoming', ...e });

export interface ConnectionCase {
  /** Client port identifying the connection in the capture. */
  clientPort: number;
  events: Expected[];
  /** Is MSN (sniff must say yes on the client's first bytes); false: must say no. */
  msn: boolean;
}

/** The switchboard session of the one conversation in escargot-msnp8.pcap (CAL ... RINGING, RNG, ANS). */
const SB = 'ff8dd76a-e98d-4474-8e38-d001c0ed4027';
const T4E = 't4e@example.com';
const T5E = 't5e@example.com';
/** What both clients say in `CVR` and the dialect the server chose in `VER`. */
const CLIENT = { client: 'MSNMSGR', version: '6.2.0208', 'protocol-version': 'MSNP8' };
/** A presence of `NLN` (online), as CHG, ILN and NLN say it. */
const ONLINE = { status: 'online', 'protocol-status': 'NLN' };
const FILE_GUID = { guid: '{5D3E02AB-6190-11D3-BBBB-00C04F795683}', session: '12345' };

export const FILES: Record<string, ConnectionCase[]> = {
  'escargot-msnp8.pcap': [
    {
      // t4e's notification server: VER/CVR/USR TWN, then XFR 7 SB for the chat, then OUT.
      clientPort: 33094,
      msn: true,
      events: [
        // CVR 2 0x0409 winnt 5.1 i386 MSNMSGR 6.2.0208 MSMSGS t4e@example.com, after the server's VER 1 MSNP8.
        out({ type: 'other', subtype: 'client', localId: T4E, remoteId: '127.0.0.1', data: CLIENT }),
        inc({ type: 'login', localId: T4E, remoteId: '127.0.0.1', data: CLIENT }),
        // CHG 6 NLN 0; the server's ILN 6 NLN t4e (t4e has itself on its list), NLN NLN t4e, NLN NLN t5e.
        out({ type: 'other', subtype: 'status', localId: T4E, remoteId: '127.0.0.1', data: ONLINE }),
        inc({ type: 'contact', subtype: 'status', localId: T4E, remoteId: T4E, data: ONLINE }),
        inc({ type: 'contact', subtype: 'status', localId: T4E, remoteId: T4E, data: ONLINE }),
        inc({ type: 'contact', subtype: 'status', localId: T4E, remoteId: T5E, data: ONLINE }),
        out({ type: 'logout', localId: T4E, remoteId: '127.0.0.1' }),
      ],
    },
    {
      // t5e's notification server: the RNG that invites t5e to the switchboard, then OUT.
      clientPort: 47016,
      msn: true,
      events: [
        out({ type: 'other', subtype: 'client', localId: T5E, remoteId: '127.0.0.1', data: CLIENT }),
        inc({ type: 'login', localId: T5E, remoteId: '127.0.0.1', data: CLIENT }),
        // CHG 6 NLN 0; ILN 6 NLN t4e, ILN 6 NLN t5e, NLN NLN t5e.
        out({ type: 'other', subtype: 'status', localId: T5E, remoteId: '127.0.0.1', data: ONLINE }),
        inc({ type: 'contact', subtype: 'status', localId: T5E, remoteId: T4E, data: ONLINE }),
        inc({ type: 'contact', subtype: 'status', localId: T5E, remoteId: T5E, data: ONLINE }),
        inc({ type: 'contact', subtype: 'status', localId: T5E, remoteId: T5E, data: ONLINE }),
        out({ type: 'logout', localId: T5E, remoteId: '127.0.0.1' }),
      ],
    },
    {
      // t4e's switchboard (USR with the XFR cookie, CAL t5e): t5e joins, typing, messages both ways, a P2P
      // file INVITE (EUF-GUID of file transfer; its Context "dGVzdA==" is 4 bytes, too short for a name), OUT.
      clientPort: 50372,
      msn: true,
      events: [
        inc({ type: 'join', localId: T4E, remoteId: T5E, conversation: SB, data: { participant: T5E } }),
        out({ type: 'typing', localId: T4E, remoteId: T5E, conversation: SB }),
        out({ type: 'message', localId: T4E, remoteId: T5E, conversation: SB, text: 'Hello Bob \u00e9\u00e8 from alice' }),
        inc({ type: 'message', localId: T4E, remoteId: T5E, conversation: SB, text: 'hi alice, bob here' }),
        out({ type: 'file', subtype: 'p2p', localId: T4E, remoteId: T5E, conversation: SB, data: FILE_GUID }),
        out({ type: 'leave', localId: T4E, remoteId: T5E, conversation: SB, data: { participants: T5E } }),
      ],
    },
    {
      // t5e's switchboard (ANS with the RNG cookie): its own JOI (ignored), IRO t4e, the same conversation
      // seen from the other side, OUT, then BYE t4e.
      clientPort: 35822,
      msn: true,
      events: [
        inc({ type: 'join', subtype: 'present', localId: T5E, remoteId: T4E, conversation: SB, data: { participant: T4E } }),
        inc({ type: 'typing', localId: T5E, remoteId: T4E, conversation: SB }),
        inc({ type: 'message', localId: T5E, remoteId: T4E, conversation: SB, text: 'Hello Bob \u00e9\u00e8 from alice' }),
        out({ type: 'message', localId: T5E, remoteId: T4E, conversation: SB, text: 'hi alice, bob here' }),
        inc({ type: 'file', subtype: 'p2p', localId: T5E, remoteId: T4E, conversation: SB, data: FILE_GUID }),
        out({ type: 'leave', localId: T5E, remoteId: T4E, conversation: SB, data: { participants: T4E } }),
        inc({ type: 'leave', localId: T5E, remoteId: T4E, conversation: SB, data: { participant: T4E } }),
      ],
    },
    // The Passport (Tweener) logins over HTTP on port 8081: not MSNP.
    { clientPort: 38774, msn: false, events: [] },
    { clientPort: 35268, msn: false, events: [] },
  ],
};
