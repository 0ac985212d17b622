import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(REPO_ROOT, 'packages/cli/bin/run.js');

export interface RunningImspect {
  child: ChildProcess;
  /** Standard output so far. */
  stdout(): string;
  stderr(): string;
  /** SIGTERM, then wait for a clean exit; returns the exit code. */
  stop(): Promise<number | null>;
}

/** Runs `imspect start` as a user would, waiting until it prints its listening addresses. */
export async function startImspect(
  args: string[],
  options: {
    cwd: string;
    env?: NodeJS.ProcessEnv;
    timeoutMs?: number /** A command that execs the rest, e.g. `['prlimit', '--nofile=320']`. */;
    wrapper?: string[] /** The Node.js that runs `bin/run.js` (the test runner's by default). */;
    node?: string;
    /** The CLI's `bin/run.js` (this repository's by default; an installed copy for end-to-end installs). */
    cli?: string;
  },
): Promise<RunningImspect> {
  // Started as root (CI containers), imspect refuses to keep root unless told to: the tests tell it to.
  const asRoot = process.getuid?.() === 0 ? ['--allow-root'] : [];
  const [command, ...commandArgs] = [...(options.wrapper ?? []), options.node ?? process.execPath, options.cli ?? CLI, 'start', ...args, ...asRoot] as [string, ...string[]];
  const child = spawn(command, commandArgs, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const timeoutMs = options.timeoutMs ?? 20_000;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`imspect did not start within ${timeoutMs} ms\nstdout:\n${out}\nstderr:\n${err}`));
    }, timeoutMs);
    const check = () => {
      if (out.includes('Press Ctrl-C to stop.')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`imspect exited with ${code} before it was ready\nstdout:\n${out}\nstderr:\n${err}`));
    });
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((resolve) =>
        child.once('exit', (code, signal) => {
          if (signal) process.stderr.write(`imspect child ended by ${signal}\n`);
          resolve(code);
        }),
      );
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
