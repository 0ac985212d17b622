/**
 * The events each IRC capture in shared/captures must give, written by reading the captures with tshark
 * (`tshark -r F -q -z follow,tcp,ascii,N`), not from the parser's output. Used by the plugin's own conformance
 * tests and by the `imspect replay` tests.
 */
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { Direction, EventDraft } from '@imspect/sdk';
import type { run } from './helpers.js';

export const CAPTURES = fileURLToPath(new URL('../../../../shared/captures/', import.meta.url));

export type Expected = EventDraft & { direction: Direction };
const out = (e: Omit<Expected, 'direction'>): Expected => ({ direction: 'outgoing', ...e });
const inc = (e: Omit<Expected, 'direction'>): Expected => ({ direction: 'incoming', ...e });

export interface ConnectionCase {
  /** Client port identifying the connection in the capture. */
  clientPort: number;
  events: Expected[];
  /** Is IRC (sniff must say yes on the first bytes of the side that speaks first); false: must say no. */
  irc: boolean;
  /** Frame count check: lines seen per direction (parsed frames, before any pass-through). */
  check?: (frames: ReturnType<typeof run>['frames']) => void;
  maxFrameSize?: number;
}

export const FILES: Record<string, ConnectionCase[]> = {
  'ngircd-irc.pcap': [
    {
      clientPort: 42954,
      irc: true,
      events: [
        inc({ type: 'login', localId: 'alice', remoteId: 'irc.test.local' }),
        inc({ type: 'message', localId: 'alice', remoteId: 'bob', text: 'hello alice from bob' }),
        inc({ type: 'message', subtype: 'action', localId: 'alice', remoteId: 'bob', text: 'waves' }),
        inc({ type: 'file', subtype: 'dcc-send', localId: 'alice', remoteId: 'bob', file: { name: 'report.pdf', size: 1234 }, data: { address: '127.0.0.1', port: 40000 } }),
        out({ type: 'join', subtype: 'request', localId: 'alice', remoteId: '#test', conversation: '#test', data: { request: true } }),
        inc({ type: 'join', localId: 'alice', remoteId: '#test', conversation: '#test' }),
        out({ type: 'message', localId: 'alice', remoteId: '#test', conversation: '#test', text: 'hi from alice via ii' }),
        out({ type: 'message', localId: 'alice', remoteId: 'bob', text: 'hi bob privately' }),
      ],
    },
    {
      clientPort: 42960,
      irc: true,
      events: [
        inc({ type: 'login', localId: 'bob', remoteId: 'irc.test.local' }),
        out({ type: 'join', subtype: 'request', localId: 'bob', remoteId: '#test', conversation: '#test', data: { request: true } }),
        inc({ type: 'join', localId: 'bob', remoteId: '#test', conversation: '#test' }),
        out({ type: 'message', localId: 'bob', remoteId: 'alice', text: 'hello alice from bob' }),
        out({ type: 'message', subtype: 'action', localId: 'bob', remoteId: 'alice', text: 'waves' }),
        out({ type: 'file', subtype: 'dcc-send', localId: 'bob', remoteId: 'alice', file: { name: 'report.pdf', size: 1234 }, data: { address: '127.0.0.1', port: 40000 } }),
        out({ type: 'message', localId: 'bob', remoteId: '#test', conversation: '#test', text: 'channel msg' }),
        // The server's closing NOTICE ("Connection statistics") is a server notice: not logged.
        out({ type: 'logout', localId: 'bob', remoteId: 'irc.test.local', text: 'bye' }),
      ],
    },
  ],
  'zeek-irc-dcc-send.pcapng': [
    {
      clientPort: 59069,
      irc: true,
      events: [
        inc({ type: 'login', localId: 'tim2', remoteId: 'ircd1.local' }),
        out({ type: 'join', subtype: 'request', localId: 'tim2', remoteId: '#testing', conversation: '#testing', data: { request: true } }),
        inc({ type: 'join', localId: 'tim2', remoteId: '#testing', conversation: '#testing' }),
        out({ type: 'message', localId: 'tim2', remoteId: '#testing', conversation: '#testing', text: "hi, i'm chatting for some packets" }),
        out({ type: 'message', localId: 'tim2', remoteId: '#testing', conversation: '#testing', text: 'more packets' }),
        out({ type: 'message', localId: 'tim2', remoteId: '#testing', conversation: '#testing', text: 'more packets!' }),
        out({ type: 'message', localId: 'tim2', remoteId: '#testing', conversation: '#testing', text: 'even more packets!' }),
        out({ type: 'file', subtype: 'dcc-send', localId: 'tim2', remoteId: 'tim1', file: { name: 'ssh.trace', size: 1320211 }, data: { address: '10.0.0.7', port: 59130 } }),
        out({ type: 'file', subtype: 'dcc-chat', localId: 'tim2', remoteId: 'tim1', data: { address: '10.0.0.7', port: 59214 } }),
        inc({ type: 'message', localId: 'tim2', remoteId: '#testing', conversation: '#testing', text: 'do we still need more packets?', data: { from: 'tim1' } }),
        inc({ type: 'message', localId: 'tim2', remoteId: '#testing', conversation: '#testing', text: 'maybe we do', data: { from: 'tim1' } }),
        out({ type: 'logout', localId: 'tim2', remoteId: 'ircd1.local', text: 'leaving' }),
      ],
    },
    // The DCC side connections: an SSH session sent as a file, and the DCC chat itself. Not IRC.
    { clientPort: 43614, irc: false, events: [] },
    { clientPort: 38016, irc: false, events: [] },
  ],
  'zeek-irc-more-commands.pcap': [
    {
      clientPort: 40896,
      irc: true,
      events: [
        inc({ type: 'login', localId: 'tim', remoteId: 'ircd1.local' }),
        out({ type: 'join', subtype: 'request', localId: 'tim', remoteId: '#testing', conversation: '#testing', data: { request: true } }),
        inc({ type: 'join', localId: 'tim', remoteId: '#testing', conversation: '#testing' }),
        // tim kicks tim_ and sees tim_ join and part: other people's channel moves are not events.
      ],
    },
    {
      clientPort: 52624,
      irc: true,
      events: [
        inc({ type: 'login', localId: 'tim_', remoteId: 'ircd1.local' }),
        out({ type: 'join', subtype: 'request', localId: 'tim_', remoteId: '#testing', conversation: '#testing', data: { request: true } }),
        inc({ type: 'join', localId: 'tim_', remoteId: '#testing', conversation: '#testing' }),
        inc({ type: 'leave', subtype: 'kick', localId: 'tim_', remoteId: '#testing', conversation: '#testing', data: { by: 'tim' } }),
        out({ type: 'join', subtype: 'request', localId: 'tim_', remoteId: '#testing', conversation: '#testing', data: { request: true } }),
        inc({ type: 'join', localId: 'tim_', remoteId: '#testing', conversation: '#testing' }),
        inc({ type: 'leave', subtype: 'part', localId: 'tim_', remoteId: '#testing', conversation: '#testing' }),
      ],
    },
  ],
  'zeek-irc-whitespace.pcap': [
    {
      clientPort: 61203,
      irc: true,
      events: [
        inc({ type: 'login', localId: 'brotest', remoteId: 'sendak.freenode.net' }),
        out({ type: 'join', subtype: 'request', localId: 'brotest', remoteId: '#BROTEST', conversation: '#BROTEST', data: { request: true } }),
        inc({ type: 'join', localId: 'brotest', remoteId: '#BROTEST', conversation: '#BROTEST' }),
        out({ type: 'message', localId: 'brotest', remoteId: '#BROTEST', conversation: '#BROTEST', text: 'test' }),
        out({ type: 'logout', localId: 'brotest', remoteId: 'sendak.freenode.net', text: 'quitting' }),
      ],
    },
  ],
  'zeek-irc-basic.pcap': [
    {
      clientPort: 49170,
      irc: true,
      events: [
        inc({ type: 'login', localId: 'brotest', remoteId: 'leguin.freenode.net' }),
        out({ type: 'join', subtype: 'request', localId: 'brotest', remoteId: '#brotest', conversation: '#brotest', data: { request: true } }),
        inc({ type: 'join', localId: 'brotest', remoteId: '#brotest', conversation: '#brotest' }),
        out({ type: 'message', localId: 'brotest', remoteId: '#brotest', conversation: '#brotest', text: 'test' }),
        out({ type: 'logout', localId: 'brotest', remoteId: 'leguin.freenode.net', text: 'quitting' }),
      ],
    },
  ],
  'zeek-irc-353.pcap': [
    // A bare "353 " line from the client side: parsed, nothing to report, not a registration start.
    { clientPort: 65389, irc: false, events: [] },
    { clientPort: 65388, irc: false, events: [] },
  ],
  'zeek-contentline-irc-5k-line.pcap': [
    {
      clientPort: 50164,
      irc: true,
      // USER/NICK/JOIN with bare LF, never answered, then 5,200 bytes without a line feed: only the join request.
      events: [out({ type: 'join', subtype: 'request', localId: 'foo', remoteId: '#WEEEEEE', conversation: '#WEEEEEE', data: { request: true } })],
      check(frames) {
        expect(frames.map((f) => f.raw.length)).toEqual([9, 9, 14, 5200]);
        expect(frames.at(-1)!.error).toBeUndefined();
      },
    },
    {
      clientPort: 50164,
      irc: true,
      maxFrameSize: 1024,
      events: [out({ type: 'join', subtype: 'request', localId: 'foo', remoteId: '#WEEEEEE', conversation: '#WEEEEEE', data: { request: true } })],
      check(frames) {
        expect(frames.map((f) => [f.raw.length, f.error ?? null])).toEqual([
          [9, null],
          [9, null],
          [14, null],
          [1024, 'frame-too-large'],
          [5200 - 1024, null],
        ]);
      },
    },
    { clientPort: 50163, irc: false, events: [] },
    { clientPort: 50165, irc: false, events: [] },
  ],
  'zeek-irc-starttls.pcap': [
    {
      clientPort: 55123,
      irc: true,
      events: [],
      check(frames) {
        expect(frames[0]!.raw).toBe('STARTTLS\r\n');
        expect(frames[1]!.raw).toBe(':irc.joulunet.org 670  :STARTTLS successful, go ahead with TLS handshake\r\n');
        expect(frames[1]!.upgrade).toBe('tls');
        // After the switch: one pass-through run per direction, TLS records untouched.
        expect(frames.slice(2).map((f) => f.direction)).toEqual(['outgoing', 'incoming']);
        expect(frames.slice(2).every((f) => !f.events && !f.error)).toBe(true);
        expect(frames.slice(2).map((f) => f.raw.length)).toEqual([913 - 10, 1903 - 74]);
      },
    },
  ],
};
