/**
 * The two child processes of the benchmark: the bench IRC server and imspect itself (`imspect start` from
 * the built CLI, as in production: its own process, its own event loop).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopChild, trackChild } from './cleanup.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const GUARD = new URL('./parent-guard.js', import.meta.url).href;
const PROBE = new URL('./loop-probe.js', import.meta.url).href;
export const ROOT = join(HERE, '..', '..');
export const CLI_BIN = join(ROOT, 'packages', 'cli', 'bin', 'run.js');
export const CLI_DIST = join(ROOT, 'packages', 'cli', 'dist', 'commands', 'start.js');

/**
 * Spawns `node [nodeArgs] script args`, with the parent guard preloaded, and resolves once a stdout line
 * matches `ready` (the match is returned), or rejects with the end of its output.
 */
/** The Node flags imspect is run with in production (`pnpm start`, docs/imspect.service): a capped young heap. */
const IMSPECT_NODE_ARGS = '--max-semi-space-size=8';

export function spawnNode({ name, nodeArgs = [], script, args = [], cwd, ready, timeoutMs = 30_000, env }) {
  const child = spawn(process.execPath, [...nodeArgs, '--import', GUARD, script, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  trackChild(child);
  const stdout = [];
  const stderr = [];
  const stderrListeners = new Set();
  let stderrPartial = '';
  const keep = (list, text) => {
    for (const line of text.split('\n')) if (line.trim().length > 0) list.push(line);
    if (list.length > 400) list.splice(0, list.length - 400);
  };
  return new Promise((resolve, reject) => {
    let settled = false;
    let partial = '';
    const timer = setTimeout(() => fail(new Error(`${name} not ready within ${timeoutMs} ms`)), timeoutMs);
    const fail = (error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stopChild(child, { signal: 'SIGKILL' });
      const tail = [...stdout.slice(-10), ...stderr.slice(-20)].join('\n');
      reject(new Error(`${error.message}${tail ? `\n--- ${name} output ---\n${tail}` : ''}`));
    };
    child.on('error', fail);
    child.on('exit', (code, signal) => fail(new Error(`${name} exited (${signal ?? code}) before it was ready`)));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text) => {
      stderrPartial += text;
      const lines = stderrPartial.split('\n');
      stderrPartial = lines.pop() ?? '';
      if (stderrPartial.length > 65536) stderrPartial = '';
      for (const line of lines) {
        if (line.startsWith('bench-loop-probe ')) {
          for (const listener of stderrListeners) listener(line);
        } else keep(stderr, line);
      }
    });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text) => {
      keep(stdout, text);
      if (settled) return;
      partial += text;
      const match = ready.exec(partial);
      if (match) {
        settled = true;
        clearTimeout(timer);
        partial = '';
        resolve({ child, match, stdout, stderr, stderrListeners });
      } else if (partial.length > 65536) partial = partial.slice(-4096);
    });
  });
}

/** `tls: { certFile, keyFile }` adds a TLS listener with the same behaviour (`tlsPort`). */
export async function startBenchServer({ tls } = {}) {
  const script = join(HERE, 'irc-server.js');
  const env = tls ? { BENCH_SERVER_TLS_CERT: tls.certFile, BENCH_SERVER_TLS_KEY: tls.keyFile } : undefined;
  const { child, match, stdout } = await spawnNode({ name: 'bench server', script, cwd: ROOT, ready: /^listening (\d+)\n/m, timeoutMs: 15_000, env });
  const tlsLine = stdout.find((l) => l.startsWith('tls-listening '));
  return {
    pid: child.pid,
    port: Number(match[1]),
    tlsPort: tlsLine ? Number(tlsLine.split(' ')[1]) : undefined,
    stop: () => stopChild(child, { graceMs: 3000 }),
  };
}

/**
 * imspect with a forward listener (127.0.0.1, a free port) to the bench server, the bench port mapped to the
 * irc plugin, log level warn, the CSV logger writing under `tmp/data`. `profileDir` adds --cpu-prof.
 */
export const VARIANTS = {
  full: 'IRC parsed, events logged by the CSV logger (production-like)',
  parse: 'IRC parsed, events produced, no logger (logger-csv disabled)',
  raw: 'no protocol for the port: bytes relayed unparsed (the relay alone)',
};

/**
 * `configure(config)` may change the config before it is written (e.g. a SOCKS5 listener in place of the
 * forward one); `beforeStart(configFile)` runs once it is written (e.g. `imspect ca init`).
 */
