import { describe, expect, it } from 'vitest';
import { HttpFramer, httpHeader, parseHttpHead, rewriteHttpHead, type HttpFramerItem } from '../src/index.js';
import { concatBytes, cutAt, cutRandom, latin1Bytes, latin1String, seededRandom } from '../src/testing/index.js';

/** An item in comparable form; consecutive pieces of one body (or of a pass-through run) merged, since their cut follows the input's. */
interface Described {
  kind: string;
  raw: string;
  detail?: string;
}

function describe_(items: HttpFramerItem[]): Described[] {
  const out: Described[] = [];
  for (const item of items) {
    const raw = latin1String(item.raw);
    const last = out.at(-1);
    const piece = item.kind === 'body' || item.kind === 'tunnel' || item.kind === 'rest' || item.kind === 'skipped';
    if (piece && last && last.kind === item.kind && !last.detail?.endsWith('last')) {
      last.raw += raw;
      if (item.kind === 'body' && item.last) last.detail = 'last';
      continue;
    }
    let detail: string | undefined;
    if (item.kind === 'head') detail = `${item.head.method} ${item.head.target || item.head.status} ${JSON.stringify(item.head.body)}`;
    else if (item.kind === 'body' && item.last) detail = 'last';
    else if (item.kind === 'skipped') detail = `${item.reason} ${item.problem}`;
    out.push({ kind: item.kind, raw, ...(detail !== undefined ? { detail } : {}) });
  }
  return out;
}

interface RunOptions {
  type: 'request' | 'response';
  maxHeadBytes?: number;
  /** Response framers: the methods of the requests, in order. */
  expect?: string[];
  /** Ask for every Content-Length body whole within this many bytes. */
  whole?: number;
}

function run(pieces: Uint8Array[], options: RunOptions): { items: HttpFramerItem[]; out: Uint8Array; maxBuffered: number } {
  const framer = new HttpFramer({ type: options.type, maxHeadBytes: options.maxHeadBytes ?? 1024 });
  for (const method of options.expect ?? []) framer.expect(method);
  const items: HttpFramerItem[] = [];
  let maxBuffered = 0;
  const take = () => {
    for (let item = framer.next(); item !== undefined; item = framer.next()) {
      items.push({ ...item, raw: item.raw.slice() } as HttpFramerItem);
      if (item.kind === 'head' && options.whole !== undefined) framer.wholeBody(options.whole);
    }
  };
  for (const piece of pieces) {
    framer.push(piece);
    take();
    maxBuffered = Math.max(maxBuffered, framer.buffered);
  }
  const rest = framer.end();
  if (rest) items.push({ kind: 'rest', raw: rest.slice(), complete: true });
  return { items, out: concatBytes(items.map((i) => i.raw)), maxBuffered };
}

/** Every single cut and random cuts give the same items (bodies merged) and every byte once. */
function checkCuts(data: Uint8Array, options: RunOptions): Described[] {
  const whole = run([data], options);
  expect(latin1String(whole.out)).toBe(latin1String(data));
  const reference = describe_(whole.items);
  for (let offset = 1; offset < data.length; offset++) {
    const cut = run(cutAt(data, [offset]), options);
    expect(latin1String(cut.out), `cut at ${offset}`).toBe(latin1String(data));
    expect(describe_(cut.items), `cut at ${offset}`).toEqual(reference);
  }
  const random = seededRandom(7);
  for (let r = 0; r < 40; r++) {
    const cut = run(cutRandom(data, random, [1, 2, 3, 7, 16, 64][r % 6]!), options);
    expect(latin1String(cut.out), `random run ${r}`).toBe(latin1String(data));
    expect(describe_(cut.items), `random run ${r}`).toEqual(reference);
  }
  return reference;
}

const bytes = (text: string) => latin1Bytes(text);

