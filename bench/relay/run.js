#!/usr/bin/env node
/**
 * Relay benchmark: a bench IRC server on 127.0.0.1, reached directly and through imspect (`imspect start`,
 * its own process, IRC parsed, events logged as CSV). Measures bulk throughput server -> client and message
 * round-trip latency for several numbers of concurrent sessions, and prints a table. Run by hand:
 *
 *   pnpm build && pnpm bench:relay [-- --sessions 1,100,1000 --mb 200 --seconds 10 --quick --profile]
 *
 * See bench/README.md. Loopback only; everything it starts is stopped and every temp file removed on exit.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import { join, relative } from 'node:path';
import { closeSessions, openSessions, runBulk, runEcho } from './clients.js';
import { cleanupAll, installCleanup, isExiting, trackDir, trackSocket } from './cleanup.js';
import { benchArgs, failBench } from './args.js';
import { commandLine, countRows, fdAdvice, fdLimits, hostFacts } from './facts.js';
import { CLI_DIST, ROOT, VARIANTS, startBenchServer, startImspect } from './procs.js';
import { analyzeProfile } from './profile.js';
import { fmt, summarize, table } from './stats.js';

const USAGE = `usage: node bench/relay/run.js [options]   (or: pnpm bench:relay [--] [options])
  --sessions LIST     concurrent sessions, comma-separated          (default 1,100,1000)
  --mb N              MB (10^6 bytes) streamed per throughput run,
                      split evenly over the sessions                 (default 200)
  --max-seconds N     cap on one throughput run; a capped run counts
                      the bytes received so far (marked *)           (default 30)
  --seconds N         measured seconds per latency run              (default 10)
  --warmup N          warm-up seconds before measuring latency      (default 2)
  --rate N            messages per second per session (latency)     (default 10)
  --only WHAT         throughput | latency                          (default both)
  --quick             smoke run: --mb 20 --max-seconds 10 --seconds 2 --warmup 0.5
  --profile           run imspect under --cpu-prof and summarise where its time goes
  --profile-dir DIR   where the .cpuprofile files go (implies --profile;
                      default bench/.bench-out/profiles)
  --variant V         what imspect does: full (IRC parsed + CSV logged, default),
                      parse (IRC parsed, no logger), raw (relay only, nothing parsed)
  --keep-logs         keep imspect's CSV logs (printed path) instead of deleting them
  -h, --help`;

function options() {
  const v = benchArgs(
    {
      sessions: { type: 'string' },
      mb: { type: 'string' },
      'max-seconds': { type: 'string' },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      rate: { type: 'string' },
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      'profile-dir': { type: 'string' },
      'keep-logs': { type: 'boolean', default: false },
      variant: { type: 'string', default: 'full' },
    },
    USAGE,
  );
  const profileDir = v['profile-dir'] ?? (v.profile ? join(ROOT, 'bench', '.bench-out', 'profiles') : undefined);
  const num = (name, value, fallback, { min = 0, max = Infinity } = {}) => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max) failBench(`--${name}: expected a number between ${min} and ${max}, got ${JSON.stringify(value)}`);
    return n;
  };
  const q = v.quick;
  const sessions = (v.sessions ?? '1,100,1000').split(',').map((s) => Number(s.trim()));
  if (sessions.some((n) => !Number.isInteger(n) || n < 1 || n > 10000)) failBench('--sessions: a comma-separated list of integers from 1 to 10000');
  const only = v.only;
  if (only !== undefined && only !== 'throughput' && only !== 'latency') failBench('--only: throughput or latency');
  if (!Object.hasOwn(VARIANTS, v.variant)) failBench(`--variant: one of ${Object.keys(VARIANTS).join(', ')}`);
  return {
    sessions,
    mb: num('mb', v.mb, q ? 20 : 200, { min: 0.01, max: 100_000 }),
    maxSeconds: num('max-seconds', v['max-seconds'], q ? 10 : 30, { min: 1, max: 3600 }),
    seconds: num('seconds', v.seconds, q ? 2 : 10, { min: 0.1, max: 3600 }),
    warmup: num('warmup', v.warmup, q ? 0.5 : 2, { min: 0, max: 600 }),
    rate: num('rate', v.rate, 10, { min: 0.1, max: 1000 }),
    throughput: only !== 'latency',
    latency: only !== 'throughput',
    profileDir,
    keepLogs: v['keep-logs'],
    variant: v.variant,
    quick: q,
  };
}

function say(message) {
  process.stderr.write(`${message}\n`);
}

const MB = 1e6;

async function main() {
  const opt = options();
  installCleanup();
  const command = commandLine();
  const facts = hostFacts();

  if (!existsSync(CLI_DIST)) failBench(`the CLI is not built (${relative(ROOT, CLI_DIST)} is missing): run \`pnpm build\` first`);

  const limits = fdLimits();
  const maxSessions = Math.max(...opt.sessions);
  // imspect holds two sockets per session, plus files and its own handles; the server and we hold one each.
  const needed = 2 * maxSessions + 256;
  facts.push(`fd limit: ${limits.soft} (hard ${limits.hard}); ${maxSessions} sessions through imspect need about ${needed}`);
  let sessionsList = opt.sessions;
  if (limits.soft < needed) {
    const fits = opt.sessions.filter((n) => 2 * n + 256 <= limits.soft);
    say(
      `bench: the open-file limit is ${limits.soft} (hard ${limits.hard}), too low for ${maxSessions} sessions through imspect ` +
        `(2 sockets per session in the proxy: about ${needed} descriptors).\n` +
        `       ${fdAdvice(limits, needed)}` +
        (fits.length > 0 ? `.\n       Running only ${fits.join(',')} sessions now.` : '.\n       Nothing fits: stopping.'),
    );
    sessionsList = fits;
    if (fits.length === 0) process.exit(1);
  }

  const tmpRoot = mkdtempSync(join(os.tmpdir(), 'imspect-bench-'));
  trackDir(tmpRoot);
  if (opt.profileDir) await mkdir(opt.profileDir, { recursive: true });

  say(`bench: ${command}`);
  for (const f of facts) say(`bench: ${f}`);
  const server = await startBenchServer();
  say(`bench: bench server pid ${server.pid} on 127.0.0.1:${server.port}; temp folder ${tmpRoot}`);

  const results = new Map(); // sessions -> row data
  const details = [];
  const profiles = [];
  let pluginsSeen;
  let ircLoaded = true;
  let caseNo = 0;

  /** One imspect child for one measured case: started fresh, stopped gracefully, its logs counted. */
  const withImspect = async (label, fn) => {
    caseNo++;
    const tmp = join(tmpRoot, `case-${caseNo}`);
    await mkdir(tmp, { recursive: true });
    const name = `imspect-${label.replace(/\W+/g, '-')}`;
    const proxy = await startImspect({ tmp, serverPort: server.port, profileDir: opt.profileDir, name, variant: opt.variant });
    pluginsSeen ??= proxy.plugins;
    if (opt.variant !== 'raw' && !/\birc\b/.test(proxy.plugins)) ircLoaded = false;
    const cpu0 = proxy.cpuSeconds();
    let result;
    try {
      result = await fn(proxy);
    } finally {
      const cpu = proxy.cpuSeconds() - cpu0;
      const mem = proxy.memory();
      const stopped = await proxy.stop(60_000);
      // After the stop: shutdown problems (e.g. events a logger could not store in time) are logged then.
      const warnings = proxy.warnings();
      const undelivered = warnings.reduce((sum, w) => sum + (typeof w.undelivered === 'number' ? w.undelivered : 0), 0);
      const logs = countRows(join(proxy.dataDir, 'logs'));
      details.push({ label, pid: proxy.pid, startupMs: proxy.startupMs, cpu, mem, stopped, warnings, undelivered, logs, tmp });
      if (opt.profileDir) profiles.push({ label, file: join(opt.profileDir, `${name}.cpuprofile`) });
      if (opt.keepLogs) say(`bench: logs kept in ${proxy.dataDir}`);
      else rmSync(tmp, { recursive: true, force: true });
    }
    return result;
  };

  const track = (socket) => trackSocket(socket);

  for (const n of sessionsList) {
    if (isExiting()) break;
    const row = { n };
    results.set(n, row);
    if (opt.throughput) {
      const perSession = Math.max(4096, Math.floor((opt.mb * MB) / n));
      const bulk = async (port, via, proxy) => {
        const sessions = await openSessions({ port, count: n, mode: 'bulk', bulkBytes: perSession, track });
        try {
          await proxy?.loopProbe();
          const r = await runBulk(sessions, { bytesPerSession: perSession, timeoutMs: opt.maxSeconds * 1000 });
          if (proxy) r.loop = await proxy.loopProbe();
          const mbps = r.bytes / MB / r.seconds;
          say(
            `bench: throughput ${via.padEnd(7)} ${String(n).padStart(5)} sessions: ${fmt(r.bytes / MB)} MB in ${fmt(r.seconds, 2)} s = ${fmt(mbps)} MB/s` +
              `${r.timedOut ? ` (capped at ${opt.maxSeconds} s: ${r.completed}/${n} sessions complete)` : ''}${r.error ? ` [${r.error}]` : ''}`,
          );
          return { ...r, mbps };
        } finally {
          closeSessions(sessions);
        }
      };
      row.directBulk = await bulk(server.port, 'direct');
      if (isExiting()) break;
      row.proxyBulk = await withImspect(`throughput ${n}`, (proxy) => bulk(proxy.port, 'imspect', proxy));
    }
    if (isExiting()) break;
    if (opt.latency) {
      const echo = async (port, via, proxy) => {
        const sessions = await openSessions({ port, count: n, mode: 'echo', track });
        try {
          let loop;
          const r = await runEcho(sessions, {
            rate: opt.rate,
            warmupMs: opt.warmup * 1000,
            measureMs: opt.seconds * 1000,
            onMeasureStart: proxy ? () => void proxy.loopProbe() : undefined,
            onMeasureEnd: proxy ? () => void proxy.loopProbe().then((l) => (loop = l)) : undefined,
          });
          await new Promise((resolve) => setTimeout(resolve, 50));
          r.loop = loop;
          const s = summarize(r.samples);
          say(
            `bench: latency    ${via.padEnd(7)} ${String(n).padStart(5)} sessions: ${s.count} samples, p50 ${fmt(s.p50, 3)} ms, p99 ${fmt(s.p99, 3)} ms, ` +
              `max ${fmt(s.max, 1)} ms, lost ${r.lost}`,
          );
          return { ...r, ...s };
        } finally {
          closeSessions(sessions);
        }
      };
      row.directEcho = await echo(server.port, 'direct');
      if (isExiting()) break;
      row.proxyEcho = await withImspect(`latency ${n}`, (proxy) => echo(proxy.port, 'imspect', proxy));
    }
  }
  await server.stop();

  // ---- Output (stdout): the table, then the facts behind it.
  const out = [];
  out.push(`imspect relay benchmark — ${new Date().toISOString()}`);
  out.push(`command: ${command}`);
  for (const f of facts) out.push(f);
  out.push(`imspect variant: ${opt.variant} — ${VARIANTS[opt.variant]}`);
  out.push(`imspect plugins loaded: ${pluginsSeen ?? '(imspect not started)'}`);
  if (!ircLoaded) out.push('WARNING: the irc plugin was not loaded: imspect relayed unparsed and logged nothing (figures are a raw relay).');
  out.push(
    `throughput: ${opt.mb} MB per run split over the sessions, server -> client, capped at ${opt.maxSeconds} s; ` +
      `latency: ${opt.rate} msg/s per session, ${opt.warmup} s warm-up + ${opt.seconds} s measured`,
  );
  out.push('');
  const header = ['sessions', 'direct MB/s', 'imspect MB/s', 'ratio %', 'direct p50/p99 ms', 'imspect p50/p99 ms', 'added p99 ms'];
  const rows = [...results.values()].map((r) => {
    const capped = (b) => (b?.timedOut ? '*' : '');
    const ratio = r.directBulk && r.proxyBulk ? (100 * r.proxyBulk.mbps) / r.directBulk.mbps : NaN;
    const pair = (e) => (e ? `${fmt(e.p50, 3)} / ${fmt(e.p99, 3)}` : '-');
    return [
      String(r.n),
      `${fmt(r.directBulk?.mbps)}${capped(r.directBulk)}`,
      `${fmt(r.proxyBulk?.mbps)}${capped(r.proxyBulk)}`,
      fmt(ratio),
      pair(r.directEcho),
      pair(r.proxyEcho),
      r.directEcho && r.proxyEcho ? fmt(r.proxyEcho.p99 - r.directEcho.p99, 3) : '-',
    ];
  });
  out.push(table(header, rows));
  if (rows.some((r) => r[1].endsWith('*') || r[2].endsWith('*'))) out.push('* run capped at --max-seconds: MB/s from the bytes received by then');
  out.push('');
  out.push('imspect process per case (fresh `imspect start` each):');
  out.push(
    table(
      ['case', 'startup s', 'CPU s', 'loop busy %', 'loop delay p99/max ms', 'peak RSS MB', 'stop s', 'CSV rows', 'not logged', 'CSV MB', 'lost msgs', 'warnings'],
      details.map((d) => {
        const [kind, n] = d.label.split(' ');
        const r = results.get(Number(n));
        const measured = kind === 'latency' ? r?.proxyEcho : r?.proxyBulk;
        const lost = kind === 'latency' ? String(r?.proxyEcho?.lost ?? '-') : '-';
        const loop = measured?.loop;
        const stop = `${fmt(d.stopped.stopMs / 1000)}${d.stopped.signal === 'SIGKILL' ? ' (killed)' : ''}`;
        return [
          d.label,
          fmt(d.startupMs / 1000),
          fmt(d.cpu),
          loop ? fmt(100 * loop.utilization, 0) : '-',
          loop ? `${fmt(loop.p99, 1)} / ${fmt(loop.max, 1)}` : '-',
          fmt(d.mem.peakMb, 0),
          stop,
          String(d.logs.rows),
          String(d.undelivered),
          fmt(d.logs.bytes / MB),
          lost,
          String(d.warnings.length),
        ];
      }),
    ),
  );
  out.push(
    'CPU s = imspect CPU time (user+sys) from session setup to the end of the run; loop busy % and loop delay = imspect event-loop\n' +
      'utilisation and how late a 5 ms timer ran, over the measured window; stop s = SIGTERM to exit: imspect ends connections and\n' +
      'writes every queued event first (a logger backlog shows here); CSV rows = events logged;\n' +
      'not logged = events imspect accepted but reported it could not store before shutdown.',
  );
  const warned = details.flatMap((d) => d.warnings.slice(0, 3).map((w) => `  [${d.label}] ${w.level}: ${w.msg}`));
  if (warned.length > 0) out.push('', 'imspect warnings (first 3 per case):', ...warned);
  if (profiles.length > 0) {
    out.push('', 'CPU profiles of imspect:');
    for (const p of profiles) {
      if (!existsSync(p.file)) {
        out.push(`  [${p.label}] no profile written (${p.file}): the process did not exit normally`);
        continue;
      }
      out.push('', `==== ${p.label} (${(statSync(p.file).size / MB).toFixed(1)} MB) ====`, analyzeProfile(p.file, { top: 20 }));
    }
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

main()
  .catch((error) => {
    say(`bench: failed: ${error?.stack ?? error}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await cleanupAll();
    process.exit(process.exitCode ?? 0);
  });
