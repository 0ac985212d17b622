/**
 * Whole sessions written from the protocol documentation (Shutko's OSCAR documentation as mirrored from
 * iserverd, the libpurple sign-on notes): an AIM login with BUCP MD5 and an ICQ login with the roasted password,
 * each followed by the cookie's BOS connection; messages in each charset, typing, a file offer, feedbag edits,
 * offline messages. Every transcript is also checked at every single cut and in random chunk sizes.
 */
import { describe, expect, it } from 'vitest';
import { OscarRoutes } from '../src/routes.js';
import {
  bytes,
  CLIENT,
  clientTlvs,
  COOKIE,
  expectSplitInvariant,
  fileOffer,
  newSession,
  flap,
  inc,
  name8,
  out,
  receiveIm,
  run,
  sendIm,
  snac,
  tlv,
  typing,
  u16,
  u16le,
  u32,
  u32le,
  u8,
  ucs2,
  type Step,
} from './helpers.js';

const AUTHORIZER = 'login.oscar.example';
const BOS = { host: '192.0.2.50', port: 5190 };
/** The authorizer's 256-byte cookie. */
const AUTH_COOKIE = Buffer.alloc(256, 0x5a);
const HELLO = u32(1);
const ROAST = [0xf3, 0x26, 0x81, 0xc4, 0x39, 0x86, 0xdb, 0x92, 0x71, 0xa3, 0xb9, 0xe6, 0x53, 0x7a, 0x95, 0x7c];
const PASSWORD = 'hunter2-secret';
const roasted = Buffer.from([...Buffer.from(PASSWORD)].map((b, i) => b ^ ROAST[i % ROAST.length]!));
const MD5_HASH = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const CLIENT_DATA = { client: CLIENT.id, version: `${CLIENT.major}.${CLIENT.minor}.${CLIENT.lesser}.${CLIENT.build}`, 'client-id': 0x0109 };

/** AIM: hello both ways, 0x17/0x06 key request, 0x17/0x07 key, 0x17/0x02 MD5 login, 0x17/0x03 BOS and cookie. */
function aimLogin(screenName: string): Step[] {
  return [
    inc(flap(1, 0x1000, HELLO)),
    out(flap(1, 0x2000, HELLO)),
    out(snac(0x2001, 0x17, 0x06, Buffer.concat([tlv(0x0001, screenName), tlv(0x004b, ''), tlv(0x005a, '')]), 1)),
    inc(snac(0x1001, 0x17, 0x07, Buffer.concat([u16(10), Buffer.from('1234567890')]), 1)),
    out(snac(0x2002, 0x17, 0x02, Buffer.concat([tlv(0x0001, screenName), tlv(0x0025, MD5_HASH), tlv(0x004c, ''), ...clientTlvs()]), 2)),
    inc(snac(0x1002, 0x17, 0x03, Buffer.concat([tlv(0x0001, screenName), tlv(0x0005, `${BOS.host}:${BOS.port}`), tlv(0x0006, AUTH_COOKIE), tlv(0x0011, 'me@example.com')]), 2)),
  ];
}

/** ICQ: hello, then the channel-1 login with the UIN and roasted password; the channel-4 reply names the BOS. */
function icqLogin(uin: string): Step[] {
  return [
    inc(flap(1, 0x3000, HELLO)),
    out(flap(1, 0x4000, Buffer.concat([HELLO, tlv(0x0001, uin), tlv(0x0002, roasted), ...clientTlvs(), tlv(0x0014, u32(0x55))]))),
    inc(flap(4, 0x3001, Buffer.concat([tlv(0x0001, uin), tlv(0x0005, `${BOS.host}:${BOS.port}`), tlv(0x0006, AUTH_COOKIE)]))),
  ];
}

