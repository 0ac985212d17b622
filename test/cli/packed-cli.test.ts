/**
 * The packed CLI as someone without the repository installs it: `packages/cli/scripts/pack.js` makes one
 * tarball with every dependency bundled (the @imspect packages are not on the npm registry); it is installed
 * with `npm install -g --offline` into a private prefix, with an empty HOME and an empty npm cache (so nothing
 * can come from the registry or from this repository), and then `imspect --version`, `imspect plugins list` and
 * `imspect start` on its defaults relaying one IRC conversation through SOCKS5 to a scripted server must work.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitUntil } from '../support/cli-run.js';
import { readCsvLogs } from '../support/csv-logs.js';
import { describeWithService, findExecutable } from '../support/e2e.js';
import { REPO_ROOT } from '../support/imspect-process.js';
import { startScriptedIrcServer, type ScriptedIrcServer } from '../support/scripted-irc.js';
import { socksConnect } from '../support/socks5.js';

const execFileAsync = promisify(execFile);
const PACK_SCRIPT = path.join(REPO_ROOT, 'packages/cli/scripts/pack.js');

/** Why the registry-free pack cannot run here, if it cannot. */
function packMissing(): string | undefined {
  if (!findExecutable('npm')) return 'npm is not installed (it packs and installs the tarball)';
  if (!existsSync(path.join(REPO_ROOT, 'packages/cli/dist/commands'))) return 'packages/cli is not built (pnpm build)';
  if (!existsSync(path.join(REPO_ROOT, 'node_modules/.pnpm'))) return 'the workspace dependencies are not installed (pnpm install)';
  return undefined;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

describeWithService('the packed CLI, installed with npm install -g away from the repository', packMissing(), () => {
  let dir: string;
  let prefix: string;
  let work: string;
  let env: NodeJS.ProcessEnv;
  let imspect: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-packed-'));
    const packOut = path.join(dir, 'pack');
    await mkdir(packOut);
    const { stdout } = await execFileAsync(process.execPath, [PACK_SCRIPT, packOut], { cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024 });
    const tarball = stdout.trim().split('\n').at(-1)!;
    expect(path.basename(tarball)).toMatch(/^imspect-cli-\d+\.\d+\.\d+\.tgz$/);

    // The tarball alone, in a folder of its own; an empty HOME and npm cache; only system folders on PATH.
    const home = path.join(dir, 'home');
    const cache = path.join(dir, 'npm-cache');
    prefix = path.join(dir, 'prefix');
    work = path.join(dir, 'work');
    for (const folder of [home, cache, prefix, work]) await mkdir(folder);
    const local = path.join(work, path.basename(tarball));
    await copyFile(tarball, local);
    env = {
      HOME: home,
      PATH: [path.join(prefix, 'bin'), path.dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(path.delimiter),
      npm_config_cache: cache,
      npm_config_userconfig: path.join(home, '.npmrc'),
      npm_config_update_notifier: 'false',
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      NO_COLOR: '1',
    };
    // --offline: with an empty cache, anything not in the tarball would make the install fail.
    await execFileAsync('npm', ['install', '-g', '--offline', '--prefix', prefix, local], { cwd: work, env, maxBuffer: 64 * 1024 * 1024 });
    imspect = path.join(prefix, 'bin', 'imspect');
  }, 900_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const run = async (args: string[]) => {
    try {
      const { stdout, stderr } = await execFileAsync(imspect, args, { cwd: work, env });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  it('runs imspect --version from the private prefix', async () => {
    const result = await run(['--version']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^@imspect\/cli\/\d+\.\d+\.\d+ /);
    // The command manifest is in the package and stays there (it is what keeps start-up quick).
    expect(existsSync(path.join(prefix, 'lib/node_modules/@imspect/cli/oclif.manifest.json'))).toBe(true);
    // The web console's built front end travels with it (it is built at install in the repository, not committed).
    expect(existsSync(path.join(prefix, 'lib/node_modules/@imspect/cli/node_modules/@imspect/console/web-dist/index.html'))).toBe(true);
  });

  it('lists the built-in plugins, all loaded from the installed package, none from the repository', async () => {
    const result = await run(['plugins', 'list', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const { plugins } = JSON.parse(result.stdout) as { plugins: Array<{ name: string; status: string; path: string }> };
    expect(plugins.map((p) => p.name).sort()).toEqual([
      'filter-acl',
      'filter-badwords',
      'filter-policy',
      'gadu-gadu',
      'irc',
      'logger-csv',
      'logger-sql',
      'msn',
      'oscar',
      'xmpp',
      'yahoo',
    ]);
    for (const plugin of plugins) {
      expect(plugin.status, `${plugin.name}: ${JSON.stringify(plugin)}`).toBe('ok');
      expect(plugin.path.startsWith(prefix + path.sep), plugin.path).toBe(true);
    }
  });

  it('starts on its defaults and relays one IRC conversation through SOCKS5, logging it', async () => {
    // The default SOCKS5 port; another test of the suite may hold it for a moment.
    await waitUntil(() => portFree(1080), 60_000, '127.0.0.1:1080 to be free for imspect start on its defaults');
    let server: ScriptedIrcServer | undefined;
    const child = spawn(imspect, ['start'], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitUntil(() => out.includes('Press Ctrl-C to stop.') || child.exitCode !== null, 60_000, `imspect start to be ready\n${out}\n${err}`);
      expect(out, err).toContain('listening: socks5://127.0.0.1:1080');
      server = await startScriptedIrcServer();
      const socket = await socksConnect({ host: '127.0.0.1', port: 1080 }, '127.0.0.1', server.port);
      let seen = '';
      socket.on('data', (chunk: Buffer) => (seen += chunk.toString()));
      socket.write('NICK packed\r\nUSER packed 0 * :packed\r\n');
      await waitUntil(() => seen.includes(' 001 packed '), 10_000, 'the welcome through imspect');
      socket.write('PRIVMSG #packed :hello from the packed CLI\r\n');
      await waitUntil(() => server!.received.includes('hello from the packed CLI'), 10_000, 'the message at the server');
      socket.destroy();
    } finally {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      await server?.close();
      expect(code, `stdout:\n${out}\nstderr:\n${err}`).toBe(0);
    }
    const rows = await readCsvLogs(path.join(work, 'imspect-data', 'logs'));
    expect(rows.some((row) => row.protocol === 'irc' && row.text === 'hello from the packed CLI' && row.outgoing)).toBe(true);
    expect(await readdir(path.join(work, 'imspect-data'))).toContain('archive.sqlite');
  }, 120_000);

  it("installs a plugin tarball into its own plugin folder, linked to the packed CLI's SDK, and lists it as installed", async () => {
    const source = path.join(dir, 'plugin-src');
    await mkdir(source);
    await writeFile(
      path.join(source, 'package.json'),
      JSON.stringify({
        name: 'imspect-plugin-packed-check',
        version: '1.0.0',
        type: 'module',
        main: 'index.js',
        files: ['index.js'],
        imspect: { kind: 'filter', host: '^0.1.0', name: 'packed-check' },
        peerDependencies: { '@imspect/sdk': '^0.1.0' },
      }),
    );
    await writeFile(
      path.join(source, 'index.js'),
      "import { definePlugin } from '@imspect/sdk';\nexport default definePlugin({ name: 'packed-check', kind: 'filter', version: '1.0.0', setup: () => ({ check: () => ({ action: 'pass' }) }) });\n",
    );
    const { stdout } = await execFileAsync('npm', ['pack', source, '--pack-destination', dir, '--json'], { cwd: work, env });
    const tarball = path.join(dir, (JSON.parse(stdout) as Array<{ filename: string }>)[0]!.filename);
    // No registry: a closed port, so nothing may be fetched (not even the SDK the plugin's peer dependency names).
    const offline = { ...env, npm_config_registry: 'http://127.0.0.1:9/', npm_config_fetch_retries: '0' };
    const { stdout: said } = await execFileAsync(imspect, ['plugins', 'install', tarball], { cwd: work, env: offline });
    expect(said).toContain('installed packed-check 1.0.0 (filter, package imspect-plugin-packed-check)');
    const pluginDir = path.join(work, 'imspect-data', 'plugins');
    expect(await realpath(path.join(pluginDir, 'node_modules/@imspect/sdk'))).toBe(await realpath(path.join(prefix, 'lib/node_modules/@imspect/cli/node_modules/@imspect/sdk')));
    const result = await run(['plugins', 'list', '--json']);
    const { plugins } = JSON.parse(result.stdout) as { plugins: Array<{ name: string; status: string; origin: string; path: string }> };
    expect(plugins.find((p) => p.name === 'packed-check')).toMatchObject({
      origin: 'installed',
      status: 'ok',
      path: path.join(pluginDir, 'node_modules/imspect-plugin-packed-check'),
    });
    const checked = await run(['plugins', 'list', '--json', '--check']);
    expect((JSON.parse(checked.stdout) as { plugins: Array<{ name: string; status: string }> }).plugins.find((p) => p.name === 'packed-check')?.status).toBe('ok');
    expect((await execFileAsync(imspect, ['plugins', 'remove', 'packed-check'], { cwd: work, env: offline })).stdout).toContain('removed packed-check 1.0.0');
  }, 120_000);
});
