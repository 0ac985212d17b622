/**
 * What keeps the `imspect` command's start-up short (bench/cli-startup measures it): `--version` and the root help
 * answered without oclif, oclif served from the build's one-file copy, and Node's compile cache kept inside the installation only
 * when nobody but its owner can write there. Each is checked by what the process actually loads or decides.
 */
import { execFile } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, REPO_ROOT } from '../support/imspect-process.js';

const execFileAsync = promisify(execFile);
const CLI_DIR = path.join(REPO_ROOT, 'packages/cli');

interface CompileCacheModule {
  setUpCompileCache(cliDir: string, enable?: (dir: string) => void): { cacheDir?: string; skipped?: string };
}
interface RootHelpModule {
  staleRootHelp(cliDir: string, oclifVersion: string): string | undefined;
  userThemeFile(): string;
}
interface OclifBundleModule {
  bundleMatchesInstalled(vendorDir?: URL, cliRoot?: string): boolean;
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-start-up-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the CLI with a load hook that writes every module URL the process loads to a file; returns them. */
async function loadedModules(args: string[]): Promise<{ stdout: string; urls: string[] }> {
  const record = path.join(dir, `loaded-${args.join('-').replace(/\W/g, '')}.txt`);
  const hook = path.join(dir, 'record-loads.mjs');
  await writeFile(
    hook,
    [
      "import module from 'node:module';",
      "import { appendFileSync } from 'node:fs';",
      'module.registerHooks({ load(url, context, next) { appendFileSync(process.env.RECORD_LOADS, url + "\\n"); return next(url, context); } });',
    ].join('\n'),
  );
  await rm(record, { force: true });
  const { stdout } = await execFileAsync(process.execPath, ['--import', pathToFileURL(hook).href, CLI, ...args], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: '1', RECORD_LOADS: record },
  });
  return { stdout, urls: (await readFile(record, 'utf8')).split('\n').filter(Boolean) };
}

