/**
 * Gadu-Gadu conversations written from the protocol documentation (libgadu's docs/protocol.html and
 * include/protocol.h, its automatic test scripts test/automatic/script/*.scr, and Wireshark's `gadu-gadu`
 * dissector): the older logins (6.0, 7.0) with CP1250 messages, the 8.0 login with HTML and plain parts, the
 * 10.5/11.0 logins with protocol-buffer messages; conference recipients, typing, status with descriptions,
 * notify lists, user-list export and import, DCC7 offers, image requests. Every transcript is also checked at
 * every cut and in random chunk sizes.
 */
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { cp1250, cstr, expectSplitInvariant, gg, inc, out, pbBytes, pbFixed32, pbFixed64, pbUin, pbVarint, u16, u32, u8, zeros, type Step } from './helpers.js';

const SERVER = '91.214.237.10';
const welcome = inc(gg(0x01, u32(0x1234abcd)));

/** GG_LOGIN70 (0x19): uin, hash type, 64-byte hash, status, version (protocol 0x2a with the audio flag), ... */
function login70(uin: number, status: number, description?: string): Buffer {
  const hash = Buffer.concat([Buffer.from('0123456789abcdef0123', 'latin1'), zeros(44)]);
  const fixed = [u32(uin), u8(0x02), hash, u32(status), u32(0x4000002a), u8(0), u32(0), u16(1550), u32(0), u16(0), u8(255), u8(0xbe)];
  return gg(0x19, ...fixed, ...(description === undefined ? [] : [cp1250(description), u8(0)]));
}

/** GG_LOGIN60 (0x15): uin, 32-bit hash, status, version (0x20: 6.0), addresses, image size. */
function login60(uin: number): Buffer {
  return gg(0x15, u32(uin), u32(0xdeadbeef), u32(0x02), u32(0x20), u8(0), u32(0), u16(0), u32(0), u16(0), u8(0), u8(0xbe));
}

/** GG_LOGIN80 (0x31) as protocol.html lays it out. */
function login80(uin: number, status: number, version: string, description = ''): Buffer {
  const hash = Buffer.concat([Buffer.alloc(20, 0x5a), zeros(44)]);
  const desc = Buffer.from(description, 'utf8');
  const v = Buffer.from(version, 'latin1');
  return gg(
    0x31,
    u32(uin),
    Buffer.from('pl'),
    u8(0x02),
    hash,
    u32(status),
    u32(0x00800001),
    u32(0x2737),
    u32(0),
    u16(0),
    u32(0),
    u16(0),
    u8(64),
    u8(0x64),
    u32(v.length),
    v,
    u32(desc.length),
    desc,
  );
}

