/**
 * Preloaded (`node --import`) into the processes the benchmark starts: when the benchmark goes away, even
 * killed with SIGKILL, the pipe on our standard input closes and we stop ourselves with SIGTERM (the process's
 * own graceful shutdown), then SIGKILL after 10 s. The stdin handle is unref'd: it never keeps a process alive.
 */
const stdin = process.stdin;
const stop = () => {
  process.kill(process.pid, 'SIGTERM');
  setTimeout(() => process.kill(process.pid, 'SIGKILL'), 10_000).unref();
};
stdin.on('end', stop);
stdin.on('error', stop);
stdin.on('data', () => undefined);
stdin.resume();
if (typeof stdin.unref === 'function') stdin.unref();
