/**
 * MSN's HTTP gateway, written from its documentation (hypothetic.org "HTTP Connections" and "HTTP Examples", the
 * MSNP wiki "HTTP Gateway"): a notification-server session and a switchboard session, each opened with
 * `Action=open&Server=NS|SB&IP=...`, continued with `SessionID=...` (a new id in every response's
 * `X-MSN-Messenger`, with `GW-IP`), polled with `Action=poll`, and closed with `Session=close`. The MSNP inside is
 * the MSNP8 flow of the TCP transcripts; `tcpSteps` gives the same commands as a TCP conversation, to compare.
 */
import { concatBytes } from '@imspect/sdk/testing';
import { enc, type Step } from './helpers.js';
import { payload, TEXT_HEAD, typingBody } from './transcripts.js';

export const GATEWAY_HOST = 'gateway.messenger.hotmail.com';
export const GATEWAY_IP = '207.46.110.18';
export const ALICE = 'alice@hotmail.com';
export const BOB = 'bob@hotmail.com';

/** The request headers the official client sends (hypothetic.org's examples). */
function requestHead(target: string, host: string, length: number, viaProxy: boolean): string {
  return [
    `POST ${viaProxy ? `http://${host}` : ''}${target} HTTP/1.1`,
    'Accept: */*',
    'Accept-Language: en-us',
    'Accept-Encoding: gzip, deflate',
    'User-Agent: MSMSGS',
    `Host: ${host}`,
    ...(viaProxy ? ['Proxy-Connection: Keep-Alive'] : []),
    'Connection: Keep-Alive',
    'Pragma: no-cache',
    'Content-Type: application/x-msn-messenger',
    `Content-Length: ${length}`,
    '',
    '',
  ].join('\r\n');
}

export function gatewayRequest(query: string, body: Uint8Array | string, options: { host?: string; viaProxy?: boolean } = {}): Uint8Array {
  const bytes = typeof body === 'string' ? enc(body) : body;
  return concatBytes([enc(requestHead(`/gateway/gateway.dll?${query}`, options.host ?? GATEWAY_HOST, bytes.byteLength, options.viaProxy ?? false)), bytes]);
}

export function gatewayResponse(sessionId: string, body: Uint8Array | string, options: { close?: boolean; version?: string } = {}): Uint8Array {
  const bytes = typeof body === 'string' ? enc(body) : body;
  const head = [
    `${options.version ?? 'HTTP/1.1'} 200 OK`,
    'Server: Microsoft-IIS/5.0',
    'Date: Tue, 18 Mar 2003 07:39:53 GMT',
    `X-MSN-Messenger: ${options.close ? 'Session=close; ' : ''}SessionID=${sessionId}; GW-IP=${GATEWAY_IP}`,
    `Content-Length: ${bytes.byteLength}`,
    'Content-Type: application/x-msn-messenger',
    '',
    '',
  ].join('\r\n');
  return concatBytes([enc(head), bytes]);
}

/** One exchange: the commands the client sent (in the request body) and what the server answered (the response body). */
export interface Exchange {
  query: string;
  sent: Array<Uint8Array | string>;
  /** The id the response names for the next request. */
  next: string;
  answered: Array<Uint8Array | string>;
  close?: boolean;
}

const join = (parts: Array<Uint8Array | string>) => concatBytes(parts.map((p) => (typeof p === 'string' ? enc(p) : p)));

/** The exchanges as HTTP steps (request, response), alternating as a client that waits for each response does. */
export function httpSteps(exchanges: readonly Exchange[], options: { viaProxy?: boolean } = {}): Step[] {
  const steps: Step[] = [];
  exchanges.forEach((exchange, i) => {
    // After the first response the client talks to the gateway address it was given (GW-IP).
    const host = i === 0 ? GATEWAY_HOST : GATEWAY_IP;
    steps.push({ direction: 'outgoing', data: gatewayRequest(exchange.query, join(exchange.sent), { host, viaProxy: options.viaProxy ?? false }) });
    steps.push({ direction: 'incoming', data: gatewayResponse(exchange.next, join(exchange.answered), exchange.close ? { close: true } : {}) });
  });
  return steps;
}

/** The same commands over TCP 1863: what the MSN plugin reads there. */
export function tcpSteps(exchanges: readonly Exchange[]): Step[] {
  const steps: Step[] = [];
  for (const exchange of exchanges) {
    if (exchange.sent.length > 0) steps.push({ direction: 'outgoing', data: join(exchange.sent) });
    if (exchange.answered.length > 0) steps.push({ direction: 'incoming', data: join(exchange.answered) });
  }
  return steps;
}

