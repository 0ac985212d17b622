/**
 * What imspect writes: rewritten messages (plain part, HTML part, offsets and lengths consistent, attributes
 * kept), notices injected towards the local client (packets the plugin itself parses back), and the refusals
 * of blocked frames (GG_DCC7_REJECT, GG_SEND_MSG_ACK "blocked", GG_RECV_MSG_ACK).
 */
import { describe, expect, it } from 'vitest';
import type { ImEvent } from '@imspect/sdk';
import { testEvent } from '@imspect/sdk/testing';
import { cp1250, cstr, gg, inc, newSession, out, pbBytes, pbUin, pbVarint, run, u16, u32, u8, zeros, type Step } from './helpers.js';

/** Reads a packet back: type, body, and checks the length field. */
function readPacket(bytes: Uint8Array): { type: number; body: Buffer } {
  const b = Buffer.from(bytes);
  expect(b.readUInt32LE(4), 'length field = body bytes').toBe(b.length - 8);
  return { type: b.readUInt32LE(0), body: b.subarray(8) };
}

/** A GG_SEND_MSG80 / GG_RECV_MSG80 body read by its offsets. */
function readMsg80(body: Buffer, received: boolean) {
  const fixed = received ? 24 : 20;
  const offsetPlain = body.readUInt32LE(received ? 16 : 12);
  const offsetAttr = body.readUInt32LE(received ? 20 : 16);
  const htmlEnd = body.indexOf(0, fixed);
  expect(htmlEnd + 1, 'plain part right after the HTML and its NUL').toBe(offsetPlain);
  const plainEnd = body.indexOf(0, offsetPlain);
  expect(plainEnd + 1, 'attributes right after the plain part and its NUL').toBe(offsetAttr);
  return { html: body.subarray(fixed, htmlEnd).toString('utf8'), plain: body.subarray(offsetPlain, plainEnd), attributes: body.subarray(offsetAttr) };
}

function login80(uin: number, features = 0x2737): Buffer {
  const v = Buffer.from('Gadu-Gadu Client build 8.0.0.10102');
  return gg(0x31, u32(uin), Buffer.from('pl'), u8(2), zeros(64), u32(2), u32(0), u32(features), zeros(12), u8(0), u8(0x64), u32(v.length), v, u32(0));
}

const login: Step[] = [inc(gg(0x01, u32(7))), out(login80(1001)), inc(gg(0x35, u32(1)))];

function lastFrame(steps: Step[]) {
  const result = run(steps);
  return { result, frame: result.rawFrames.at(-1)!.frame };
}

function about(partial: Partial<ImEvent>): ImEvent {
  return testEvent({ protocol: 'gadu-gadu', localId: '1001', remoteId: '1002', client: { ip: '127.0.0.1', port: 1 }, server: { host: '127.0.0.1', port: 8074 }, ...partial });
}

const HTML = '<span style="color:#000000; font-family:\'MS Shell Dlg 2\'; font-size:9pt; ">my password is hunter2</span>';

