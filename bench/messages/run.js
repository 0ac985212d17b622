#!/usr/bin/env node
/**
 * Logged-messages benchmark (issue 22): N IRC clients x M PRIVMSG client -> server, through a plain TCP relay
 * (socat when installed, and a minimal Node relay) and through imspect's SOCKS5 listener on its defaults (all
 * plugins, CSV and SQLite logging), side by side in one run; idle sessions' memory; TLS interception. Run by hand:
 *
 *   pnpm build && pnpm bench:messages [-- --quick | --clients 10 --messages 20000 --idle 10000 --tls --workers 1,2]
 *
 * See bench/README.md. Loopback only; everything it starts is stopped by PID and every temp file removed.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { cleanupAll, installCleanup, isExiting, stopChild, trackChild, trackDir, trackSocket } from '../relay/cleanup.js';
import { benchArgs, failBench } from '../relay/args.js';
import { commandLine, countRows, fdAdvice, fdLimits, hostFacts } from '../relay/facts.js';
import { CLI_BIN, CLI_DIST, ROOT, spawnNode, startBenchServer, startImspect } from '../relay/procs.js';
import { fmt, table } from '../relay/stats.js';
import { watchArchive } from './archive.js';

// Loaded once the build is checked: they import the built packages (a missing dist would fail at load time).
let openSessions;
let closeSessions;
let dialer;

const USAGE = `usage: node bench/messages/run.js [options]   (or: pnpm bench:messages [--] [options])
  --clients N        IRC clients sending at once                          (default 10)
  --messages M       PRIVMSG per client                                   (default 20000)
  --idle K           idle sessions through imspect, comma-separated list  (default 2000)
  --tls              also TLS: direct through the relay vs intercepted by imspect
  --workers LIST     imspect runs with "workers": N for each value, e.g. 1,2 (when its build knows the key)
  --vary KEY=V1,V2   one imspect case per value of a config key, side by side (e.g. loggers.maxBatchSize=1000,5000)
  --baseline DIR     also run each imspect case on the built imspect checkout in DIR (before/after, one run)
  --rate R           paced: R messages/s per client instead of a flood (latency without queueing)
  --archive-poll P   files: when CSV sizes / SQLite rows reach their final value (20 ms poll,
                     default); state: journal/state.json alone (~100 ms, reads no archive file)
  --only WHAT        messages | idle | tls (comma-separated)              (default: all but tls unless --tls)
  --quick            smoke run: 4 clients x 2000 messages, 200 idle sessions (< 1 minute)
  --profile          run imspect under --cpu-prof and summarise where its time goes
  --profile-dir DIR  where the .cpuprofile files go (default bench/.bench-out/profiles)
  --json             print the results as JSON instead of tables
  -h, --help`;

function say(message) {
  process.stderr.write(`${message}\n`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function options() {
  const v = benchArgs(
    {
      clients: { type: 'string' },
      messages: { type: 'string' },
      idle: { type: 'string' },
      tls: { type: 'boolean', default: false },
      workers: { type: 'string' },
      vary: { type: 'string' },
      baseline: { type: 'string' },
      rate: { type: 'string' },
      'archive-poll': { type: 'string', default: 'files' },
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      'profile-dir': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    USAGE,
  );
  const int = (name, value, fallback, min, max) => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) failBench(`--${name}: expected an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
    return n;
  };
  const list = (name, value, fallback, min, max) => (value === undefined ? fallback : value.split(',').map((s) => int(name, s.trim(), undefined, min, max)));
  const q = v.quick;
  const only = new Set((v.only ?? (v.tls ? 'messages,idle,tls' : 'messages,idle')).split(',').map((s) => s.trim()));
  for (const o of only) if (!['messages', 'idle', 'tls'].includes(o)) failBench('--only: messages, idle and/or tls');
  if (v.tls) only.add('tls');
  return {
    clients: int('clients', v.clients, q ? 4 : 10, 1, 1000),
    messages: int('messages', v.messages, q ? 2000 : 20_000, 1, 10_000_000),
    idle: list('idle', v.idle, [q ? 200 : 2000], 1, 50_000),
    workers: v.workers === undefined ? undefined : list('workers', v.workers, undefined, 1, 256),
    vary: v.vary === undefined ? undefined : parseVary(v.vary),
    baseline: v.baseline === undefined ? undefined : baselineBuild(v.baseline),
    rate: int('rate', v.rate, undefined, 1, 1_000_000),
    archivePoll: ['files', 'state'].includes(v['archive-poll']) ? v['archive-poll'] : failBench('--archive-poll: files or state'),
    only,
    profileDir: v['profile-dir'] ?? (v.profile ? join(ROOT, 'bench', '.bench-out', 'profiles') : undefined),
    json: v.json,
  };
}

/** `--vary key.path=v1,v2`: the config key and its values (JSON where they parse as JSON, else text). */
function parseVary(text) {
  const m = /^([A-Za-z][\w-]*(?:\.[A-Za-z][\w-]*)*)=(.+)$/.exec(text);
  if (!m) failBench(`--vary: expected KEY=V1,V2 (e.g. loggers.maxBatchSize=1000,5000), got ${JSON.stringify(text)}`);
  const values = m[2].split(',').map((raw) => {
    try {
      return JSON.parse(raw);
    } catch {
      return raw;
    }
  });
  return { path: m[1].split('.'), values };
}

