#!/usr/bin/env node
// Writes a synthetic pcap of IRC traffic for measuring `imspect replay` on large captures:
//   node bench/replay/make-capture.js OUT.pcap [MEGABYTES=300] [CONNECTIONS=100]
// Addresses are from 198.18.0.0/15 (benchmarking range); nothing is sent anywhere.
import { createWriteStream } from 'node:fs';

const [out, mbArg = '300', connArg = '100'] = process.argv.slice(2);
if (!out) {
  console.error('usage: make-capture.js OUT.pcap [MEGABYTES] [CONNECTIONS]');
  process.exit(2);
}
const targetBytes = Number(mbArg) * 1e6;
const connections = Number(connArg);
const file = createWriteStream(out);
const header = Buffer.alloc(24);
header.writeUInt32LE(0xa1b2c3d4, 0);
header.writeUInt16LE(2, 4);
header.writeUInt16LE(4, 6);
header.writeUInt32LE(262144, 16);
header.writeUInt32LE(1, 20);
file.write(header);

let time = 1_700_000_000_000_000; // microseconds
let written = 24;
function packet(src, dst, sport, dport, seq, ack, flags, payload) {
  const frame = Buffer.alloc(14 + 20 + 20 + payload.length);
  frame.writeUInt16BE(0x0800, 12);
  frame[14] = 0x45;
  frame.writeUInt16BE(20 + 20 + payload.length, 16);
  frame[22] = 64;
  frame[23] = 6;
  frame.set(src, 26);
  frame.set(dst, 30);
  frame.writeUInt16BE(sport, 34);
  frame.writeUInt16BE(dport, 36);
  frame.writeUInt32BE(seq >>> 0, 38);
  frame.writeUInt32BE(ack >>> 0, 42);
  frame[46] = 0x50;
  frame[47] = flags;
  frame.writeUInt16BE(65535, 48);
  payload.copy(frame, 54);
  const record = Buffer.alloc(16);
  time += 50;
  record.writeUInt32LE(Math.floor(time / 1e6), 0);
  record.writeUInt32LE(time % 1e6, 4);
  record.writeUInt32LE(frame.length, 8);
  record.writeUInt32LE(frame.length, 12);
  written += 16 + frame.length;
  return file.write(Buffer.concat([record, frame]));
}

const conns = Array.from({ length: connections }, (_, i) => ({
  client: Buffer.from([198, 18, (i >> 8) & 255, i & 255]),
  server: Buffer.from([198, 19, 0, 1]),
  port: 40000 + i,
  cseq: 1000,
  sseq: 5000,
  nick: `user${i}`,
  n: 0,
}));
const SYN = 0x02,
  ACK = 0x10,
  PSH = 0x08,
  FIN = 0x01;
for (const c of conns) {
  packet(c.client, c.server, c.port, 6667, c.cseq++, 0, SYN, Buffer.alloc(0));
  packet(c.server, c.client, 6667, c.port, c.sseq++, c.cseq, SYN | ACK, Buffer.alloc(0));
  const hello = Buffer.from(`NICK ${c.nick}\r\nUSER ${c.nick} 0 * :bench\r\n`);
  packet(c.client, c.server, c.port, 6667, c.cseq, c.sseq, PSH | ACK, hello);
  c.cseq += hello.length;
  const welcome = Buffer.from(`:irc.bench 001 ${c.nick} :Welcome\r\n`);
  packet(c.server, c.client, 6667, c.port, c.sseq, c.cseq, PSH | ACK, welcome);
  c.sseq += welcome.length;
}
async function main() {
  let round = 0;
  while (written < targetBytes) {
    for (const c of conns) {
      const lines = [];
      let size = 0;
      while (size < 1300) {
        const line = `:peer${round % 50}!p@h PRIVMSG ${round % 3 ? '#bench' : c.nick} :message ${c.n++} ${'lorem ipsum '.repeat(1 + (c.n % 8))}\r\n`;
        lines.push(line);
        size += line.length;
      }
      const payload = Buffer.from(lines.join(''));
      if (!packet(c.server, c.client, 6667, c.port, c.sseq, c.cseq, PSH | ACK, payload)) await new Promise((r) => file.once('drain', r));
      c.sseq += payload.length;
      if (round % 4 === 0) {
        const said = Buffer.from(`PRIVMSG #bench :reply ${c.n} from ${c.nick}\r\n`);
        packet(c.client, c.server, c.port, 6667, c.cseq, c.sseq, PSH | ACK, said);
        c.cseq += said.length;
      }
    }
    round++;
  }
  for (const c of conns) packet(c.client, c.server, c.port, 6667, c.cseq, c.sseq, FIN | ACK, Buffer.alloc(0));
  file.end(() => console.log(`${out}: ${(written / 1e6).toFixed(1)} MB, ${connections} connections`));
}
main();
