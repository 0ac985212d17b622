/**
 * What policy can do with OSCAR frames: `rewrite` (new text, TLV and FLAP lengths fixed, charset chosen for the
 * text), `respond` (a well-formed incoming ICBM from the other party, only on a BOS connection still signed on),
 * `refusal` (a rendezvous cancel for a blocked file offer, an authorizer error for a blocked login), and the
 * policy filter's verdicts on what the plugin reports. Every byte imspect writes is read back by a fresh session.
 */
import { describe, expect, it } from 'vitest';
import type { EventDraft, ImEvent } from '@imspect/sdk';
import { testEvent } from '@imspect/sdk/testing';
// The first-party policy filter, from its build (a test-only use, not a dependency of the plugin).
import { compilePolicy, policyVerdict } from '../../filter-policy/dist/index.js';
import type { OscarSession } from '../src/session.js';
import { bytes, clientTlvs, fileOffer, flap, inc, newSession, out, receiveIm, sendIm, snac, tlv, u16, u32, ucs2, type Step } from './helpers.js';

const asEvent = (draft: EventDraft & { direction?: 'incoming' | 'outgoing' }): ImEvent => testEvent({ protocol: 'oscar', server: { host: '192.0.2.50', port: 5190 }, ...draft });

/** Pushes steps, returns every frame (views copied). */
function feed(session: OscarSession, steps: readonly Step[]) {
  return steps.flatMap((s) => session.push(s.direction, s.data).map((frame) => ({ direction: s.direction, frame })));
}

/** Reads bytes imspect wrote as a fresh BOS session would: the frames and events they give. */
function readBack(direction: 'incoming' | 'outgoing', data: Uint8Array) {
  const session = newSession({ midstream: true });
  const frames = session.push(direction, data);
  expect(frames).toHaveLength(1);
  expect(frames[0]!.raw.length).toBe(data.length);
  expect(frames[0]!.error).toBeUndefined();
  const b = Buffer.from(data);
  expect(b[0]).toBe(0x2a);
  expect(b.readUInt16BE(4), 'FLAP length').toBe(b.length - 6);
  return frames[0]!;
}

const bosSignOn: Step[] = [
  inc(flap(1, 100, u32(1))),
  out(flap(1, 200, Buffer.concat([u32(1), tlv(6, Buffer.alloc(16, 3))]))),
  inc(snac(101, 1, 3, Buffer.concat([1, 2, 4].map(u16)))),
];

describe('rewrite', () => {
  it('HTML messages stay HTML (the new text escaped); the TLV and FLAP lengths follow the new text', () => {
    const session = newSession();
    const [, , , sent] = feed(session, [...bosSignOn, out(sendIm(201, 'buddy', bytes('<HTML><BODY>my password is hunter2</BODY></HTML>')))]);
    expect(sent!.frame.events![0]!.text).toBe('my password is hunter2');
    const rewritten = sent!.frame.rewrite!('my password is ******* <ok> & done');
    const frame = readBack('outgoing', rewritten);
    expect(frame.events).toEqual([
      {
        type: 'message',
        localId: '*',
        remoteId: 'buddy',
        text: 'my password is ******* <ok> & done',
        data: { html: '<HTML><BODY>my password is ******* &lt;ok&gt; &amp; done</BODY></HTML>' },
      },
    ]);
    // Header, cookie, channel and recipient are kept byte for byte.
    expect(Buffer.from(rewritten.subarray(2, 4))).toEqual(Buffer.from(sent!.frame.raw.subarray(2, 4)));
    expect(Buffer.from(rewritten.subarray(6, 35))).toEqual(Buffer.from(sent!.frame.raw.subarray(6, 35)));
  });

  it('plain text that is no longer ASCII goes out as UCS-2BE; a rewrite longer than a FLAP holds is cut, never overflows', () => {
    const session = newSession();
    const [, , , received] = feed(session, [...bosSignOn, inc(receiveIm(102, 'buddy', ucs2('hello'), 2))]);
    const frame = readBack('incoming', received!.frame.rewrite!('héllo 世界'));
    expect(frame.events![0]!.text).toBe('héllo 世界');
    // charset 0x0002 in the text fragment
    const raw = Buffer.from(received!.frame.rewrite!('héllo 世界'));
    expect(raw.includes(Buffer.concat([u16(2), u16(0), ucs2('héllo')]))).toBe(true);

    const huge = received!.frame.rewrite!('x'.repeat(100_000));
    const back = readBack('incoming', huge);
    expect(back.events![0]!.text!.length).toBeGreaterThan(60_000);
    expect(huge.length).toBeLessThanOrEqual(6 + 0xffff);
  });
});

