/**
 * MSN's HTTP gateway (transcripts written from the documentation, http-transcripts.ts): the same events as the
 * same commands over TCP, split invariance, one MSN session across many requests and connections, policy on the
 * commands inside a request or response (blocked left out, masked re-encoded, Content-Length fixed, a send whose
 * commands were all blocked turned into a poll, replies delivered in the next response), other HTTP untouched and
 * unbuffered, limits.
 */
import { describe, expect, it } from 'vitest';
import { HttpFramer, type Direction, type EventDraft, type Frame } from '@imspect/sdk';
import {
  checkPassesThrough,
  checkSplitInvariance,
  concatBytes,
  cutRandom,
  describeFrame,
  latin1String,
  runTranscript,
  seededRandom,
  testEvent,
  type FrameRecord,
  type RecordedFrame,
} from '@imspect/sdk/testing';
import { MsnConnectionSession } from '../src/connection-session.js';
import { GatewaySessions } from '../src/gateway-sessions.js';
import { parseGatewayTarget, parseMessengerHeader, pollTarget } from '../src/gateway.js';
import { MsnHttpSession } from '../src/http-session.js';
import { MsnRoutes } from '../src/routes.js';
import { MsnSession } from '../src/session.js';
import { DEFAULT_FRAME, enc } from './helpers.js';
import * as H from './http-transcripts.js';
import { payload, TEXT_HEAD } from './transcripts.js';

const CLIENT = { ip: '192.0.2.1', port: 40000 };
const GATEWAY = { host: H.GATEWAY_IP, port: 80 };
const OPTIONS = { typing: true, noticeName: 'imspect' };

function httpSession(sessions = new GatewaySessions(OPTIONS), maxMessageBytes = DEFAULT_FRAME): MsnHttpSession {
  return new MsnHttpSession({ client: CLIENT, server: GATEWAY, maxFrameSize: DEFAULT_FRAME }, { sessions, maxMessageBytes });
}

function tcpSession(host: string): MsnSession {
  return new MsnSession({ client: CLIENT, server: { host, port: 1863 }, maxFrameSize: DEFAULT_FRAME }, OPTIONS);
}

/** Frames that only pass bytes through (a body streamed as it came) merged per direction: their cut follows the input's. */
function normalise(frames: readonly RecordedFrame[]): FrameRecord[] {
  const out: FrameRecord[] = [];
  for (const recorded of frames) {
    const record = describeFrame(recorded);
    const plain = Object.keys(record).every((k) => k === 'direction' || k === 'raw');
    const last = out.at(-1);
    if (plain && last && last.direction === record.direction && Object.keys(last).every((k) => k === 'direction' || k === 'raw')) last.raw += record.raw;
    else out.push(record);
  }
  return out;
}

const eventsOf = (steps: H.Exchange[], transport: 'tcp' | 'http', host: string) => {
  if (transport === 'tcp') return runTranscript(() => tcpSession(host), H.tcpSteps(steps)).events;
  return runTranscript(() => httpSession(), H.httpSteps(steps)).events;
};