/** The BOS connection: hello, the client's cookie, the server's families (messaging among them). */
function bosSignOn(): Step[] {
  return [
    inc(flap(1, 0x5000, HELLO)),
    out(flap(1, 0x6000, Buffer.concat([HELLO, tlv(0x0006, AUTH_COOKIE)]))),
    inc(snac(0x5001, 1, 3, Buffer.concat([1, 2, 3, 4, 0x13, 0x15].map(u16)))),
  ];
}

describe('AIM login (BUCP MD5) and BOS hand-off', () => {
  it('reports the client on the login request and the login on the reply; the password hash never appears', () => {
    const whole = expectSplitInvariant(aimLogin('Some User'), { host: AUTHORIZER, randomRuns: 20 });
    expect(whole.events).toEqual([
      { direction: 'outgoing', type: 'other', subtype: 'client', localId: 'someuser', remoteId: AUTHORIZER, data: { ...CLIENT_DATA, auth: 'md5' } },
      { direction: 'incoming', type: 'login', localId: 'someuser', remoteId: AUTHORIZER, data: CLIENT_DATA },
    ]);
    expect(JSON.stringify(whole.events)).not.toContain(MD5_HASH.toString('latin1'));
    expect(JSON.stringify(whole.events)).not.toContain(MD5_HASH.toString('hex'));
    expect(whole.session.localId).toBe('someuser');
  });

  it('marks the frames that carry the password hash or the cookie as secret, and only those', () => {
    const session = newSession();
    const secret = aimLogin('someuser')
      .flatMap((s) => session.push(s.direction, s.data))
      .map((f) => f.secret === true);
    // hello, hello, key request, key: no; MD5 login: yes; reply with the cookie: yes.
    expect(secret).toEqual([false, false, false, false, true, true]);
    const bos = newSession();
    expect(
      bosSignOn()
        .flatMap((s) => bos.push(s.direction, s.data))
        .map((f) => f.secret === true),
    ).toEqual([false, true, false]);
    const icq = newSession();
    expect(
      icqLogin('1234')
        .flatMap((s) => icq.push(s.direction, s.data))
        .map((f) => f.secret === true),
    ).toEqual([false, true, true]);
  });

  it('a refused login: login-failed with the error code, no login', () => {
    const steps = aimLogin('someuser').slice(0, 5);
    steps.push(inc(snac(0x1002, 0x17, 0x03, Buffer.concat([tlv(0x0001, 'someuser'), tlv(0x0008, u16(0x0005)), tlv(0x0004, 'http://example/err')]), 2)));
    const whole = expectSplitInvariant(steps, { host: AUTHORIZER, randomRuns: 10 });
    expect(whole.events.map((e) => [e.type, e.subtype, e.data])).toEqual([
      ['other', 'client', { ...CLIENT_DATA, auth: 'md5' }],
      ['other', 'login-failed', { error: 5 }],
    ]);
  });

  it('the BOS connection learns the local user and client from the cookie; messages, typing and logout follow', () => {
    const routes = new OscarRoutes();
    run(aimLogin('Some User'), { host: AUTHORIZER, options: { routes } });
    const bos: Step[] = [
      ...bosSignOn(),
      out(sendIm(0x6001, 'Buddy One', bytes('hello <b>there</b>'))),
      out(typing(0x6002, 'Buddy One', 2)),
      inc(typing(0x5002, 'buddyone', 0)),
      inc(receiveIm(0x5003, 'BuddyOne', ucs2('Grüße, 世界'), 2)),
      inc(receiveIm(0x5004, 'buddyone', bytes('sent while you were away'), 0, [tlv(0x0016, u32(1250141317))])),
      out(flap(4, 0x6003, Buffer.alloc(0))),
    ];
    const whole = expectSplitInvariant(bos, { host: BOS.host, options: { routes }, randomRuns: 20 });
    expect(whole.events).toEqual([
      { direction: 'outgoing', type: 'message', localId: 'someuser', remoteId: 'buddyone', text: 'hello there', data: { html: 'hello <b>there</b>' } },
      { direction: 'outgoing', type: 'typing', subtype: 'active', localId: 'someuser', remoteId: 'buddyone' },
      { direction: 'incoming', type: 'typing', subtype: 'done', localId: 'someuser', remoteId: 'buddyone' },
      { direction: 'incoming', type: 'message', localId: 'someuser', remoteId: 'buddyone', text: 'Grüße, 世界' },
      {
        direction: 'incoming',
        type: 'message',
        subtype: 'offline',
        localId: 'someuser',
        remoteId: 'buddyone',
        text: 'sent while you were away',
        data: { offline: true, sent: '2009-08-13T05:28:37.000Z' },
      },
      { direction: 'outgoing', type: 'logout', localId: 'someuser', remoteId: BOS.host },
    ]);
  });

  it('the BOS server signing the user off (channel 4, TLV 9 1: signed on elsewhere) is a logout with the code as `error`', () => {
    const routes = new OscarRoutes();
    run(aimLogin('Some User'), { host: AUTHORIZER, options: { routes } });
    const bos: Step[] = [...bosSignOn(), inc(flap(4, 0x5009, tlv(0x0009, u16(1))))];
    const whole = expectSplitInvariant(bos, { host: BOS.host, options: { routes } });
    expect(whole.events).toEqual([{ direction: 'incoming', type: 'logout', subtype: 'disconnected', localId: 'someuser', remoteId: BOS.host, data: { error: 1 } }]);
  });

  it('without the login, the BOS server’s own user info (0x01/0x0F) names the local user', () => {
    const steps: Step[] = [inc(snac(7, 1, 0x0f, Buffer.concat([name8('Some User'), u16(0), u16(0)]))), out(sendIm(8, 'buddy', bytes('hi')))];
    const whole = expectSplitInvariant(steps, { midstream: true });
    expect(whole.events).toEqual([{ direction: 'outgoing', type: 'message', localId: 'someuser', remoteId: 'buddy', text: 'hi' }]);
  });

  it('a BOS sign-on whose authorizer reply was not seen: the login is reported at 0x01/0x02 (client ready), once', () => {
    const clientReady = out(snac(0x6005, 1, 2, Buffer.alloc(16)));
    const steps: Step[] = [
      ...bosSignOn(),
      inc(snac(0x5002, 1, 0x0f, Buffer.concat([name8('Other User'), u16(0), u16(0)]))),
      clientReady,
      out(snac(0x6006, 1, 2, Buffer.alloc(16))),
    ];
    const unseen = expectSplitInvariant(steps, { host: BOS.host });
    expect(unseen.events).toEqual([{ direction: 'outgoing', type: 'login', subtype: 'bos', localId: 'otheruser', remoteId: BOS.host }]);
    // After the authorizer's reply was seen (and reported), the BOS connection reports no second login.
    const routes = new OscarRoutes();
    run(aimLogin('Other User'), { host: AUTHORIZER, options: { routes } });
    expect(run(steps, { host: BOS.host, options: { routes } }).events).toEqual([]);
  });
});