/** The notification server session: login (Tweener), presence, a poll that finds nothing, sign-out. */
export const NS_EXCHANGES: Exchange[] = [
  { query: 'Action=open&Server=NS&IP=messenger.hotmail.com', sent: ['VER 5 MSNP8 CVR0\r\n'], next: '954547325.13160', answered: ['VER 5 MSNP8 CVR0\r\n'] },
  {
    query: 'SessionID=954547325.13160',
    sent: [`CVR 6 0x0409 winnt 5.1 i386 MSNMSGR 6.0.0602 MSMSGS ${ALICE}\r\n`],
    next: '954547325.13161',
    answered: ['CVR 6 6.0.0602 6.0.0602 6.0.0602 http://download.microsoft.com/download/msnmessenger http://messenger.msn.com\r\n'],
  },
  {
    query: 'SessionID=954547325.13161',
    sent: [`USR 7 TWN I ${ALICE}\r\n`],
    next: '954547325.13162',
    answered: ['USR 7 TWN S lc=1033,id=507,tw=40,fs=1,ru=http%3A%2F%2Fmessenger%2Emsn%2Ecom,ct=1062764229,kpp=1,kv=5,ver=2.1.0173.1,tpf=43f8a4c8ed940c04e3740be46c4d1619\r\n'],
  },
  {
    query: 'SessionID=954547325.13162',
    sent: [
      'USR 8 TWN S t=53*1hAu8ADuD3TEwdXoOMi08sD*2!cMrntTwVMTjoB3p6stWTqzbkKZPVQzA5NOt19SLI60PY!b8K4YhC!Ooo5ug$$&p=5eKBBC!yBH6ex5mftp!a9DrSb0B3hU8aqAWpaPn07iCGBw5akemiWSd7t2ot!okPvIR!Wqk!MKvi1IMpxfhkao9wpxlMWYAZ!DqRfACmyQGG112Bp9xrk04!BVBUa9*H9mJLoWw39m63YQRE1yHnYNv08nyz43D3OnMcaCoeSaEHVM7LpR*LWDme29qq2X3j8N\r\n',
    ],
    next: '954547325.13163',
    answered: [`USR 8 OK ${ALICE} Alice 1 0\r\n`],
  },
  { query: 'SessionID=954547325.13163', sent: ['CHG 9 NLN 0\r\n'], next: '954547325.13164', answered: ['CHG 9 NLN 0\r\n'] },
  // Nothing queued: an empty response (hypothetic.org's "polling ... and finding none").
  { query: 'Action=poll&SessionID=954547325.13164', sent: [], next: '954547325.32498', answered: [] },
  { query: 'SessionID=954547325.32498', sent: ['XFR 10 SB\r\n'], next: '954547325.32499', answered: ['XFR 10 SB 207.46.108.37:1863 CKI 17262740.1050826919.32308\r\n'] },
  { query: 'SessionID=954547325.32499', sent: ['OUT\r\n'], next: '954547325.32500', answered: [], close: true },
];

export const SB_IP = '207.46.108.37';
export const SB_SESSION = '11752013';

/** The switchboard session: alice invites bob, types, both write, alice offers a file, bob leaves. */
export const SB_EXCHANGES: Exchange[] = [
  {
    query: `Action=open&Server=SB&IP=${SB_IP}`,
    sent: [`USR 11 ${ALICE} 17262740.1050826919.32308\r\n`],
    next: '1322143120.47302',
    answered: [`USR 11 OK ${ALICE} Alice\r\n`],
  },
  { query: 'SessionID=1322143120.47302', sent: [`CAL 12 ${BOB}\r\n`], next: '1322143120.47303', answered: [`CAL 12 RINGING ${SB_SESSION}\r\n`] },
  { query: 'Action=poll&SessionID=1322143120.47303', sent: [], next: '1322143120.47304', answered: [`JOI ${BOB} Bob\r\n`] },
  {
    query: 'SessionID=1322143120.47304',
    sent: [payload('MSG 13 U', typingBody(ALICE)), payload('MSG 14 N', `${TEXT_HEAD}hello bob`)],
    next: '1322143120.47305',
    answered: [],
  },
  {
    query: 'Action=poll&SessionID=1322143120.47305',
    sent: [],
    next: '1322143120.47306',
    answered: [payload(`MSG ${BOB} Bob`, typingBody(BOB)), payload(`MSG ${BOB} Bob`, `${TEXT_HEAD}hi alice, caf\u00e9?`)],
  },
  {
    query: 'SessionID=1322143120.47306',
    sent: [
      payload(
        'MSG 15 N',
        'MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsinvite; charset=UTF-8\r\n\r\nApplication-Name: File Transfer\r\nApplication-GUID: {5D3E02AB-6190-11d3-BBBB-00C04F795683}\r\nInvitation-Command: INVITE\r\nInvitation-Cookie: 56781\r\nApplication-File: notes.txt\r\nApplication-FileSize: 1234\r\nConnectivity: N\r\n\r\n',
      ),
    ],
    next: '1322143120.47307',
    answered: [],
  },
  { query: 'Action=poll&SessionID=1322143120.47307', sent: [], next: '1322143120.47308', answered: [`BYE ${BOB}\r\n`] },
  { query: 'SessionID=1322143120.47308', sent: ['OUT\r\n'], next: '1322143120.47309', answered: [], close: true },
];

/** A request for something else on the same connection (a web page), with a body of its own. */
export const OTHER_REQUEST = enc('GET /index.html HTTP/1.1\r\nHost: www.example.com\r\nAccept: */*\r\n\r\n');
const PAGE = '<html><body>MSG 1 N 5 not msnp</body></html>';
export const OTHER_RESPONSE = enc(`HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: ${PAGE.length}\r\n\r\n${PAGE}`);
