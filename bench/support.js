/**
 * What the protocol parse benchmarks (bench/*-parse) share: number flags, the seeded generator of their
 * input, and the timing loop. Needs `pnpm build` (it imports the built packages).
 */
import { createHash } from 'node:crypto';

export { seededRandom as prng } from '../packages/core/dist/testing/index.js';

/** `--name N` on the command line as a number, else `fallback`. */
export function numberFlag(name, fallback, args = process.argv.slice(2)) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : fallback;
}

/**
 * Words from `words` joined by spaces, picked by `rand`, at most a random length between `min` and `max` bytes
 * (UTF-8), and at most `maxWords` of them; 'hi' when even one word is too long.
 */
export function randomText(rand, words, min, max, maxWords = 200) {
  const want = min + Math.floor(rand() * (max - min + 1));
  let out = '';
  for (let n = 0; n < maxWords; n++) {
    const word = words[Math.floor(rand() * words.length)];
    const next = out.length === 0 ? word : `${out} ${word}`;
    if (Buffer.byteLength(next) > want) break;
    out = next;
  }
  return out || 'hi';
}

/**
 * Times a protocol session parsing `stream`, pushed in `direction` in pieces of `chunkSize` bytes, into a
 * fresh session per run (`open()` returns it, logged in). A warm-up run digests every frame (equal digests =
 * the same output before and after a change); then `runs` timed runs. Prints µs per `unit` (there are `count`
 * of them in the stream) and MB/s (10^6 bytes) per run, the median and the best. Figures only.
 */
export function benchParse({ count, unit, stream, chunkSize, runs, open, direction = 'incoming' }) {
  const chunks = [];
  for (let off = 0; off < stream.length; off += chunkSize) chunks.push(stream.subarray(off, Math.min(stream.length, off + chunkSize)));

  const once = (hash) => {
    const session = open();
    let frames = 0;
    let events = 0;
    const t0 = process.hrtime.bigint();
    for (const chunk of chunks) {
      const out = session.push(direction, chunk);
      frames += out.length;
      for (const f of out) if (f.events !== undefined) events += f.events.length;
      if (hash !== undefined) {
        for (const f of out) hash.update(JSON.stringify([f.raw.length, f.events, f.error, f.rewrite !== undefined, f.upgrade]));
      }
    }
    return { ns: Number(process.hrtime.bigint() - t0), frames, events };
  };

  const fmt = (r) => `${(r.ns / 1e3 / count).toFixed(3)} µs/${unit}  ${(stream.length / (r.ns / 1e9) / 1e6).toFixed(1)} MB/s`;
  console.log(`node ${process.version}: ${count} ${unit}s, ${(stream.length / 1e6).toFixed(1)} MB, ${chunks.length} chunks of ${chunkSize} bytes`);
  const hash = createHash('sha256');
  once(hash);
  console.log(`output digest: ${hash.digest('hex').slice(0, 16)}`);
  const results = [];
  for (let r = 0; r < runs; r++) {
    const res = once();
    results.push(res);
    console.log(`run ${r + 1}: ${fmt(res)}  (${res.frames} frames, ${res.events} events)`);
  }
  results.sort((a, b) => a.ns - b.ns);
  console.log(`median: ${fmt(results[Math.floor(results.length / 2)])}`);
  console.log(`best:   ${fmt(results[0])}`);
}
