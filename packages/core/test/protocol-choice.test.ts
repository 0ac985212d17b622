/**
 * The protocol choice without sockets: byte arrays in, decisions out, with the real plugins' sniffers. A first
 * message is cut at every byte offset: the decision is `wait` until enough of it is there, then the protocol.
 */
import { describe, expect, it } from 'vitest';
import type { Direction, ProtocolHooks } from '@imspect/sdk';
import { sniffIrc } from '../../plugin-irc/src/sniff.js';
import { sniffXmpp } from '../../plugin-jabber/src/sniff.js';
import { sniffMsn } from '../../plugin-msn/src/sniff.js';
import { chooseAtStart, chooseProtocol, MAX_SNIFF_BYTES, type Choosing, type ProtocolDecision } from '../src/proxy/protocol-choice.js';
import { ProtocolRegistry, type RegisteredProtocol } from '../src/proxy/protocols.js';
import { recordingLogger } from './helpers.js';

function plugin(name: string, ports: number[], tlsPorts: number[], sniff: ProtocolHooks['sniff']): RegisteredProtocol {
  return {
    name,
    maxFrameSize: 64 * 1024,
    hooks: {
      ports,
      tlsPorts,
      ...(sniff ? { sniff } : {}),
      createSession() {
        throw new Error('the choice never starts a session');
      },
    },
  };
}

const irc = plugin('irc', [6667], [6697], sniffIrc);
const jabber = plugin('jabber', [5222], [5223], sniffXmpp);
const msn = plugin('msn', [1863], [], (bytes, direction) => sniffMsn(bytes, direction));
const registry = new ProtocolRegistry([irc, jabber, msn], {}, recordingLogger());

const SNIFF: Choosing = { kind: 'sniff' };
const probing = (protocol: RegisteredProtocol): Choosing => ({ kind: 'probe', protocol });
/** A port no protocol names. */
const ODD = 4000;

const bytes = (text: string) => Buffer.from(text, 'latin1');

function decide(choosing: Choosing, port: number, outgoing: Uint8Array[], incoming: Uint8Array[] = [], latest: Direction = 'outgoing'): ProtocolDecision {
  return chooseProtocol(choosing, { port, latest, outgoing, incoming }, registry);
}

/**
 * The decision for every prefix of `message` (its first k bytes, k = 1..length), and for the message cut in two
 * chunks at every offset: the two chunks together must decide as the whole message does.
 */
function everyCut(choosing: Choosing, port: number, message: Uint8Array): { firstDecided: number; decided: ProtocolDecision } {
  let firstDecided = -1;
  let decided: ProtocolDecision = { kind: 'wait' };
  for (let k = 1; k <= message.length; k++) {
    const decision = decide(choosing, port, [message.subarray(0, k)]);
    if (firstDecided < 0) {
      if (decision.kind === 'wait') continue;
      firstDecided = k;
      decided = decision;
    } else {
      // Once decided, more bytes of the same message decide the same.
      expect(decision, `prefix of ${k} bytes`).toEqual(decided);
    }
  }
  const whole = decide(choosing, port, [message]);
  for (let i = 1; i < message.length; i++) {
    expect(decide(choosing, port, [message.subarray(0, i), message.subarray(i)]), `cut at ${i}`).toEqual(whole);
  }
  return { firstDecided, decided };
}

/** A TLS 1.2/1.3 ClientHello record with an SNI, as a client's first flight starts. */
function clientHello(name: string): Uint8Array {
  const host = Buffer.from(name, 'ascii');
  const sniEntry = Buffer.concat([Buffer.from([0x00]), u16(host.length), host]);
  const sniList = Buffer.concat([u16(sniEntry.length), sniEntry]);
  const extensions = Buffer.concat([u16(0x0000), u16(sniList.length), sniList]);
  const body = Buffer.concat([
    Buffer.from([0x03, 0x03]),
    Buffer.alloc(32, 0x5a), // random
    Buffer.from([0x20]),
    Buffer.alloc(32, 0xa5), // session id
    u16(4),
    Buffer.from([0x13, 0x01, 0x13, 0x02]), // cipher suites
    Buffer.from([0x01, 0x00]), // compression: null
    u16(extensions.length),
    extensions,
  ]);
  const handshake = Buffer.concat([Buffer.from([0x01, 0x00]), u16(body.length), body]);
  return Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), u16(handshake.length), handshake]);
}