export async function startImspect({ tmp, serverPort, profileDir, name = 'imspect', variant = 'full', configure, beforeStart, root = ROOT }) {
  const configFile = join(tmp, 'imspect.config.json');
  const dataDir = join(tmp, 'data');
  const config = {
    dataDir,
    listeners: [{ type: 'forward', host: '127.0.0.1', port: 0, upstream: { host: '127.0.0.1', port: serverPort }, allow: ['127.0.0.0/8'] }],
    ports: variant === 'raw' ? {} : { [String(serverPort)]: 'irc' },
    log: { level: 'warn', format: 'json' },
  };
  if (variant === 'parse') config.plugins = { 'logger-csv': { enabled: false } };
  if (variant === 'raw') config.connections = { sniffTimeoutMs: 0 };
  configure?.(config);
  await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`);
  await beforeStart?.(configFile);
  const nodeArgs = [
    ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `${name}.cpuprofile`] : []),
    '--import',
    PROBE,
    // imspect's Node flags: those `pnpm start` and docs/imspect.service run it with, unless
    // BENCH_IMSPECT_NODE_ARGS says otherwise (e.g. "--max-semi-space-size=8 --trace-gc"; "" for Node's defaults).
    ...(process.env.BENCH_IMSPECT_NODE_ARGS ?? IMSPECT_NODE_ARGS).split(/\s+/).filter(Boolean),
  ];
  const started = Date.now();
  const { child, match, stdout, stderr, stderrListeners } = await spawnNode({
    name,
    nodeArgs,
    // `root`: another built checkout of imspect (a baseline run side by side with this one).
    script: root === ROOT ? CLI_BIN : join(root, 'packages', 'cli', 'bin', 'run.js'),
    args: ['start', '--config', configFile, ...(process.getuid?.() === 0 ? ['--allow-root'] : [])],
    cwd: root,
    ready: /listening:\s+[a-z0-9]+:\/\/127\.0\.0\.1:(\d+)[\s\S]*?Press Ctrl-C/,
    timeoutMs: 60_000,
  });
  const pluginsLine = stdout.find((l) => l.trim().startsWith('plugins:')) ?? '';
  const plugins = pluginsLine.replace(/^\s*plugins:\s*/, '').trim();
  const failedLine = stdout.find((l) => l.trim().startsWith('failed:'));
  return {
    pid: child.pid,
    port: Number(match[1]),
    startupMs: Date.now() - started,
    plugins,
    failed: failedLine?.trim(),
    dataDir,
    configFile,
    /** The last lines imspect wrote (up to 400 of each). */
    output() {
      return { stdout: [...stdout], stderr: [...stderr] };
    },
    /** Operational log lines at warn or above, as {level, msg}. */
    warnings() {
      const out = [];
      for (const line of stderr) {
        try {
          const entry = JSON.parse(line);
          if (entry.level === 'warn' || entry.level === 'error' || entry.level === 'fatal') out.push(entry);
        } catch {
          out.push({ level: 'stderr', msg: line });
        }
      }
      return out;
    },
    /**
     * Event-loop delay and utilisation of the proxy since the previous call (the first call only starts the
     * window), from the preloaded loop-probe.js.
     */
    loopProbe(timeoutMs = 3000) {
      return new Promise((resolve) => {
        const done = (line) => {
          clearTimeout(timer);
          stderrListeners.delete(done);
          try {
            resolve(line ? JSON.parse(line.slice('bench-loop-probe '.length)) : undefined);
          } catch {
            resolve(undefined);
          }
        };
        const timer = setTimeout(() => done(undefined), timeoutMs);
        stderrListeners.add(done);
        try {
          process.kill(child.pid, 'SIGUSR2');
        } catch {
          done(undefined);
        }
      });
    },
    /** Current and peak resident memory of the proxy (MB), from /proc. */
    memory() {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
        return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
      } catch {
        return { rssMb: NaN, peakMb: NaN };
      }
    },
    /** CPU seconds (user+system) used so far, from /proc. */
    cpuSeconds() {
      try {
        const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
        return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
      } catch {
        return NaN;
      }
    },
    /** Graceful stop (SIGTERM: ends connections, writes queued log rows); returns how long it took. */
    async stop(graceMs = 30_000) {
      const t = Date.now();
      await stopChild(child, { signal: 'SIGTERM', graceMs });
      return { stopMs: Date.now() - t, code: child.exitCode, signal: child.signalCode };
    },
  };
}
