/**
 * The events each XMPP capture in shared/captures must give, written by reading the captures with tshark
 * (`tshark -r F -q -z follow,tcp,ascii,N`), not from the parser's output. Used by the plugin's own conformance
 * tests and by the `imspect replay` tests.
 */
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { Direction, EventDraft } from '@imspect/sdk';
import type { FrameRecord } from './helpers.js';

export const CAPTURES = fileURLToPath(new URL('../../../../shared/captures/', import.meta.url));

export type Expected = EventDraft & { direction: Direction };
const out = (e: Omit<Expected, 'direction'>): Expected => ({ direction: 'outgoing', ...e });
const inc = (e: Omit<Expected, 'direction'>): Expected => ({ direction: 'incoming', ...e });

export interface ConnectionCase {
  /** Client port identifying the connection in the capture. */
  clientPort: number;
  events: Expected[];
  /** On a TLS port: core passes it through encrypted, the parser never sees it. */
  tlsPort?: boolean;
  /** STARTTLS is accepted: the rest is encrypted. */
  starttls?: boolean;
  /** The client's stream `to` domain the session reports at the end (`streamTo`). */
  streamTo?: string;
  /** Checks on the significant frames (events, upgrades, errors) of the whole run. */
  check?: (frames: FrameRecord[]) => void;
}

/** A presence without type or <show/>: available, online. */
const AVAILABLE = { status: 'online', 'protocol-status': 'available' };

const PROCEED = "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";

/** A STARTTLS exchange and nothing else readable: one significant frame, the server's `<proceed/>`. */
function starttlsOnly(frames: FrameRecord[]): void {
  expect(frames.map((f) => [f.direction, f.raw, f.upgrade ?? null, f.error ?? null])).toEqual([['incoming', PROCEED, 'tls', null]]);
}

const bob = 'bob@test.local';
const alice = 'alice@test.local';
const tom = 'tom@cs-xmpp.lan';
const room = 'chat-with-tom@conference.cs-xmpp.lan';
/** The message key and device of a stanza with an id (the stanza's `id` attribute, as in the capture). */
const key = (who: string, id: string, device = 'res') => ({ messageKey: `xmpp ${who} id=${id}`, data: { device: device } });

