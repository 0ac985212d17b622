/**
 * Preloaded (`node --import`) into imspect by the benchmark: measures how late the proxy's event loop runs a
 * 5 ms interval timer (the wait any connection sees before its data is handled) and the loop's utilisation,
 * without touching imspect's code. On SIGUSR2 it prints one line `bench-loop-probe {json}` on standard error
 * with the figures since the previous SIGUSR2, then resets.
 *
 * (A JS interval rather than perf_hooks.monitorEventLoopDelay: under a saturated loop the latter recorded no
 * samples at all for seconds at a time.)
 */
import { createHistogram, performance } from 'node:perf_hooks';

const INTERVAL_MS = 5;
const histogram = createHistogram();
let last = performance.now();
let worst = 0;
setInterval(() => {
  const now = performance.now();
  const late = Math.max(0, now - last - INTERVAL_MS);
  last = now;
  histogram.record(Math.max(1, Math.round(late * 1000))); // µs
  if (late > worst) worst = late;
}, INTERVAL_MS).unref();

let since = performance.now();
let elu = performance.eventLoopUtilization();

process.on('SIGUSR2', () => {
  const now = performance.now();
  // The time since the last tick counts too: a loop stuck right now has not recorded it yet.
  const pending = Math.max(0, now - last - INTERVAL_MS);
  const used = performance.eventLoopUtilization(elu);
  const ms = (us) => Number((us / 1000).toFixed(3));
  const report = {
    seconds: Number(((now - since) / 1000).toFixed(3)),
    samples: histogram.count,
    p50: ms(histogram.percentile(50)),
    p99: ms(histogram.percentile(99)),
    max: Number(Math.max(worst, pending).toFixed(3)),
    utilization: Number(used.utilization.toFixed(3)),
  };
  process.stderr.write(`bench-loop-probe ${JSON.stringify(report)}\n`);
  histogram.reset();
  worst = 0;
  since = now;
  elu = performance.eventLoopUtilization();
});
