/**
 * Runs the npm that ships with Node, as the user would from a shell: their npm configuration (`.npmrc`,
 * `npm_config_*` variables such as `npm_config_registry`) applies unchanged. Its own output is kept and shown only
 * when it fails, so a failed install says npm's reason, not pages of warnings.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, realpathSync } from 'node:fs';
import path from 'node:path';
import { ImspectError } from '@imspect/sdk';

export interface NpmResult {
  stdout: string;
  stderr: string;
}

/** How to start npm: the file to execute and the arguments before npm's own. */
export interface NpmCommand {
  file: string;
  prefixArgs: string[];
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The `npm` on the PATH, else the one installed next to the running Node. npm's own script is run with the
 * running Node (not whatever `node` its shebang finds), so the engines npm checks are those imspect runs on.
 */
export function findNpm(env: NodeJS.ProcessEnv = process.env): NpmCommand {
  const candidates = (env['PATH'] ?? '')
    .split(path.delimiter)
    .filter(Boolean)
    .map((dir) => path.join(dir, 'npm'));
  candidates.push(path.join(path.dirname(process.execPath), 'npm'));
  for (const candidate of candidates) {
    if (!executable(candidate)) continue;
    const real = realpathSync(candidate);
    return real.endsWith('.js') ? { file: process.execPath, prefixArgs: [real] } : { file: candidate, prefixArgs: [] };
  }
  throw new ImspectError('npm was not found on the PATH nor next to Node: it is needed to install plugins (it ships with Node)', { code: 'NPM_NOT_FOUND' });
}

/** Runs `npm args...` in `cwd`; rejects with npm's own error lines when it exits non-zero. */
export function runNpm(args: string[], cwd: string, npm: NpmCommand = findNpm()): Promise<NpmResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(npm.file, [...npm.prefixArgs, ...args], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      // npm's interactive progress bar and colours would end up in the kept output.
      env: { ...process.env, npm_config_progress: 'false', npm_config_color: 'false', npm_config_update_notifier: 'false' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error) => reject(new ImspectError(`npm could not be started: ${error.message}`, { code: 'NPM_FAILED', cause: error })));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve({ stdout, stderr });
      reject(new ImspectError(`npm ${args[0]} failed (${signal ?? `exit code ${code}`}): ${npmErrorSummary(stderr) || stdout.trim() || 'no output'}`, { code: 'NPM_FAILED' }));
    });
  });
}

/**
 * npm's `npm error` lines without the log-file hints and stack traces: what went wrong (the registry cannot be
 * reached, E404, a peer dependency conflict), in a few lines.
 */
export function npmErrorSummary(stderr: string): string {
  const lines: string[] = [];
  for (const raw of stderr.split('\n')) {
    if (!/^npm (error|ERR!)/.test(raw)) continue;
    const line = raw.replace(/^npm (error|ERR!)\s?/, '').trimEnd();
    if (/^\s+at /.test(line)) break; // a stack trace: what follows is its object dump
    if (!line || /complete log of this run|A complete log|debug-\d+\.log$/.test(line)) continue;
    lines.push(line.trim());
  }
  const text = lines.slice(0, 8).join('; ');
  const unreachable = /\b(ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EAI_AGAIN|ECONNRESET|EHOSTUNREACH|ENETUNREACH)\b/.exec(text);
  return unreachable ? `the registry cannot be reached (${unreachable[1]}): ${text}` : text;
}