describe('respond', () => {
  it('a message from the other party of the conversation, HTML when the user’s messages were', () => {
    const session = newSession();
    feed(session, [...bosSignOn, out(sendIm(201, 'Buddy', bytes('<b>hi</b>')))]);
    const reply = session.respond('Your message was blocked: it contained "secret".', asEvent({ type: 'message', localId: '*', remoteId: 'buddy' }))!;
    const frame = readBack('incoming', reply);
    expect(frame.events![0]).toMatchObject({ type: 'message', remoteId: 'buddy', text: 'Your message was blocked: it contained "secret".' });
    expect(frame.events![0]!.data).toEqual({ html: '<HTML><BODY>Your message was blocked: it contained "secret".</BODY></HTML>' });
    // The FLAP continues the server's sequence.
    expect(Buffer.from(reply).readUInt16BE(2)).toBe(102);
    // About the connection itself: from the notice name.
    const notice = session.respond('This conversation is monitored', asEvent({ type: 'login', localId: '*', remoteId: '192.0.2.50' }))!;
    expect(readBack('incoming', notice).events![0]).toMatchObject({ remoteId: 'imspect', text: 'This conversation is monitored' });
  });

  it('nothing on the authorizer connection, nor after the sign-off', () => {
    const auth = newSession();
    feed(auth, [inc(flap(1, 1, u32(1))), out(flap(1, 1, Buffer.concat([u32(1), tlv(1, '12345'), tlv(2, 'x'), ...clientTlvs()])))]);
    expect(auth.respond('denied', asEvent({ type: 'other', subtype: 'client', localId: '12345', remoteId: 'login' }))).toBeUndefined();
    const bos = newSession();
    feed(bos, [...bosSignOn, out(flap(4, 202, Buffer.alloc(0)))]);
    expect(bos.respond('bye', asEvent({ type: 'message', localId: '*', remoteId: 'buddy' }))).toBeUndefined();
  });
});

describe('refusal', () => {
  it('a blocked outgoing file offer: a rendezvous cancel to the client, as from the buddy, with the offer’s cookie', () => {
    const session = newSession();
    const offer = fileOffer(201, 'Buddy', 'plans.zip', 999);
    const [, , , frame] = feed(session, [...bosSignOn, out(offer)]);
    const cancel = frame!.frame.refusal!()!;
    const back = readBack('incoming', cancel);
    expect(back.events).toEqual([{ type: 'other', subtype: 'rendezvous-cancel', localId: '*', remoteId: 'buddy', data: { service: 'file-transfer' } }]);
    // The rendezvous cookie is the offer's (bytes 6+10.. of the SNAC's ICBM cookie in both).
    expect(Buffer.from(cancel).includes(offer.subarray(16, 24))).toBe(true);
  });

  it('a blocked incoming file offer: a cancel to the server, to the sender', () => {
    const session = newSession();
    const SEND_FILE = Buffer.from('094613434c7f11d18222444553540000', 'hex');
    const ext = Buffer.concat([u16(1), u16(1), u32(10), Buffer.from('a.txt\0')]);
    const rv = Buffer.concat([u16(0), Buffer.from('ABCDEFGH'), SEND_FILE, tlv(0x2711, ext)]);
    const offer = snac(103, 4, 7, Buffer.concat([Buffer.from('ABCDEFGH'), u16(2), Buffer.from([5]), Buffer.from('Buddy'), u16(0), u16(0), tlv(5, rv)]));
    const [, , , frame] = feed(session, [...bosSignOn, inc(offer)]);
    expect(frame!.frame.events![0]).toMatchObject({ type: 'file', file: { name: 'a.txt', size: 10 } });
    const back = readBack('outgoing', frame!.frame.refusal!()!);
    expect(back.events).toEqual([{ type: 'other', subtype: 'rendezvous-cancel', localId: '*', remoteId: 'buddy', data: { service: 'file-transfer' } }]);
  });

  it('a blocked login: the authorizer’s error (0x1B, upgrade required), on channel 4 or as BUCP 0x17/0x03', () => {
    const icq = newSession();
    const [, login] = feed(icq, [inc(flap(1, 1, u32(1))), out(flap(1, 1, Buffer.concat([u32(1), tlv(1, '12345'), tlv(2, 'x'), ...clientTlvs()])))]);
    const refused = login!.frame.refusal!()!;
    expect(readBack('incoming', refused)).toBeDefined();
    const reader = newSession();
    const events = reader.push('incoming', refused).flatMap((f) => f.events ?? []);
    expect(events).toEqual([{ type: 'other', subtype: 'login-failed', localId: '12345', remoteId: 'login.oscar.example', data: { error: 0x1b } }]);

    const aim = newSession();
    const [, bucp] = feed(aim, [inc(flap(1, 1, u32(1))), out(snac(2, 0x17, 0x02, Buffer.concat([tlv(1, 'someone'), tlv(0x25, Buffer.alloc(16)), ...clientTlvs()]), 77))]);
    const answer = Buffer.from(bucp!.frame.refusal!()!);
    expect(answer.readUInt16BE(6)).toBe(0x17);
    expect(answer.readUInt16BE(8)).toBe(0x03);
    expect(answer.readUInt32BE(12)).toBe(77);
  });
});

describe('what policy sees', () => {
  it('filter-policy blocks file offers and denies old clients on the login request', () => {
    const session = newSession();
    const [, , , offer] = feed(session, [...bosSignOn, out(fileOffer(201, 'buddy', 'a.zip', 5))]);
    const files = compilePolicy({ block: { file: true } });
    expect(policyVerdict(files, asEvent(offer!.frame.events![0]!)).action).toBe('block');

    const auth = newSession();
    const [, login] = feed(auth, [inc(flap(1, 1, u32(1))), out(flap(1, 1, Buffer.concat([u32(1), tlv(1, '12345'), tlv(2, 'x'), ...clientTlvs()])))]);
    const client = login!.frame.events![0]!;
    expect(client).toMatchObject({ type: 'other', subtype: 'client' });
    expect(policyVerdict(compilePolicy({ clients: [{ protocol: 'oscar', minVersion: '6.0' }] }), asEvent(client)).action).toBe('block');
    expect(policyVerdict(compilePolicy({ clients: [{ protocol: 'oscar', minVersion: '5.9' }] }), asEvent(client)).action).toBe('pass');
  });
});