describe('Gadu-Gadu 6.0 / 7.0 transcripts: CP1250 messages', () => {
  it('7.0 login with a description, messages both ways in CP1250, conference recipients, typing, contacts, status, logout', () => {
    const steps: Step[] = [
      welcome,
      out(login70(12345, 0x04, 'w pracy')),
      inc(gg(0x03)),
      out(gg(0x0f, u32(111), u8(3), u32(222), u8(3))),
      out(gg(0x10, u32(333), u8(4))),
      // GG_SEND_MSG: recipient, seq, class (chat), CP1250 text, NUL.
      out(gg(0x0b, u32(111), u32(1), u32(0x08), cp1250('Zażółć gęślą jaźń'), u8(0))),
      // GG_RECV_MSG: sender, seq, time, class, text, NUL, then a conference attribute (the other recipients).
      inc(gg(0x0a, u32(111), u32(77), u32(1_200_000_000), u32(0x08), cp1250('Cześć wszystkim'), u8(0), u8(0x01), u32(2), u32(12345), u32(222))),
      // The reply to the conference: one packet per recipient, each listing the others.
      out(gg(0x0b, u32(111), u32(2), u32(0x08), cstr('hej'), u8(0x01), u32(1), u32(222))),
      out(gg(0x0b, u32(222), u32(2), u32(0x08), cstr('hej'), u8(0x01), u32(1), u32(111))),
      out(gg(0x59, u16(3), u32(111))),
      inc(gg(0x59, u16(0), u32(111))),
      out(gg(0x0d, u32(444), u8(3))),
      out(gg(0x0e, u32(333), u8(4))),
      // GG_NEW_STATUS: busy with a description (CP1250, NUL-terminated), then offline with one.
      out(gg(0x02, u32(0x05), cp1250('na obiedzie, będę o 14'), u8(0))),
      out(gg(0x02, u32(0x15), cstr('do jutra'))),
      inc(gg(0x0b)),
    ];
    const whole = expectSplitInvariant(steps);
    const client = { 'protocol-version': '0x2a', status: 'online', description: 'w pracy' };
    expect(whole.events).toEqual([
      { direction: 'outgoing', type: 'other', subtype: 'client', localId: '12345', remoteId: SERVER, data: client },
      { direction: 'incoming', type: 'login', localId: '12345', remoteId: SERVER, data: client },
      { direction: 'outgoing', type: 'contact', subtype: 'list', localId: '12345', remoteId: SERVER, data: { contacts: 2, ids: '111,222' } },
      { direction: 'outgoing', type: 'contact', subtype: 'list', localId: '12345', remoteId: SERVER, data: { contacts: 1, ids: '333' } },
      { direction: 'outgoing', type: 'message', localId: '12345', remoteId: '111', text: 'Zażółć gęślą jaźń' },
      {
        direction: 'incoming',
        type: 'message',
        subtype: 'conference',
        localId: '12345',
        remoteId: '111',
        conversation: '111,222,12345',
        text: 'Cześć wszystkim',
        data: { groupchat: true, recipients: '12345,222' },
      },
      {
        direction: 'outgoing',
        type: 'message',
        subtype: 'conference',
        localId: '12345',
        remoteId: '111',
        conversation: '111,222,12345',
        text: 'hej',
        data: { groupchat: true, recipients: '222' },
      },
      {
        direction: 'outgoing',
        type: 'message',
        subtype: 'conference',
        localId: '12345',
        remoteId: '222',
        conversation: '111,222,12345',
        text: 'hej',
        data: { groupchat: true, recipients: '111' },
      },
      { direction: 'outgoing', type: 'typing', subtype: 'active', localId: '12345', remoteId: '111', data: { length: 3 } },
      { direction: 'incoming', type: 'typing', subtype: 'done', localId: '12345', remoteId: '111', data: { length: 0 } },
      { direction: 'outgoing', type: 'contact', subtype: 'add', localId: '12345', remoteId: '444', data: { kind: 'normal' } },
      { direction: 'outgoing', type: 'contact', subtype: 'remove', localId: '12345', remoteId: '333', data: { kind: 'blocked' } },
      {
        direction: 'outgoing',
        type: 'other',
        subtype: 'status',
        localId: '12345',
        remoteId: SERVER,
        data: { status: 'away', 'protocol-status': '0x0005', description: 'na obiedzie, będę o 14' },
      },
      { direction: 'outgoing', type: 'logout', localId: '12345', remoteId: SERVER, text: 'do jutra' },
    ]);
    // Every frame is a whole packet with no error; the password hash appears in no event.
    expect(whole.frames.every((f) => f.error === undefined)).toBe(true);
    expect(JSON.stringify(whole.events)).not.toContain('0123456789abcdef');
  });

  it('6.0 login: the protocol number from the version field; user list exported in two parts and imported', () => {
    const list1 = 'Jan;Kowalski;Janek;Janek;;Praca;111;jan@example.pl;0;;0;\r\n';
    const list2 = 'Anna;Nowak;Ania;Ania;;Rodzina;222;;0;;0;\r\n';
    const steps: Step[] = [
      welcome,
      out(login60(777)),
      inc(gg(0x03)),
      out(gg(0x12)),
      // GG_USERLIST_REQUEST: PUT, then PUT_MORE; the server answers PUT_REPLY, PUT_MORE_REPLY.
      out(gg(0x16, u8(0x00), cp1250(list1))),
      out(gg(0x16, u8(0x01), cp1250(list2))),
      inc(gg(0x10, u8(0x00))),
      inc(gg(0x10, u8(0x02))),
      // GET, answered with GET_MORE_REPLY then GET_REPLY.
      out(gg(0x16, u8(0x02))),
      inc(gg(0x10, u8(0x04), cp1250(list1))),
      inc(gg(0x10, u8(0x06), cp1250(list2))),
    ];
    const whole = expectSplitInvariant(steps);
    const base = { localId: '777', remoteId: SERVER };
    expect(whole.events).toEqual([
      { direction: 'outgoing', type: 'other', subtype: 'client', ...base, data: { 'protocol-version': '0x20', status: 'online' } },
      { direction: 'incoming', type: 'login', ...base, data: { 'protocol-version': '0x20', status: 'online' } },
      { direction: 'outgoing', type: 'contact', subtype: 'export', ...base, text: list1, data: { contacts: 1, part: 'first' } },
      { direction: 'outgoing', type: 'contact', subtype: 'export', ...base, text: list2, data: { contacts: 1, part: 'more' } },
      { direction: 'incoming', type: 'contact', subtype: 'import', ...base, text: list1, data: { contacts: 1, part: 'more' } },
      { direction: 'incoming', type: 'contact', subtype: 'import', ...base, text: list2, data: { contacts: 1, part: 'last' } },
    ]);
  });

  it('a client-to-client (CTCP) message is a DCC request, not text; a refused login and a failed delivery are reported', () => {
    const steps: Step[] = [
      welcome,
      out(login70(12345, 0x02)),
      inc(gg(0x09)),
      inc(gg(0x0a, u32(0x11111111), u32(1), u32(2), u32(0x10), u8(0x02))),
      inc(gg(0x05, u32(0x06), u32(111), u32(5))),
      inc(gg(0x05, u32(0x02), u32(111), u32(6))),
    ];
    const whole = expectSplitInvariant(steps);
    expect(whole.events.slice(1)).toEqual([
      { direction: 'incoming', type: 'other', subtype: 'login-failed', localId: '12345', remoteId: SERVER, data: { reason: 'refused' } },
      { direction: 'incoming', type: 'other', subtype: 'dcc-request', localId: '12345', remoteId: String(0x11111111) },
      { direction: 'incoming', type: 'other', subtype: 'message-not-delivered', localId: '12345', remoteId: '111', data: { reason: 'not-delivered' } },
    ]);
  });
});

