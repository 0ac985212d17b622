/**
 * MSNP transcripts written from the public protocol documentation (the MSNP wiki's command pages and the
 * MSNP11 login in shared/protocols/README.md), for the versions the shared capture does not cover.
 */
import { enc, script, type Step } from './helpers.js';

/** A payload command: the line with the payload's byte length appended, then the payload. */
export function payload(line: string, body: string | Uint8Array): Uint8Array {
  const bytes = typeof body === 'string' ? enc(body) : body;
  const head = enc(`${line} ${bytes.byteLength}\r\n`);
  return Buffer.concat([head, bytes]);
}

export const TEXT_HEAD = 'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nX-MMS-IM-Format: FN=Segoe%20UI; EF=; CO=0; CS=0; PF=0\r\n\r\n';
export const typingBody = (who: string) => `MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: ${who}\r\n\r\n\r\n`;

/** A P2P (version 1) message: 48-byte little-endian header, body, 4-byte big-endian AppID footer. */
export function p2pMessage(dest: string, slp: string, appId = 0): Uint8Array {
  const body = enc(slp);
  const header = Buffer.alloc(48);
  header.writeUInt32LE(0, 0); // session id: 0 for SLP messages
  header.writeUInt32LE(93612, 4); // message id
  header.writeBigUInt64LE(0n, 8); // offset
  header.writeBigUInt64LE(BigInt(body.byteLength), 16); // total size
  header.writeUInt32LE(body.byteLength, 24); // length of this chunk
  header.writeUInt32LE(0, 28); // flags
  header.writeUInt32LE(0x1234, 32);
  const footer = Buffer.alloc(4);
  footer.writeUInt32BE(appId, 0);
  return Buffer.concat([enc(`MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\nP2P-Dest: ${dest}\r\n\r\n`), header, body, footer]);
}

export function slpInvite(to: string, from: string, guid: string, appId: number, context: string): string {
  const description = `EUF-GUID: ${guid}\r\nSessionID: 1980589\r\nAppID: ${appId}\r\nContext: ${context}\r\n\r\n\0`;
  return (
    `INVITE MSNMSGR:${to} MSNSLP/1.0\r\nTo: <msnmsgr:${to}>\r\nFrom: <msnmsgr:${from}>\r\n` +
    `Via: MSNSLP/1.0/TLP ;branch={33517CE4-02FC-4428-B6F4-39927229B722}\r\nCSeq: 0 \r\n` +
    `Call-ID: {9D79AE57-1BD5-444B-B14E-3FC9BB2B5D58}\r\nMax-Forwards: 0\r\n` +
    `Content-Type: application/x-msnmsgr-sessionreqbody\r\nContent-Length: ${Buffer.byteLength(description)}\r\n\r\n${description}`
  );
}

/** A file transfer Context: header length, version, u64 size, type, 260 UTF-16LE characters of name, preview flag. */
export function fileContext(name: string, size: number): string {
  const bytes = Buffer.alloc(574);
  bytes.writeUInt32LE(574, 0);
  bytes.writeUInt32LE(2, 4);
  bytes.writeBigUInt64LE(BigInt(size), 8);
  bytes.writeUInt32LE(1, 16);
  bytes.write(name, 20, 'utf16le');
  bytes.fill(0xff, 570, 574);
  return bytes.toString('base64');
}

export function msnObjectContext(type: number, friendly: string): string {
  const f = Buffer.from(`${friendly}\0`, 'utf16le').toString('base64');
  const xml = `<msnobj Creator="bob@live.com" Size="22731" Type="${type}" Location="TFR2C2.tmp" Friendly="${f}" SHA1D="trC8SlFx2sWQxZMIBAWSEnXc8oQ=" SHA1C="U4ND8qy5Ru3s6vKLyY6dtw9yzXw="/>`;
  return Buffer.from(`${xml}\0`).toString('base64');
}

export const FILE_GUID = '{5D3E02AB-6190-11D3-BBBB-00C04F795683}';
export const WEBCAM_PUSH = '{4BD96FC0-AB17-4425-A14A-439185962DC8}';
export const WEBCAM_PULL = '{1C9AA97E-9C05-4583-A3BD-908A196F1E92}';
export const OBJECT_GUID = '{A4268EEC-FEC5-49E5-95C3-F126696BDBF6}';

