/**
 * Realistic IRC channel traffic for the bulk stream: a deterministic pool of complete CRLF lines (mostly
 * channel PRIVMSGs of 60-200 bytes of text, some CTCP ACTIONs, NOTICEs, JOIN/PART/QUIT, MODE, PING and server
 * numerics), generated once and streamed as views, so the server spends its time on sockets, not on strings.
 */

import { prng, randomText } from '../support.js';

const NICKS = [
  'alice',
  'bob',
  'carol',
  'dave',
  'erin',
  'frank',
  'grace',
  'heidi',
  'ivan',
  'judy',
  'mallory',
  'niaj',
  'olivia',
  'peggy',
  'rupert',
  'sybil',
  'trent',
  'victor',
  'walter',
  'yvonne',
  'zoe',
  'Kai',
  'Léa',
  'mårten',
  'ops_bot',
  'CIbot',
  '[away]sam',
  'tom^',
  'x-ray',
  'quux42',
];
const HOSTS = ['h.example.net', '10.0.3.17', 'user/alice', 'gateway/web/irccloud.com/x-abcdefgh', 'fe80::1', 'pool-71-x.isp.example'];
export const WORDS = (
  'the build is green again after the flaky test was fixed so we can ship the release candidate tonight ' +
  'did anyone look at the patch for the parser it handles split lines and over long frames now ' +
  'lunch at noon? sure, the usual place. meeting moved to 3pm, bring the numbers for the quarterly review ' +
  'ok thanks see you later :) lol that is great news, congrats! the server restarted at 04:12 UTC ' +
  'café déjà vu naïve façade Zürich São Paulo 東京 ✓ 👍 https://example.org/issue/1234 #bench @alice'
).split(' ');

/** Text of `min`..`max` UTF-8 bytes made of words. */
const text = (rand, min, max) => randomText(rand, WORDS, min, max);

function who(rand) {
  const nick = NICKS[Math.floor(rand() * NICKS.length)];
  const host = HOSTS[Math.floor(rand() * HOSTS.length)];
  return { nick, mask: `${nick}!~${nick.replace(/[^a-z0-9]/gi, '').slice(0, 8) || 'u'}@${host}` };
}

/** One line of channel traffic (without knowing who receives it: no line names the client). */
export function channelLine(rand, channel = '#bench') {
  const r = rand();
  const { nick, mask } = who(rand);
  if (r < 0.8) return `:${mask} PRIVMSG ${channel} :${text(rand, 60, 200)}\r\n`;
  if (r < 0.84) return `:${mask} PRIVMSG ${channel} :\x01ACTION ${text(rand, 20, 80)}\x01\r\n`;
  if (r < 0.87) return `:${mask} NOTICE ${channel} :${text(rand, 30, 120)}\r\n`;
  if (r < 0.89) return `:${mask} JOIN ${channel}\r\n`;
  if (r < 0.91) return `:${mask} PART ${channel} :${text(rand, 5, 40)}\r\n`;
  if (r < 0.92) return `:${mask} QUIT :Quit: ${text(rand, 5, 40)}\r\n`;
  if (r < 0.93) return `:ChanServ!ChanServ@services.bench.local MODE ${channel} +v ${nick}\r\n`;
  if (r < 0.96) return `PING :bench.local\r\n`;
  if (r < 0.98) return `:bench.local 372 * :- ${text(rand, 20, 70)}\r\n`;
  return `:bench.local NOTICE * :*** ${text(rand, 20, 90)}\r\n`;
}

/**
 * The pool: about `size` bytes of complete lines, plus `boundaries` (sorted end offsets of each line) so a
 * stream can stop exactly at a line end.
 */
export function buildPool(size = 4 * 1024 * 1024, seed = 20240607) {
  const rand = prng(seed);
  const parts = [];
  const boundaries = [];
  let total = 0;
  while (total < size) {
    const line = Buffer.from(channelLine(rand), 'utf8');
    parts.push(line);
    total += line.length;
    boundaries.push(total);
  }
  return { bytes: Buffer.concat(parts, total), boundaries: Uint32Array.from(boundaries) };
}

/** Largest line end in the pool that is <= limit (0 if none). */
export function lineEndAtMost(pool, limit) {
  const b = pool.boundaries;
  let lo = 0;
  let hi = b.length - 1;
  let best = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (b[mid] <= limit) {
      best = b[mid];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best;
}

/** A PING line of exactly `length` bytes (length >= 10): pads a stream to an exact byte count. */
export function fillerLine(length) {
  if (length < 10) throw new Error(`filler line too short: ${length}`);
  return Buffer.from(`PING :${'x'.repeat(length - 8)}\r\n`, 'latin1');
}

/**
 * The views that make exactly `total` bytes of complete lines from the pool: whole pool copies, then a prefix
 * that ends at a line end, then one filler line. `total` must be at least 64.
 */
export function* streamPieces(pool, total, pieceSize = 64 * 1024) {
  let remaining = total;
  const full = pool.bytes.length;
  // Keep enough room for a filler line after the last whole copy.
  while (remaining - full >= 64) {
    for (let off = 0; off < full; off += pieceSize) yield pool.bytes.subarray(off, Math.min(full, off + pieceSize));
    remaining -= full;
  }
  const end = lineEndAtMost(pool, remaining - 16);
  for (let off = 0; off < end; off += pieceSize) yield pool.bytes.subarray(off, Math.min(end, off + pieceSize));
  remaining -= end;
  if (remaining > 0) {
    if (remaining < 10) throw new Error('internal: stream cannot end on a line');
    yield fillerLine(remaining);
  }
}