function u16(n: number): Buffer {
  return Buffer.from([n >> 8, n & 0xff]);
}

const IRC_LOGIN = bytes('NICK alice\r\nUSER alice 0 * :Alice Liddell\r\n');
const XMPP_HEADER = bytes("<?xml version='1.0'?><stream:stream to='example.com' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>");
const MSN_VER = bytes('VER 1 MSNP8 CVR0\r\n');

describe('protocol choice at the start', () => {
  const start = (port: number, options: { forced?: RegisteredProtocol; midstream?: boolean; sniffTimeoutMs?: number } = {}, claims = registry) =>
    chooseAtStart({ port, forced: options.forced, midstream: options.midstream ?? false, sniffTimeoutMs: options.sniffTimeoutMs ?? 3000 }, claims);

  it('probes a port that names a protocol, sniffs one that does not', () => {
    expect(start(6667)).toEqual({ kind: 'probe', protocol: irc });
    expect(start(ODD)).toEqual({ kind: 'sniff' });
  });

  it('takes a TLS port as TLS of its protocol from the first byte', () => {
    expect(start(6697)).toEqual({ kind: 'tls', protocol: irc });
    expect(start(5223)).toEqual({ kind: 'tls', protocol: jabber });
    // The listener forces another protocol there: it is parsed, not taken as the TLS port's.
    expect(start(6697, { forced: jabber })).toEqual({ kind: 'parse', protocol: jabber });
  });

  it('parses at once without looking when the listener forces it, the stream is joined mid-way or there is no sniff time', () => {
    expect(start(ODD, { forced: msn })).toEqual({ kind: 'parse', protocol: msn });
    expect(start(6667, { midstream: true })).toEqual({ kind: 'parse', protocol: irc });
    expect(start(1863, { sniffTimeoutMs: 0 })).toEqual({ kind: 'parse', protocol: msn });
  });

  it('relays unparsed when nothing could tell', () => {
    expect(start(ODD, { sniffTimeoutMs: 0 })).toEqual({ kind: 'raw', reason: 'no protocol for this port' });
    expect(start(ODD, {}, new ProtocolRegistry([], {}, recordingLogger()))).toEqual({ kind: 'raw', reason: 'no protocol for this port' });
  });
});

