/**
 * Micro-benchmark of IRC parsing: `IrcSession.push` alone, no sockets, no logger.
 *
 *   pnpm build && node bench/irc-parse/run.js [--lines 200000] [--runs 7] [--chunk 65536]
 *
 * Builds a session from the built plugin (packages/plugin-irc/dist), registers it (NICK/USER, 001, 005,
 * JOIN), then pushes a fixed, seeded stream of realistic server -> client lines in 64 KiB chunks: mostly
 * `PRIVMSG #bench` with 60-200 bytes of text (some UTF-8, some Latin-1, some tagged), CTCP ACTIONs, NOTICEs,
 * private messages, JOIN/PART/QUIT/NICK, MODE, PING and numerics. Prints µs/line and MB/s (10^6 bytes)
 * per run and the median. Figures only; it asserts nothing.
 */
import { IrcSession } from '../../packages/plugin-irc/dist/index.js';
import { benchParse, numberFlag, prng, randomText } from '../support.js';

const LINES = numberFlag('lines', 200_000);
const RUNS = numberFlag('runs', 7);
const CHUNK = numberFlag('chunk', 64 * 1024);
const ME = 'benchme';

const NICKS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'Grace', 'heidi', 'ivan', 'judy', 'Kai', 'Léa', '[away]sam', 'tom^', 'x-ray', 'quux42'];
const HOSTS = ['h.example.net', '10.0.3.17', 'user/alice', 'gateway/web/irccloud.com/x-abcdefgh', 'fe80::1'];
const WORDS = (
  'the build is green again after the flaky test was fixed so we can ship the release candidate tonight ' +
  'did anyone look at the patch for the parser it handles split lines and over long frames now ' +
  'lunch at noon? sure, the usual place. meeting moved to 3pm, bring the numbers for the quarterly review ' +
  'ok thanks see you later :) lol that is great news, congrats! the server restarted at 04:12 UTC ' +
  'café déjà vu naïve Zürich 東京 ✓ 👍 https://example.org/issue/1234 #bench @alice'
).split(' ');

const text = (rand, min, max) => randomText(rand, WORDS, min, max);

/** One line as bytes (Latin-1 lines are encoded as Latin-1 on purpose: old networks). */
function line(rand) {
  const r = rand();
  const nick = NICKS[Math.floor(rand() * NICKS.length)];
  const mask = `${nick}!~u@${HOSTS[Math.floor(rand() * HOSTS.length)]}`;
  const utf8 = (s) => Buffer.from(s, 'utf8');
  if (r < 0.7) return utf8(`:${mask} PRIVMSG #bench :${text(rand, 60, 200)}\r\n`);
  if (r < 0.74) return utf8(`@time=2024-06-07T12:00:00.000Z;msgid=abc${Math.floor(rand() * 1e6)} :${mask} PRIVMSG #bench :${text(rand, 60, 200)}\r\n`);
  if (r < 0.76) return Buffer.from(`:${mask} PRIVMSG #bench :${text(rand, 40, 120).replace(/[^\x00-\xff]/g, '?')}\r\n`, 'latin1');
  if (r < 0.79) return utf8(`:${mask} PRIVMSG #bench :\x01ACTION ${text(rand, 20, 80)}\x01\r\n`);
  if (r < 0.81) return utf8(`:${mask} PRIVMSG ${ME} :${text(rand, 20, 120)}\r\n`);
  if (r < 0.83) return utf8(`:${mask} NOTICE #bench :${text(rand, 30, 120)}\r\n`);
  if (r < 0.85) return utf8(`:${mask} JOIN #bench\r\n`);
  if (r < 0.87) return utf8(`:${mask} PART #bench :${text(rand, 5, 40)}\r\n`);
  if (r < 0.88) return utf8(`:${mask} QUIT :Quit: ${text(rand, 5, 40)}\r\n`);
  if (r < 0.89) return utf8(`:${mask} NICK ${nick}_\r\n`);
  if (r < 0.9) return utf8(`:ChanServ!ChanServ@services.bench.local MODE #bench +v ${nick}\r\n`);
  if (r < 0.94) return utf8(`PING :bench.local\r\n`);
  if (r < 0.97) return utf8(`:bench.local 372 ${ME} :- ${text(rand, 20, 70)}\r\n`);
  if (r < 0.98) return utf8(`:bench.local 353 ${ME} = #bench :${NICKS.join(' ')}\r\n`);
  return utf8(`:bench.local NOTICE ${ME} :*** ${text(rand, 20, 90)}\r\n`);
}

const rand = prng(20240607);
const parts = [];
for (let i = 0; i < LINES; i++) parts.push(line(rand));
const stream = Buffer.concat(parts);

const ctx = { client: { ip: '127.0.0.1', port: 40000 }, server: { host: 'bench.local', port: 6667 }, maxFrameSize: 16 * 1024 };
const setup = [
  ['outgoing', `NICK ${ME}\r\nUSER ${ME} 0 * :bench\r\n`],
  ['incoming', `:bench.local 001 ${ME} :Welcome\r\n:bench.local 005 ${ME} CHANTYPES=# STATUSMSG=@+ CASEMAPPING=rfc1459 :are supported\r\n`],
  ['outgoing', `JOIN #bench\r\n`],
  ['incoming', `:${ME}!~u@h JOIN #bench\r\n`],
];

benchParse({
  count: LINES,
  unit: 'line',
  stream,
  chunkSize: CHUNK,
  runs: RUNS,
  open() {
    const session = new IrcSession(ctx);
    for (const [direction, data] of setup) session.push(direction, Buffer.from(data, 'utf8'));
    return session;
  },
});
