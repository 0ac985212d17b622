/**
 * Micro-benchmark of MSN parsing: `MsnSession.push` alone, no sockets, no logger.
 *
 *   pnpm build && node bench/msn-parse/run.js [--commands 200000] [--runs 7] [--chunk 65536]
 *
 * Opens a switchboard session (USR, CAL, JOI), then pushes a fixed, seeded stream of switchboard -> client
 * commands in 64 KiB chunks: mostly text MSGs with 20-200 bytes of text (some UTF-8), typing MSGs, P2P data
 * chunks (1202 bytes, no SLP), a few P2P file invitations, ACK/NAK lines. Prints µs/command and MB/s
 * (10^6 bytes) per run and the median. Figures only; it asserts nothing.
 */
import { MsnSession } from '../../packages/plugin-msn/dist/index.js';
import { benchParse, numberFlag, prng } from '../support.js';

const COMMANDS = numberFlag('commands', 200_000);
const RUNS = numberFlag('runs', 7);
const CHUNK = numberFlag('chunk', 64 * 1024);

const WORDS = 'the build is green again so we can ship tonight did anyone look at the patch lunch at noon café déjà vu 東京 ✓ ok thanks see you later'.split(' ');
function text(rand, min, max) {
  const want = min + Math.floor(rand() * (max - min + 1));
  let out = '';
  while (Buffer.byteLength(out) < want) out += (out ? ' ' : '') + WORDS[Math.floor(rand() * WORDS.length)];
  return out;
}
const payload = (line, body) => Buffer.concat([Buffer.from(`${line} ${body.length}\r\n`), body]);
const TEXT_HEAD = 'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nX-MMS-IM-Format: FN=Segoe%20UI; EF=; CO=0; CS=0; PF=0\r\n\r\n';
const TYPING = Buffer.from('MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: bob@bench.local\r\n\r\n\r\n');

function p2p(rand, slp) {
  const body = slp ?? Buffer.alloc(1202, 0x5a);
  const header = Buffer.alloc(48);
  header.writeUInt32LE(slp ? 0 : 7, 0); // session id: 0 for SLP signalling
  header.writeUInt32LE(Math.floor(rand() * 1e6), 4);
  header.writeBigUInt64LE(BigInt(body.length), 16);
  header.writeUInt32LE(body.length, 24);
  return Buffer.concat([Buffer.from('MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\nP2P-Dest: me@bench.local\r\n\r\n'), header, body, Buffer.alloc(4)]);
}
const ctxBytes = Buffer.alloc(574);
ctxBytes.writeUInt32LE(574, 0);
ctxBytes.writeBigUInt64LE(123456n, 8);
ctxBytes.write('bench.zip', 20, 'utf16le');
const desc = `EUF-GUID: {5D3E02AB-6190-11D3-BBBB-00C04F795683}\r\nSessionID: 1\r\nAppID: 2\r\nContext: ${ctxBytes.toString('base64')}\r\n\r\n\0`;
const INVITE = Buffer.from(
  `INVITE MSNMSGR:me@bench.local MSNSLP/1.0\r\nTo: <msnmsgr:me@bench.local>\r\nFrom: <msnmsgr:bob@bench.local>\r\nContent-Type: application/x-msnmsgr-sessionreqbody\r\nContent-Length: ${Buffer.byteLength(desc)}\r\n\r\n${desc}`,
);

function command(rand) {
  const r = rand();
  if (r < 0.75) return payload('MSG bob@bench.local Bob', Buffer.from(`${TEXT_HEAD}${text(rand, 20, 200)}`));
  if (r < 0.85) return payload('MSG bob@bench.local Bob', TYPING);
  if (r < 0.93) return payload('MSG bob@bench.local Bob', p2p(rand));
  if (r < 0.94) return payload('MSG bob@bench.local Bob', p2p(rand, INVITE));
  return Buffer.from(`ACK ${Math.floor(rand() * 1000)}\r\n`);
}

const rand = prng(20261121);
const stream = Buffer.concat(Array.from({ length: COMMANDS }, () => command(rand)));
const ctx = { client: { ip: '127.0.0.1', port: 40000 }, server: { host: 'sb.bench.local', port: 1863 }, maxFrameSize: 8192 + 256 * 1024 };

benchParse({
  count: COMMANDS,
  unit: 'command',
  stream,
  chunkSize: CHUNK,
  runs: RUNS,
  open() {
    const session = new MsnSession(ctx);
    session.push('outgoing', Buffer.from('USR 1 me@bench.local 123.456\r\nCAL 2 bob@bench.local\r\n'));
    session.push('incoming', Buffer.from('USR 1 OK me@bench.local Me\r\nCAL 2 RINGING 1\r\nJOI bob@bench.local Bob\r\n'));
    return session;
  },
});