describe('protocol choice on a port that names no protocol (sniffing)', () => {
  it('IRC: waits until NICK names a nick, then IRC on an odd port', () => {
    const { firstDecided, decided } = everyCut(SNIFF, ODD, IRC_LOGIN);
    expect(firstDecided).toBe('NICK a'.length);
    expect(decided).toEqual({ kind: 'parse', protocol: irc, ways: 'odd-port' });
  });

  it('XMPP: waits until the stream header names <stream:stream>, then XMPP', () => {
    const { firstDecided, decided } = everyCut(SNIFF, ODD, XMPP_HEADER);
    expect(firstDecided).toBe("<?xml version='1.0'?><stream:stream ".length);
    expect(decided).toEqual({ kind: 'parse', protocol: jabber, ways: 'odd-port' });
  });

  it('MSN: waits for the whole VER line, then MSN', () => {
    const { firstDecided, decided } = everyCut(SNIFF, ODD, MSN_VER);
    expect(firstDecided).toBe(MSN_VER.length);
    expect(decided).toEqual({ kind: 'parse', protocol: msn, ways: 'odd-port' });
  });

  it('MSN inside HTTP requests (its gateway): odd port and http', () => {
    const request = bytes('POST /gateway/gateway.dll?Action=open&Server=NS&IP=messenger.hotmail.com HTTP/1.1\r\nHost: gateway.messenger.hotmail.com\r\n\r\n');
    expect(decide(SNIFF, ODD, [request])).toEqual({ kind: 'parse', protocol: msn, ways: 'odd-port,http' });
  });

  it('a TLS ClientHello is let go unparsed once its first six bytes are there', () => {
    const { firstDecided, decided } = everyCut(SNIFF, ODD, clientHello('irc.example.net'));
    expect(firstDecided).toBe(6);
    expect(decided).toEqual({ kind: 'raw', reason: 'a TLS handshake (not intercepted): not IM' });
  });

  it("a server's greeting decides as well as a client's first line", () => {
    const greeting = bytes(':irc.example.net NOTICE * :*** Looking up your hostname...\r\n');
    // The client's bytes so far are looked at for HTTP only: here they say nothing.
    expect(decide(SNIFF, ODD, [], [greeting], 'incoming')).toEqual({ kind: 'parse', protocol: irc, ways: 'odd-port' });
    expect(decide(SNIFF, ODD, [], [greeting.subarray(0, 10)], 'incoming')).toEqual({ kind: 'wait' });
  });

  it('a CONNECT to an IM port through a proxy imspect does not run is unreadable', () => {
    const connect = bytes('CONNECT talk.example.org:5222 HTTP/1.1\r\nHost: talk.example.org:5222\r\n\r\n');
    expect(decide(SNIFF, 8080, [connect])).toEqual({
      kind: 'unreadable',
      what: 'proxy',
      protocol: 'jabber',
      reason: 'jabber through a proxy imspect does not run (CONNECT talk.example.org:5222)',
      tunnel: { host: 'talk.example.org', port: 5222 },
    });
    // To a port no protocol names: just not IM.
    const other = bytes('CONNECT www.example.org:443 HTTP/1.1\r\n\r\n');
    expect(decide(SNIFF, 8080, [other])).toEqual({ kind: 'raw', reason: 'an HTTP request no protocol claims: not IM' });
  });

  it('classic QQ is recognised, not parsed', () => {
    // Length (counting itself), flag, version, command (login), sequence, QQ number, end.
    const packet = Buffer.from([0x00, 0x0e, 0x02, 0x0f, 0x1f, 0x00, 0x22, 0x00, 0x01, 0x00, 0xbc, 0x61, 0x4e, 0x03]);
    const decision = decide(SNIFF, ODD, [packet]);
    expect(decision).toMatchObject({ kind: 'unreadable', what: 'qq', protocol: 'qq', reason: `QQ (OICQ) on port ${ODD}: recognised, not parsed` });
    expect(decision.kind === 'unreadable' && decision.qq).toEqual({ version: 0x0f1f, command: 0x22, sequence: 1, qqNumber: 12345678 });
    expect(decide(SNIFF, ODD, [packet.subarray(0, 13)])).toEqual({ kind: 'wait' });
  });

  it('gives up at the byte limit, at the end of the stream and at the end of the time', () => {
    const junk = Buffer.alloc(MAX_SNIFF_BYTES, 0x78);
    expect(decide(SNIFF, ODD, [junk.subarray(0, MAX_SNIFF_BYTES - 1)])).toEqual({ kind: 'wait' });
    expect(decide(SNIFF, ODD, [junk.subarray(0, 100), junk.subarray(100)])).toEqual({ kind: 'raw', reason: 'no protocol recognised the first bytes' });
    expect(chooseProtocol(SNIFF, { port: ODD, latest: 'ended', outgoing: [IRC_LOGIN.subarray(0, 3)], incoming: [] }, registry)).toEqual({
      kind: 'raw',
      reason: 'stream ended before a protocol was recognised',
    });
    expect(chooseProtocol(SNIFF, { port: ODD, latest: 'timeout', outgoing: [], incoming: [] }, registry)).toEqual({
      kind: 'raw',
      reason: 'no protocol recognised the first bytes in time',
    });
  });

  it('nothing seen yet on the side that spoke: wait', () => {
    expect(decide(SNIFF, ODD, [])).toEqual({ kind: 'wait' });
    expect(decide(probing(irc), 6667, [Buffer.alloc(0)])).toEqual({ kind: 'wait' });
  });
});

