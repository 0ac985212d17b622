/**
 * MSNP8 to MSNP21 transcripts written from the protocol documentation: events, split invariance, rewrite,
 * respond, and the forward-mode redirect rewriting.
 */
import { describe, expect, it } from 'vitest';
import type { Direction, EventDraft, ImEvent } from '@imspect/sdk';
import { MsnRoutes } from '../src/routes.js';
import { dec, enc, newSession, run, script, type Step } from './helpers.js';
import { expectSplitInvariant } from './invariance.js';
import * as T from './transcripts.js';

type Expected = EventDraft & { direction: Direction };
const out = (e: EventDraft): Expected => ({ direction: 'outgoing', ...e });
const inc = (e: EventDraft): Expected => ({ direction: 'incoming', ...e });
const NS = 'ns.example.net';

/** Every frame is one command: the line, plus exactly the payload its last word counts. */
function expectOneCommandPerFrame(steps: readonly Step[]): void {
  const result = run(steps);
  expect(result.frames).toHaveLength(steps.length);
  result.frames.forEach((frame, i) => {
    expect(frame.raw).toBe(dec(steps[i]!.data));
    expect(frame.error).toBeUndefined();
  });
}

describe('MSNP11 login (the transcript in shared/protocols/README.md)', () => {
  it('dispatch server: only the client report; the XFR to the notification server passes untouched without a forward listener', () => {
    const whole = expectSplitInvariant(T.MSNP11_DISPATCH);
    expect(whole.events).toEqual([
      out({ type: 'other', subtype: 'client', localId: 'cndes2005@hotmail.com', remoteId: NS, data: { client: 'MSNMSGR', version: '7.0.0777', 'protocol-version': 'MSNP11' } }),
    ]);
    expect(whole.frames.some((f) => f.replacement)).toBe(false);
    expectOneCommandPerFrame(T.MSNP11_DISPATCH);
  });

  it('notification server: login with address and client version, contact changes, logout', () => {
    const whole = expectSplitInvariant(T.MSNP11_NOTIFICATION);
    const me = 'cndes2005@hotmail.com';
    expect(whole.events).toEqual([
      out({ type: 'other', subtype: 'client', localId: me, remoteId: NS, data: { client: 'MSNMSGR', version: '7.0.0777', 'protocol-version': 'MSNP11' } }),
      inc({ type: 'login', localId: me, remoteId: NS, data: { client: 'MSNMSGR', version: '7.0.0777', 'protocol-version': 'MSNP11' } }),
      // UUX: her personal message before any CHG (no status code yet); UBX: a contact's, before any NLN.
      out({ type: 'other', subtype: 'status', localId: me, remoteId: NS, data: { status: 'unknown', description: 'at work' } }),
      inc({ type: 'contact', subtype: 'status', localId: me, remoteId: 'friend@hotmail.com', data: { status: 'unknown', description: '\u4f60\u597d' } }),
      out({ type: 'contact', subtype: 'add', localId: me, remoteId: 'newfriend@hotmail.com', data: { list: 'FL' } }),
      // Someone added alice (reverse list): not her own addition.
      inc({ type: 'contact', subtype: 'list', localId: me, remoteId: 'stranger@hotmail.com', data: { list: 'RL' } }),
      // REM by contact GUID: the GUID came with the ADC reply.
      out({ type: 'contact', subtype: 'remove', localId: me, remoteId: 'newfriend@hotmail.com', data: { list: 'FL' } }),
      out({ type: 'logout', localId: me, remoteId: NS }),
    ]);
    expect(whole.session.version).toBe(11);
    expectOneCommandPerFrame(T.MSNP11_NOTIFICATION);
  });
});

describe('the client machine (for the monitoring notice per client)', () => {
  it('is the MSNP18 machine GUID of the SSO login or of a switchboard endpoint; none before MSNP18', () => {
    const ns = newSession();
    ns.push('outgoing', enc('USR 3 SSO I alice@live.com\r\n'));
    expect(ns.clientId).toBeUndefined();
    ns.push('outgoing', enc('USR 4 SSO S t=ticket response {F26D1F07-95E2-403C-BC18-D4BFED493428}\r\n'));
    expect(ns.clientId).toBe('{f26d1f07-95e2-403c-bc18-d4bfed493428}');
    const sb = newSession();
    sb.push('outgoing', enc('ANS 1 alice@live.com;{0A1B2C3D-95E2-403C-BC18-D4BFED493428} 1234.5678 99\r\n'));
    expect(sb.clientId).toBe('{0a1b2c3d-95e2-403c-bc18-d4bfed493428}');
    const old = newSession();
    for (const step of T.MSNP15_NOTIFICATION) old.push(step.direction, step.data);
    expect(old.clientId).toBeUndefined();
  });
});