describe('HttpFramer', () => {
  it('frames requests with Content-Length, no body and chunked bodies, at every cut', () => {
    const data = bytes(
      'POST /gateway/gateway.dll?Action=open&Server=NS&IP=messenger.hotmail.com HTTP/1.1\r\nHost: gw\r\nContent-Length: 18\r\n\r\nVER 5 MSNP8 CVR0\r\n' +
        'GET /index.html HTTP/1.1\r\nHost: example\r\n\r\n' +
        'POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n' +
        'PUT /x HTTP/1.0\nContent-Length: 3\n\nabc',
    );
    const items = checkCuts(data, { type: 'request' });
    expect(items.map((i) => `${i.kind} ${i.detail ?? ''}`.trim())).toEqual([
      'head POST /gateway/gateway.dll?Action=open&Server=NS&IP=messenger.hotmail.com {"kind":"length","length":18}',
      'body last',
      'head GET /index.html {"kind":"none"}',
      'head POST /upload {"kind":"chunked"}',
      'body last',
      'head PUT /x {"kind":"length","length":3}',
      'body last',
    ]);
    expect(items[4]!.raw).toBe('5;x=1\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n');
  });

  it('frames responses by the request they answer: HEAD and 304 have no body, 100 Continue is interim, no length runs to the close', () => {
    const data = bytes(
      'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n' + // answers HEAD: no body follows
        'HTTP/1.1 100 Continue\r\n\r\n' +
        'HTTP/1.0 200 OK\r\nX-MSN-Messenger: SessionID=954547325.13160; GW-IP=207.46.110.18\r\nContent-Length: 18\r\n\r\nVER 5 MSNP8 CVR0\r\n' +
        'HTTP/1.1 304 Not Modified\r\n\r\n' +
        'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html>until the close',
    );
    const items = checkCuts(data, { type: 'response', expect: ['HEAD', 'POST', 'GET', 'GET'] });
    expect(items.map((i) => `${i.kind} ${i.detail ?? ''}`.trim())).toEqual([
      'head HEAD 200 {"kind":"none"}',
      'head POST 100 {"kind":"none"}',
      'head POST 200 {"kind":"length","length":18}',
      'body last',
      'head GET 304 {"kind":"none"}',
      'head GET 200 {"kind":"close"}',
      'body',
    ]);
  });

  it('hands a body out whole when asked, within the limit, and in pieces over it', () => {
    const small = bytes('POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello');
    const pieces = run(cutAt(small, [39, 41]), { type: 'request', whole: 5 }).items.filter((i) => i.kind === 'body');
    expect(pieces.map((p) => latin1String(p.raw))).toEqual(['hello']);
    const streamed = run(cutAt(small, [39, 41]), { type: 'request', whole: 4 }).items.filter((i) => i.kind === 'body');
    expect(streamed.map((p) => latin1String(p.raw))).toEqual(['he', 'llo']);
    checkCuts(concatBytes([small, small]), { type: 'request', whole: 5 });
  });

  it('streams a large body without holding it', () => {
    const body = 'x'.repeat(100_000);
    const data = bytes(`POST /big HTTP/1.1\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    const random = seededRandom(3);
    const result = run(cutRandom(data, random, 4096), { type: 'request' });
    expect(latin1String(result.out)).toBe(latin1String(data));
    expect(result.maxBuffered).toBeLessThan(100);
  });

  it('passes a tunnel through after CONNECT is accepted or the protocol switched', () => {
    const requests = bytes('CONNECT host:443 HTTP/1.1\r\nHost: host:443\r\n\r\n\x16\x03\x01binary');
    expect(checkCuts(requests, { type: 'request' }).map((i) => i.kind)).toEqual(['head', 'tunnel']);
    const responses = bytes('HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03binary');
    expect(checkCuts(responses, { type: 'response', expect: ['CONNECT'] }).map((i) => i.kind)).toEqual(['head', 'tunnel']);
    const upgrade = bytes('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello');
    expect(checkCuts(upgrade, { type: 'response', expect: ['GET'] }).map((i) => i.kind)).toEqual(['head', 'tunnel']);
  });

  it('skips what is no HTTP to the end of the stream, deciding on the first bytes', () => {
    const msnp = bytes('VER 1 MSNP8 CVR0\r\nCVR 2 0x0409 winnt\r\n');
    const items = checkCuts(msnp, { type: 'request' });
    expect(items).toEqual([{ kind: 'skipped', raw: latin1String(msnp), detail: 'bad-magic not an HTTP/1.x request line: "VER 1 MSNP8 CVR0\\r\\n"' }]);
    // TLS (a ClientHello) is refused on its first byte, without waiting for a line end.
    const tls = run([Uint8Array.of(0x16, 0x03, 0x01, 0x02, 0x00)], { type: 'request' });
    expect(tls.items.map((i) => i.kind)).toEqual(['skipped']);
    expect(run([bytes('SSH-2.0-x\r\n')], { type: 'response' }).items.map((i) => i.kind)).toEqual(['skipped']);
    const badLength = bytes('POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\nhello');
    expect(checkCuts(badLength, { type: 'request' }).map((i) => i.detail)).toEqual(['bad-length conflicting Content-Length values "5, 6"']);
    const badChunk = bytes('POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello');
    expect(checkCuts(badChunk, { type: 'request' }).map((i) => i.kind)).toEqual(['head', 'skipped']);
  });

  it('reports a head over the limit once and passes the rest unbuffered', () => {
    const data = bytes(`GET / HTTP/1.1\r\nCookie: ${'c'.repeat(300)}\r\n\r\nGET / HTTP/1.1\r\n\r\n`);
    const result = run(cutRandom(data, seededRandom(5), 16), { type: 'request', maxHeadBytes: 100 });
    expect(latin1String(result.out)).toBe(latin1String(data));
    expect(result.items[0]!.kind).toBe('too-large');
    expect(result.items[0]!.raw.length).toBe(100);
    expect(new Set(result.items.slice(1).map((i) => i.kind))).toEqual(new Set(['rest']));
    expect(result.maxBuffered).toBeLessThanOrEqual(100);
  });
});

describe('HTTP heads', () => {
  it('parses fields, folded lines and the body framing', () => {
    const parsed = parseHttpHead(bytes('HTTP/1.1 200 OK\r\nX-MSN-Messenger: SessionID=1.2;\r\n GW-IP=10.0.0.1\r\nContent-Length: 3\r\n\r\n'), 'response', 'POST');
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(httpHeader(parsed.head, 'x-msn-messenger')).toBe('SessionID=1.2; GW-IP=10.0.0.1');
    expect(parsed.head.body).toEqual({ kind: 'length', length: 3 });
    expect(parseHttpHead(bytes('POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n'), 'request')).toMatchObject({ ok: false, reason: 'bad-length' });
    expect(parseHttpHead(bytes('POST / HTTP/1.1\r\nbad line\r\n\r\n'), 'request')).toMatchObject({ ok: false, reason: 'bad-magic' });
  });

  it('rewrites a head in place: target, a field set, a field added, fields removed with their folded lines', () => {
    const head = bytes(
      'POST http://gw.example/gateway/gateway.dll?SessionID=1.2 HTTP/1.1\r\nHost: gw.example\r\nProxy-Authorization: Basic eDp5\r\n  more\r\nContent-Length: 10\r\nProxy-Connection: Keep-Alive\r\n\r\n',
    );
    const out = rewriteHttpHead(head, {
      target: '/gateway/gateway.dll?Action=poll&SessionID=1.2',
      set: { 'content-length': '0', Via: '1.1 imspect' },
      remove: ['proxy-authorization', 'Proxy-Connection'],
    });
    expect(latin1String(out)).toBe('POST /gateway/gateway.dll?Action=poll&SessionID=1.2 HTTP/1.1\r\nHost: gw.example\r\nContent-Length: 0\r\nVia: 1.1 imspect\r\n\r\n');
    const bare = rewriteHttpHead(bytes('HTTP/1.0 200 OK\nContent-Length: 1\n\n'), { set: { 'Content-Length': '12' } });
    expect(latin1String(bare)).toBe('HTTP/1.0 200 OK\nContent-Length: 12\n\n');
  });
});