/** The MSNP11 login of shared/protocols/README.md: the dispatch server part (ends with XFR ... NS). */
export const MSNP11_DISPATCH: Step[] = script(
  ['>', 'VER 145 MSNP11 MSNP10 CVR0\r\n'],
  ['<', 'VER 145 MSNP11 MSNP10 CVR0\r\n'],
  ['>', 'CVR 146 0x0804 winnt 5.0 i386 MSNMSGR 7.0.0777 msmsgs cndes2005@hotmail.com\r\n'],
  ['<', 'CVR 146 1.0.0000 1.0.0000 1.0.0000 http://msgr.dlservice.microsoft.com http://messenger.msn.com/cn\r\n'],
  ['>', 'USR 147 TWN I cndes2005@hotmail.com\r\n'],
  ['<', 'XFR 147 NS 207.46.4.22:1863 0 65.54.239.20:1863\r\n'],
);

/** The same login on the notification server the client was sent to. */
export const MSNP11_NOTIFICATION: Step[] = script(
  ['>', 'VER 148 MSNP11 MSNP10 CVR0\r\n'],
  ['<', 'VER 148 MSNP11 MSNP10 CVR0\r\n'],
  ['>', 'CVR 149 0x0804 winnt 5.0 i386 MSNMSGR 7.0.0777 msmsgs cndes2005@hotmail.com\r\n'],
  ['<', 'CVR 149 1.0.0000 1.0.0000 1.0.0000 http://msgr.dlservice.microsoft.com http://messenger.msn.com/cn\r\n'],
  ['>', 'USR 150 TWN I cndes2005@hotmail.com\r\n'],
  [
    '<',
    'USR 150 TWN S lc=1033,id=507,tw=40,fs=1,ru=http%3A%2F%2Fmessenger%2Emsn%2Ecom,ct=1124521006,kpp=1,kv=7,ver=2.1.6000.1,rn=qp5CBKD1,tpf=8f62bda812c23d7b255e3771183d0a4c\r\n',
  ],
  ['>', 'USR 151 TWN S t=0Vk8sMpvqhdaIMk7EVOvV8Ovp0iVYfr8pcGVwR3Vt0&p=98*9H3OhRu2zfdYmKMUHBd2W4GRlw\r\n'],
  ['<', 'USR 151 OK cndes2005@hotmail.com 1 0\r\n'],
  ['>', 'SYN 152 2005-08-19T08:56:18.4170000-07:00 2005-08-19T08:56:20.1530000-07:00\r\n'],
  ['<', 'SYN 152 2005-08-19T08:56:18.4170000-07:00 2005-08-19T08:56:20.1530000-07:00 1 0\r\n'],
  ['>', payload('UUX 153', '<Data><PSM>at work</PSM><CurrentMedia></CurrentMedia></Data>')],
  ['<', 'UUX 153 0\r\n'],
  ['<', payload('UBX friend@hotmail.com', '<Data><PSM>\u4f60\u597d</PSM><CurrentMedia></CurrentMedia></Data>')],
  ['>', 'ADC 154 FL N=newfriend@hotmail.com F=newfriend@hotmail.com\r\n'],
  ['<', 'ADC 154 FL N=newfriend@hotmail.com F=newfriend@hotmail.com C=0dcdb19c-7ef0-4bd2-8b1b-5b9f2e0b7c35\r\n'],
  ['<', 'ADC 0 RL N=stranger@hotmail.com F=Stranger\r\n'],
  ['>', 'REM 155 FL 0dcdb19c-7ef0-4bd2-8b1b-5b9f2e0b7c35\r\n'],
  ['>', 'XFR 156 SB\r\n'],
  ['<', 'XFR 156 SB 207.46.108.37:1863 CKI 17262740.1050826919.32308\r\n'],
  ['<', 'RNG 11752013 207.46.108.38:1863 CKI 849102291.520491113 example@passport.com Example%20Name\r\n'],
  ['>', payload('QRY 158 PROD0090YUAUV{2B', '0123456789abcdef0123456789abcdef')],
  ['<', 'QRY 158\r\n'],
  ['>', 'OUT\r\n'],
);

const EPID_A1 = '{F26D1F07-95E2-403C-BC18-D4BFED493428}';
const EPID_A2 = '{0E1B0CEF-4D2C-4F8C-9BE2-7C67E6E0D2A5}';
const EPID_B1 = '{7B0AA6B4-C1E3-4FE2-A58F-2C3E0B0A71B0}';