/** `--baseline DIR`: a built imspect checkout, named by its commit (or its folder's name outside git). */
function baselineBuild(dir) {
  const root = resolve(dir);
  if (!existsSync(join(root, 'packages', 'cli', 'dist', 'commands', 'start.js'))) {
    failBench(`--baseline: ${root} is not a built imspect checkout (no packages/cli/dist/commands/start.js; run pnpm install && pnpm build there)`);
  }
  let name = basename(root);
  try {
    name = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {}
  return { root, name };
}

/** Sets `path` in an imspect config object, making the objects on the way. */
function setConfigKey(config, path, value) {
  let at = config;
  for (const key of path.slice(0, -1)) at = at[key] ??= {};
  at[path.at(-1)] = value;
}

/**
 * CPU seconds of a process tree: user + system of all the process's threads, of its children that have exited
 * and been reaped, and of those still running (socat forks one per connection, which exits some time after).
 */
function processCpu(pid, depth = 0) {
  let seconds;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    seconds = (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return depth === 0 ? Number.NaN : 0;
  }
  if (depth < 2) {
    try {
      const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      for (const child of children) seconds += processCpu(Number(child), depth + 1);
    } catch {
      /* no children file (kernel without CONFIG_PROC_CHILDREN): exited children still count */
    }
  }
  return seconds;
}

function rssMb(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN) / 1024;
  } catch {
    return Number.NaN;
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

function hasSocat() {
  try {
    execFileSync('/bin/sh', ['-c', 'command -v socat'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/** socat relay, its own process (it forks one per connection; their CPU counts once they exit). */
async function startSocat(upstream) {
  const port = await freePort();
  const child = spawn('socat', [`TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr,backlog=4096`, `TCP:127.0.0.1:${upstream}`], { stdio: 'ignore' });
  trackChild(child);
  await waitForPort(port, 5000);
  return { name: 'socat', pid: child.pid, port, stop: () => stopChild(child, { graceMs: 3000 }) };
}

async function startNodeRelay(upstream) {
  const { child, match } = await spawnNode({
    name: 'node relay',
    script: join(ROOT, 'bench', 'messages', 'relay.js'),
    args: [String(upstream)],
    cwd: ROOT,
    ready: /^listening (\d+)\n/m,
    timeoutMs: 15_000,
  });
  return { name: 'node relay', pid: child.pid, port: Number(match[1]), stop: () => stopChild(child, { graceMs: 3000 }) };
}

/** A control connection to the bench server (direct): the sink figures per tag. */
async function controlClient(serverPort) {
  const [session] = await openSessions({ port: serverPort, count: 1, realname: 'control', nickPrefix: 'ctl', track: trackSocket });
  const { socket } = session;
  let buffered = '';
  const waiters = [];
  socket.on('data', (chunk) => {
    buffered += chunk.toString('latin1');
    for (let lf = buffered.indexOf('\n'); lf >= 0; lf = buffered.indexOf('\n')) {
      const line = buffered.slice(0, lf).trim();
      buffered = buffered.slice(lf + 1);
      const at = line.indexOf(':STATS ');
      if (at >= 0) waiters.shift()?.(JSON.parse(line.slice(at + 7)));
    }
  });
  return {
    stats(tag) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('bench server: no STATS reply in 10 s')), 10_000);
        waiters.push((s) => {
          clearTimeout(timer);
          resolve(s);
        });
        socket.write(`STATS ${tag}\r\n`);
      });
    },
    reset(tag) {
      socket.write(`RESET ${tag}\r\n`);
    },
    close() {
      closeSessions([session]);
    },
  };
}

