/**
 * Micro-benchmark of YMSG parsing: `YahooSession.push` alone, no sockets, no logger.
 *
 *   pnpm build && node bench/yahoo-parse/run.js [--packets 200000] [--runs 7] [--chunk 65536]
 *
 * Builds a session from the built plugin (packages/plugin-yahoo/dist), logs it in (AUTH, LOGON), then pushes a
 * fixed, seeded stream of server -> client packets in 64 KiB chunks: mostly private messages (MESSAGE 0x06,
 * 20-300 bytes of text, UTF-8 with key 97 or plain), typing notifications, conference messages, contacts
 * coming online, pings, file offers (0xDC) and the occasional 4 KB message. Prints µs/packet and MB/s
 * (10^6 bytes) per run and the median. Figures only; it asserts nothing.
 */
import { YahooSession } from '../../packages/plugin-yahoo/dist/index.js';
import { benchParse, numberFlag, prng, randomText } from '../support.js';

const PACKETS = numberFlag('packets', 200_000);
const RUNS = numberFlag('runs', 7);
const CHUNK = numberFlag('chunk', 64 * 1024);
const ME = 'benchme';

/** A packet from the protocol description: header, then `key C0 80 value C0 80` pairs. */
function packet(service, pairs, status = 1) {
  const sep = Buffer.from([0xc0, 0x80]);
  const body = Buffer.concat(pairs.flatMap(([k, v]) => [Buffer.from(String(k)), sep, Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8'), sep]));
  const header = Buffer.alloc(20);
  header.write('YMSG', 0, 'latin1');
  header.writeUInt16BE(16, 4);
  header.writeUInt16BE(body.length, 8);
  header.writeUInt16BE(service, 10);
  header.writeUInt32BE(status, 12);
  header.writeUInt32BE(0x1234abcd, 16);
  return Buffer.concat([header, body]);
}

const BUDDIES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace.h', 'heidi_99', 'ivan', 'judy'];
const WORDS = (
  'the build is green again after the flaky test was fixed so we can ship the release candidate tonight ' +
  'lunch at noon? sure, the usual place. meeting moved to 3pm, bring the numbers for the quarterly review ' +
  'ok thanks see you later :) lol that is great news, congrats! café déjà vu naïve Zürich 東京 ✓ 👍'
).split(' ');

const text = (rand, min, max) => randomText(rand, WORDS, min, max, 400);

function next(rand) {
  const r = rand();
  const who = BUDDIES[Math.floor(rand() * BUDDIES.length)];
  if (r < 0.7)
    return packet(0x06, [
      [5, ME],
      [4, who],
      [14, text(rand, 20, 300)],
      [97, '1'],
      [63, ';0'],
      [64, '0'],
    ]);
  if (r < 0.72)
    return packet(0x06, [
      [5, ME],
      [4, who],
      [14, Buffer.from(text(rand, 20, 200).replace(/[^\x00-\x7f]/g, 'e'), 'latin1')],
    ]);
  if (r < 0.73)
    return packet(0x06, [
      [5, ME],
      [4, who],
      [14, text(rand, 3900, 4000)],
      [97, '1'],
    ]);
  if (r < 0.83)
    return packet(
      0x4b,
      [
        [5, ME],
        [4, who],
        [14, ' '],
        [13, rand() < 0.5 ? '1' : '0'],
        [49, 'TYPING'],
      ],
      0x16,
    );
  if (r < 0.9)
    return packet(0x1d, [
      [1, ME],
      [57, 'room-1'],
      [3, who],
      [14, text(rand, 20, 200)],
      [97, '1'],
    ]);
  if (r < 0.95)
    return packet(0x01, [
      [0, ME],
      [7, who],
      [10, '0'],
      [11, 'ABCDEF01'],
      [17, '0'],
      [13, '1'],
    ]);
  if (r < 0.99)
    return packet(0x12, [
      [143, '60'],
      [144, '13'],
    ]);
  return packet(0xdc, [
    [5, ME],
    [4, who],
    [265, 'XFER$$'],
    [222, '1'],
    [266, '1'],
    [27, 'report.pdf'],
    [28, '48213'],
  ]);
}

const rand = prng(20261121);
const parts = [];
for (let i = 0; i < PACKETS; i++) parts.push(next(rand));
const stream = Buffer.concat(parts);

const ctx = { client: { ip: '127.0.0.1', port: 40000 }, server: { host: 'bench.local', port: 5050 }, maxFrameSize: 65555 };

benchParse({
  count: PACKETS,
  unit: 'packet',
  stream,
  chunkSize: CHUNK,
  runs: RUNS,
  open() {
    const session = new YahooSession(ctx);
    session.push('outgoing', packet(0x57, [[1, ME]], 0));
    session.push(
      'incoming',
      packet(0x01, [
        [0, ME],
        [1, ME],
      ]),
    );
    return session;
  },
});