/** MSNP15: SSO login, the sign-in ADL (not a change), contact changes by ADL/RML, an error with a payload. */
export const MSNP15_NOTIFICATION: Step[] = script(
  ['>', 'VER 1 MSNP15 CVR0\r\n'],
  ['<', 'VER 1 MSNP15\r\n'],
  ['>', 'CVR 2 0x0409 winnt 5.1 i386 MSNMSGR 8.5.1302 msmsgs alice@live.com\r\n'],
  ['<', 'CVR 2 8.5.1302 8.5.1302 8.5.1302 http://msgr.dlservice.microsoft.com http://download.live.com/?sku=messenger\r\n'],
  ['>', 'USR 3 SSO I alice@live.com\r\n'],
  ['<', 'USR 3 SSO S MBI_KEY_OLD Cg7pUbpK7K0T0yJ7J2lkVfOqJBt6xrRKf2k8QJ0pJ7c=\r\n'],
  ['>', 'USR 4 SSO S t=EwDwAW+jAAAU HAAAAExample== HAAAAAgAAAANAAAA\r\n'],
  ['<', 'USR 4 OK alice@live.com 1 0\r\n'],
  ['<', 'SBS 0 null\r\n'],
  ['<', payload('MSG Hotmail Hotmail', 'MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsprofile; charset=UTF-8\r\nLoginTime: 1187532090\r\nEmailEnabled: 1\r\n\r\n')],
  ['>', 'BLP 5 AL\r\n'],
  ['>', payload('ADL 6', '<ml l="1"><d n="live.com"><c n="bob" l="3" t="1"/></d></ml>')],
  ['<', 'ADL 6 OK\r\n'],
  ['>', 'PRP 7 MFN Alice\r\n'],
  ['>', 'CHG 8 NLN 1342177280\r\n'],
  ['<', 'CHG 8 NLN 1342177280\r\n'],
  ['<', payload('NOT', '<NOTIFICATION ver="2" id="1"><TO pid="0x0:0x0" name="alice@live.com"/><MSG id="0"><BODY>hi</BODY></MSG></NOTIFICATION>')],
  ['>', payload('ADL 9', '<ml><d n="example.com"><c n="carol" l="1" t="1"/></d></ml>')],
  ['<', 'ADL 9 OK\r\n'],
  ['>', payload('RML 10', '<ml><d n="live.com"><c n="bob" l="1" t="1"/></d></ml>')],
  ['<', payload('241 10', '<ml><d n="live.com"><c n="bob" l="1" t="1"/></d></ml>')],
  ['>', payload('FQY 11', '<ml><d n="yahoo.com"><c n="yuser"/></d></ml>')],
  ['<', payload('FQY 11', '<ml><d n="yahoo.com"><c n="yuser" t="32"/></d></ml>')],
  ['>', payload('UUM 12 yuser@yahoo.com 32 1', `${TEXT_HEAD}hello yahoo`)],
  ['<', payload('UBM yuser@yahoo.com 32 1', `${TEXT_HEAD}hello from yahoo`)],
  ['>', 'GCF 13 Shields.xml\r\n'],
  ['<', payload('GCF 13 Shields.xml', '<?xml version="1.0" encoding="utf-8" ?><config><shield></shield><block></block></config>')],
  ['<', payload('IPG', '<NOTIFICATION><TO name="alice@live.com"/><FROM name="tel:+15551234"/></NOTIFICATION>')],
  ['>', 'OUT\r\n'],
);