describe('ICQ login (roasted password) and BOS hand-off', () => {
  it('reports client and login; the roasted password never appears', () => {
    const whole = expectSplitInvariant(icqLogin('123456789'), { host: AUTHORIZER, randomRuns: 20 });
    expect(whole.events).toEqual([
      { direction: 'outgoing', type: 'other', subtype: 'client', localId: '123456789', remoteId: AUTHORIZER, data: { ...CLIENT_DATA, auth: 'roasted' } },
      { direction: 'incoming', type: 'login', localId: '123456789', remoteId: AUTHORIZER, data: CLIENT_DATA },
    ]);
    const text = JSON.stringify(whole.events);
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(roasted.toString('latin1'));
  });

  it('on the BOS: Latin-1 and ASCII messages, ICQ channel 4, offline messages, feedbag edits', () => {
    const routes = new OscarRoutes();
    run(icqLogin('123456789'), { host: AUTHORIZER, options: { routes } });
    const offline = (from: number, text: string) => {
      const body = Buffer.concat([u32le(from), u16le(2008), u8(7), u8(14), u8(21), u8(5), u8(1), u8(0), u16le(text.length + 1), Buffer.from(`${text}\0`, 'latin1')]);
      const block = Buffer.concat([u32le(123456789), u16le(0x41), u16le(2), body]);
      return inc(snac(0x5010, 0x15, 0x03, tlv(0x0001, Buffer.concat([u16le(block.length), block]))));
    };
    const legacy = (from: string, uin: number, text: string) => {
      const block = Buffer.concat([u32le(uin), u8(1), u8(0), u16le(text.length + 1), Buffer.from(`${text}\0`, 'latin1')]);
      return inc(snac(0x5011, 4, 7, Buffer.concat([COOKIE, u16(4), name8(from), u16(0), u16(0), tlv(0x0005, block)])));
    };
    const item = (name: string, group: number, id: number, itemClass: number) => Buffer.concat([u16(name.length), Buffer.from(name), u16(group), u16(id), u16(itemClass), u16(0)]);
    const roster = Buffer.concat([u8(0), u16(2), item('', 0, 0, 1), item('Friends', 7, 0, 1), u32(0)]);
    const bos: Step[] = [
      ...bosSignOn(),
      inc(snac(0x5002, 0x13, 0x06, roster)),
      out(snac(0x6001, 0x15, 0x02, tlv(0x0001, Buffer.concat([u16le(8), u32le(123456789), u16le(0x3c), u16le(1)])))),
      offline(555, 'while you were away'),
      out(sendIm(0x6002, '555', Buffer.from('café crème', 'latin1'), 3)),
      inc(receiveIm(0x5003, '555', bytes('plain ascii & no markup'))),
      legacy('555', 555, 'old client says hi'),
      out(snac(0x6003, 0x13, 0x08, item('777', 7, 12, 0))),
      out(snac(0x6004, 0x13, 0x0a, item('888', 7, 13, 0))),
      out(snac(0x6005, 0x13, 0x08, item('999', 0, 14, 3))),
    ];
    const whole = expectSplitInvariant(bos, { host: BOS.host, options: { routes }, randomRuns: 20 });
    const me = '123456789';
    expect(whole.events).toEqual([
      {
        direction: 'incoming',
        type: 'message',
        subtype: 'offline',
        localId: me,
        remoteId: '555',
        text: 'while you were away',
        data: { offline: true, sent: '2008-07-14T21:05Z' },
      },
      { direction: 'outgoing', type: 'message', localId: me, remoteId: '555', text: 'café crème' },
      { direction: 'incoming', type: 'message', localId: me, remoteId: '555', text: 'plain ascii & no markup' },
      { direction: 'incoming', type: 'message', subtype: 'icq', localId: me, remoteId: '555', text: 'old client says hi' },
      { direction: 'outgoing', type: 'contact', subtype: 'add', localId: me, remoteId: '777', data: { group: 'Friends' } },
      { direction: 'outgoing', type: 'contact', subtype: 'remove', localId: me, remoteId: '888', data: { group: 'Friends' } },
      { direction: 'outgoing', type: 'contact', subtype: 'block', localId: me, remoteId: '999' },
    ]);
    // Messages on channels 1 and 4 can be rewritten; offline messages (already stored) cannot.
    expect(whole.frames.filter((f) => f.rewritable).map((f) => f.events![0]!.text)).toEqual(['café crème', 'plain ascii & no markup', 'old client says hi']);
  });
});

