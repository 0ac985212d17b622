/**
 * imspect on a Node.js older than 24 (the system's /usr/bin/node on Debian 12 and our machines): in a clone whose
 * `pnpm install` brought Node 24, `imspect` runs again on that one; without it, it refuses before loading
 * anything, saying what to install, with exit status 78.
 */
import { execFile, execFileSync } from 'node:child_process';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, startImspect } from '../../../test/support/imspect-process.js';
import { describeWithService } from '../../../test/support/e2e.js';

const execFileAsync = promisify(execFile);
const OLD_NODE = '/usr/bin/node';

function oldNodeMissing(): string | undefined {
  try {
    const version = execFileSync(OLD_NODE, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
    return Number(version.split('.')[0]) < 24 ? undefined : `${OLD_NODE} is Node.js ${version}, not older than 24`;
  } catch (error) {
    return `no ${OLD_NODE}: ${(error as Error).message}`;
  }
}

/** The environment of a user's shell: no trace of the test runner's Node on PATH, no re-exec mark. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: process.env['HOME'] ?? '/root', NO_COLOR: '1', ...extra };
  return env;
}

async function run(node: string, script: string, args: string[], env = userEnv()): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(node, [script, ...args], { env, encoding: 'utf8', cwd: os.tmpdir() });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

describe('the Node.js of the workspace', () => {
  it('runs this suite: Node.js 24 or newer, from the workspace root dependency `node` when the system has an older one', () => {
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(24);
  });
});

describeWithService('imspect started by an older Node.js', oldNodeMissing(), () => {
  it('runs on the workspace Node 24 when the clone has one', async () => {
    const result = await run(OLD_NODE, CLI, ['--version']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^@imspect\/cli\/\S+ \S+ node-v24\./);
  });

  it('passes the exit status of the command on', async () => {
    const direct = await run(process.execPath, CLI, ['config', 'check', '--config', '/nonexistent/imspect.yaml']);
    const relayed = await run(OLD_NODE, CLI, ['config', 'check', '--config', '/nonexistent/imspect.yaml']);
    expect(direct.code).not.toBe(0);
    expect(relayed.code).toBe(direct.code);
    expect(relayed.stderr).toBe(direct.stderr);
  });

  it('passes SIGTERM on to imspect, which stops cleanly', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-node-version-'));
    dirs.push(dir);
    await writeFile(path.join(dir, 'imspect.config.json'), JSON.stringify({ dataDir: 'data', listeners: [{ type: 'socks5', port: 0 }], log: { format: 'json' } }));
    const proxy = await startImspect([], { cwd: dir, node: OLD_NODE, env: userEnv() });
    // The process the test started is the old Node; SIGTERM to it reaches imspect, which ends normally.
    expect(await proxy.stop()).toBe(0);
    expect(proxy.stdout() + proxy.stderr()).toContain('imspect stopped');
  });

  it('refuses with what to do and exit status 78 when there is no Node 24 beside it', async () => {
    // bin/ copied out of the workspace: nothing to run again on.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-old-node-'));
    dirs.push(dir);
    for (const file of ['run.js', 'node-version.js']) await copyFile(path.join(path.dirname(CLI), file), path.join(dir, file));
    const result = await run(OLD_NODE, path.join(dir, 'run.js'), ['start']);
    expect(result.code).toBe(78);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^imspect needs Node\.js 24 or newer; this is Node\.js \d+\.\d+\.\d+ \(\/usr\/bin\/node\)\.\n/);
    expect(result.stderr).toContain('npm install -g node@24');
    expect(result.stderr).toContain('`pnpm install` brings its own Node.js 24');
  });

  it('refuses instead of starting itself again when the workspace Node is old too', async () => {
    const result = await run(OLD_NODE, CLI, ['--version'], userEnv({ IMSPECT_REEXECUTED_BY: '/usr/bin/node 20' }));
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('(started again by /usr/bin/node 20)');
  });
});