describe('MSNP15 notification server', () => {
  it('SSO login, the sign-in ADL is no change, later ADL/RML are, Yahoo messages (UUM/UBM); payload commands framed', () => {
    const whole = expectSplitInvariant(T.MSNP15_NOTIFICATION);
    const me = 'alice@live.com';
    expect(whole.events).toEqual([
      out({ type: 'other', subtype: 'client', localId: me, remoteId: NS, data: { client: 'MSNMSGR', version: '8.5.1302', 'protocol-version': 'MSNP15' } }),
      inc({ type: 'login', localId: me, remoteId: NS, data: { client: 'MSNMSGR', version: '8.5.1302', 'protocol-version': 'MSNP15' } }),
      out({ type: 'other', subtype: 'status', localId: me, remoteId: NS, data: { status: 'online', 'protocol-status': 'NLN' } }),
      out({ type: 'contact', subtype: 'add', localId: me, remoteId: 'carol@example.com', data: { list: 'FL' } }),
      out({ type: 'contact', subtype: 'remove', localId: me, remoteId: 'bob@live.com', data: { list: 'FL' } }),
      out({ type: 'message', localId: me, remoteId: 'yuser@yahoo.com', text: 'hello yahoo' }),
      inc({ type: 'message', localId: me, remoteId: 'yuser@yahoo.com', text: 'hello from yahoo' }),
      out({ type: 'logout', localId: me, remoteId: NS }),
    ]);
    // MSG from Hotmail, NOT, 241 with a payload, GCF, IPG: each one frame with its payload.
    expectOneCommandPerFrame(T.MSNP15_NOTIFICATION);
  });
});

const ME = 'alice@live.com';
const BOB = 'bob@live.com';
const CAROL = 'carol@live.com';

describe('MSNP18 switchboard (endpoint ids, multiple points of presence)', () => {
  it('messages, typing, P2P file/webcam/display picture/emoticon offers, a legacy file invite, a group, leaves', () => {
    const whole = expectSplitInvariant(T.MSNP18_SWITCHBOARD);
    const sb = { localId: ME, conversation: '11752013' };
    const group = { localId: ME, remoteId: '11752013', conversation: '11752013' };
    const everyone = { participants: `${BOB},${CAROL}` };
    expect(whole.events).toEqual([
      inc({ type: 'join', ...sb, remoteId: BOB, data: { participant: BOB } }),
      // JOI of alice's own second endpoint: not a participant.
      out({ type: 'typing', ...sb, remoteId: BOB }),
      out({ type: 'message', ...sb, remoteId: BOB, text: 'h\u00e9llo bob \u2713 \u4f60\u597d' }),
      inc({ type: 'message', ...sb, remoteId: BOB, text: 'hi alice' }),
      inc({ type: 'typing', ...sb, remoteId: BOB }),
      out({ type: 'file', subtype: 'p2p', ...sb, remoteId: BOB, file: { name: 'report \u00e9t\u00e9.pdf', size: 123456 }, data: { guid: T.FILE_GUID, session: '1980589' } }),
      inc({ type: 'webcam', subtype: 'push', ...sb, remoteId: BOB, data: { guid: T.WEBCAM_PUSH, session: '1980589' } }),
      out({ type: 'webcam', subtype: 'pull', ...sb, remoteId: BOB, data: { guid: T.WEBCAM_PULL, session: '1980589' } }),
      inc({ type: 'display-picture', ...sb, remoteId: BOB, text: 'bob.png', data: { guid: T.OBJECT_GUID, session: '1980589' } }),
      inc({ type: 'emoticon', ...sb, remoteId: BOB, text: ':party', data: { guid: T.OBJECT_GUID, session: '1980589' } }),
      inc({ type: 'file', subtype: 'invite', ...sb, remoteId: BOB, file: { name: 'notes.txt', size: 2048 } }),
      inc({ type: 'join', ...group, data: { participant: CAROL, ...everyone } }),
      inc({ type: 'message', ...group, data: { from: CAROL, ...everyone }, text: 'hi all' }),
      inc({ type: 'typing', ...group, data: { from: CAROL, ...everyone } }),
      out({ type: 'message', ...group, data: everyone, text: 'hi carol' }),
      inc({ type: 'leave', ...group, data: { participant: CAROL, ...everyone } }),
      // BYE of alice's own other endpoint: nothing. Back to two people, alice leaves.
      out({ type: 'leave', ...sb, remoteId: BOB, data: { participants: BOB } }),
    ]);
    expectOneCommandPerFrame(T.MSNP18_SWITCHBOARD);
  });

  it('an answered invitation: IRO lists the participants, the session id names the conversation', () => {
    const whole = expectSplitInvariant(T.MSNP18_ANSWER);
    const everyone = { participants: `${BOB},${CAROL}` };
    expect(whole.events).toEqual([
      inc({ type: 'join', subtype: 'present', localId: ME, remoteId: BOB, conversation: '11752099', data: { participant: BOB } }),
      inc({ type: 'join', subtype: 'present', localId: ME, remoteId: '11752099', conversation: '11752099', data: { participant: CAROL, ...everyone } }),
      inc({ type: 'message', localId: ME, remoteId: '11752099', conversation: '11752099', data: { from: BOB, ...everyone }, text: 'welcome' }),
    ]);
  });

  it('what alice sends from her other endpoint reaches this one as an MSG from herself: outgoing, to bob', () => {
    const steps = [
      ...T.MSNP18_SWITCHBOARD.slice(0, 6),
      ...script(['<', T.payload('MSG alice@live.com Alice', `${T.TEXT_HEAD}sent from the phone`)], ['<', T.payload('MSG alice@live.com Alice', T.typingBody(ME))]),
    ];
    const whole = expectSplitInvariant(steps, { randomRuns: 10 });
    expect(whole.events.slice(1)).toEqual([out({ type: 'message', localId: ME, remoteId: BOB, conversation: '11752013', text: 'sent from the phone', direction: 'outgoing' })]);
  });

  it('typing events can be turned off', () => {
    const result = run(T.MSNP18_SWITCHBOARD, undefined, { typing: false });
    expect(result.events.filter((e) => e.type === 'typing')).toEqual([]);
    expect(result.events.filter((e) => e.type === 'message')).toHaveLength(4);
  });
});

