/**
 * Micro-benchmark of the SDK's framers alone (no protocol parsing, no events):
 *
 *   pnpm build && node bench/framing/run.js [--frames 300000] [--runs 7] [--chunks 65536,1460,64]
 *
 * `LineFramer` on IRC-like lines (50-230 bytes, CRLF) and `LengthPrefixedFramer` on YMSG-like packets (20-byte
 * header with "YMSG", body 20-300 bytes), each stream pushed in pieces of each chunk size. Prints CPU time per
 * frame (user + system: on a shared machine, waiting for a core is not the framer's cost) and MB/s, median and
 * best of the runs. Figures only; it asserts nothing.
 */
import { LengthPrefixedFramer, LineFramer } from '../../packages/sdk/dist/index.js';
import { numberFlag, prng } from '../support.js';

const FRAMES = numberFlag('frames', 300_000);
const RUNS = numberFlag('runs', 7);
const chunkArg = process.argv.indexOf('--chunks');
const CHUNKS = (chunkArg >= 0 ? process.argv[chunkArg + 1] : '65536,1460,64').split(',').map(Number);

function lineStream(rand) {
  const parts = [];
  for (let i = 0; i < FRAMES; i++) parts.push(`:nick!user@host PRIVMSG #chan :${'x'.repeat(20 + Math.floor(rand() * 180))}\r\n`);
  return Buffer.from(parts.join(''), 'latin1');
}

function ymsgStream(rand) {
  const parts = [];
  for (let i = 0; i < FRAMES; i++) {
    const body = 20 + Math.floor(rand() * 280);
    const packet = Buffer.alloc(20 + body, 0x61);
    packet.write('YMSG', 0, 'latin1');
    packet.writeUInt16BE(body, 8);
    packet.writeUInt16BE(6, 10);
    parts.push(packet);
  }
  return Buffer.concat(parts);
}

const framers = {
  line: () => new LineFramer(16384),
  'length-prefixed': () =>
    new LengthPrefixedFramer({
      headerBytes: 20,
      length: { offset: 8, size: 2, endian: 'big' },
      maxFrameBytes: 65555,
      magic: { bytes: Buffer.from('YMSG', 'latin1'), onMismatch: 'resync' },
      decodeHeader: (h) => (h[10] << 8) | h[11],
    }),
};

function measure(make, chunks) {
  const framer = make();
  const start = process.cpuUsage();
  let frames = 0;
  for (const chunk of chunks) {
    framer.push(chunk);
    for (let item = framer.next(); item !== undefined; item = framer.next()) if (item.kind === 'line' || item.kind === 'frame') frames++;
  }
  const used = process.cpuUsage(start);
  if (frames !== FRAMES) throw new Error(`expected ${FRAMES} frames, got ${frames}`);
  return (used.user + used.system) * 1000; // ns
}

console.log(`node ${process.version}: ${FRAMES} frames per stream, ${RUNS} runs, CPU time`);
for (const [name, stream] of [
  ['line', lineStream(prng(1))],
  ['length-prefixed', ymsgStream(prng(2))],
]) {
  for (const size of CHUNKS) {
    const chunks = [];
    for (let at = 0; at < stream.length; at += size) chunks.push(stream.subarray(at, at + size));
    measure(framers[name], chunks); // warm-up
    const times = Array.from({ length: RUNS }, () => measure(framers[name], chunks)).sort((a, b) => a - b);
    const fmt = (ns) => `${(ns / FRAMES).toFixed(0)} ns/frame ${(stream.length / (ns / 1e9) / 1e6).toFixed(0)} MB/s`;
    console.log(`${name.padEnd(16)} chunk ${String(size).padStart(5)}: median ${fmt(times[Math.floor(RUNS / 2)])}, best ${fmt(times[0])}`);
  }
}