describe('Gadu-Gadu 8.0 transcripts: HTML and plain parts', () => {
  const html = '<span style="color:#000000; font-family:\'MS Shell Dlg 2\'; font-size:9pt; ">Tęśt</span>';

  it('login with a description; the conference message libgadu sends; received messages with HTML, rich text and recipients', () => {
    const plain = Buffer.from([0x54, 0xea, 0x9c, 0x74]); // "Tęśt" in CP1250
    const htmlBytes = Buffer.from(html, 'utf8');
    const offsetPlain = 20 + htmlBytes.length + 1;
    const offsetAttr = offsetPlain + plain.length + 1;
    // From test/automatic/script/20-messages.scr, "Sending conference message": to 0x111111, listing the others.
    const confer = gg(
      0x2d,
      u32(0x111111),
      u32(1),
      u32(0x28),
      u32(offsetPlain),
      u32(offsetAttr),
      htmlBytes,
      u8(0),
      plain,
      u8(0),
      u8(0x01),
      u32(2),
      u32(0x222222),
      u32(0x333333),
      Buffer.from('020600000008000000', 'hex'),
    );
    // "Receiving regular message" and "Receiving rich-text conference message".
    const recvHtml = Buffer.from('<b>tęśt</b>', 'utf8');
    const recv = (...attrs: Buffer[]) =>
      gg(
        0x2e,
        u32(0x00111111),
        u32(0x22002222),
        u32(0x33330033),
        u32(0x08),
        u32(24 + recvHtml.length + 1),
        u32(24 + recvHtml.length + 1 + 5),
        recvHtml,
        u8(0),
        Buffer.from([0x74, 0xea, 0x9c, 0x74]),
        u8(0),
        ...attrs,
      );
    const steps: Step[] = [
      welcome,
      out(login80(4242, 0x4004, 'Gadu-Gadu Client build 10.0.0.10450', 'Jestem tu 😀')),
      inc(gg(0x35, u32(1))),
      out(confer),
      inc(recv()),
      inc(recv(u8(0x01), u32(3), u32(1), u32(2), u32(3), u8(0x02), u16(4), Buffer.from('12345678', 'hex'))),
      // GG_RECV_OWN_MSG: the user's own message, sent from another of their sessions, to 555.
      inc(gg(0x5a, u32(555), u32(9), u32(1), u32(0x08), u32(24 + 10), u32(24 + 10 + 3), cstr('<i>ok</i>'), cstr('ok'))),
      // GG_NEW_STATUS80: status, flags, description length, description (UTF-8, no NUL).
      out(gg(0x38, u32(0x4003), u32(0x00800001), u32(Buffer.byteLength('Zajęta 🙂')), Buffer.from('Zajęta 🙂'))),
      out(gg(0x38, u32(0x0001), u32(0x00800001), u32(0))),
    ];
    const whole = expectSplitInvariant(steps);
    const client = { client: 'Gadu-Gadu Client', version: '10.0.0.10450', 'protocol-version': 'GG_LOGIN80', status: 'online', description: 'Jestem tu 😀' };
    const base = { localId: '4242' };
    expect(whole.events).toEqual([
      { direction: 'outgoing', type: 'other', subtype: 'client', ...base, remoteId: SERVER, data: client },
      { direction: 'incoming', type: 'login', ...base, remoteId: SERVER, data: client },
      {
        direction: 'outgoing',
        type: 'message',
        subtype: 'conference',
        ...base,
        remoteId: String(0x111111),
        conversation: `4242,${0x111111},${0x222222},${0x333333}`,
        text: 'Tęśt',
        data: { groupchat: true, recipients: `${0x222222},${0x333333}`, html },
      },
      { direction: 'incoming', type: 'message', ...base, remoteId: String(0x111111), text: 'tęśt', data: { html: '<b>tęśt</b>' } },
      {
        direction: 'incoming',
        type: 'message',
        subtype: 'conference',
        ...base,
        remoteId: String(0x111111),
        conversation: `1,2,3,4242,${0x111111}`,
        text: 'tęśt',
        data: { groupchat: true, recipients: '1,2,3', html: '<b>tęśt</b>' },
      },
      { direction: 'outgoing', type: 'message', ...base, remoteId: '555', text: 'ok', data: { copy: 'sent-elsewhere', html: '<i>ok</i>' } },
      { direction: 'outgoing', type: 'other', subtype: 'status', ...base, remoteId: SERVER, data: { status: 'away', 'protocol-status': '0x4003', description: 'Zajęta 🙂' } },
      { direction: 'outgoing', type: 'logout', ...base, remoteId: SERVER },
    ]);
    expect(whole.frames.every((f) => f.error === undefined)).toBe(true);
  });

  it('DCC7 file offers both ways (name, 64-bit size), a voice call, an image request and an image reply', () => {
    const name = (text: string) => Buffer.concat([Buffer.from(text, 'utf8'), zeros(255 - Buffer.byteLength(text))]);
    const id = Buffer.from('0102030405060708', 'hex');
    const hash = Buffer.alloc(20, 0xab);
    const offer = (from: number, to: number, type: number, file: string, size: number, high = 0) =>
      gg(0x20, id, u32(from), u32(to), u32(type), name(file), u32(size), u32(high), hash);
    const steps: Step[] = [
      welcome,
      out(login80(4242, 0x02, 'Gadu-Gadu Client build 8.0.0.7669')),
      inc(gg(0x35, u32(1))),
      out(gg(0x23, u32(4))), // DCC7 id request (file)
      inc(gg(0x23, u32(4), id)),
      out(offer(4242, 777, 4, 'raport kwartalny.pdf', 1_234_567)),
      inc(offer(777, 4242, 4, 'film.avi', 0x2345, 1)),
      inc(offer(777, 4242, 1, '', 0)),
      // An image request (flag 0x04: size, crc32) and the reply with its name (flag 0x05) in old messages.
      out(gg(0x0b, u32(777), u32(3), u32(0x08), u8(0), u8(0x04), u32(2048), u32(0xcafebabe))),
      inc(gg(0x0a, u32(777), u32(4), u32(5), u32(0x08), u8(0), u8(0x05), u32(2048), u32(0xcafebabe), cstr('kot.jpg'), Buffer.alloc(16, 0xff))),
    ];
    const whole = expectSplitInvariant(steps);
    const base = { localId: '4242', remoteId: '777' };
    expect(whole.events.slice(2)).toEqual([
      {
        direction: 'outgoing',
        type: 'file',
        subtype: 'dcc7',
        ...base,
        file: { name: 'raport kwartalny.pdf', size: 1_234_567 },
        data: { transfer: '0102030405060708', sha1: 'ab'.repeat(20) },
      },
      {
        direction: 'incoming',
        type: 'file',
        subtype: 'dcc7',
        ...base,
        file: { name: 'film.avi', size: 2 ** 32 + 0x2345 },
        data: { transfer: '0102030405060708', sha1: 'ab'.repeat(20) },
      },
      { direction: 'incoming', type: 'other', subtype: 'voice-call', ...base, data: { transfer: '0102030405060708' } },
      { direction: 'outgoing', type: 'other', subtype: 'image-request', ...base, data: { size: 2048, crc32: 'cafebabe' } },
      { direction: 'incoming', type: 'file', subtype: 'image', ...base, file: { name: 'kot.jpg', size: 2048 }, data: { crc32: 'cafebabe' } },
    ]);
    // A file offer can be refused (GG_DCC7_REJECT back to its sender); a message with an image is not rewritten.
    const offers = whole.frames.filter((f) => f.events?.[0]?.type === 'file' && f.events[0].subtype === 'dcc7');
    expect(offers).toHaveLength(2);
  });

  it('user list 10.0: exported and imported compressed (zlib), contacts counted from the XML', () => {
    const xml =
      '<ContactBook><Groups/><Contacts><Contact><Guid>1</Guid><GGNumber>111</GGNumber><ShowName>Jan</ShowName></Contact><Contact><GGNumber>222</GGNumber><ShowName>Zażółć</ShowName></Contact></Contacts></ContactBook>';
    const packed = deflateSync(Buffer.from(xml, 'utf8'));
    const steps: Step[] = [
      welcome,
      out(login80(4242, 0x02, 'Gadu-Gadu Client build 10.1.0.11070')),
      inc(gg(0x35, u32(1))),
      // GG_USERLIST100_REQUEST: type PUT, version, format GG100 (2), 0x01, the compressed list.
      out(gg(0x40, u8(0x00), u32(5), u8(0x02), u8(0x01), packed)),
      inc(gg(0x41, u8(0x10), u32(6), u8(0x02), u8(0x01))),
      out(gg(0x40, u8(0x02), u32(0), u8(0x02), u8(0x01))),
      inc(gg(0x41, u8(0x00), u32(6), u8(0x02), u8(0x01), packed)),
    ];
    const whole = expectSplitInvariant(steps);
    expect(whole.events.slice(2)).toEqual([
      { direction: 'outgoing', type: 'contact', subtype: 'export', localId: '4242', remoteId: SERVER, text: xml, data: { contacts: 2, part: 'all' } },
      { direction: 'incoming', type: 'contact', subtype: 'import', localId: '4242', remoteId: SERVER, text: xml, data: { contacts: 2, part: 'all' } },
    ]);
  });
});