/** Deterministic chat texts of 60-200 bytes. */
async function buildTexts(count = 4096, seed = 22) {
  const { prng, randomText } = await import('../support.js');
  const { WORDS } = await import('../relay/traffic.js');
  const rand = prng(seed);
  return Array.from({ length: count }, () => randomText(rand, WORDS, 60, 200));
}

/**
 * Every session sends `messages` PRIVMSGs as fast as its socket takes them (a write waits for 'drain'), each
 * starting with the send time (hrtime ns), in writes of up to 32 lines. Resolves with the first send time and
 * the bytes written.
 */
function flood(sessions, { messages, texts, rate }) {
  const t0 = process.hrtime.bigint();
  let bytes = 0;
  const BATCH = 32;
  if (rate !== undefined) return paced(sessions, { messages, texts, rate, t0 });
  const one = (s, i) =>
    new Promise((resolve, reject) => {
      let k = 0;
      let t = (i * 977) % texts.length;
      const target = `#bench${i % 3}`;
      s.socket.once('error', reject);
      const step = () => {
        while (k < messages) {
          const sent = process.hrtime.bigint();
          let chunk = '';
          for (let b = 0; b < BATCH && k < messages; b++, k++) {
            chunk += `PRIVMSG ${target} :${sent} ${texts[t]}\r\n`;
            t = t + 1 === texts.length ? 0 : t + 1;
          }
          const buf = Buffer.from(chunk, 'utf8');
          bytes += buf.length;
          if (!s.socket.write(buf)) {
            s.socket.once('drain', step);
            return;
          }
        }
        resolve();
      };
      step();
    });
  return { t0, done: Promise.all(sessions.map(one)).then(() => bytes) };
}

/**
 * `--rate`: each session sends `rate` messages per second (a 5 ms timer sends what is due), so the latency is
 * the relay's work and not the queue a flood builds in the sockets.
 */
function paced(sessions, { messages, texts, rate, t0 }) {
  let bytes = 0;
  const one = (s, i) =>
    new Promise((resolve, reject) => {
      let k = 0;
      let t = (i * 977) % texts.length;
      const target = `#bench${i % 3}`;
      s.socket.once('error', (error) => {
        clearInterval(timer);
        reject(error);
      });
      const timer = setInterval(() => {
        const sent = process.hrtime.bigint();
        const due = Math.min(messages, Math.floor((rate * Number(sent - t0)) / 1e9) + 1);
        let chunk = '';
        for (; k < due; k++) {
          chunk += `PRIVMSG ${target} :${sent} ${texts[t]}\r\n`;
          t = t + 1 === texts.length ? 0 : t + 1;
        }
        if (chunk.length > 0) {
          const buf = Buffer.from(chunk, 'utf8');
          bytes += buf.length;
          s.socket.write(buf);
        }
        if (k >= messages) {
          clearInterval(timer);
          resolve();
        }
      }, 5);
    });
  return { t0, done: Promise.all(sessions.map(one)).then(() => bytes) };
}

