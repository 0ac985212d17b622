/**
 * The oclif conventions of the `imspect` command: `imspect help <command>`, a suggestion for a mistyped command
 * (`imspect strat` -> `start`), and shell completion set-up (`imspect autocomplete bash|zsh`).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli as imspect, waitUntil } from '../support/cli-run.js';
import { describeWithService, findExecutable } from '../support/e2e.js';
import { CLI } from '../support/imspect-process.js';

let dir: string;
let home: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-oclif-'));
  home = await mkdtemp(path.join(dir, 'home-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('imspect help, completion and mistyped commands', () => {
  it('prints the help of start with imspect help start', async () => {
    const result = await imspect(['help', 'start'], dir);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Start the proxy: listen, parse IM traffic, apply policy, log conversations');
    expect(result.stdout).toMatch(/USAGE\s+\$ imspect start/);
    expect(result.stdout).toContain('--allow-root');
  });

  it('says a mistyped command is not a command and exits 127 (no prompt without a terminal)', async () => {
    const result = await imspect(['strat'], dir);
    expect(result.code).toBe(127);
    expect(result.stderr).toContain('strat is not a imspect command');
    expect(result.stderr).toContain('imspect help');
  });

  it('prints the bash completion set-up, and a script that completes imspect', async () => {
    const env = { HOME: home, XDG_CACHE_HOME: path.join(home, '.cache') };
    const setup = await runWithEnv(['autocomplete', 'bash'], env);
    expect(setup.code, setup.stderr).toBe(0);
    expect(setup.stdout).toContain('imspect autocomplete script bash');
    expect(setup.stdout).toContain('.bashrc');
    const script = await runWithEnv(['autocomplete', 'script', 'bash'], env);
    expect(script.code, script.stderr).toBe(0);
    expect(script.stdout).toContain('IMSPECT_AC_BASH_SETUP_PATH');
    const zsh = await runWithEnv(['autocomplete', 'zsh'], env);
    expect(zsh.code, zsh.stderr).toBe(0);
    expect(zsh.stdout).toContain('imspect autocomplete script zsh');
  });
});

/** `imspect ARGS` with a private HOME (autocomplete writes its cache there). */
async function runWithEnv(args: string[], env: NodeJS.ProcessEnv) {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    return await imspect(args, dir);
  } finally {
    for (const key of Object.keys(env)) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  }
}

// At a terminal, the suggestion is a question: `script` gives the command a pseudo-terminal.
const SCRIPT = findExecutable('script');
describeWithService('imspect strat at a terminal', SCRIPT ? undefined : 'the `script` command (util-linux) is not installed', () => {
  it('asks whether start was meant, and runs nothing when told no', async () => {
    const child = spawn(SCRIPT!, ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} strat`, '/dev/null'], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1', TERM: 'dumb' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitUntil(() => out.includes('Did you mean'), 20_000, `the suggestion; output so far:\n${out}`);
      expect(out).toMatch(/Did you mean .*start.*\?/);
      child.stdin.write('n\r');
    } finally {
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    expect(out).not.toContain('Press Ctrl-C to stop');
  }, 40_000);
});