/** MSNP18 switchboard: endpoint ids, the local user's second point of presence, a third participant. */
export const MSNP18_SWITCHBOARD: Step[] = script(
  ['>', `USR 1 alice@live.com;${EPID_A1} 17262740.1050826919.32308\r\n`],
  ['<', `USR 1 OK alice@live.com;${EPID_A1} Alice\r\n`],
  ['>', 'CAL 2 bob@live.com\r\n'],
  ['<', 'CAL 2 RINGING 11752013\r\n'],
  ['<', `JOI bob@live.com;${EPID_B1} Bob 2789003324:48\r\n`],
  ['<', `JOI alice@live.com;${EPID_A2} Alice 2789003324:48\r\n`],
  ['>', payload('MSG 3 U', typingBody('alice@live.com'))],
  ['>', payload('MSG 4 N', `${TEXT_HEAD}h\u00e9llo bob \u2713 \u4f60\u597d`)],
  ['<', payload('MSG bob@live.com Bob', `${TEXT_HEAD}hi alice`)],
  ['<', payload('MSG bob@live.com Bob', typingBody('bob@live.com'))],
  [
    '>',
    payload(
      'MSG 5 D',
      p2pMessage(`bob@live.com;${EPID_B1}`, slpInvite(`bob@live.com;${EPID_B1}`, `alice@live.com;${EPID_A1}`, FILE_GUID, 2, fileContext('report \u00e9t\u00e9.pdf', 123456)), 0),
    ),
  ],
  [
    '<',
    payload(
      'MSG bob@live.com Bob',
      p2pMessage(
        `alice@live.com;${EPID_A1}`,
        slpInvite(
          `alice@live.com;${EPID_A1}`,
          `bob@live.com;${EPID_B1}`,
          WEBCAM_PUSH,
          4,
          'ewBCADgAQgBFADcAMABEAEUALQBFADIAQwBBAC0ANAA0ADAAMAAtAEEARQAwADMALQA4ADgARgBGADgANQBCADkARgA0AEUAOAB9AA==',
        ),
        4,
      ),
    ),
  ],
  [
    '>',
    payload(
      'MSG 6 D',
      p2pMessage(
        `bob@live.com;${EPID_B1}`,
        slpInvite(
          `bob@live.com;${EPID_B1}`,
          `alice@live.com;${EPID_A1}`,
          WEBCAM_PULL,
          4,
          'ewBCADgAQgBFADcAMABEAEUALQBFADIAQwBBAC0ANAA0ADAAMAAtAEEARQAwADMALQA4ADgARgBGADgANQBCADkARgA0AEUAOAB9AA==',
        ),
        4,
      ),
    ),
  ],
  [
    '<',
    payload(
      'MSG bob@live.com Bob',
      p2pMessage(`alice@live.com;${EPID_A1}`, slpInvite(`alice@live.com;${EPID_A1}`, `bob@live.com;${EPID_B1}`, OBJECT_GUID, 1, msnObjectContext(3, 'bob.png')), 1),
    ),
  ],
  [
    '<',
    payload(
      'MSG bob@live.com Bob',
      p2pMessage(`alice@live.com;${EPID_A1}`, slpInvite(`alice@live.com;${EPID_A1}`, `bob@live.com;${EPID_B1}`, OBJECT_GUID, 11, msnObjectContext(2, ':party')), 11),
    ),
  ],
  [
    '<',
    payload(
      'MSG bob@live.com Bob',
      'MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsinvite; charset=UTF-8\r\n\r\nApplication-Name: File Transfer\r\nApplication-GUID: {5D3E02AB-6190-11D3-BBBB-00C04F795683}\r\nInvitation-Command: INVITE\r\nInvitation-Cookie: 24\r\nApplication-File: notes.txt\r\nApplication-FileSize: 2048\r\nConnectivity: N\r\n\r\n',
    ),
  ],
  ['<', 'JOI carol@live.com Carol 2789003324:48\r\n'],
  ['<', payload('MSG carol@live.com Carol', `${TEXT_HEAD}hi all`)],
  ['<', payload('MSG carol@live.com Carol', typingBody('carol@live.com'))],
  ['>', payload('MSG 7 N', `${TEXT_HEAD}hi carol`)],
  ['<', 'BYE carol@live.com\r\n'],
  ['<', `BYE alice@live.com;${EPID_A2}\r\n`],
  ['>', 'OUT\r\n'],
);

/** MSNP18 incoming switchboard session: RNG on the notification server, then ANS and IRO. */
export const MSNP18_ANSWER: Step[] = script(
  ['>', `ANS 1 alice@live.com;${EPID_A1} 849102291.520491113 11752099\r\n`],
  ['<', `IRO 1 1 2 bob@live.com;${EPID_B1} Bob 2789003324:48\r\n`],
  ['<', 'IRO 1 2 2 carol@live.com Carol 2789003324:48\r\n'],
  ['<', 'ANS 1 OK\r\n'],
  ['<', payload('MSG bob@live.com Bob', `${TEXT_HEAD}welcome`)],
);

function sdg(trid: string, to: string, from: string, messaging: string, body: string): Uint8Array {
  const length = Buffer.byteLength(body);
  return payload(
    `SDG ${trid} MSGR`,
    `Routing: 1.0\r\nTo: ${to}\r\nFrom: ${from}\r\n\r\nReliability: 1.0\r\n\r\nMessaging: 2.0\r\n${messaging}Content-Length: ${length}\r\n\r\n${body}`,
  );
}

const EPID21 = '{C2BFB9D9-4AE9-4E09-9C4B-4E1E3B6FD6B8}';