describe('ICQ messages relayed on channel 2 (server relay)', () => {
  /** 4/0x07 channel 2, capability 09461349, the extension data as the ICQ protocol notes lay it out. */
  const relay = (from: string, type: number, text: Buffer, guid: string) => {
    const ext = Buffer.concat([
      u16le(27),
      u16le(8),
      Buffer.alloc(16),
      u16(0),
      u32le(3),
      u8(0),
      u16le(0xfffe),
      u16le(14),
      u16le(0xfffe),
      Buffer.alloc(12),
      u8(type),
      u8(0),
      u16le(0),
      u16le(0x21),
      u16le(text.length + 1),
      text,
      u8(0),
      u32(0),
      u32(0x00ffffff),
      u32le(guid.length),
      Buffer.from(guid, 'latin1'),
    ]);
    const rendezvous = Buffer.concat([u16(0), COOKIE, Buffer.from('094613494c7f11d18222444553540000', 'hex'), tlv(0x000a, u16(1)), tlv(0x000f, ''), tlv(0x2711, ext)]);
    return inc(snac(0x70, 4, 7, Buffer.concat([COOKIE, u16(2), name8(from), u16(0), u16(0), tlv(0x0005, rendezvous)])));
  };

  it('gives the text, UTF-8 when the GUID says so, else as the plain charset; away-message requests are no messages', () => {
    const steps: Step[] = [
      relay('555', 1, Buffer.from('Привет, 世界', 'utf8'), '{0946134E-4C7F-11D1-8222-444553540000}'),
      relay('555', 1, Buffer.from('d\xe9j\xe0 vu', 'latin1'), ''),
      relay('555', 0xe8, Buffer.alloc(0), ''),
    ];
    const whole = expectSplitInvariant(steps, { midstream: true });
    expect(whole.events).toEqual([
      { direction: 'incoming', type: 'message', subtype: 'icq', localId: '*', remoteId: '555', text: 'Привет, 世界' },
      { direction: 'incoming', type: 'message', subtype: 'icq', localId: '*', remoteId: '555', text: 'déjà vu' },
    ]);
  });
});

