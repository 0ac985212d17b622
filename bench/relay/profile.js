/**
 * Summary of a V8 .cpuprofile (as written by `node --cpu-prof`): where the time goes, by function (self and
 * inclusive) and by file. Used by `run.js --profile`; also runs alone:
 *   node bench/relay/profile.js FILE.cpuprofile [--top 25]
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ROOT } from './procs.js';

function where(frame) {
  let url = frame.url || '';
  if (url.startsWith('file://')) {
    try {
      url = relative(ROOT, fileURLToPath(url));
    } catch {
      /* keep the URL */
    }
  }
  return url;
}

function label(frame) {
  const name = frame.functionName || '(anonymous)';
  const url = where(frame);
  return url ? `${name}  ${url}:${frame.lineNumber + 1}` : name;
}

/** Folds pnpm store paths to the package name: node_modules/.pnpm/pino@9/node_modules/pino/x.js -> pino/x.js */
function fileOf(frame) {
  const url = where(frame);
  if (!url) return frame.functionName || '(native)';
  const nm = url.lastIndexOf('node_modules/');
  return nm >= 0 ? `[dep] ${url.slice(nm + 'node_modules/'.length)}` : url;
}

export function analyzeProfile(file, { top = 25 } = {}) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map();
  for (const node of profile.nodes) byId.set(node.id, node);
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const selfByFn = new Map();
  const selfByFile = new Map();
  const inclByFn = new Map();
  let total = 0;
  let idle = 0;
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const dt = Math.max(0, deltas[i] ?? 0) / 1000; // µs -> ms
    const node = byId.get(samples[i]);
    if (!node) continue;
    const fn = node.callFrame;
    if (fn.functionName === '(idle)') {
      idle += dt;
      continue;
    }
    total += dt;
    const key = label(fn);
    selfByFn.set(key, (selfByFn.get(key) ?? 0) + dt);
    const f = fileOf(fn);
    selfByFile.set(f, (selfByFile.get(f) ?? 0) + dt);
    const seen = new Set();
    for (let id = node.id, guard = 0; id !== undefined && guard < 500; id = parent.get(id), guard++) {
      const k = label(byId.get(id).callFrame);
      if (seen.has(k)) continue;
      seen.add(k);
      inclByFn.set(k, (inclByFn.get(k) ?? 0) + dt);
    }
  }
  const sorted = (map) => [...map.entries()].sort((a, b) => b[1] - a[1]);
  const pct = (ms) => `${((100 * ms) / (total || 1)).toFixed(1).padStart(5)}%`;
  const lines = [];
  lines.push(`profile ${file}`);
  lines.push(`busy ${(total / 1000).toFixed(2)} s, idle ${(idle / 1000).toFixed(2)} s`);
  lines.push('', `self time by file (top ${top}):`);
  for (const [k, ms] of sorted(selfByFile).slice(0, top)) lines.push(`  ${pct(ms)}  ${k}`);
  lines.push('', `self time by function (top ${top}):`);
  for (const [k, ms] of sorted(selfByFn).slice(0, top)) lines.push(`  ${pct(ms)}  ${k}`);
  lines.push('', `inclusive time by function (top ${top}, project code and entry points):`);
  const interesting = sorted(inclByFn).filter(([k]) => k.includes('packages/') || k.startsWith('(garbage') || k.includes('[dep]'));
  for (const [k, ms] of interesting.slice(0, top)) lines.push(`  ${pct(ms)}  ${k}`);
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const topAt = args.indexOf('--top');
  const top = topAt >= 0 ? Number(args[topAt + 1]) || 25 : 25;
  const files = args.filter((a, i) => a !== '--top' && (topAt < 0 || i !== topAt + 1));
  if (files.length === 0) {
    process.stderr.write('usage: node bench/relay/profile.js FILE.cpuprofile [--top N]\n');
    process.exit(2);
  }
  for (const f of files) process.stdout.write(`${analyzeProfile(f, { top })}\n\n`);
}
