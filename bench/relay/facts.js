/**
 * What the relay and messages benchmarks print about the machine and check before they start: the header
 * lines (command, node, cores, load), the open-file limit, and the CSV rows imspect wrote.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative } from 'node:path';

/** The command line as typed (script relative to the current folder). */
export function commandLine() {
  return `node ${relative(process.cwd(), process.argv[1]) || process.argv[1]} ${process.argv.slice(2).join(' ')}`.trim();
}

/** Header lines: node version, platform, cores, memory, load average. */
export function hostFacts() {
  const cpus = os.cpus();
  return [
    `node ${process.version} (${process.platform} ${os.release()} ${process.arch})`,
    `cpu: ${cpus.length} cores, ${cpus[0]?.model?.trim() ?? 'unknown model'}; memory ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  ];
}

/** File descriptor limits this process (and so its children) runs with; Node raises the soft one to the hard. */
export function fdLimits() {
  try {
    const out = execFileSync('/bin/sh', ['-c', 'ulimit -Sn; ulimit -Hn'], { encoding: 'utf8' }).trim().split('\n');
    const parse = (s) => (s === 'unlimited' ? Infinity : Number(s));
    return { soft: parse(out[0]), hard: parse(out[1]) };
  } catch {
    return { soft: NaN, hard: NaN };
  }
}

/** How to raise the open-file limit to `needed`, for a message. */
export function fdAdvice(limits, needed) {
  return (
    `Raise it in the shell that runs the bench, e.g. \`ulimit -n ${Math.max(needed, 4096)}\`` +
    (limits.hard < needed ? ' (above the hard limit: needs root or /etc/security/limits.conf)' : '')
  );
}

/** Walks the `.csv` files under `dir` (bounded depth), calling `visit(path)`. */
export function eachCsvFile(dir, visit) {
  const walk = (d, depth) => {
    if (depth > 8) return;
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) walk(p, depth + 1);
      else if (entry.isFile() && entry.name.endsWith('.csv')) visit(p);
    }
  };
  if (existsSync(dir)) walk(dir, 0);
}

/** Rows in the CSV logs under `dir` (one line per event; event texts here hold no line breaks). */
export function countRows(dir) {
  let rows = 0;
  let files = 0;
  let bytes = 0;
  eachCsvFile(dir, (p) => {
    const data = readFileSync(p);
    files++;
    bytes += data.length;
    for (let i = data.indexOf(10); i >= 0; i = data.indexOf(10, i + 1)) rows++;
  });
  return { rows, files, bytes };
}