describe('AIM chat rooms', () => {
  it('the room joined, messages both ways (the room’s reflection of the user’s own left out), the leave', () => {
    const routes = new OscarRoutes();
    // On the BOS connection (local user known), the redirect to the chat service hands out a cookie.
    const chatCookie = Buffer.alloc(64, 9);
    const bos: Step[] = [
      ...bosSignOn(),
      inc(snac(0x5002, 1, 0x0f, Buffer.concat([name8('Some User'), u16(0), u16(0)]))),
      inc(snac(0x5003, 1, 5, Buffer.concat([tlv(0x000d, u16(0x0e)), tlv(0x0005, '192.0.2.60'), tlv(0x0006, chatCookie)]))),
    ];
    run(bos, { host: BOS.host, options: { routes } });
    const info = (text: string | Buffer, encoding: string) => tlv(0x0005, Buffer.concat([tlv(0x0002, encoding), tlv(0x0003, 'en'), tlv(0x0001, text)]));
    const toRoom = (text: string) => out(snac(0x7001, 0x0e, 0x05, Buffer.concat([COOKIE, u16(3), tlv(0x0001, ''), tlv(0x0006, ''), info(text, 'us-ascii')])));
    const fromRoom = (who: string, text: string | Buffer, encoding = 'us-ascii') =>
      inc(snac(0x7002, 0x0e, 0x06, Buffer.concat([COOKIE, u16(3), tlv(0x0003, Buffer.concat([name8(who), u16(0), u16(0)])), tlv(0x0001, ''), info(text, encoding)])));
    const cookie = Buffer.from('!aol://2719:10-4-lobby', 'latin1');
    const roomInfo = inc(snac(0x7000, 0x0e, 0x02, Buffer.concat([u16(4), u8(cookie.length), cookie, u16(0), u8(2), u16(1), tlv(0x00d3, 'The Lobby')])));
    const steps: Step[] = [
      inc(flap(1, 1, HELLO)),
      out(flap(1, 2, Buffer.concat([HELLO, tlv(0x0006, chatCookie)]))),
      roomInfo,
      toRoom('<HTML><BODY>hi all</BODY></HTML>'),
      fromRoom('Some User', '<HTML><BODY>hi all</BODY></HTML>'),
      fromRoom('Carol', ucs2('héllo'), 'unicode-2-0'),
      roomInfo,
      out(flap(4, 3, Buffer.alloc(0))),
    ];
    const whole = expectSplitInvariant(steps, { host: '192.0.2.60', options: { routes } });
    const room = { localId: 'someuser', remoteId: 'The Lobby', conversation: 'The Lobby' };
    expect(whole.events).toEqual([
      { direction: 'incoming', type: 'join', subtype: 'chat', ...room },
      { direction: 'outgoing', type: 'message', subtype: 'chat', ...room, text: 'hi all', data: { html: '<HTML><BODY>hi all</BODY></HTML>' } },
      { direction: 'incoming', type: 'message', subtype: 'chat', ...room, text: 'héllo', data: { from: 'carol' } },
      { direction: 'outgoing', type: 'leave', subtype: 'chat', ...room },
    ]);
  });
});