/** MSNP21: no switchboards; messages and typing as SDG over the notification server, copies to other endpoints. */
export const MSNP21_NOTIFICATION: Step[] = script(
  ['>', 'VER 1 MSNP21 CVR0\r\n'],
  ['<', 'VER 1 MSNP21\r\n'],
  ['>', 'CVR 2 0x0409 winnt 6.1.0 i386 MSNMSGR 15.4.3508.1109 MSNMSGR alice@live.com\r\n'],
  ['<', 'CVR 2 15.4.3508.1109 15.4.3508.1109 15.4.3508.1109 http://msgr.dlservice.microsoft.com http://download.live.com/?sku=messenger\r\n'],
  ['>', 'USR 3 SSO I alice@live.com\r\n'],
  ['<', 'USR 3 SSO S MBI_KEY_OLD Cg7pUbpK7K0T0yJ7J2lkVfOqJBt6xrRKf2k8QJ0pJ7c=\r\n'],
  ['>', `USR 4 SSO S t=EwDwAW+jAAAU HAAAAAgAAAANAAAA ${EPID21}\r\n`],
  ['<', 'USR 4 OK alice@live.com 1 0\r\n'],
  [
    '>',
    payload(
      'PUT 5 MSGR\\PRESENCE',
      `Routing: 1.0\r\nTo: 1:alice@live.com\r\nFrom: 1:alice@live.com;epid=${EPID21}\r\n\r\nReliability: 1.0\r\n\r\nPublication: 1.0\r\nUri: /user\r\nContent-Type: application/user+xml\r\nContent-Length: 45\r\n\r\n<user><s n="IM"><Status>NLN</Status></s></user>`,
    ),
  ],
  ['<', 'PUT 5 OK 0\r\n'],
  [
    '>',
    sdg(
      '6',
      '1:bob@live.com',
      `1:alice@live.com;epid=${EPID21}`,
      'Message-Type: Text\r\nIM-Display-Name: Alice\r\nContent-Type: text/plain; charset=UTF-8\r\n',
      'h\u00e9llo bob \u2713',
    ),
  ],
  [
    '<',
    sdg(
      '0',
      `1:alice@live.com;epid=${EPID21}`,
      '1:bob@live.com;epid={1F7D6B3E-6E1B-4C4B-9E6A-0C8E5B3F2A10}',
      'Message-Type: Control/Typing\r\nContent-Type: text/plain; charset=UTF-8\r\n',
      '',
    ),
  ],
  [
    '<',
    sdg(
      '0',
      `1:alice@live.com;epid=${EPID21}`,
      '1:bob@live.com;epid={1F7D6B3E-6E1B-4C4B-9E6A-0C8E5B3F2A10}',
      'Message-Type: Text\r\nIM-Display-Name: Bob\r\nContent-Type: text/plain; charset=UTF-8\r\n',
      'hi alice',
    ),
  ],
  ['>', sdg('7', '1:bob@live.com', `1:alice@live.com;epid=${EPID21}`, 'Message-Type: Control/Typing\r\nContent-Type: text/plain; charset=UTF-8\r\n', '')],
  [
    '<',
    sdg(
      '0',
      '1:bob@live.com',
      '1:alice@live.com;epid={0E1B0CEF-4D2C-4F8C-9BE2-7C67E6E0D2A5}',
      'Message-Type: Text\r\nIM-Display-Name: Alice\r\nContent-Type: text/plain; charset=UTF-8\r\n',
      'sent from my phone',
    ),
  ],
  [
    '<',
    payload(
      'NFY MSGR\\PUT',
      `Routing: 1.0\r\nTo: 1:alice@live.com\r\nFrom: 1:bob@live.com\r\n\r\nReliability: 1.0\r\n\r\nNotification: 1.0\r\nUri: /user\r\nContent-Type: application/user+xml\r\nContent-Length: 45\r\n\r\n<user><s n="IM"><Status>BSY</Status></s></user>`,
    ),
  ],
  [
    '>',
    sdg(
      '8',
      '19:0c8e5b3f2a10@thread.skype',
      `1:alice@live.com;epid=${EPID21}`,
      'Message-Type: Text\r\nIM-Display-Name: Alice\r\nContent-Type: text/plain; charset=UTF-8\r\n',
      'hello group',
    ),
  ],
  [
    '<',
    sdg('0', '19:0c8e5b3f2a10@thread.skype', '1:carol@live.com', 'Message-Type: Text\r\nIM-Display-Name: Carol\r\nContent-Type: text/plain; charset=UTF-8\r\n', 'hi from carol'),
  ],
  ['>', 'OUT\r\n'],
);
