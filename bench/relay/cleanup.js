/**
 * Everything the benchmark starts is registered here and undone on the way out, whether the run ends, fails
 * or is interrupted (Ctrl-C, SIGTERM): child processes are killed by PID, sockets destroyed, servers closed,
 * temp folders removed. Each child also runs with `parent-guard.js`, so it stops if this process disappears.
 */
import { rmSync } from 'node:fs';

const children = new Map(); // pid -> ChildProcess
const sockets = new Set();
const dirs = new Set();
const closers = new Set();
let installed = false;
let exiting = false;

export function trackChild(child) {
  if (child.pid === undefined) return;
  children.set(child.pid, child);
  child.once('exit', () => children.delete(child.pid));
}

export function trackSocket(socket) {
  sockets.add(socket);
  socket.once('close', () => sockets.delete(socket));
}

export function trackDir(dir) {
  dirs.add(dir);
}

export function untrackDir(dir) {
  dirs.delete(dir);
}

/** An async close (e.g. an in-process server), run by `cleanupAll`. */
export function trackCloser(close) {
  closers.add(close);
  return () => closers.delete(close);
}

export function isExiting() {
  return exiting;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Sends `signal` to a child by PID, then SIGKILL if it is still there after `graceMs`. */
export async function stopChild(child, { signal = 'SIGTERM', graceMs = 5000 } = {}) {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  const timer = new Promise((resolve) => setTimeout(() => resolve('timeout'), graceMs));
  if ((await Promise.race([exited, timer])) === 'timeout' && alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
  }
}

function removeDirs() {
  for (const dir of dirs) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch (error) {
      process.stderr.write(`bench: could not remove ${dir}: ${error.message}\n`);
    }
    dirs.delete(dir);
  }
}

/** Undo everything, bounded in time. */
export async function cleanupAll() {
  for (const s of sockets) s.destroy();
  sockets.clear();
  await Promise.all(
    [...closers].map((close) =>
      Promise.race([
        Promise.resolve()
          .then(close)
          .catch(() => undefined),
        new Promise((r) => setTimeout(r, 2000)),
      ]),
    ),
  );
  closers.clear();
  await Promise.all([...children.values()].map((child) => stopChild(child, { graceMs: 3000 })));
  removeDirs();
}

/** Signal and exit handlers: the last line of defence. */
export function installCleanup() {
  if (installed) return;
  installed = true;
  const onSignal = (signal) => {
    if (exiting) {
      // Second Ctrl-C: no more waiting.
      for (const pid of children.keys()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      removeDirs();
      process.exit(130);
    }
    exiting = true;
    process.stderr.write(`\nbench: ${signal}: stopping children and removing temp files...\n`);
    cleanupAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  process.on('exit', () => {
    // Synchronous: whatever is still running is killed outright.
    for (const pid of children.keys()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    removeDirs();
  });
}