describe('rewrite', () => {
  it("8.0: new HTML (the sender's span kept, the text escaped) and plain part, offsets fixed, recipients and formats kept", () => {
    const html = Buffer.from(HTML);
    const plain = Buffer.from('my password is hunter2');
    const attrs = Buffer.concat([u8(0x01), u32(1), u32(1003), u8(0x02), u16(6), Buffer.from('000008000000', 'hex'), u8(0x02)]);
    const body = [u32(1002), u32(99), u32(0x08), u32(20 + html.length + 1), u32(20 + html.length + 1 + plain.length + 1), html, u8(0), plain, u8(0)];
    const original = gg(0x2d, ...body, attrs.subarray(0, attrs.length - 1));
    const { frame } = lastFrame([...login, out(original)]);
    expect(frame.events?.[0]).toMatchObject({ type: 'message', text: 'my password is hunter2' });
    const rewritten = frame.rewrite!('my password is ******* <ok> & ł');
    const { type, body: newBody } = readPacket(rewritten);
    expect(type).toBe(0x2d);
    expect(newBody.subarray(0, 12).equals(original.subarray(8, 20))).toBe(true); // recipient, seq, class
    const read = readMsg80(newBody, false);
    expect(read.html).toBe('<span style="color:#000000; font-family:\'MS Shell Dlg 2\'; font-size:9pt; ">my password is ******* &lt;ok&gt; &amp; ł</span>');
    expect(read.plain.equals(cp1250('my password is ******* <ok> & ł'))).toBe(true);
    expect(read.attributes.equals(attrs.subarray(0, attrs.length - 1))).toBe(true);
    // The plugin reads its own output back as the same message with the new text.
    const back = run([...login, out(rewritten)]);
    expect(back.events.at(-1)).toMatchObject({
      type: 'message',
      subtype: 'conference',
      remoteId: '1002',
      text: 'my password is ******* <ok> & ł',
      data: { groupchat: true, recipients: '1003', html: read.html },
    });
  });

  it('drops rich-text formats that start past the end of a shorter text', () => {
    const plain = Buffer.from('abcdef');
    const attrs = Buffer.concat([u8(0x02), u16(12), Buffer.from('000001', 'hex'), Buffer.from('050002', 'hex'), Buffer.from('020008112233', 'hex')]);
    const original = gg(0x2d, u32(1002), u32(1), u32(0x08), u32(21), u32(21 + 7), u8(0), plain, u8(0), attrs);
    const { frame } = lastFrame([...login, out(original)]);
    const read = readMsg80(readPacket(frame.rewrite!('abc')).body, false);
    expect(read.html).toBe('abc'); // no HTML before: the new HTML is the escaped text alone
    // Bold at 0 and the colour at 2 stay; italic at 5 is past the new text.
    expect(read.attributes.toString('hex')).toBe('020900000001020008112233');
  });

  it('old packets: CP1250 text replaced, characters outside the code page as ?, the conference attribute kept', () => {
    const original = gg(0x0b, u32(1002), u32(5), u32(0x08), cp1250('zażółć'), u8(0), u8(0x01), u32(1), u32(1003));
    const { frame } = lastFrame([...login, out(original)]);
    const { body } = readPacket(frame.rewrite!('gęś 😀'));
    expect(body.subarray(12).equals(Buffer.concat([cp1250('gęś ?'), u8(0), u8(0x01), u32(1), u32(1003)]))).toBe(true);
    const received = gg(0x0a, u32(1002), u32(5), u32(1), u32(0x08), cstr('secret'));
    const incoming = lastFrame([...login, inc(received)]).frame;
    expect(readPacket(incoming.rewrite!('******')).body.equals(Buffer.concat([u32(1002), u32(5), u32(1), u32(0x08), cstr('******')]))).toBe(true);
  });

  it('11.0: the plain and XHTML fields replaced in place, every other field kept', () => {
    const original = gg(0x7d, pbBytes(1, pbUin(1002, 1)), pbVarint(2, 8), pbVarint(3, 9), pbBytes(5, 'hunter2'), pbBytes(6, '<span>hunter2</span>'), pbVarint(12, 1));
    const { frame } = lastFrame([...login, out(original)]);
    const rewritten = frame.rewrite!('*******');
    const expected = gg(0x7d, pbBytes(1, pbUin(1002, 1)), pbVarint(2, 8), pbVarint(3, 9), pbBytes(5, '*******'), pbBytes(6, '<span>*******</span>'), pbVarint(12, 1));
    expect(Buffer.from(rewritten).equals(expected)).toBe(true);
  });

  it('offers no rewrite for a message with an image, a malformed message, or a typing notification', () => {
    const image = gg(0x0b, u32(1002), u32(1), u32(0x08), cstr('look'), u8(0x04), u32(10), u32(20));
    expect(lastFrame([...login, out(image)]).frame.rewrite).toBeUndefined();
    const malformed = gg(0x2d, u32(1002), u32(1), u32(0x08), u32(5000), u32(6000), cstr('<b>x</b>'), cstr('x'));
    const bad = lastFrame([...login, out(malformed)]).frame;
    expect(bad.error?.code).toBe('malformed-packet');
    expect(bad.events?.[0]?.text).toBe('x');
    expect(bad.rewrite).toBeUndefined();
    expect(lastFrame([...login, out(gg(0x59, u16(1), u32(1002)))]).frame.rewrite).toBeUndefined();
  });
});

