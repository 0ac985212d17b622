// Preloaded into a timed `imspect replay` (node -r): at exit, writes the process's own CPU time and peak
// resident set size to standard error on one tagged line, whatever build of imspect is running.
'use strict';
process.on('exit', () => {
  const usage = process.resourceUsage();
  process.stderr.write(`imspect-bench-usage ${JSON.stringify({ userS: usage.userCPUTime / 1e6, systemS: usage.systemCPUTime / 1e6, maxRssMB: usage.maxRSS / 1024 })}\n`);
});
