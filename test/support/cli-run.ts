import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CLI } from './imspect-process.js';

const execFileAsync = promisify(execFile);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs one `imspect` command to its end, as a user would from `cwd`. `latin1` keeps binary output byte for byte
 * (one character per byte). `timeoutMs`: a command still running then is killed (SIGKILL) and its code is
 * null, e.g. a `start` that should have refused to run.
 */
export async function runCli(args: string[], cwd: string, encoding: 'utf8' | 'latin1' = 'utf8', timeoutMs = 0): Promise<CliResult> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: '1' },
      encoding,
      maxBuffer: 64 * 1024 * 1024,
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

export async function waitUntil(predicate: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