describe("protocol choice on a protocol's port (probing)", () => {
  it("IRC on IRC's port: waits while the first line could still be an HTTP request, then IRC", () => {
    const { firstDecided, decided } = everyCut(probing(irc), 6667, IRC_LOGIN);
    expect(firstDecided).toBe('NICK alice\r\n'.length);
    expect(decided).toEqual({ kind: 'parse', protocol: irc, ways: '' });
  });

  it("XMPP on XMPP's port: decided as soon as the bytes cannot be QQ or HTTP", () => {
    const { firstDecided, decided } = everyCut(probing(jabber), 5222, XMPP_HEADER);
    // "<" could start a QQ length; the third byte says it is not.
    expect(firstDecided).toBe(3);
    expect(decided).toEqual({ kind: 'parse', protocol: jabber, ways: '' });
  });

  it("MSN on MSN's port: decided once the request line cannot be HTTP", () => {
    const { firstDecided, decided } = everyCut(probing(msn), 1863, MSN_VER);
    expect(firstDecided).toBe('VER 1 M'.length);
    expect(decided).toEqual({ kind: 'parse', protocol: msn, ways: '' });
  });

  it("a TLS ClientHello on IRC's port is unreadable TLS once its first six bytes are there", () => {
    const { firstDecided, decided } = everyCut(probing(irc), 6667, clientHello('irc.example.net'));
    expect(firstDecided).toBe(6);
    expect(decided).toEqual({ kind: 'unreadable', what: 'tls', protocol: 'irc', reason: "TLS on irc's port 6667: encrypted, not intercepted" });
  });

  it("IRC on XMPP's port: other protocols are asked only once the first line cannot be HTTP", () => {
    const { firstDecided, decided } = everyCut(probing(jabber), 5222, IRC_LOGIN);
    expect(firstDecided).toBe('NICK alice\r\n'.length);
    expect(decided).toEqual({ kind: 'parse', protocol: irc, ways: 'odd-port' });
  });

  it('another protocol that recognises the first message takes it: IM on an odd port', () => {
    expect(decide(probing(irc), 6667, [MSN_VER])).toEqual({ kind: 'parse', protocol: msn, ways: 'odd-port' });
    expect(decide(probing(jabber), 5222, [IRC_LOGIN])).toEqual({ kind: 'parse', protocol: irc, ways: 'odd-port' });
  });

  it("an HTTP request the port's protocol does not claim is unreadable, once its head is whole", () => {
    const request = bytes('GET / HTTP/1.1\r\nHost: irc.example.net\r\n\r\n');
    const { firstDecided, decided } = everyCut(probing(irc), 6667, request);
    expect(firstDecided).toBe(request.length);
    expect(decided).toEqual({ kind: 'unreadable', what: 'unknown', protocol: 'irc', reason: "an HTTP request on irc's port 6667, not irc" });
    // On a port mapped to the protocol by configuration, not one of its own: parsed by it.
    expect(decide(probing(irc), 8888, [request])).toEqual({ kind: 'parse', protocol: irc, ways: '' });
  });

  it('HTTP the protocol claims is its own, carried in HTTP', () => {
    const request = bytes('POST /gateway/gateway.dll?Action=open HTTP/1.1\r\nHost: gateway.messenger.hotmail.com\r\n\r\n');
    expect(decide(probing(msn), 80, [request])).toEqual({ kind: 'parse', protocol: msn, ways: 'http' });
  });

  it('the server speaking first, the end of the stream and the end of the time all go to the port protocol', () => {
    expect(decide(probing(irc), 6667, [], [bytes('x')], 'incoming')).toEqual({ kind: 'parse', protocol: irc, ways: '' });
    for (const latest of ['ended', 'timeout'] as const) {
      expect(chooseProtocol(probing(irc), { port: 6667, latest, outgoing: [bytes('NI')], incoming: [] }, registry)).toEqual({ kind: 'parse', protocol: irc, ways: '' });
    }
  });
});

describe('the registry as protocol-choice asks it', () => {
  it('a throwing or missing sniff claims nothing', () => {
    const throwing = plugin('throwing', [7777], [], () => {
      throw new Error('boom');
    });
    const silent = plugin('silent', [7778], [], undefined);
    const claims = new ProtocolRegistry([throwing, silent, irc], {}, recordingLogger());
    expect(claims.claims(throwing, IRC_LOGIN)).toBe(false);
    expect(claims.claims(silent, IRC_LOGIN)).toBe(false);
    expect(claims.claims(irc, IRC_LOGIN)).toBe(true);
    // IRC on the throwing protocol's port is IRC's, on an odd port.
    expect(chooseProtocol(probing(throwing), { port: 7777, latest: 'outgoing', outgoing: [IRC_LOGIN], incoming: [] }, claims)).toEqual({
      kind: 'parse',
      protocol: irc,
      ways: 'odd-port',
    });
  });
});
