/**
 * The events each XMPP capture in shared/captures must give, written by reading the captures with tshark
 * (`tshark -r F -q -z follow,tcp,ascii,N`), not from the parser's output. Used by the plugin's own conformance
 * tests and by the `imspect replay` tests.
 */
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { Direction, EventDraft } from '@imspect/core';
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

const PROCEED = "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";

/** A STARTTLS exchange and nothing else readable: one significant frame, the server's `<proceed/>`. */
function starttlsOnly(frames: FrameRecord[]): void {
  expect(frames.map((f) => [f.direction, f.raw, f.upgrade ?? null, f.error ?? null])).toEqual([['incoming', PROCEED, 'tls', null]]);
}

const bob = 'bob@test.local';
const alice = 'alice@test.local';
const tom = 'tom@cs-xmpp.lan';
const room = 'chat-with-tom@conference.cs-xmpp.lan';

export const FILES: Record<string, ConnectionCase[]> = {
  'prosody-xmpp.pcap': [
    {
      clientPort: 54110,
      streamTo: 'test.local',
      events: [
        inc({ type: 'login', localId: bob, remoteId: 'test.local', data: 'jid=bob@test.local/res' }),
        // The roster the client fetched after logging in (empty).
        inc({ type: 'contact', subtype: 'list', localId: bob, remoteId: 'test.local', data: 'contacts=0' }),
        inc({ type: 'typing', subtype: 'composing', localId: bob, remoteId: alice }),
        out({ type: 'typing', subtype: 'composing', localId: bob, remoteId: alice }),
        inc({ type: 'message', localId: bob, remoteId: alice, text: 'hi bob' }),
        out({ type: 'message', localId: bob, remoteId: alice, text: 'fine thanks' }),
        inc({ type: 'typing', subtype: 'composing', localId: bob, remoteId: alice }),
        inc({ type: 'message', localId: bob, remoteId: alice, text: 'how are you?' }),
        out({ type: 'logout', localId: bob, remoteId: 'test.local' }),
      ],
    },
    {
      clientPort: 54118,
      streamTo: 'test.local',
      events: [
        inc({ type: 'login', localId: alice, remoteId: 'test.local', data: 'jid=alice@test.local/res' }),
        // The roster the client fetched after logging in (empty).
        inc({ type: 'contact', subtype: 'list', localId: alice, remoteId: 'test.local', data: 'contacts=0' }),
        out({ type: 'typing', subtype: 'composing', localId: alice, remoteId: bob }),
        inc({ type: 'typing', subtype: 'composing', localId: alice, remoteId: bob }),
        out({ type: 'message', localId: alice, remoteId: bob, text: 'hi bob' }),
        inc({ type: 'message', localId: alice, remoteId: bob, text: 'fine thanks' }),
        out({ type: 'typing', subtype: 'composing', localId: alice, remoteId: bob }),
        out({ type: 'message', localId: alice, remoteId: bob, text: 'how are you?' }),
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
        inc({ type: 'login', localId: tom, remoteId: 'cs-xmpp.lan', data: 'jid=tom@cs-xmpp.lan/darkstar' }),
        inc({ type: 'contact', subtype: 'list', localId: tom, remoteId: 'cs-xmpp.lan', data: 'contacts=0' }),
        out({ type: 'other', subtype: 'client', localId: tom, remoteId: 'cs-xmpp.lan', data: 'client=http://pidgin.im/ source=caps' }),
      ],
    })),
    // Only the client's closing </stream:stream>, start not captured.
    { clientPort: 57126, events: [] },
    // Mid-stream: ad-hoc ping commands, PEP nick, vCard, in-band registration; no conversation.
    { clientPort: 57129, events: [] },
    // SASL failure ("Invalid username or password"), then the client closes: never logged in.
    { clientPort: 57147, streamTo: 'cs-xmpp.lan', events: [] },
    // Mid-stream (with gaps): joins a room it creates, adds chatback to the roster, chats with it.
    {
      clientPort: 57149,
      events: [
        // The join request goes out before anything names the local user (the capture starts mid-stream).
        out({ type: 'join', subtype: 'request', localId: '*', remoteId: room, conversation: room, data: 'nick=tom@cs-xmpp.lan request=1' }),
        inc({ type: 'join', localId: tom, remoteId: room, conversation: room, data: 'nick=tom@cs-xmpp.lan' }),
        // Pidgin adds chatback to the roster, then asks for the subscription: both are additions.
        out({ type: 'contact', subtype: 'add', localId: tom, remoteId: 'chatback@cs-xmpp.lan', data: 'roster=1' }),
        out({ type: 'contact', subtype: 'add', localId: tom, remoteId: 'chatback@cs-xmpp.lan', data: 'subscription=subscribe' }),
        inc({ type: 'contact', subtype: 'accepted', localId: tom, remoteId: 'chatback@cs-xmpp.lan', data: 'subscription=subscribed' }),
        out({ type: 'typing', subtype: 'composing', localId: tom, remoteId: 'chatback@cs-xmpp.lan' }),
        out({ type: 'message', localId: tom, remoteId: 'chatback@cs-xmpp.lan', text: 'hey' }),
        out({ type: 'typing', subtype: 'active', localId: tom, remoteId: 'chatback@cs-xmpp.lan' }),
        inc({ type: 'message', localId: tom, remoteId: 'chatback@cs-xmpp.lan', text: 'hey' }),
      ],
    },
    // A stream header to an IP address, then the close: nothing to log.
    { clientPort: 53460, streamTo: '192.168.58.153', events: [] },
    // Port 5223: TLS from the first byte.
    ...[34218, 37614, 58388, 41420, 34070].map((clientPort) => ({ clientPort, tlsPort: true, events: [] })),
  ],
  'zeek-xmpp-starttls.pcap': [
    { clientPort: 56048, streamTo: 'jabber.ccc.de', events: [], starttls: true, check: starttlsOnly },
  ],
};
