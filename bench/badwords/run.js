/**
 * Bad-word matching: building the matcher from a large word list, then masking typical chat messages and one
 * 1 MB message. `WordMatcher` alone, no sockets.
 *
 *   pnpm build && node bench/badwords/run.js [--words 100000] [--messages 200000] [--runs 5]
 *
 * Word list: seeded random "words" of 3-12 letters (Latin, some Cyrillic and Chinese). Messages: 60-200
 * characters of ordinary text with a list word in about one message in twenty. Prints the build time, the
 * matcher's memory, µs per message, MB/s on the 1 MB message, per run and the median. Figures only.
 */
import { WordMatcher } from '../../packages/filter-badwords/dist/index.js';
import { numberFlag, prng } from '../support.js';

const WORDS = numberFlag('words', 100_000);
const MESSAGES = numberFlag('messages', 200_000);
const RUNS = numberFlag('runs', 5);

const random = prng(9);
const LATIN = 'abcdefghijklmnopqrstuvwxyz';
const CYRILLIC = 'абвгдежзиклмнопрстуфхцчшщ';
const HAN = '你好坏蛋世界中文字词语句话说明白天';
const pick = (alphabet, n) => Array.from({ length: n }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
const words = Array.from({ length: WORDS }, () => {
  const r = random();
  const alphabet = r < 0.8 ? LATIN : r < 0.9 ? CYRILLIC : HAN;
  return pick(alphabet, 3 + Math.floor(random() * 10));
});
const PROSE = 'the build is green again after the flaky test was fixed so we can ship the release candidate tonight did anyone look at the patch for the parser'.split(' ');
const messages = Array.from({ length: 1000 }, (_, i) => {
  const parts = [];
  const length = 60 + Math.floor(random() * 140);
  while (parts.join(' ').length < length) parts.push(PROSE[Math.floor(random() * PROSE.length)]);
  if (i % 20 === 0) parts.splice(Math.floor(random() * parts.length), 0, words[Math.floor(random() * words.length)].toUpperCase());
  return parts.join(' ');
});
const big = messages
  .join(' ')
  .repeat(Math.ceil(1_000_000 / messages.join(' ').length))
  .slice(0, 1_000_000);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const builds = [];
const perMessage = [];
const bigRates = [];
let heap = 0;
for (let run = 0; run < RUNS; run++) {
  global.gc?.();
  const memory = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const heapBefore = memory();
  let t = process.hrtime.bigint();
  const matcher = new WordMatcher(words);
  builds.push(Number(process.hrtime.bigint() - t) / 1e6);
  global.gc?.();
  heap = (memory() - heapBefore) / 1e6;
  let masked = 0;
  t = process.hrtime.bigint();
  for (let i = 0; i < MESSAGES; i++) if (matcher.mask(messages[i % messages.length], '*').count > 0) masked++;
  perMessage.push(Number(process.hrtime.bigint() - t) / 1e3 / MESSAGES);
  t = process.hrtime.bigint();
  const result = matcher.mask(big, '*');
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  bigRates.push(big.length / 1e6 / (ms / 1000));
  console.log(
    `run ${run + 1}: build ${builds.at(-1).toFixed(0)} ms (${WORDS} words, ~${heap.toFixed(0)} MB), ` +
      `${perMessage.at(-1).toFixed(2)} µs/message (${masked} of ${MESSAGES} masked), 1 MB message ${ms.toFixed(0)} ms (${result.count} words)`,
  );
}
console.log(`median: build ${median(builds).toFixed(0)} ms, ${median(perMessage).toFixed(2)} µs/message, 1 MB message at ${median(bigRates).toFixed(1)} M chars/s`);