describe("MSN's HTTP gateway, as documented", () => {
  it('reads the gateway fields: open, poll, send targets in both forms; the X-MSN-Messenger header', () => {
    expect(parseGatewayTarget('/gateway/gateway.dll?Action=open&Server=NS&IP=messenger.hotmail.com')).toMatchObject({ action: 'open', server: 'NS', ip: 'messenger.hotmail.com' });
    expect(parseGatewayTarget('http://207.46.110.18/gateway/gateway.dll?Action=poll&SessionID=954547325.32498')).toMatchObject({ action: 'poll', sessionId: '954547325.32498' });
    const send = parseGatewayTarget('/gateway/gateway.dll?SessionID=954547325.13160')!;
    expect(send).toMatchObject({ action: undefined, sessionId: '954547325.13160' });
    expect(pollTarget(send)).toBe('/gateway/gateway.dll?Action=poll&SessionID=954547325.13160');
    expect(parseGatewayTarget('/gateway/gateway.dll')).toBeUndefined();
    expect(parseGatewayTarget('/index.html?SessionID=1')).toBeUndefined();
    expect(parseMessengerHeader('SessionID=954547325.13160; GW-IP=207.46.110.18')).toEqual({ sessionId: '954547325.13160', gatewayIp: '207.46.110.18', close: false });
    expect(parseMessengerHeader('Session=close; SessionID=1.2; GW-IP=10.0.0.1')).toMatchObject({ close: true, sessionId: '1.2' });
  });

  it('logs the notification-server session exactly as the same commands over TCP 1863', () => {
    const http = eventsOf(H.NS_EXCHANGES, 'http', '');
    const tcp = eventsOf(H.NS_EXCHANGES, 'tcp', 'messenger.hotmail.com');
    expect(http).toEqual(tcp);
    expect(http.map((e) => `${e.direction} ${e.type} ${e.localId} ${e.remoteId}`)).toEqual([
      `outgoing other ${H.ALICE} messenger.hotmail.com`,
      `incoming login ${H.ALICE} messenger.hotmail.com`,
      // CHG 9 NLN 0: her own status.
      `outgoing other ${H.ALICE} messenger.hotmail.com`,
      `outgoing logout ${H.ALICE} messenger.hotmail.com`,
    ]);
  });

  it('logs the switchboard session exactly as over TCP: join, typing, messages both ways, a file offer, leave', () => {
    const http = eventsOf(H.SB_EXCHANGES, 'http', '');
    expect(http).toEqual(eventsOf(H.SB_EXCHANGES, 'tcp', H.SB_IP));
    expect(http.map((e) => `${e.direction} ${e.type} ${e.remoteId} ${e.text ?? e.file?.name ?? ''}`.trim())).toEqual([
      `incoming join ${H.BOB}`,
      `outgoing typing ${H.BOB}`,
      `outgoing message ${H.BOB} hello bob`,
      `incoming typing ${H.BOB}`,
      `incoming message ${H.BOB} hi alice, caf\u00e9?`,
      `outgoing file ${H.BOB} notes.txt`,
      `incoming leave ${H.BOB}`,
      `outgoing leave ${H.BOB}`,
    ]);
    expect(http.every((e) => e.localId === H.ALICE && e.conversation === H.SB_SESSION)).toBe(true);
  });

  for (const [name, exchanges, events] of [
    ['notification server', H.NS_EXCHANGES, 4],
    ['switchboard', H.SB_EXCHANGES, 8],
  ] as const) {
    it(`gives the same frames and events for the ${name} session however the bytes are cut, and forwards every byte as it came`, () => {
      const whole = checkSplitInvariance(() => httpSession(), H.httpSteps(exchanges), { normalise, compareForwarded: true, bufferLimit: DEFAULT_FRAME, randomRuns: 20 });
      for (const direction of ['outgoing', 'incoming'] as const) expect(latin1String(whole.forwarded[direction])).toBe(latin1String(whole.input[direction]));
      expect(whole.events).toHaveLength(events);
      expect(whole.rawFrames.filter((f) => f.frame.error)).toEqual([]);
    });
  }

  it('gives the same frames through a proxy (absolute URIs), with a web page between the sessions on the same connection, cut at random', () => {
    const steps = [
      ...H.httpSteps(H.NS_EXCHANGES, { viaProxy: true }),
      { direction: 'outgoing' as const, data: H.OTHER_REQUEST },
      { direction: 'incoming' as const, data: H.OTHER_RESPONSE },
      ...H.httpSteps(H.SB_EXCHANGES, { viaProxy: true }),
    ];
    const whole = checkSplitInvariance(() => httpSession(), steps, { normalise, compareForwarded: true, bufferLimit: DEFAULT_FRAME, singleCuts: false, randomRuns: 60 });
    for (const direction of ['outgoing', 'incoming'] as const) expect(latin1String(whole.forwarded[direction])).toBe(latin1String(whole.input[direction]));
    expect(whole.events).toHaveLength(12);
    expect(whole.rawFrames.filter((f) => f.frame.error)).toEqual([]);
  });

  it('keeps one MSN session across requests on different connections, by the session id each response names', () => {
    const sessions = new GatewaySessions(OPTIONS);
    const ns = H.httpSteps(H.NS_EXCHANGES);
    const sb = H.httpSteps(H.SB_EXCHANGES);
    const events: Array<EventDraft & { direction: Direction }> = [];
    // The notification server's exchanges spread over three connections, the switchboard's over two, interleaved.
    const connections = [ns.slice(0, 4), sb.slice(0, 6), ns.slice(4, 10), sb.slice(6), ns.slice(10)];
    for (const steps of connections) events.push(...runTranscript(() => httpSession(sessions), steps).events);
    const tcp = [...eventsOf(H.NS_EXCHANGES, 'tcp', 'messenger.hotmail.com'), ...eventsOf(H.SB_EXCHANGES, 'tcp', H.SB_IP)];
    const key = (e: EventDraft & { direction: Direction }) => JSON.stringify(e);
    expect(events.map(key).sort()).toEqual(tcp.map(key).sort());
    // Both sessions ended with Session=close: nothing is remembered.
    expect(sessions.size).toBe(0);
  });

  it('reads a session it joins mid-way (an id never seen) without losing a byte', () => {
    const steps = H.httpSteps(H.SB_EXCHANGES).slice(6);
    const whole = checkSplitInvariance(() => httpSession(), steps, { normalise, compareForwarded: true, randomRuns: 10 });
    expect(latin1String(whole.forwarded.outgoing)).toBe(latin1String(whole.input.outgoing));
    // Who the local user is was said before imspect saw the session: the switchboard's messages name nobody yet.
    expect(whole.events).toEqual([]);
  });

  it('passes other HTTP through untouched and unbuffered: pages, uploads, chunked bodies, a tunnel', () => {
    const upload = `POST /upload HTTP/1.1\r\nHost: files.example\r\nContent-Length: 200000\r\n\r\n${'u'.repeat(200_000)}`;
    const chunked = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n5\r\npedia\r\n0\r\n\r\n';
    const steps = [
      { direction: 'outgoing' as const, data: H.OTHER_REQUEST },
      { direction: 'incoming' as const, data: H.OTHER_RESPONSE },
      { direction: 'outgoing' as const, data: enc(upload) },
      { direction: 'incoming' as const, data: enc('HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n') },
      { direction: 'outgoing' as const, data: enc('GET /wiki HTTP/1.1\r\nHost: w\r\n\r\n') },
      { direction: 'incoming' as const, data: enc(chunked) },
      { direction: 'outgoing' as const, data: enc('GET /chat HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n') },
      { direction: 'incoming' as const, data: enc('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello') },
      { direction: 'outgoing' as const, data: enc('\x81\x85abcdPOST /gateway/gateway.dll?SessionID=1.2 HTTP/1.1\r\n') },
    ];
    checkPassesThrough(() => httpSession(), steps, { randomRuns: 5, maxPiece: 4096, bufferLimit: 1024 });
  });

  it('passes a gateway body over the limit through unread, with a logged protocol error', () => {
    const big = payload('MSG 14 N', `${TEXT_HEAD}${'x'.repeat(3000)}`);
    const steps = [
      ...H.httpSteps(H.SB_EXCHANGES.slice(0, 3)),
      { direction: 'outgoing' as const, data: H.gatewayRequest('SessionID=1322143120.47304', big, { host: H.GATEWAY_IP }) },
      { direction: 'incoming' as const, data: H.gatewayResponse('1322143120.47305', '') },
    ];
    const whole = checkSplitInvariance(() => httpSession(undefined, 2048), steps, { normalise, compareForwarded: true, randomRuns: 10 });
    expect(whole.rawFrames.filter((f) => f.frame.error).map((f) => f.frame.error!.code)).toEqual(['payload-too-large']);
    expect(whole.events.map((e) => e.type)).toEqual(['join']);
    expect(latin1String(whole.forwarded.outgoing)).toBe(latin1String(whole.input.outgoing));
  });

  it('bad input (bytes flipped, cut, repeated anywhere in a gateway conversation) never throws, loses or changes a byte', () => {
    const base = H.httpSteps([...H.NS_EXCHANGES.slice(0, 4), ...H.SB_EXCHANGES.slice(0, 5)]);
    const random = seededRandom(20);
    for (let run = 0; run < 150; run++) {
      const steps = base.map((step) => ({ direction: step.direction, data: Buffer.from(step.data) }));
      for (let i = 0; i < 1 + Math.floor(random() * 6); i++) {
        const step = steps[Math.floor(random() * steps.length)]!;
        step.data[Math.floor(random() * step.data.length)] = Math.floor(random() * 256);
      }
      const result = runTranscript(() => httpSession(), steps, { cut: (d) => cutRandom(d, random, 64) });
      for (const direction of ['outgoing', 'incoming'] as const) {
        expect(latin1String(result.output[direction]), `run ${run} ${direction}`).toBe(latin1String(result.input[direction]));
        expect(latin1String(result.forwarded[direction]), `run ${run} ${direction}`).toBe(latin1String(result.input[direction]));
      }
    }
  });

  it('never shows a head with credentials in the debug log (frames marked secret)', () => {
    const session = httpSession();
    const head = 'POST http://gw/gateway/gateway.dll?Action=open&Server=NS&IP=ns HTTP/1.1\r\nProxy-Authorization: Basic YTpi\r\nContent-Length: 0\r\n\r\n';
    expect(session.push('outgoing', enc(head))[0]!.secret).toBe(true);
    expect(session.push('outgoing', enc('GET / HTTP/1.1\r\nCookie: a=b\r\n\r\n'))[0]!.secret).toBe(true);
  });
});

