/**
 * Micro-benchmark of MSN over HTTP, side by side in one run: no sockets, no logger.
 *
 *   pnpm build && node bench/msn-http-parse/run.js [--commands 100000] [--per 10] [--pages 400] [--runs 7]
 *
 * 1. tcp: switchboard commands (text MSGs of 20-200 bytes, typing) pushed into `MsnSession`, as over TCP 1863;
 * 2. gateway: the same commands, `--per` to a response, as MSN's HTTP gateway delivers them (`MsnHttpSession`:
 *    HTTP framing, the body read whole and parsed, the response reassembled);
 * 3. other HTTP: `--pages` web responses of 64 KiB each through `MsnHttpSession`, which passes them on unread.
 * Responses in 64 KiB chunks, each after its request (a poll, a GET), as a client that waits for each; The runs alternate between
 * the three; medians and their ratios are printed. Figures only; it asserts nothing.
 */
import { GatewaySessions, MsnHttpSession, MsnSession } from '../../packages/plugin-msn/dist/index.js';
import { numberFlag, prng } from '../support.js';

const COMMANDS = numberFlag('commands', 100_000);
const PER = numberFlag('per', 10);
const PAGES = numberFlag('pages', 400);
const RUNS = numberFlag('runs', 7);
const CHUNK = 64 * 1024;

const WORDS = 'the build is green again so we can ship tonight did anyone look at the patch lunch at noon café déjà vu 東京 ✓ ok thanks see you later'.split(' ');
function text(rand, min, max) {
  const want = min + Math.floor(rand() * (max - min + 1));
  let out = '';
  while (Buffer.byteLength(out) < want) out += (out ? ' ' : '') + WORDS[Math.floor(rand() * WORDS.length)];
  return out;
}
const payload = (line, body) => Buffer.concat([Buffer.from(`${line} ${body.length}\r\n`), body]);
const TEXT_HEAD = 'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n';
const TYPING = Buffer.from('MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: bob@bench.local\r\n\r\n\r\n');
const command = (rand) => payload('MSG bob@bench.local Bob', rand() < 0.85 ? Buffer.from(`${TEXT_HEAD}${text(rand, 20, 200)}`) : TYPING);