describe('the imspect command starts on a short path', () => {
  it('answers --version from package.json in oclif format, loading no oclif at all', async () => {
    const manifest = JSON.parse(await readFile(path.join(CLI_DIR, 'package.json'), 'utf8')) as { name: string; version: string };
    const { stdout, urls } = await loadedModules(['--version']);
    expect(stdout).toBe(`${manifest.name}/${manifest.version} ${process.platform}-${process.arch} node-${process.version}\n`);
    expect(urls.filter((url) => url.includes('oclif'))).toEqual([]);
  });

  it('serves every @oclif/core import from the one-file bundle the build wrote, not from its many files', async () => {
    const { stdout, urls } = await loadedModules(['help', 'start']);
    expect(stdout).toContain('$ imspect start');
    expect(urls).toContain(pathToFileURL(path.join(CLI_DIR, 'dist/vendor/oclif-core.cjs')).href);
    expect(urls.filter((url) => /@oclif\/core\/lib\//.test(url))).toEqual([]);
    // TypeBox (hundreds of modules) is not needed to list the commands either.
    expect(urls.filter((url) => url.includes('typebox'))).toEqual([]);
  });

  it('prints the root help without loading oclif, the same text oclif prints at every width, colour or not', async () => {
    for (const args of [['--help'], ['help'], []]) {
      const { stdout, urls } = await loadedModules(args);
      expect(stdout).toContain('imspect command line');
      expect(urls.filter((url) => url.includes('oclif-core.cjs') || /@oclif\/core\/lib\//.test(url))).toEqual([]);
    }
    const help = async (env: Record<string, string>) =>
      (await execFileAsync(process.execPath, [CLI, '--help'], { cwd: dir, env: { ...process.env, NO_COLOR: undefined, FORCE_COLOR: undefined, ...env } })).stdout;
    for (const columns of ['40', '57', '80', '123', '200']) {
      for (const colour of [{ NO_COLOR: '1' }, { FORCE_COLOR: '1' }] as Record<string, string>[]) {
        const env = { OCLIF_COLUMNS: columns, ...colour };
        const fast = await help(env);
        expect(fast).toContain('COMMANDS');
        expect(fast, `columns ${columns}, ${JSON.stringify(colour)}`).toBe(await help({ ...env, IMSPECT_NO_FAST_HELP: '1' }));
        if ('FORCE_COLOR' in colour) expect(fast).toContain('\u001b[1mCOMMANDS\u001b[22m');
      }
    }
  });

  it('leaves the root help to oclif when its stored list may be out of date or a theme restyles it', async () => {
    const { staleRootHelp, userThemeFile } = (await import(pathToFileURL(path.join(CLI_DIR, 'bin/root-help.js')).href)) as RootHelpModule;
    const installed = (JSON.parse(await readFile(path.join(CLI_DIR, 'node_modules/@oclif/core/package.json'), 'utf8')) as { version: string }).version;
    expect(staleRootHelp(CLI_DIR, installed)).toBeUndefined();
    expect(staleRootHelp(CLI_DIR, '0.0.1')).toContain('made with @oclif/core');

    const cli = path.join(dir, 'stale-cli');
    await mkdir(path.join(cli, 'dist/commands'), { recursive: true });
    expect(staleRootHelp(cli, installed)).toContain('is missing');
    await writeFile(path.join(cli, 'dist/root-help.json'), JSON.stringify({ oclifVersion: installed }));
    await writeFile(path.join(cli, 'dist/commands/start.js'), '');
    const past = new Date(Date.now() - 60_000);
    await utimes(path.join(cli, 'dist/root-help.json'), past, past);
    expect(staleRootHelp(cli, installed)).toContain('start.js was compiled after');

    const configDir = path.join(dir, 'themed');
    await mkdir(configDir, { recursive: true });
    const saved = process.env.IMSPECT_CONFIG_DIR;
    process.env.IMSPECT_CONFIG_DIR = configDir;
    try {
      expect(userThemeFile()).toBe(path.join(configDir, 'theme.json'));
    } finally {
      if (saved === undefined) delete process.env.IMSPECT_CONFIG_DIR;
      else process.env.IMSPECT_CONFIG_DIR = saved;
    }
    // With a theme, oclif prints the help (the one that colours commands as the theme says).
    await writeFile(path.join(configDir, 'theme.json'), JSON.stringify({ command: 'red' }));
    const themed = await execFileAsync(process.execPath, [CLI, '--help'], {
      cwd: dir,
      env: { ...process.env, IMSPECT_CONFIG_DIR: configDir, FORCE_COLOR: '1', NO_COLOR: undefined },
    });
    expect(themed.stdout).toContain('\u001b[31mstart\u001b[39m');
  });

  it('lists plugins without loading TypeBox or the proxy runtime', async () => {
    const { stdout, urls } = await loadedModules(['plugins', 'list']);
    expect(stdout).toMatch(/^irc\s+protocol/m);
    expect(urls.filter((url) => url.includes('typebox') || url.includes('koffi') || url.includes('x509'))).toEqual([]);
  });

  it('uses the bundle only when it was built from the @oclif/core installed beside it', async () => {
    const { bundleMatchesInstalled } = (await import(pathToFileURL(path.join(CLI_DIR, 'bin/oclif-bundle.js')).href)) as OclifBundleModule;
    const vendor = path.join(dir, 'vendor');
    await mkdir(vendor, { recursive: true });
    const cliRoot = pathToFileURL(path.join(CLI_DIR, 'bin/run.js')).href;
    const installed = (JSON.parse(await readFile(path.join(CLI_DIR, 'node_modules/@oclif/core/package.json'), 'utf8')) as { version: string }).version;
    const vendorUrl = pathToFileURL(`${vendor}/`);
    await writeFile(path.join(vendor, 'oclif-core.json'), JSON.stringify({ version: installed }));
    expect(bundleMatchesInstalled(vendorUrl, cliRoot)).toBe(true);
    // oclif upgraded since the last build: the installed copy is used.
    await writeFile(path.join(vendor, 'oclif-core.json'), JSON.stringify({ version: '0.0.1' }));
    expect(bundleMatchesInstalled(vendorUrl, cliRoot)).toBe(false);
    // No build yet (or a broken record): the same.
    await writeFile(path.join(vendor, 'oclif-core.json'), '{');
    expect(bundleMatchesInstalled(vendorUrl, cliRoot)).toBe(false);
    await rm(path.join(vendor, 'oclif-core.json'));
    expect(bundleMatchesInstalled(vendorUrl, cliRoot)).toBe(false);
  });
});

describe('the compile cache', () => {
  async function setUp(cliDir: string, env: Record<string, string | undefined> = {}) {
    const { setUpCompileCache } = (await import(pathToFileURL(path.join(CLI_DIR, 'bin/compile-cache.js')).href)) as CompileCacheModule;
    const enabled: string[] = [];
    const saved = process.env.IMSPECT_NO_COMPILE_CACHE;
    if ('IMSPECT_NO_COMPILE_CACHE' in env) process.env.IMSPECT_NO_COMPILE_CACHE = env.IMSPECT_NO_COMPILE_CACHE;
    try {
      return { result: setUpCompileCache(cliDir, (cacheDir) => enabled.push(cacheDir)), enabled };
    } finally {
      if (saved === undefined) delete process.env.IMSPECT_NO_COMPILE_CACHE;
      else process.env.IMSPECT_NO_COMPILE_CACHE = saved;
    }
  }

  it('lives in a private folder inside an installation that only its owner may write to', async () => {
    const install = path.join(dir, 'own-install');
    await mkdir(install, { mode: 0o755 });
    await chmod(install, 0o755);
    const { result, enabled } = await setUp(install);
    expect(result).toEqual({ cacheDir: path.join(install, '.compile-cache') });
    expect(enabled).toEqual([path.join(install, '.compile-cache')]);
    expect((await lstat(path.join(install, '.compile-cache'))).mode & 0o777).toBe(0o700);
  });

  it('is not used in an installation others may write to, nor through a link, nor when turned off', async () => {
    const open = path.join(dir, 'open-install');
    await mkdir(open);
    await chmod(open, 0o777);
    const opened = await setUp(open);
    expect(opened.enabled).toEqual([]);
    expect(opened.result.skipped).toContain('is not this user');

    const planted = path.join(dir, 'planted-install');
    await mkdir(planted, { mode: 0o755 });
    await chmod(planted, 0o755);
    await mkdir(path.join(dir, 'elsewhere'), { mode: 0o777 });
    await chmod(path.join(dir, 'elsewhere'), 0o777);
    await symlink(path.join(dir, 'elsewhere'), path.join(planted, '.compile-cache'));
    const linked = await setUp(planted);
    expect(linked.enabled).toEqual([]);
    expect(linked.result.skipped).toContain('.compile-cache is not this user');

    const own = path.join(dir, 'off-install');
    await mkdir(own, { mode: 0o755 });
    const off = await setUp(own, { IMSPECT_NO_COMPILE_CACHE: '1' });
    expect(off.enabled).toEqual([]);
    expect(off.result.skipped).toContain('IMSPECT_NO_COMPILE_CACHE');
  });
});