describe('P2P invitations split over several chunks', () => {
  it('a file INVITE sent in two chunks is read once whole, from the chunk that completes it', () => {
    const to = 'bob@live.com';
    const slp = Buffer.from(T.slpInvite(to, ME, T.FILE_GUID, 2, T.fileContext('a rather long file name \u00e9\u00e9\u00e9 for splitting.zip', 987654321)));
    // Chunks carry at most 1202 bytes; an invitation with a file Context (here 1181 bytes) often needs two.
    expect(slp.length).toBeGreaterThan(1100);
    const chunk = (offset: number, length: number) => {
      const header = Buffer.alloc(48);
      header.writeUInt32LE(4242, 4);
      header.writeBigUInt64LE(BigInt(offset), 8);
      header.writeBigUInt64LE(BigInt(slp.length), 16);
      header.writeUInt32LE(length, 24);
      const head = Buffer.from(`MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\nP2P-Dest: ${to}\r\n\r\n`);
      return Buffer.concat([head, header, slp.subarray(offset, offset + length), Buffer.alloc(4)]);
    };
    const steps = [
      ...T.MSNP18_SWITCHBOARD.slice(0, 5),
      ...script(['>', T.payload('MSG 5 D', chunk(0, 700))], ['<', 'ACK 5\r\n'], ['>', T.payload('MSG 6 D', chunk(700, slp.length - 700))]),
    ];
    const whole = expectSplitInvariant(steps, { randomRuns: 20 });
    const files = whole.frames.filter((f) => f.events?.some((e) => e.type === 'file'));
    expect(files).toHaveLength(1);
    expect(files[0]!.raw.startsWith('MSG 6 D')).toBe(true);
    expect(files[0]!.events![0]).toMatchObject({
      type: 'file',
      localId: ME,
      remoteId: to,
      file: { name: 'a rather long file name \u00e9\u00e9\u00e9 for splitting.zip', size: 987654321 },
    });
  });
});