describe('rendezvous', () => {
  it('a file offer names file and size; the accept and cancel are reported with the service', () => {
    const SEND_FILE = Buffer.from('094613434c7f11d18222444553540000', 'hex');
    const answer = (type: number) =>
      inc(snac(9, 4, 7, Buffer.concat([COOKIE, u16(2), name8('buddy'), u16(0), u16(0), tlv(0x0005, Buffer.concat([u16(type), COOKIE, SEND_FILE]))])));
    const directIm = out(
      snac(
        10,
        4,
        6,
        Buffer.concat([
          COOKIE,
          u16(2),
          name8('buddy'),
          tlv(0x0005, Buffer.concat([u16(0), COOKIE, Buffer.from('094613454c7f11d18222444553540000', 'hex'), tlv(0x0005, u16(4443))])),
        ]),
      ),
    );
    const steps: Step[] = [out(fileOffer(8, 'Buddy', 'report 2009.docx', 123456)), answer(2), answer(1), directIm];
    const whole = expectSplitInvariant(steps, { midstream: true });
    expect(whole.events).toEqual([
      {
        direction: 'outgoing',
        type: 'file',
        subtype: 'file-transfer',
        localId: '*',
        remoteId: 'buddy',
        file: { name: 'report 2009.docx', size: 123456 },
        data: { service: 'file-transfer', address: '192.0.2.1', port: 5190 },
      },
      { direction: 'incoming', type: 'other', subtype: 'rendezvous-accept', localId: '*', remoteId: 'buddy', data: { service: 'file-transfer' } },
      { direction: 'incoming', type: 'other', subtype: 'rendezvous-cancel', localId: '*', remoteId: 'buddy', data: { service: 'file-transfer' } },
      { direction: 'outgoing', type: 'other', subtype: 'direct-connect', localId: '*', remoteId: 'buddy', data: { service: 'direct-connect', port: 4443 } },
    ]);
  });

  it('an offer of several files counts them: port and count are numbers', () => {
    const whole = expectSplitInvariant([out(fileOffer(8, 'Buddy', 'holiday', 7_340_032, 3))], { midstream: true });
    expect(whole.events).toEqual([
      {
        direction: 'outgoing',
        type: 'file',
        subtype: 'file-transfer',
        localId: '*',
        remoteId: 'buddy',
        file: { name: 'holiday', size: 7_340_032 },
        data: { service: 'file-transfer', address: '192.0.2.1', port: 5190, files: 3 },
      },
    ]);
  });
});