/** Polls the sink until `expected` messages are in (or no progress for `stallMs`). */
async function awaitDelivery(control, tag, expected, stallMs = 30_000) {
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const s = await control.stats(tag);
    if (s.count >= expected) return { ...s, complete: true };
    if (s.count !== last) {
      last = s.count;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > stallMs) return { ...s, complete: false };
    await sleep(20);
  }
}

/** What the loggers stored in a case (journal head and positions: since imspect started). */
const stored = (r) =>
  `   ${r.label}: ${r.csvRows} CSV rows, ${fmt(r.sqliteRows, 0)} SQLite rows stored for ${r.messages} messages; journal head ${r.head}, ` +
  `logger positions ${JSON.stringify(r.consumers)}${r.archiveTimedOut ? ' (archive NOT complete within 120 s)' : ''}`;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.floor(s.length / 2)];
};

async function main() {
  const opt = options();
  installCleanup();
  const command = commandLine();
  const facts = hostFacts();
  if (!existsSync(CLI_DIST) || !existsSync(join(ROOT, 'packages', 'core', 'dist', 'testing', 'index.js'))) {
    failBench(`imspect is not built (${relative(ROOT, CLI_DIST)} is missing): run \`pnpm build\` first`);
  }
  ({ openSessions, closeSessions } = await import('../relay/clients.js'));
  ({ dialer } = await import('./dial.js'));
  const limits = fdLimits();
  facts.push(`fd limit: ${limits.soft} (hard ${limits.hard})`);

  const tmpRoot = mkdtempSync(join(os.tmpdir(), 'imspect-bench-messages-'));
  trackDir(tmpRoot);
  if (opt.profileDir) await mkdir(opt.profileDir, { recursive: true });
  say(`bench: ${command}`);
  for (const f of facts) say(`bench: ${f}`);

  // A self-signed certificate for the TLS port of the bench server (name localhost).
  let serverCert;
  if (opt.only.has('tls')) {
    const dir = join(tmpRoot, 'server-cert');
    await mkdir(dir, { mode: 0o700 });
    serverCert = { certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key') };
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        serverCert.keyFile,
        '-out',
        serverCert.certFile,
      ],
      { stdio: 'pipe' },
    );
  }
  const server = await startBenchServer({ tls: serverCert });
  const control = await controlClient(server.port);
  say(`bench: bench server pid ${server.pid} on 127.0.0.1:${server.port}${server.tlsPort ? ` (TLS ${server.tlsPort})` : ''}; temp folder ${tmpRoot}`);
  const texts = await buildTexts();

  const results = { command, facts, messages: [], idle: [], tls: [], notes: [] };
  const profiles = [];
  let caseNo = 0;
  /** The builds whose schema has no `workers` key (they run without it). */
  const noWorkers = new Set();
  /** This checkout's imspect, then the `--baseline` one: each case runs on both, one after the other. */
  const builds = [{ root: ROOT, suffix: '' }, ...(opt.baseline ? [{ root: opt.baseline.root, suffix: ` @${opt.baseline.name}` }] : [])];
  let pluginsSeen;

  /** imspect with a SOCKS5 listener on its defaults; `extra(config)` adds to the config. */
  const startProxy = async (label, extra) => {
    caseNo++;
    const tmp = join(tmpRoot, `case-${caseNo}`);
    await mkdir(tmp, { recursive: true });
    const name = `imspect-${label.replace(/\W+/g, '-')}`;
    const proxy = await startImspect({
      tmp,
      serverPort: server.port,
      profileDir: opt.profileDir,
      name,
      configure: (config) => {
        config.listeners = [{ type: 'socks5', host: '127.0.0.1', port: 0 }];
        config.allowRoot = true;
        extra?.config?.(config);
      },
      beforeStart: extra?.beforeStart,
      root: extra?.root,
    });
    pluginsSeen ??= proxy.plugins;
    if (opt.profileDir) profiles.push({ label, file: join(opt.profileDir, `${name}.cpuprofile`) });
    proxy.tmp = tmp;
    return proxy;
  };
  const stopProxy = async (proxy) => {
    const stopped = await proxy.stop(60_000);
    await rm(proxy.tmp, { recursive: true, force: true });
    return stopped;
  };

  /** One messages case: sessions through `via`, flood, delivery; archive figures when `proxy` is imspect. */
  const messagesCase = async ({ label, dial, pid, proxy, tls = false }) => {
    const tag = `c${caseNo}-${label.replace(/\W+/g, '')}`;
    const total = opt.clients * opt.messages;
    const archive = proxy ? await watchArchive(proxy.dataDir, { files: opt.archivePoll === 'files' }) : undefined;
    // The second case on one imspect starts from the first one's rows.
    const before = proxy ? { csv: countRows(join(proxy.dataDir, 'logs')).rows, sqlite: archive.sqliteCount() || 0 } : undefined;
    const sessions = await openSessions({ count: opt.clients, realname: `sink ${tag}`, dial, parallel: 50, track: trackSocket });
    try {
      const cpu0 = processCpu(pid);
      const { t0, done } = flood(sessions, { messages: opt.messages, texts, rate: opt.rate });
      const bytes = await done;
      const delivered = await awaitDelivery(control, tag, total);
      const deliveredWall = Date.now() - Number(process.hrtime.bigint() - BigInt(delivered.last)) / 1e6;
      const deliverS = Number(BigInt(delivered.last) - t0) / 1e9;
      const row = {
        label,
        tls,
        messages: delivered.count,
        expected: total,
        complete: delivered.complete,
        bad: delivered.bad,
        seconds: deliverS,
        rate: delivered.count / deliverS,
        mbps: bytes / 1e6 / deliverS,
        p50: delivered.p50,
        p99: delivered.p99,
        max: delivered.max,
        handshakeMs: median(sessions.map((s) => s.registerMs)),
      };
      if (archive) {
        const a = await archive.complete({ afterWallMs: deliveredWall, timeoutMs: 120_000 });
        const at = (x) => (x ? Number(x.at - t0) / 1e9 : Number.NaN);
        row.csvS = at(a.csv);
        row.sqliteS = at(a.sqlite);
        row.archiveS = Math.max(row.csvS || 0, row.sqliteS || 0) || Number.NaN;
        row.archiveTimedOut = a.timedOut;
        row.archiveRate = delivered.count / row.archiveS;
        row.lagS = row.archiveS - deliverS;
        row.sqliteRows = archive.sqliteCount() - before.sqlite;
        row.consumers = Object.fromEntries(Object.entries(a.state?.consumers ?? {}).map(([k, c]) => [k, c.position]));
        row.head = a.state?.head;
        archive.stop();
      }
      // Closed first: socat's per-connection children count once they have exited and been reaped.
      closeSessions(sessions);
      await sleep(300);
      const cpu = processCpu(pid) - cpu0;
      row.cpuUsPerMsg = (cpu * 1e6) / delivered.count;
      if (proxy) {
        row.peakRssMb = proxy.memory().peakMb;
        row.csvRows = countRows(join(proxy.dataDir, 'logs')).rows - before.csv;
      }
      say(
        `bench: ${label}: ${delivered.count}/${total} msgs in ${fmt(deliverS, 2)} s = ${fmt(row.rate, 0)} msg/s, p50 ${fmt(row.p50, 2)} ms, p99 ${fmt(row.p99, 2)} ms` +
          (proxy ? `; archive complete ${fmt(row.archiveS, 2)} s (CSV ${fmt(row.csvS, 2)}, SQLite ${fmt(row.sqliteS, 2)})` : ''),
      );
      control.reset(tag);
      return row;
    } finally {
      archive?.stop();
      closeSessions(sessions);
    }
  };

  // ---- 1. Logged messages: the relays, then imspect (once per --workers value).
  if (opt.only.has('messages') && !isExiting()) {
    const relays = [];
    if (hasSocat()) relays.push(await startSocat(server.port));
    else results.notes.push('socat is not installed: the Node relay is the only plain baseline (apt-get install socat)');
    relays.push(await startNodeRelay(server.port));
    for (const relay of relays) {
      if (isExiting()) break;
      results.messages.push(await messagesCase({ label: relay.name, pid: relay.pid, dial: dialer({ port: relay.port, track: trackSocket }) }));
      await relay.stop();
    }
    const workerValues = opt.workers ?? [undefined];
    const cases = workerValues.flatMap((workers) => (opt.vary?.values ?? [undefined]).flatMap((varied) => builds.map((build) => ({ workers, varied, build }))));
    for (const { workers, varied, build } of cases) {
      if (isExiting()) break;
      const variedLabel = varied === undefined ? '' : ` ${opt.vary.path.join('.')}=${JSON.stringify(varied)}`;
      const withWorkers = workers !== undefined && !noWorkers.has(build.root);
      const label = (withWorkers ? `imspect workers=${workers}` : 'imspect') + variedLabel + build.suffix;
      const configure = (c) => {
        if (withWorkers) c.workers = workers;
        if (varied !== undefined) setConfigKey(c, opt.vary.path, varied);
      };
      let proxy;
      try {
        proxy = await startProxy(label, { config: configure, root: build.root });
      } catch (error) {
        // imspect's own words for a key its schema does not have: `workers: is not a known key`.
        if (withWorkers && /\bworkers\b[^\n]*(not a known key|unknown|additional propert)/i.test(error.message)) {
          noWorkers.add(build.root);
          say(`bench: workers: not supported by the imspect build in ${build.root} (it rejects the "workers" key); running its default only`);
          results.notes.push(`workers: not supported by the imspect build in ${build.root}`);
          continue;
        }
        throw error;
      }
      try {
        results.messages.push(await messagesCase({ label, pid: proxy.pid, proxy, dial: dialer({ port: server.port, proxyPort: proxy.port, track: trackSocket }) }));
      } finally {
        await stopProxy(proxy);
      }
    }
  }

  // ---- 2. Idle sessions through imspect.
  if (opt.only.has('idle') && !isExiting()) {
    for (let k of opt.idle) {
      if (isExiting()) break;
      // imspect holds two sockets per session (plus its files); this process and the server one each.
      // (imspect keeps a reserve descriptor and refuses connections near the limit: leave a margin.)
      const needed = 2 * k + 1024;
      if (limits.soft < needed) {
        const fits = Math.floor((limits.soft - 1024) / 2 / 100) * 100;
        say(
          `bench: the open-file limit is ${limits.soft} (hard ${limits.hard}), too low for ${k} idle sessions (about ${needed} descriptors in imspect). ${fdAdvice(limits, needed)}. Running ${fits}.`,
        );
        results.notes.push(`idle ${k}: fd limit ${limits.soft} too low; ran ${fits}`);
        k = fits;
        if (k <= 0) continue;
      }
      for (const build of builds) {
        if (isExiting()) break;
        const proxy = await startProxy(`idle ${k}${build.suffix}`, { config: (c) => (c.connections = { maxPerClient: 0, maxConnections: k + 16 }), root: build.root });
        try {
          await sleep(3000);
          const base = rssMb(proxy.pid);
          const t = Date.now();
          const sessions = await openSessions({
            count: k,
            realname: 'echo',
            parallel: 500,
            timeoutMs: 120_000,
            dial: dialer({ port: server.port, proxyPort: proxy.port, track: trackSocket }),
            track: trackSocket,
          }).catch((error) => {
            const warned = proxy
              .warnings()
              .slice(0, 5)
              .map((w) => `\n  imspect ${w.level}: ${w.msg}`);
            throw new Error(`opening ${k} idle sessions through imspect: ${error.message}${warned.join('')}`);
          });
          const openS = (Date.now() - t) / 1000;
          try {
            // Let the allocations of the connection burst be collected before reading RSS.
            await sleep(5000);
            const after = rssMb(proxy.pid);
            const row = { sessions: k, build: build.suffix.trim(), baseMb: base, afterMb: after, kbPerSession: ((after - base) * 1024) / k, openS, peakMb: proxy.memory().peakMb };
            say(`bench: idle ${k}${build.suffix}: RSS ${fmt(base)} MB -> ${fmt(after)} MB = ${fmt(row.kbPerSession)} KB per session (opened in ${fmt(openS)} s)`);
            results.idle.push(row);
          } finally {
            closeSessions(sessions);
          }
        } finally {
          await stopProxy(proxy);
        }
      }
    }
  }

  // ---- 3. TLS: direct through the Node relay (not intercepted) vs intercepted by imspect, and plain via imspect.
  if (opt.only.has('tls') && !isExiting()) {
    const serverCa = readFileSync(serverCert.certFile, 'utf8');
    const relay = await startNodeRelay(server.tlsPort);
    try {
      results.tls.push(await messagesCase({ label: 'TLS via node relay', tls: true, pid: relay.pid, dial: dialer({ port: relay.port, ca: serverCa, track: trackSocket }) }));
    } finally {
      await relay.stop();
    }
    let imspectCa;
    const proxy = await startProxy('tls', {
      config: (c) => {
        c.ports = { [String(server.port)]: 'irc', [String(server.tlsPort)]: 'irc' };
        c.plugins = { ...c.plugins, irc: { options: { tlsPorts: [server.tlsPort] } } };
        c.tls = { rules: [{ port: server.tlsPort, action: 'intercept', upstreamVerify: 'allow-self-signed' }] };
      },
      beforeStart: async (configFile) => {
        execFileSync(process.execPath, [CLI_BIN, 'ca', 'init', '--config', configFile], { cwd: ROOT, stdio: 'pipe', timeout: 60_000 });
      },
    });
    try {
      imspectCa = readFileSync(join(proxy.dataDir, 'ca', 'imspect-ca.crt'), 'utf8');
      results.tls.push(
        await messagesCase({
          label: 'TLS intercepted by imspect',
          tls: true,
          pid: proxy.pid,
          proxy,
          dial: dialer({ port: server.tlsPort, proxyPort: proxy.port, ca: imspectCa, track: trackSocket }),
        }),
      );
      results.tls.push(await messagesCase({ label: 'plain via imspect', pid: proxy.pid, proxy, dial: dialer({ port: server.port, proxyPort: proxy.port, track: trackSocket }) }));
    } finally {
      await stopProxy(proxy);
    }
  }
  control.close();
  await server.stop();
  results.plugins = pluginsSeen;

  // ---- Output.
  if (opt.json) {
    process.stdout.write(`${JSON.stringify(results, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
    return;
  }
  const out = [`imspect messages benchmark (issue 22) — ${new Date().toISOString()}`, `command: ${command}`, ...facts];
  out.push(`imspect plugins loaded: ${pluginsSeen ?? '(imspect not started)'}`);
  for (const n of results.notes) out.push(`note: ${n}`);
  if (results.messages.length > 0) {
    const plain = results.messages.filter((r) => r.consumers === undefined);
    // The issue's baseline: socat when installed, else the Node relay.
    const best = plain[0];
    const load = opt.rate === undefined ? 'as fast as the sockets take them' : `paced at ${opt.rate}/s per client`;
    out.push('', `1. logged messages: ${opt.clients} clients x ${opt.messages} PRIVMSG (60-200 bytes of text, ${load}), client -> server; ratios against ${best?.label ?? '-'}`);
    out.push(
      table(
        ['case', 'msg/s', 'ratio', 'p50 ms', 'p99 ms', 'added p99 ms', 'archive s', 'CSV s', 'SQLite s', 'archive msg/s', 'archive ratio', 'lag s', 'CPU us/msg', 'peak RSS MB'],
        results.messages.map((r) => [
          `${r.label}${r.complete ? '' : ` (${r.messages}/${r.expected} delivered)`}`,
          fmt(r.rate, 0),
          best ? fmt(r.rate / best.rate, 2) : '-',
          fmt(r.p50, 2),
          fmt(r.p99, 2),
          best && r !== best ? fmt(r.p99 - best.p99, 2) : '-',
          `${fmt(r.archiveS, 2)}${r.archiveTimedOut ? '!' : ''}`,
          fmt(r.csvS, 2),
          fmt(r.sqliteS, 2),
          fmt(r.archiveRate, 0),
          best && r.archiveRate ? fmt(r.archiveRate / best.rate, 2) : '-',
          fmt(r.lagS, 2),
          fmt(r.cpuUsPerMsg, 1),
          fmt(r.peakRssMb, 0),
        ]),
      ),
    );
    for (const r of results.messages) if (r.consumers) out.push(stored(r));
  }
  if (results.idle.length > 0) {
    out.push('', '2. idle IRC sessions through imspect (registered, then silent)');
    out.push(
      table(
        ['sessions', 'base RSS MB', 'idle RSS MB', 'KB/session', 'peak RSS MB', 'open s'],
        results.idle.map((r) => [`${r.sessions}${r.build ? ` ${r.build}` : ''}`, fmt(r.baseMb), fmt(r.afterMb), fmt(r.kbPerSession), fmt(r.peakMb), fmt(r.openS)]),
      ),
    );
  }
  if (results.tls.length > 0) {
    const direct = results.tls[0];
    out.push('', `3. TLS: ${opt.clients} clients x ${opt.messages} PRIVMSG; ratios and added p99 against ${direct.label}`);
    out.push(
      table(
        ['case', 'msg/s', 'MB/s', 'ratio', 'p50 ms', 'p99 ms', 'added p99 ms', 'handshake ms', 'archive s', 'CPU us/msg'],
        results.tls.map((r) => [
          r.label,
          fmt(r.rate, 0),
          fmt(r.mbps, 1),
          fmt(r.rate / direct.rate, 2),
          fmt(r.p50, 2),
          fmt(r.p99, 2),
          r === direct ? '-' : fmt(r.p99 - direct.p99, 2),
          fmt(r.handshakeMs, 1),
          fmt(r.archiveS, 2),
          fmt(r.cpuUsPerMsg, 1),
        ]),
      ),
    );
    for (const r of results.tls) if (r.consumers) out.push(stored(r));
  }
  if (results.messages.length + results.tls.length > 0) {
    out.push(
      '',
      'msg/s: messages / (first send -> last received by the server); p50/p99: one-way latency client -> server; archive s: first send ->\n' +
        'last event stored in every logger (CSV s, SQLite s each; 20 ms poll); archive msg/s = messages / archive s; lag = archive - delivery;\n' +
        'CPU us/msg: process user+sys (all threads and child processes) over the run and the archive catch-up / messages. See bench/README.md.',
    );
  }
  if (profiles.length > 0) {
    const { analyzeProfile } = await import('../relay/profile.js');
    out.push('', 'CPU profiles of imspect:');
    for (const p of profiles) {
      if (!existsSync(p.file)) out.push(`  [${p.label}] no profile written (${p.file})`);
      else out.push('', `==== ${p.label} (${(statSync(p.file).size / 1e6).toFixed(1)} MB) ====`, analyzeProfile(p.file, { top: 20 }));
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