describe('MSNP21 (SDG over the notification server)', () => {
  it('text and typing both ways, a copy of a message sent from another endpoint, a group thread', () => {
    const whole = expectSplitInvariant(T.MSNP21_NOTIFICATION);
    const thread = '19:0c8e5b3f2a10@thread.skype';
    expect(whole.events).toEqual([
      out({ type: 'other', subtype: 'client', localId: ME, remoteId: NS, data: { client: 'MSNMSGR', version: '15.4.3508.1109', 'protocol-version': 'MSNP21' } }),
      inc({ type: 'login', localId: ME, remoteId: NS, data: { client: 'MSNMSGR', version: '15.4.3508.1109', 'protocol-version': 'MSNP21' } }),
      out({ type: 'message', localId: ME, remoteId: BOB, text: 'h\u00e9llo bob \u2713' }),
      inc({ type: 'typing', localId: ME, remoteId: BOB }),
      inc({ type: 'message', localId: ME, remoteId: BOB, text: 'hi alice' }),
      out({ type: 'typing', localId: ME, remoteId: BOB }),
      // Arrives from the server, but alice sent it (from her phone): outgoing.
      out({ type: 'message', localId: ME, remoteId: BOB, text: 'sent from my phone', direction: 'outgoing' }),
      out({ type: 'message', localId: ME, remoteId: thread, conversation: thread, text: 'hello group' }),
      inc({ type: 'message', localId: ME, remoteId: thread, conversation: thread, data: { from: CAROL }, text: 'hi from carol' }),
      out({ type: 'logout', localId: ME, remoteId: NS }),
    ]);
    // The copy's event says outgoing, whatever the frame's direction.
    const copy = run(T.MSNP21_NOTIFICATION).session;
    expect(copy.version).toBe(21);
    const frames = run(T.MSNP21_NOTIFICATION).frames.filter((f) => f.events?.some((e) => e.text === 'sent from my phone'));
    expect(frames).toHaveLength(1);
    expect(frames[0]!.direction).toBe('incoming');
    expect(frames[0]!.events![0]!.direction).toBe('outgoing');
    expectOneCommandPerFrame(T.MSNP21_NOTIFICATION);
  });
});

/** Parses `bytes` in `direction` with a fresh session that has seen `context` first. */
function reparse(context: readonly Step[], direction: Direction, bytes: Uint8Array) {
  return run([...context, { direction, data: bytes }]).events.at(-1);
}

const event = (e: Partial<ImEvent>): ImEvent => ({
  id: '1',
  at: '',
  protocol: 'msn',
  direction: 'outgoing',
  type: 'message',
  localId: ME,
  remoteId: BOB,
  client: { ip: '', port: 0 },
  server: { host: '', port: 0 },
  filtered: true,
  categories: [],
  ...e,
});