describe('forward listeners: the BOS hand-off is pointed at imspect', () => {
  const listener = { host: '127.0.0.1', port: 15190 };

  it('rewrites the BOS address of a BUCP reply (lengths fixed) and routes the cookie’s connection to the real BOS', () => {
    const routes = new OscarRoutes();
    const whole = expectSplitInvariant(aimLogin('someuser'), { host: AUTHORIZER, listener, options: { routes }, randomRuns: 10, compareForwarded: true });
    const reply = whole.frames.at(-1)!;
    expect(reply.replacement).toBeDefined();
    const replaced = Buffer.from(reply.replacement!, 'latin1');
    expect(replaced.readUInt16BE(4)).toBe(replaced.length - 6);
    expect(replaced.toString('latin1')).toContain('127.0.0.1:15190');
    expect(replaced.toString('latin1')).not.toContain(BOS.host);
    // The cookie is still there, whole.
    expect(replaced.includes(AUTH_COOKIE)).toBe(true);

    const signOn = flap(1, 1, Buffer.concat([HELLO, tlv(0x0006, AUTH_COOKIE)]));
    expect(routes.route(signOn.subarray(0, 20), { ip: '192.0.2.1', port: 1 })).toBe('more');
    expect(routes.route(signOn, { ip: '192.0.2.1', port: 1 })).toEqual(BOS);
    expect(routes.route(flap(1, 1, Buffer.concat([HELLO, tlv(0x0006, Buffer.alloc(256, 1))])), { ip: '192.0.2.1', port: 1 })).toBeUndefined();
    expect(routes.route(Buffer.from('GET / HTTP/1.1\r\n'), { ip: '192.0.2.1', port: 1 })).toBeUndefined();
  });

  it('rewrites the channel-4 reply of an ICQ login the same way; without a listener nothing is replaced', () => {
    const routes = new OscarRoutes();
    const forward = run(icqLogin('123456789'), { host: AUTHORIZER, listener, options: { routes } });
    const replaced = Buffer.from(forward.frames.at(-1)!.replacement!, 'latin1');
    expect(replaced[1]).toBe(4);
    expect(replaced.readUInt16BE(4)).toBe(replaced.length - 6);
    expect(replaced.toString('latin1')).toContain('127.0.0.1:15190');
    expect(routes.route(flap(1, 1, Buffer.concat([HELLO, tlv(0x0006, AUTH_COOKIE)])), { ip: '192.0.2.9', port: 1 })).toEqual(BOS);

    const socks = run(icqLogin('123456789'), { host: AUTHORIZER });
    expect(socks.frames.some((f) => f.replacement !== undefined)).toBe(false);
  });

  it('a service redirect (0x01/0x05) is rewritten too', () => {
    const routes = new OscarRoutes();
    const serviceCookie = Buffer.alloc(64, 7);
    const steps: Step[] = [...bosSignOn(), inc(snac(0x5002, 1, 5, Buffer.concat([tlv(0x000d, u16(0x10)), tlv(0x0005, '192.0.2.77'), tlv(0x0006, serviceCookie)])))];
    const whole = run(steps, { host: BOS.host, listener, options: { routes } });
    const replaced = Buffer.from(whole.frames.at(-1)!.replacement!, 'latin1');
    expect(replaced.toString('latin1')).toContain('127.0.0.1:15190');
    expect(replaced.readUInt16BE(4)).toBe(replaced.length - 6);
    expect(routes.route(flap(1, 1, Buffer.concat([HELLO, tlv(0x0006, serviceCookie)])), { ip: '192.0.2.1', port: 1 })).toEqual({ host: '192.0.2.77', port: 5190 });
  });

  it('greeted by the listener: the server’s own hello is dropped once (an empty replacement), nothing else', () => {
    const session = newSession({ listener, greeted: true });
    const hello = session.push('incoming', flap(1, 1, HELLO));
    expect(hello[0]!.replacement).toEqual(new Uint8Array(0));
    expect(session.push('incoming', flap(1, 2, HELLO))[0]!.replacement).toBeUndefined();
    const plain = newSession({ listener });
    expect(plain.push('incoming', flap(1, 1, HELLO))[0]!.replacement).toBeUndefined();
  });
});