describe('respond', () => {
  it('is a GG_RECV_MSG80 from the other party to an 8.0 client, which the plugin reads back', () => {
    const { result } = lastFrame(login);
    const bytes = result.session.respond('imspect: this message was blocked <sic> ✋', about({ at: '2026-12-07T10:00:00.000Z' }))!;
    const { type, body } = readPacket(bytes);
    expect(type).toBe(0x2e);
    expect(body.readUInt32LE(0)).toBe(1002);
    expect(body.readUInt32LE(8)).toBe(Date.parse('2026-12-07T10:00:00Z') / 1000);
    expect(body.readUInt32LE(12)).toBe(0x08);
    const read = readMsg80(body, true);
    expect(read.html).toBe('<span>imspect: this message was blocked &lt;sic&gt; ✋</span>');
    expect(read.plain.toString('latin1')).toBe('imspect: this message was blocked <sic> ?');
    const frames = newSession().push('incoming', bytes);
    expect(frames[0]!.events?.[0]).toMatchObject({ type: 'message', remoteId: '1002', text: 'imspect: this message was blocked <sic> ✋' });
  });

  it('is a GG_RECV_MSG (CP1250) for a client that did not ask for 8.0 messages, and from uin 0 about the connection', () => {
    const old: Step[] = [inc(gg(0x01, u32(7))), out(login80(1001, 0x0005)), inc(gg(0x35, u32(1)))];
    const { result } = lastFrame(old);
    const bytes = result.session.respond('zablokowano: ł', about({ type: 'login', remoteId: '127.0.0.1' }))!;
    const { type, body } = readPacket(bytes);
    expect(type).toBe(0x0a);
    expect(body.readUInt32LE(0)).toBe(0);
    expect(body.subarray(16).equals(Buffer.concat([cp1250('zablokowano: ł'), u8(0)]))).toBe(true);
  });

  it('says nothing before the server accepted the login', () => {
    const session = newSession();
    session.push('outgoing', login[1]!.data);
    expect(session.respond('x', about({}))).toBeUndefined();
  });
});

describe('refusal', () => {
  const id = Buffer.from('a1a2a3a4a5a6a7a8', 'hex');
  const offer = (from: number, to: number) => gg(0x20, id, u32(from), u32(to), u32(4), Buffer.concat([Buffer.from('doc.pdf'), zeros(248)]), u32(100), u32(0), zeros(20));

  it('a blocked DCC7 offer is answered with GG_DCC7_REJECT naming the other party, reason 2 (refused)', () => {
    const sent = lastFrame([...login, out(offer(1001, 1002))]).frame;
    expect(Buffer.from(sent.refusal!()!).equals(gg(0x22, u32(1002), id, u32(2)))).toBe(true);
    const received = lastFrame([...login, inc(offer(1002, 1001))]).frame;
    expect(Buffer.from(received.refusal!()!).equals(gg(0x22, u32(1002), id, u32(2)))).toBe(true);
  });

  it('a blocked message: the client gets GG_SEND_MSG_ACK "blocked"; a blocked incoming message is acknowledged to the server', () => {
    const sent = lastFrame([...login, out(gg(0x0b, u32(1002), u32(77), u32(0x08), cstr('x')))]).frame;
    expect(Buffer.from(sent.refusal!()!).equals(gg(0x05, u32(1), u32(1002), u32(77)))).toBe(true);
    const received = lastFrame([...login, inc(gg(0x0a, u32(1002), u32(78), u32(0), u32(0x08), cstr('x')))]).frame;
    expect(Buffer.from(received.refusal!()!).equals(gg(0x46, u32(78)))).toBe(true);
    // 11.0: the sender gets the same GG_SEND_MSG_ACK; a received message is acknowledged with GG_ACK110.
    const sent110 = lastFrame([...login, out(gg(0x7d, pbBytes(1, pbUin(1002, 1)), pbVarint(2, 8), pbVarint(3, 300), pbBytes(5, 'x'), pbBytes(6, 'x')))]).frame;
    expect(Buffer.from(sent110.refusal!()!).equals(gg(0x05, u32(1), u32(1002), u32(300)))).toBe(true);
    const received110 = lastFrame([...login, inc(gg(0x7e, pbBytes(1, pbUin(1002)), pbVarint(2, 8), pbVarint(3, 301), pbBytes(5, 'x')))]).frame;
    expect(Buffer.from(received110.refusal!()!).equals(gg(0x86, pbVarint(1, 1), pbVarint(2, 301), pbVarint(3, 1)))).toBe(true);
  });
});