describe('rewrite and respond', () => {
  const sbStart = T.MSNP18_SWITCHBOARD.slice(0, 5);

  it('rewrite re-encodes a switchboard MSG with the new text and its byte length, both directions', () => {
    const session = newSession();
    for (const step of sbStart) session.push(step.direction, step.data);
    const [frame] = session.push('outgoing', T.payload('MSG 4 N', `${T.TEXT_HEAD}this is a damn test`));
    const rewritten = frame!.rewrite!('this is a **** test \u2713');
    const text = dec(rewritten);
    const body = `${T.TEXT_HEAD}this is a **** test \u2713`;
    expect(text.startsWith(`MSG 4 N ${Buffer.byteLength(body)}\r\n`)).toBe(true);
    expect(
      Buffer.from(rewritten)
        .subarray(text.indexOf('\n') + 1)
        .toString('utf8'),
    ).toBe(body);
    expect(reparse(sbStart, 'outgoing', rewritten)).toMatchObject({ type: 'message', text: 'this is a **** test \u2713', remoteId: BOB });

    const [incoming] = session.push('incoming', T.payload('MSG bob@live.com Bob', `${T.TEXT_HEAD}bad word`));
    const again = incoming!.rewrite!('*** word');
    expect(dec(again).split('\r\n')[0]).toBe(`MSG bob@live.com Bob ${Buffer.byteLength(`${T.TEXT_HEAD}*** word`)}`);
    expect(reparse(sbStart, 'incoming', again)).toMatchObject({ type: 'message', direction: 'incoming', text: '*** word' });
  });

  it('respond sends a well-formed MSG from the switchboard, in the conversation', () => {
    const session = newSession();
    for (const step of sbStart) session.push(step.direction, step.data);
    const bytes = session.respond('Your message was blocked: policy \u2713', event({}))!;
    const line = dec(bytes).split('\r\n')[0]!;
    expect(line).toMatch(/^MSG bob@live\.com imspect \d+$/);
    expect(Number(line.split(' ')[3])).toBe(bytes.byteLength - line.length - 2);
    expect(reparse(sbStart, 'incoming', bytes)).toMatchObject({
      type: 'message',
      direction: 'incoming',
      localId: ME,
      remoteId: BOB,
      conversation: '11752013',
      text: 'Your message was blocked: policy \u2713',
    });
  });

  it('a nudge (datacast ID 1) is a message with subtype nudge', () => {
    const result = run([...sbStart, ...script(['<', T.payload('MSG bob@live.com Bob', 'MIME-Version: 1.0\r\nContent-Type: text/x-msnmsgr-datacast\r\n\r\nID: 1\r\n\r\n')])]);
    expect(result.events.at(-1)).toEqual({ direction: 'incoming', type: 'message', subtype: 'nudge', localId: ME, remoteId: BOB, conversation: '11752013' });
  });

  it('MSNP14+ Yahoo contacts: a blocked UUM is answered with a UBM from that contact', () => {
    const login = T.MSNP15_NOTIFICATION.slice(0, 8);
    const session = newSession();
    for (const step of login) session.push(step.direction, step.data);
    const notice = session.respond('blocked', event({ remoteId: 'yuser@yahoo.com' }))!;
    expect(dec(notice).split('\r\n')[0]).toMatch(/^UBM yuser@yahoo\.com 32 1 \d+$/);
    expect(reparse(login, 'incoming', notice)).toMatchObject({ type: 'message', direction: 'incoming', localId: ME, remoteId: 'yuser@yahoo.com', text: 'blocked' });
  });

  it('respond before the conversation has anyone to speak for it: nothing', () => {
    const session = newSession();
    session.push('outgoing', enc('VER 1 MSNP8 CVR0\r\n'));
    expect(session.respond('blocked', event({ remoteId: 'ns.example.net' }))).toBeUndefined();
  });

  it('MSNP21: rewrite fixes both the SDG length and the Messaging Content-Length; respond is an SDG', () => {
    const login = T.MSNP21_NOTIFICATION.slice(0, 8);
    const session = newSession();
    for (const step of login) session.push(step.direction, step.data);
    const sdgStep = T.MSNP21_NOTIFICATION[10]!;
    const [frame] = session.push('outgoing', sdgStep.data);
    const rewritten = frame!.rewrite!('masked \u2713\u2713');
    expect(dec(rewritten)).toContain(`Content-Length: ${Buffer.byteLength('masked \u2713\u2713')}\r\n`);
    expect(reparse(login, 'outgoing', rewritten)).toMatchObject({ type: 'message', remoteId: BOB, text: 'masked \u2713\u2713' });
    const notice = session.respond('blocked by policy', event({}))!;
    expect(reparse(login, 'incoming', notice)).toMatchObject({ type: 'message', direction: 'incoming', localId: ME, remoteId: BOB, text: 'blocked by policy' });
  });
});