/** What core forwards of a direction's frames, given what policy decides on each frame with events. */
type Verdict = 'pass' | 'block' | { text: string };
function forward(frames: Frame[], decide: (events: EventDraft[]) => Verdict): Uint8Array {
  const out: Uint8Array[] = [];
  for (const frame of frames) {
    if (!frame.events?.length) {
      out.push(frame.replacement ?? frame.raw);
      continue;
    }
    const verdict = decide(frame.events);
    if (verdict === 'block') frame.refusal?.();
    else if (verdict === 'pass') out.push(frame.replacement ?? frame.raw);
    else out.push(frame.rewrite!(verdict.text));
  }
  return concatBytes(out);
}

/** Parses forwarded HTTP: each message's head and body, checking the body is exactly its Content-Length. */
function messages(bytes: Uint8Array, type: 'request' | 'response'): Array<{ head: string; body: string }> {
  const framer = new HttpFramer({ type, maxHeadBytes: 65536 });
  if (type === 'response') for (let i = 0; i < 10; i++) framer.expect('POST');
  framer.push(bytes);
  const out: Array<{ head: string; body: string }> = [];
  for (let item = framer.next(); item; item = framer.next()) {
    if (item.kind === 'head') {
      out.push({ head: latin1String(item.raw), body: '' });
      framer.wholeBody(1 << 20);
    } else if (item.kind === 'body') out.at(-1)!.body += latin1String(item.raw);
    else throw new Error(`not HTTP: ${item.kind}`);
  }
  expect(framer.buffered, 'a body shorter than its Content-Length').toBe(0);
  return out;
}