const rand = prng(20261207);
const commands = Array.from({ length: COMMANDS }, () => command(rand));
const tcpStream = Buffer.concat(commands);
const responses = [];
for (let i = 0; i < commands.length; i += PER) {
  const body = Buffer.concat(commands.slice(i, i + PER));
  const id = `1322143120.${i / PER + 2}`;
  responses.push(
    Buffer.concat([
      Buffer.from(`HTTP/1.1 200 OK\r\nX-MSN-Messenger: SessionID=${id}; GW-IP=198.18.2.2\r\nContent-Type: application/x-msn-messenger\r\nContent-Length: ${body.length}\r\n\r\n`),
      body,
    ]),
  );
}
const gatewayStream = Buffer.concat(responses);
const page = Buffer.alloc(64 * 1024, 'x');
const pagesStream = Buffer.concat(
  Array.from({ length: PAGES }, () => Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: ${page.length}\r\n\r\n`), page])),
);

const ctx = { client: { ip: '127.0.0.1', port: 40000 }, server: { host: '198.18.2.2', port: 80 }, maxFrameSize: 8192 + 256 * 1024 };
const options = { typing: true, noticeName: 'imspect' };
const chunks = (stream) => {
  const out = [];
  for (let off = 0; off < stream.length; off += CHUNK) out.push(stream.subarray(off, Math.min(stream.length, off + CHUNK)));
  return out;
};

function tcpSession() {
  const session = new MsnSession(ctx, options);
  session.push('outgoing', Buffer.from('USR 1 me@bench.local 123.456\r\nCAL 2 bob@bench.local\r\n'));
  session.push('incoming', Buffer.from('USR 1 OK me@bench.local Me\r\nCAL 2 RINGING 1\r\nJOI bob@bench.local Bob\r\n'));
  return session;
}

const request = (query, body = '') =>
  Buffer.concat([Buffer.from(`POST /gateway/gateway.dll?${query} HTTP/1.1\r\nHost: 198.18.2.2\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`), Buffer.from(body)]);

/** A switchboard session over the gateway, joined. */
function gatewaySession() {
  const session = new MsnHttpSession(ctx, { sessions: new GatewaySessions(options), maxMessageBytes: ctx.maxFrameSize });
  const response = (id, body) => Buffer.from(`HTTP/1.1 200 OK\r\nX-MSN-Messenger: SessionID=${id}; GW-IP=198.18.2.2\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  const drain = (frames) => {
    for (const f of frames) void f.replacement;
  };
  drain(session.push('outgoing', request('Action=open&Server=SB&IP=198.18.2.2:1863', 'USR 1 me@bench.local 123.456\r\n')));
  drain(session.push('incoming', response('1322143120.0', 'USR 1 OK me@bench.local Me\r\n')));
  drain(session.push('outgoing', request('SessionID=1322143120.0', 'CAL 2 bob@bench.local\r\n')));
  drain(session.push('incoming', response('1322143120.1', 'CAL 2 RINGING 1\r\nJOI bob@bench.local Bob\r\n')));
  return session;
}

/** Exchanges as a client makes them: a request, then its response (in 64 KiB chunks). */
const exchanges = (requests, answers) => answers.map((answer, i) => ({ request: requests[i], chunks: chunks(answer) }));
const polls = responses.map((_, i) => request(`Action=poll&SessionID=1322143120.${i + 1}`));
const gets = Array.from({ length: PAGES }, (_, i) => Buffer.from(`GET /page${i}.html HTTP/1.1\r\nHost: www.bench.local\r\n\r\n`));
const pages = Array.from({ length: PAGES }, () => Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: ${page.length}\r\n\r\n`), page]));

const cases = [
  { name: 'tcp', bytes: tcpStream.length, exchanges: [{ request: undefined, chunks: chunks(tcpStream) }], open: tcpSession },
  { name: 'gateway', bytes: gatewayStream.length, exchanges: exchanges(polls, responses), open: gatewaySession },
  { name: 'other HTTP', bytes: pagesStream.length, exchanges: exchanges(gets, pages), open: gatewaySession },
];

/** One timed run: each request, then its response; every frame's bytes read as core forwards them. */
function once(c) {
  const session = c.open();
  let events = 0;
  const take = (frames) => {
    for (const frame of frames) {
      void (frame.replacement ?? frame.raw);
      if (frame.events) events += frame.events.length;
    }
  };
  const t0 = process.hrtime.bigint();
  for (const exchange of c.exchanges) {
    if (exchange.request) take(session.push('outgoing', exchange.request));
    for (const chunk of exchange.chunks) take(session.push('incoming', chunk));
  }
  return { ns: Number(process.hrtime.bigint() - t0), events };
}

console.log(
  `node ${process.version}: ${COMMANDS} commands (${(tcpStream.length / 1e6).toFixed(1)} MB over TCP, ${responses.length} gateway responses of ${PER}), ${PAGES} pages of 64 KiB`,
);
const results = new Map(cases.map((c) => [c.name, []]));
for (const c of cases) once(c); // warm-up
for (let r = 0; r < RUNS; r++) {
  for (const c of cases) {
    const res = once(c);
    results.get(c.name).push(res.ns);
    console.log(`run ${r + 1} ${c.name.padEnd(10)} ${(c.bytes / (res.ns / 1e9) / 1e6).toFixed(1)} MB/s  ${res.events} events`);
  }
}
const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
const rate = (c) => c.bytes / (median(results.get(c.name)) / 1e9) / 1e6;
for (const c of cases) {
  const ns = median(results.get(c.name));
  const perCommand = c.name === 'other HTTP' ? '' : `  ${(ns / 1e3 / COMMANDS).toFixed(3)} µs/command`;
  console.log(`median ${c.name.padEnd(10)} ${rate(c).toFixed(1)} MB/s${perCommand}`);
}
const [tcp, , other] = cases;
console.log(
  `gateway: ${(median(results.get('gateway')) / median(results.get('tcp'))).toFixed(2)} x the time per command of tcp; other HTTP: ${(rate(other) / rate(tcp)).toFixed(1)} x the bytes per second of tcp`,
);