export const FILES: Record<string, ConnectionCase[]> = {
  'prosody-xmpp.pcap': [
    {
      clientPort: 54110,
      streamTo: 'test.local',
      events: [
        inc({ type: 'login', localId: bob, remoteId: 'test.local', data: { jid: 'bob@test.local/res' } }),
        // Sent before the roster's answer arrives: <presence id=... xml:lang="en" />: online (the server's echo from bob's own resource is not a contact).
        out({ type: 'other', subtype: 'status', localId: bob, remoteId: 'test.local', data: AVAILABLE }),
        // The roster the client fetched after logging in (empty).
        inc({ type: 'contact', subtype: 'list', localId: bob, remoteId: 'test.local', data: { contacts: 0 } }),
        // Stanzas with an id carry the key that makes their copies on other devices one message, and the device.
        inc({ type: 'typing', subtype: 'composing', localId: bob, remoteId: alice, ...key(`incoming ${alice}/res ${bob}`, 'b6ed5b1e72e54c1fadceb41d7e55eb1c') }),
        out({ type: 'typing', subtype: 'composing', localId: bob, remoteId: alice, ...key(`outgoing ${bob} ${alice}`, 'ce744be650a14442b5d9b6be90aaf781') }),
        inc({ type: 'message', localId: bob, remoteId: alice, text: 'hi bob', ...key(`incoming ${alice}/res ${bob}`, '18743836589548ca8c2451795bfbcd87') }),
        out({ type: 'message', localId: bob, remoteId: alice, text: 'fine thanks', ...key(`outgoing ${bob} ${alice}`, 'be057f47404c4575b642c364169ee458') }),
        inc({ type: 'typing', subtype: 'composing', localId: bob, remoteId: alice, ...key(`incoming ${alice}/res ${bob}`, 'a2bca5bed16f44878f556e8476e1dd27') }),
        inc({ type: 'message', localId: bob, remoteId: alice, text: 'how are you?', ...key(`incoming ${alice}/res ${bob}`, '7a8d3ba5bf3d44a2878dbb0eab7fa500') }),
        out({ type: 'logout', localId: bob, remoteId: 'test.local' }),
      ],
    },
    {
      clientPort: 54118,
      streamTo: 'test.local',
      events: [
        inc({ type: 'login', localId: alice, remoteId: 'test.local', data: { jid: 'alice@test.local/res' } }),
        // Sent before the roster's answer arrives: <presence id=... xml:lang="en" />: online (the server's echo from alice's own resource is not a contact).
        out({ type: 'other', subtype: 'status', localId: alice, remoteId: 'test.local', data: AVAILABLE }),
        // The roster the client fetched after logging in (empty).
        inc({ type: 'contact', subtype: 'list', localId: alice, remoteId: 'test.local', data: { contacts: 0 } }),
        out({ type: 'typing', subtype: 'composing', localId: alice, remoteId: bob, ...key(`outgoing ${alice} ${bob}`, 'b6ed5b1e72e54c1fadceb41d7e55eb1c') }),
        inc({ type: 'typing', subtype: 'composing', localId: alice, remoteId: bob, ...key(`incoming ${bob}/res ${alice}`, 'ce744be650a14442b5d9b6be90aaf781') }),
        out({ type: 'message', localId: alice, remoteId: bob, text: 'hi bob', ...key(`outgoing ${alice} ${bob}`, '18743836589548ca8c2451795bfbcd87') }),
        inc({ type: 'message', localId: alice, remoteId: bob, text: 'fine thanks', ...key(`incoming ${bob}/res ${alice}`, 'be057f47404c4575b642c364169ee458') }),
        out({ type: 'typing', subtype: 'composing', localId: alice, remoteId: bob, ...key(`outgoing ${alice} ${bob}`, 'a2bca5bed16f44878f556e8476e1dd27') }),
        out({ type: 'message', localId: alice, remoteId: bob, text: 'how are you?', ...key(`outgoing ${alice} ${bob}`, '7a8d3ba5bf3d44a2878dbb0eab7fa500') }),
        out({ type: 'logout', localId: alice, remoteId: 'test.local' }),
      ],
    },
    // Eight STARTTLS connections: the server answers <proceed/> (with no stream header of its own), then TLS.
    ...[34728, 34740, 34744, 34748, 34756, 34766, 34780, 34784].map((clientPort) => ({ clientPort, streamTo: 'xmpp.test', events: [], starttls: true, check: starttlsOnly })),
  ],
  'ndpi-jabber.pcap': [
    // Pidgin logging in (DIGEST-MD5), binding, service discovery, PEP: a login and nothing else to log.
    // The empty roster, then Pidgin's capabilities node in its first presence names the client.
    ...[57094, 57122].map((clientPort) => ({
      clientPort,
      streamTo: 'cs-xmpp.lan',
      events: [
        inc({ type: 'login', localId: tom, remoteId: 'cs-xmpp.lan', data: { jid: 'tom@cs-xmpp.lan/darkstar' } }),
        inc({ type: 'contact', subtype: 'list', localId: tom, remoteId: 'cs-xmpp.lan', data: { contacts: 0 } }),
        out({ type: 'other', subtype: 'client', localId: tom, remoteId: 'cs-xmpp.lan', data: { client: 'http://pidgin.im/', source: 'caps' } }),
        // The same presence, without <show/>: online.
        out({ type: 'other', subtype: 'status', localId: tom, remoteId: 'cs-xmpp.lan', data: AVAILABLE }),
      ],
    })),
    // Only the client's closing </stream:stream>, start not captured: the user's logout, the user unknown.
    { clientPort: 57126, events: [{ direction: 'outgoing', type: 'logout', localId: '*', remoteId: '172.16.1.138' }] },
    // Mid-stream: ad-hoc ping commands, PEP nick, vCard, in-band registration; no conversation.
    { clientPort: 57129, events: [] },
    // SASL failure ("Invalid username or password"), then the client closes: never logged in.
    { clientPort: 57147, streamTo: 'cs-xmpp.lan', events: [] },
    // Mid-stream (with gaps): joins a room it creates, adds chatback to the roster, chats with it.
    {
      clientPort: 57149,
      events: [
        // The join request goes out before anything names the local user (the capture starts mid-stream).
        out({ type: 'join', subtype: 'request', localId: '*', remoteId: room, conversation: room, data: { nick: 'tom@cs-xmpp.lan', request: true } }),
        inc({ type: 'join', localId: tom, remoteId: room, conversation: room, data: { nick: 'tom@cs-xmpp.lan' } }),
        // Pidgin adds chatback to the roster, then asks for the subscription: both are additions.
        out({ type: 'contact', subtype: 'add', localId: tom, remoteId: 'chatback@cs-xmpp.lan', data: { roster: true } }),
        out({ type: 'contact', subtype: 'add', localId: tom, remoteId: 'chatback@cs-xmpp.lan', data: { subscription: 'subscribe' } }),
        inc({ type: 'contact', subtype: 'accepted', localId: tom, remoteId: 'chatback@cs-xmpp.lan', data: { subscription: 'subscribed' } }),
        // chatback's presence from its resource 104588072251790900698: online.
        inc({ type: 'contact', subtype: 'status', localId: tom, remoteId: 'chatback@cs-xmpp.lan', data: AVAILABLE }),
        out({ type: 'typing', subtype: 'composing', localId: tom, remoteId: 'chatback@cs-xmpp.lan', ...key(`outgoing ${tom} chatback@cs-xmpp.lan`, 'purplebea68aea', 'darkstar') }),
        out({ type: 'message', localId: tom, remoteId: 'chatback@cs-xmpp.lan', text: 'hey', ...key(`outgoing ${tom} chatback@cs-xmpp.lan`, 'purplebea68aeb', 'darkstar') }),
        out({ type: 'typing', subtype: 'active', localId: tom, remoteId: 'chatback@cs-xmpp.lan', ...key(`outgoing ${tom} chatback@cs-xmpp.lan`, 'purplebea68aec', 'darkstar') }),
        // The bot echoes the text under the same id: another message (the other direction), not a copy.
        inc({
          type: 'message',
          localId: tom,
          remoteId: 'chatback@cs-xmpp.lan',
          text: 'hey',
          ...key(`incoming chatback@cs-xmpp.lan/104588072251790900698 ${tom}`, 'purplebea68aeb', 'darkstar'),
        }),
      ],
    },
    // A stream header to an IP address, then the close: nothing to log.
    { clientPort: 53460, streamTo: '192.168.58.153', events: [] },
    // Port 5223: TLS from the first byte.
    ...[34218, 37614, 58388, 41420, 34070].map((clientPort) => ({ clientPort, tlsPort: true, events: [] })),
  ],
  'zeek-xmpp-starttls.pcap': [{ clientPort: 56048, streamTo: 'jabber.ccc.de', events: [], starttls: true, check: starttlsOnly }],
};