/** MSNP `MSG` commands in a body, each checked: the length on its line is the payload's. */
function msgPayloads(body: string): string[] {
  const out: string[] = [];
  let rest = Buffer.from(body, 'latin1');
  while (rest.length > 0) {
    const lf = rest.indexOf(0x0a);
    const line = rest.subarray(0, lf).toString('latin1').replace(/\r$/, '');
    rest = rest.subarray(lf + 1);
    const words = line.split(' ');
    if (words[0] !== 'MSG') continue;
    const length = Number(words.at(-1));
    expect(rest.length, `payload of ${line}`).toBeGreaterThanOrEqual(length);
    out.push(rest.subarray(0, length).toString('utf8'));
    rest = rest.subarray(length);
  }
  return out;
}

describe('policy on the gateway', () => {
  /** A switchboard session up to bob's JOI, on one connection. */
  function joined(): { session: MsnHttpSession } {
    const session = httpSession();
    for (const step of H.httpSteps(H.SB_EXCHANGES.slice(0, 3))) session.push(step.direction, step.data);
    return { session };
  }
  const text = (e: EventDraft[]) => e.find((x) => x.type === 'message')?.text;

  it('leaves a blocked message out of the request and fixes its Content-Length; the reply comes in the response', () => {
    const { session } = joined();
    const sent = H.gatewayRequest('SessionID=1322143120.47304', concatBytes([payload('MSG 13 N', `${TEXT_HEAD}keep me`), payload('MSG 14 N', `${TEXT_HEAD}secret plans`)]), {
      host: H.GATEWAY_IP,
    });
    const frames = session.push('outgoing', sent);
    const forwarded = forward(frames, (events) => (text(events) === 'secret plans' ? 'block' : 'pass'));
    const [request] = messages(forwarded, 'request');
    expect(request!.head).toMatch(/^POST \/gateway\/gateway\.dll\?SessionID=1322143120\.47304 HTTP\/1\.1\r\n/);
    expect(msgPayloads(request!.body).map((p) => p.slice(TEXT_HEAD.length))).toEqual(['keep me']);
    // Core asks the session to deliver the blocked reply: it goes with the response to this request.
    const blocked = frames.flatMap((f) => f.events ?? []).find((e) => e.text === 'secret plans')!;
    expect(session.respondLater('Blocked: message "secret plans"', testEvent({ ...blocked, direction: 'outgoing', protocol: 'msn' }))).toBe(true);
    const response = forward(session.push('incoming', H.gatewayResponse('1322143120.47305', 'ACK 13\r\n')), () => 'pass');
    const [answer] = messages(response, 'response');
    expect(answer!.head).toContain('X-MSN-Messenger: SessionID=1322143120.47305; GW-IP=207.46.110.18');
    expect(answer!.body.startsWith('ACK 13\r\n')).toBe(true);
    const reply = answer!.body.slice('ACK 13\r\n'.length);
    expect(reply).toMatch(new RegExp(`^MSG ${H.BOB} imspect \\d+\\r\\n`));
    expect(msgPayloads(reply)[0]).toMatch(/\r\n\r\nBlocked: message "secret plans"$/);
  });

  it('turns a send whose commands were all blocked into a poll, so the client still gets its one response', () => {
    const { session } = joined();
    const frames = session.push('outgoing', H.gatewayRequest('SessionID=1322143120.47304', payload('MSG 14 N', `${TEXT_HEAD}secret plans`), { host: H.GATEWAY_IP }));
    const [request] = messages(
      forward(frames, () => 'block'),
      'request',
    );
    expect(request!.head).toMatch(/^POST \/gateway\/gateway\.dll\?Action=poll&SessionID=1322143120\.47304 HTTP\/1\.1\r\n/);
    expect(request!.head).toContain('Content-Length: 0\r\n');
    expect(request!.body).toBe('');
  });

  it('masks a message with its MSG length and the Content-Length fixed, both ways', () => {
    const { session } = joined();
    const frames = session.push('outgoing', H.gatewayRequest('SessionID=1322143120.47304', payload('MSG 14 N', `${TEXT_HEAD}oh darn it`), { host: H.GATEWAY_IP }));
    const [request] = messages(
      forward(frames, () => ({ text: 'oh **** it, caf\u00e9' })),
      'request',
    );
    expect(msgPayloads(request!.body)).toEqual([`${TEXT_HEAD}oh **** it, caf\u00e9`]);
    session.push('incoming', H.gatewayResponse('1322143120.47305', ''));
    session.push('outgoing', H.gatewayRequest('Action=poll&SessionID=1322143120.47305', '', { host: H.GATEWAY_IP }));
    const incoming = session.push('incoming', H.gatewayResponse('1322143120.47306', concatBytes([payload(`MSG ${H.BOB} Bob`, `${TEXT_HEAD}darn you`), enc(`BYE ${H.BOB}\r\n`)])));
    const [answer] = messages(
      forward(incoming, (events) => (events[0]!.type === 'message' ? { text: '**** you' } : 'pass')),
      'response',
    );
    expect(msgPayloads(answer!.body)).toEqual([`${TEXT_HEAD}**** you`]);
    expect(answer!.body.endsWith(`BYE ${H.BOB}\r\n`)).toBe(true);
  });

  it('leaves a blocked incoming message out of the response and puts the reply in its place', () => {
    const { session } = joined();
    session.push('outgoing', H.gatewayRequest('Action=poll&SessionID=1322143120.47304', '', { host: H.GATEWAY_IP }));
    const frames = session.push('incoming', H.gatewayResponse('1322143120.47305', payload(`MSG ${H.BOB} Bob`, `${TEXT_HEAD}buy cheap pills`)));
    // Core judges the command, then (blocked) asks for the reply, then forwards the message frame that follows.
    const out: Uint8Array[] = [];
    for (const frame of frames) {
      if (frame.events?.length) {
        frame.refusal?.();
        expect(session.respondLater('Blocked: spam', testEvent({ ...frame.events[0]!, direction: 'incoming', protocol: 'msn' }))).toBe(true);
      } else out.push(frame.replacement ?? frame.raw);
    }
    const [answer] = messages(concatBytes(out), 'response');
    expect(answer!.body).not.toContain('pills');
    expect(msgPayloads(answer!.body)).toEqual([expect.stringMatching(/Blocked: spam$/)]);
  });
});

