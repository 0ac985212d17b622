#!/usr/bin/env node
// Times `imspect replay -q` on the synthetic IRC capture, for this checkout and optionally another build
// side by side (e.g. a `git worktree` of main, built), and prints MB/s and peak RSS of each:
//   node bench/replay/run.js [--mb 300] [--capture FILE] [--old DIR] [--rounds 1]
// The capture is made once with make-capture.js (addresses from 198.18.0.0/15; nothing is sent anywhere) and
// kept in the system's temp folder. Runs alternate between the builds, so a noisy machine hurts both alike;
// quote the ratio of one side-by-side run together with the absolute figures.
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const mb = Number(flag('mb', '300'));
const rounds = Number(flag('rounds', '1'));
const capture = path.resolve(flag('capture', path.join(os.tmpdir(), `imspect-replay-bench-${mb}mb.pcap`)));
const old = flag('old', undefined);

function run(command, argv, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** One timed replay with the build in `dir`: wall time, CPU time and peak RSS of the imspect process. */
async function timeReplay(dir) {
  const started = process.hrtime.bigint();
  const result = await run(process.execPath, ['-r', path.join(here, 'usage.cjs'), path.join(dir, 'packages/cli/bin/run.js'), 'replay', capture, '-q'], { cwd: dir });
  const wallS = Number(process.hrtime.bigint() - started) / 1e9;
  const line = result.stderr.split('\n').find((l) => l.startsWith('imspect-bench-usage '));
  if (result.code !== 0 || !line) throw new Error(`replay with ${dir} failed (exit ${result.code}):\n${result.stderr.slice(-2000)}`);
  const usage = JSON.parse(line.slice('imspect-bench-usage '.length));
  const events = /(\d+) events/.exec(result.stdout)?.[1];
  return { wallS, cpuS: usage.userS + usage.systemS, maxRssMB: usage.maxRssMB, events: Number(events) };
}

if (!existsSync(capture)) {
  console.log(`making ${capture} (${mb} MB) ...`);
  const made = await run(process.execPath, [path.join(here, 'make-capture.js'), capture, String(mb)]);
  if (made.code !== 0) throw new Error(made.stderr);
}
const size = statSync(capture).size / 1e6;
const builds = old
  ? [
      ['before', path.resolve(old)],
      ['after', repo],
    ]
  : [['this', repo]];
const results = new Map(builds.map(([name]) => [name, []]));
for (let round = 0; round < rounds; round++) {
  for (const [name, dir] of builds) {
    const r = await timeReplay(dir);
    results.get(name).push(r);
    console.log(
      `${name.padEnd(6)} ${dir}: ${r.wallS.toFixed(1)} s wall (${(size / r.wallS).toFixed(1)} MB/s), ${r.cpuS.toFixed(1)} s CPU (${(size / r.cpuS).toFixed(1)} MB per CPU s), peak RSS ${r.maxRssMB.toFixed(0)} MB, ${r.events} events`,
    );
  }
  if (old) {
    const [b, a] = [results.get('before').at(-1), results.get('after').at(-1)];
    if (b.events !== a.events) console.log(`  the builds disagree: ${b.events} events before, ${a.events} after`);
    console.log(
      `  ratio after/before: ${(b.wallS / a.wallS).toFixed(2)}x wall MB/s, ${(b.cpuS / a.cpuS).toFixed(2)}x MB per CPU s, peak RSS ${(a.maxRssMB / b.maxRssMB).toFixed(2)}x`,
    );
  }
}
console.log(
  `capture: ${capture}, ${size.toFixed(1)} MB; load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} on ${os.cpus().length} CPUs`,
);