describe('forward listener: XFR and RNG point at imspect, the real servers are remembered', () => {
  const listener = { host: '127.0.0.1', port: 11863 };

  it('rewrites XFR NS, XFR SB and RNG, and routes the next connections by client address and cookie', () => {
    const routes = new MsnRoutes();
    const dispatch = expectSplitInvariant(T.MSNP11_DISPATCH, { listener, routes, clientIp: '192.0.2.7', randomRuns: 10 });
    const xfr = dispatch.frames.find((f) => f.raw.startsWith('XFR'))!;
    expect(xfr.replacement).toBe('XFR 147 NS 127.0.0.1:11863 0 65.54.239.20:1863\r\n');
    expect(dispatch.events.map((e) => [e.type, e.subtype])).toEqual([['other', 'client']]);

    // The client reconnects from the same address and starts with VER: the real NS, once.
    expect(routes.route(enc('VER 148 MSNP11'), { ip: '192.0.2.7', port: 5000 })).toBe('more');
    expect(routes.route(enc('VER 148 MSNP11 MSNP10 CVR0\r\n'), { ip: '192.0.2.7', port: 5000 })).toEqual({ host: '207.46.4.22', port: 1863 });
    expect(routes.route(enc('VER 148 MSNP11 MSNP10 CVR0\r\n'), { ip: '192.0.2.7', port: 5001 })).toBeUndefined();

    const ns = run(T.MSNP11_NOTIFICATION, undefined, { listener, routes, clientIp: '192.0.2.7' });
    expect(ns.frames.filter((f) => f.replacement).map((f) => f.replacement)).toEqual([
      'XFR 156 SB 127.0.0.1:11863 CKI 17262740.1050826919.32308\r\n',
      'RNG 11752013 127.0.0.1:11863 CKI 849102291.520491113 example@passport.com Example%20Name\r\n',
    ]);
    // Same events as without the listener.
    expect(ns.events).toEqual(run(T.MSNP11_NOTIFICATION).events);
    expect(routes.route(enc('USR 1 alice@live.com;{F26D1F07-95E2-403C-BC18-D4BFED493428} 17262740.1050826919.32308\r\n'), { ip: '192.0.2.9', port: 1 })).toEqual({
      host: '207.46.108.37',
      port: 1863,
    });
    expect(routes.route(enc('ANS 1 cndes2005@hotmail.com 849102291.520491113 11752013\r\n'), { ip: '192.0.2.9', port: 2 })).toEqual({ host: '207.46.108.38', port: 1863 });
    expect(routes.route(enc('USR 1 alice@live.com unknown.cookie\r\n'), { ip: '192.0.2.9', port: 3 })).toBeUndefined();
    expect(routes.route(new Uint8Array(2000).fill(0x41), { ip: '192.0.2.9', port: 3 })).toBeUndefined();
  });

  it('MSNP18 XFR SB with its extra words keeps them', () => {
    const routes = new MsnRoutes();
    const steps = script(['>', 'XFR 10 SB\r\n'], ['<', 'XFR 10 SB 65.54.228.15:1863 CKI 1234.5678.9 U messenger.msn.com 1\r\n']);
    const result = run(steps, undefined, { listener: { host: '10.0.0.1', port: 1863 }, routes });
    expect(result.frames[1]!.replacement).toBe('XFR 10 SB 10.0.0.1:1863 CKI 1234.5678.9 U messenger.msn.com 1\r\n');
    expect(routes.route(enc('USR 1 a@b.c 1234.5678.9\r\n'), { ip: '1.1.1.1', port: 1 })).toEqual({ host: '65.54.228.15', port: 1863 });
  });

  it('entries expire', () => {
    let now = 1000;
    const routes = new MsnRoutes(60_000, () => now);
    routes.rememberCookie('c1', { host: 'sb.example', port: 1863 });
    expect(routes.route(enc('USR 1 a@b.c c1\r\n'), { ip: '1.1.1.1', port: 1 })).toEqual({ host: 'sb.example', port: 1863 });
    now += 60_001;
    expect(routes.route(enc('USR 1 a@b.c c1\r\n'), { ip: '1.1.1.1', port: 1 })).toBeUndefined();
  });
});

describe('a switchboard joined mid-way', () => {
  const msg = (head: string, body: string, trid = '5') => {
    const payload = `MIME-Version: 1.0\r\n${head}\r\n\r\n${body}`;
    return `MSG ${trid} N ${new TextEncoder().encode(payload).length}\r\n${payload}`;
  };
  const incoming = (from: string, head: string, body: string) => {
    const payload = `MIME-Version: 1.0\r\n${head}\r\n\r\n${body}`;
    return `MSG ${from} Name ${new TextEncoder().encode(payload).length}\r\n${payload}`;
  };

  it('learns the user from its own typing notice and the other party from their messages, at every cut', () => {
    const steps = script(
      ['>', 'ail.com name\r\n'], // the tail of a line whose start was not captured
      ['<', 'OK alice@example.com Alice\r\n'],
      ['<', incoming('bob@example.com', 'Content-Type: text/plain; charset=UTF-8', 'hi there')],
      ['>', msg('Content-Type: text/x-msmsgscontrol\r\nTypingUser: alice@example.com', '\r\n')],
      ['>', msg('Content-Type: text/plain; charset=UTF-8', 'hello bob', '6')],
    );
    const whole = expectSplitInvariant(steps, { midstream: true });
    expect(whole.events.map((e) => `${e.direction} ${e.type} ${e.localId || '(unknown)'} ${e.remoteId} ${e.text ?? ''}`.trim())).toEqual([
      // Before the typing notice nothing names the user: the id is left for core to mark unknown.
      'incoming message (unknown) bob@example.com hi there',
      'outgoing typing alice@example.com bob@example.com',
      'outgoing message alice@example.com bob@example.com hello bob',
    ]);
  });
});