describe('the gateway session map', () => {
  it('forgets sessions idle too long, and the least recently used ones past its limit', () => {
    let now = 0;
    const sessions = new GatewaySessions(OPTIONS, { maxSessions: 3, idleMs: 1000, now: () => now });
    const open = (id: string) => {
      const s = sessions.open('SB', CLIENT, { host: H.SB_IP, port: 1863 }, DEFAULT_FRAME);
      sessions.remember(s, id);
      return s;
    };
    const a = open('a.1');
    open('b.1');
    now = 500;
    expect(sessions.find('a.1')).toBe(a); // touched: b is now the least recently used
    open('c.1');
    open('d.1');
    expect(sessions.size).toBe(3);
    expect(sessions.find('b.1')).toBeUndefined();
    expect(sessions.find('a.1')).toBe(a);
    now = 2000;
    expect(sessions.find('a.1')).toBeUndefined();
    // Each session answers to its newest ids only: a few, not every id of a long session.
    const e = open('e.1');
    for (let i = 2; i <= 10; i++) sessions.remember(e, `e.${i}`);
    expect(sessions.find('e.1')).toBeUndefined();
    expect(sessions.find('e.10')).toBe(e);
    expect(sessions.find('e.7')).toBe(e);
  });

  it('chooses TCP or HTTP by the client’s first line, holding it until it is complete', () => {
    const sessions = new GatewaySessions(OPTIONS);
    const ctx = { client: CLIENT, server: GATEWAY, maxFrameSize: DEFAULT_FRAME };
    const make = () =>
      new MsnConnectionSession(
        () => new MsnSession(ctx, OPTIONS),
        () => new MsnHttpSession(ctx, { sessions, maxMessageBytes: DEFAULT_FRAME }),
      );
    const steps = H.httpSteps(H.NS_EXCHANGES.slice(0, 4));
    const viaDispatcher = checkSplitInvariance(make, steps, { normalise, compareForwarded: true, randomRuns: 10 });
    expect(viaDispatcher.events.map((e) => e.type)).toEqual(['other', 'login']);
    const tcp = H.tcpSteps(H.NS_EXCHANGES.slice(0, 4));
    const overTcp = checkSplitInvariance(make, tcp, { compareForwarded: true, randomRuns: 10 });
    expect(overTcp.events).toEqual(runTranscript(() => new MsnSession(ctx, OPTIONS), tcp).events);
    expect((overTcp.session as MsnConnectionSession).transport).toBe('tcp');
  });
});