describe('Gadu-Gadu 10.5 / 11.0 transcripts: protocol buffers', () => {
  it("GG_LOGIN105, GG_LOGIN110_OK, the messages of libgadu's test script both ways, contacts, a group chat", () => {
    const login105 = gg(
      0x83,
      pbBytes(1, 'pl'),
      pbBytes(2, pbUin(123456)),
      pbBytes(3, Buffer.alloc(20, 0x11)),
      pbVarint(4, 4),
      pbFixed32(5, 0x03eeff77),
      pbFixed32(6, 0x00030614),
      pbBytes(7, 'GG-Phoenix/11.3.45.10771 (BUILD;WINNT_x86-msvc;rv:11.0,pl;release;standard) (OS;Windows;Windows NT 6.1)'),
      pbFixed32(8, 0x2023),
      pbBytes(9, ''),
      pbBytes(10, zeros(4)),
      pbBytes(11, 'avatar,StatusComments,ggaccponly'),
      pbVarint(12, 0xff),
      pbVarint(13, 100),
    );
    const loginOk = gg(0x9d, pbVarint(1, 1), pbBytes(2, 'dummyhash'), pbVarint(3, 123456), pbFixed32(4, 1_400_000_000));
    // "Sending regular message" and "Sending HTML message lacking any formatting" of 20-messages.scr.
    const send1 = gg(0x7d, pbBytes(1, pbUin(123456, 1)), pbVarint(2, 8), pbVarint(3, 1), pbBytes(5, 'Tęśt'), pbBytes(6, '<span>Tęśt</span>'));
    const send2 = gg(0x7d, pbBytes(1, pbUin(123456, 1)), pbVarint(2, 8), pbVarint(3, 5), pbBytes(5, 'Tęśt'), pbBytes(6, 'Tęśt'));
    const recv = gg(
      0x7e,
      pbBytes(1, pbUin(654321)),
      pbVarint(2, 0x08),
      pbVarint(3, 77),
      pbFixed32(4, 1_400_000_100),
      pbBytes(5, 'Dzień dobry'),
      pbBytes(6, '<span>Dzień <b>dobry</b></span>'),
      pbFixed64(9, 12n),
    );
    const chat = gg(0x88, pbBytes(1, pbUin(654321)), pbVarint(2, 0x08), pbVarint(3, 78), pbFixed32(4, 1), pbBytes(5, 'do wszystkich'), pbFixed64(10, 0x1122334455667788n));
    const steps: Step[] = [
      welcome,
      out(login105),
      inc(loginOk),
      out(gg(0x78, Buffer.from([0x00, 0x06]), Buffer.from('654321'), u8(3), Buffer.from([0x00, 0x03]), Buffer.from('777'), u8(3))),
      out(gg(0x7b, Buffer.from([0x00, 0x03]), Buffer.from('888'), u8(3))),
      out(send1),
      out(send2),
      inc(recv),
      inc(chat),
      out(gg(0x59, u16(1), u32(654321))),
    ];
    const whole = expectSplitInvariant(steps);
    const client = { client: 'GG-Phoenix', version: '11.3.45.10771', 'protocol-version': 'GG_LOGIN105', status: 'unknown' };
    const base = { localId: '123456' };
    expect(whole.events).toEqual([
      { direction: 'outgoing', type: 'other', subtype: 'client', ...base, remoteId: SERVER, data: client },
      { direction: 'incoming', type: 'login', ...base, remoteId: SERVER, data: client },
      { direction: 'outgoing', type: 'contact', subtype: 'list', ...base, remoteId: SERVER, data: { contacts: 2, ids: '654321,777' } },
      { direction: 'outgoing', type: 'contact', subtype: 'add', ...base, remoteId: '888', data: { kind: 'normal' } },
      { direction: 'outgoing', type: 'message', ...base, remoteId: '123456', text: 'Tęśt', data: { html: '<span>Tęśt</span>' } },
      { direction: 'outgoing', type: 'message', ...base, remoteId: '123456', text: 'Tęśt', data: { html: 'Tęśt' } },
      { direction: 'incoming', type: 'message', ...base, remoteId: '654321', text: 'Dzień dobry', data: { html: '<span>Dzień <b>dobry</b></span>' } },
      {
        direction: 'incoming',
        type: 'message',
        subtype: 'conference',
        ...base,
        remoteId: String(0x1122334455667788n),
        conversation: String(0x1122334455667788n),
        text: 'do wszystkich',
        data: { groupchat: true },
      },
      { direction: 'outgoing', type: 'typing', subtype: 'active', ...base, remoteId: '654321', data: { length: 1 } },
    ]);
    expect(whole.frames.every((f) => f.error === undefined)).toBe(true);
  });
});