describe('the gateway through a forward listener', () => {
  it('tells the client imspect’s address as GW-IP and routes the session’s next connection to the real gateway', () => {
    const routes = new MsnRoutes();
    const listener = { host: '192.0.2.10', port: 80 };
    const session = new MsnHttpSession(
      { client: CLIENT, server: GATEWAY, maxFrameSize: DEFAULT_FRAME, listener },
      { sessions: new GatewaySessions(OPTIONS), maxMessageBytes: DEFAULT_FRAME, routes },
    );
    const steps = H.httpSteps(H.NS_EXCHANGES.slice(0, 2));
    const whole = checkSplitInvariance(
      () =>
        new MsnHttpSession(
          { client: CLIENT, server: GATEWAY, maxFrameSize: DEFAULT_FRAME, listener },
          { sessions: new GatewaySessions(OPTIONS), maxMessageBytes: DEFAULT_FRAME, routes: new MsnRoutes() },
        ),
      steps,
      {
        normalise,
        compareForwarded: true,
        randomRuns: 10,
      },
    );
    const toClient = latin1String(whole.forwarded.incoming);
    expect(toClient).not.toContain(H.GATEWAY_IP);
    expect(toClient.match(/X-MSN-Messenger: SessionID=[\d.]+; GW-IP=192\.0\.2\.10\r\n/g)).toHaveLength(2);
    // Everything else is as the gateway sent it, Content-Length included.
    expect(toClient.replaceAll('GW-IP=192.0.2.10', `GW-IP=${H.GATEWAY_IP}`)).toBe(latin1String(whole.input.incoming));
    for (const step of steps) session.push(step.direction, step.data);
    // The client's next connection starts with the session's next id: it goes where the gateway said.
    const next = enc('POST /gateway/gateway.dll?SessionID=954547325.13161 HTTP/1.1\r\nHost: 192.0.2.10\r\n');
    expect(routes.route(next, CLIENT)).toEqual({ host: H.GATEWAY_IP, port: 80 });
    expect(routes.route(enc('POST /gateway/gateway.dll?SessionID=1.999 HTTP/1.1\r\n'), CLIENT)).toBeUndefined();
    expect(routes.route(enc('POST /gateway/gateway.dll?Action=open&Server=NS&IP=x HTTP/1.1\r\n'), CLIENT)).toBeUndefined();
    expect(routes.route(enc('POST /gateway/gate'), CLIENT)).toBe('more');
  });
});
