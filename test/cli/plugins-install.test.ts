/**
 * `imspect plugins install|remove|update|link|unlink` as an administrator runs them: real npm, real tarballs and
 * folders, imspect's own plugin folder in a temporary data folder. npm talks to no registry (a closed port on
 * 127.0.0.1 is configured: the registry path is covered by the registry end-to-end test); what it installs comes
 * from tarballs and folders.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readFile, readdir, readlink, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, REPO_ROOT, startImspect } from '../support/imspect-process.js';
import { connectScriptedClient, startScriptedIrcServer } from '../support/scripted-irc.js';

const execFileAsync = promisify(execFile);

/** A logger that appends each event as a JSON line, importing the SDK as every third-party plugin does. */
const TALLY_SOURCE = `import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { definePlugin, Type } from '@imspect/sdk';
export default definePlugin({
  name: 'tally',
  kind: 'logger',
  version: '1.0.0',
  options: Type.Object({ file: Type.String({ default: 'tally.jsonl' }) }),
  async setup({ options, dataDir }) {
    const file = path.resolve(dataDir, options.file);
    return { async write(events) { await appendFile(file, events.map((e) => JSON.stringify(e) + '\\n').join('')); } };
  },
});
`;

interface Fixture {
  name: string;
  version?: string;
  imspect?: Record<string, unknown> | null;
  source?: string;
}

async function writePlugin(dir: string, fixture: Fixture): Promise<string> {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dir, { recursive: true });
  const pkg = {
    name: fixture.name,
    version: fixture.version ?? '1.0.0',
    type: 'module',
    main: 'index.js',
    files: ['index.js'],
    keywords: ['imspect-plugin'],
    ...(fixture.imspect === null ? {} : { imspect: fixture.imspect ?? { kind: 'logger', host: '^0.1.0' } }),
    peerDependencies: { '@imspect/sdk': '^0.1.0' },
  };
  await writeFile(path.join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
  await writeFile(path.join(dir, 'index.js'), fixture.source ?? TALLY_SOURCE);
  return dir;
}

describe('imspect plugins install, remove, update, link', () => {
  let work: string;
  let dataDir: string;
  let pluginDir: string;
  let env: NodeJS.ProcessEnv;

  async function imspect(args: string[]) {
    try {
      const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args], { cwd: work, env, maxBuffer: 16 * 1024 * 1024 });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  async function list(): Promise<Array<Record<string, unknown>>> {
    const result = await imspect(['plugins', 'list', '--json']);
    expect(result.code, result.stderr).toBe(0);
    return (JSON.parse(result.stdout) as { plugins: Array<Record<string, unknown>> }).plugins;
  }

  async function pack(dir: string): Promise<string> {
    const { stdout } = await execFileAsync('npm', ['pack', dir, '--pack-destination', work, '--json'], { cwd: work, env });
    return path.join(work, (JSON.parse(stdout) as Array<{ filename: string }>)[0]!.filename);
  }

  /** Every path in the plugin folder with its content hash (links: their target): what "unchanged" means. */
  async function snapshot(dir: string): Promise<string[]> {
    const out: string[] = [];
    const visit = async (target: string): Promise<void> => {
      const info = await lstat(target).catch(() => undefined);
      if (!info) return;
      const rel = path.relative(dir, target);
      if (info.isSymbolicLink()) out.push(`${rel} -> ${await readlink(target)}`);
      else if (info.isDirectory()) {
        out.push(`${rel}/`);
        for (const entry of (await readdir(target)).sort()) await visit(path.join(target, entry));
      } else
        out.push(
          `${rel} ${createHash('sha256')
            .update(await readFile(target))
            .digest('hex')}`,
        );
    };
    await visit(dir);
    return out;
  }

  async function hashOf(file: string): Promise<string> {
    return createHash('sha256')
      .update(await readFile(file))
      .digest('hex');
  }

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'imspect-plugins-install-'));
    dataDir = path.join(work, 'data');
    pluginDir = path.join(dataDir, 'plugins');
    // A port nobody listens on: any registry request fails at once instead of leaving the machine.
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const registryPort = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    env = {
      ...process.env,
      NO_COLOR: '1',
      npm_config_registry: `http://127.0.0.1:${registryPort}/`,
      npm_config_fetch_retries: '0',
      npm_config_cache: path.join(work, 'npm-cache'),
      npm_config_userconfig: path.join(work, 'npmrc'),
    };
    await writeFile(path.join(work, 'imspect.config.json'), JSON.stringify({ dataDir: 'data' }));
    await writePlugin(path.join(work, 'tally'), { name: 'imspect-plugin-tally', imspect: { kind: 'logger', host: '^0.1.0', name: 'tally' } });
  }, 60_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('installs a folder into <dataDir>/plugins: packed, checked, linked to the host SDK, never touching the checkout', async () => {
    const checkout = [await hashOf(path.join(REPO_ROOT, 'package.json')), await hashOf(path.join(REPO_ROOT, 'pnpm-lock.yaml'))];
    const result = await imspect(['plugins', 'install', './tally']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`installed tally 1.0.0 (logger, package imspect-plugin-tally) in ${path.join(pluginDir, 'node_modules/imspect-plugin-tally')}`);
    expect(result.stderr).toContain('imspect: npm install');
    const manifest = JSON.parse(await readFile(path.join(pluginDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(manifest.dependencies['imspect-plugin-tally']).toMatch(/^file:tarballs\/imspect-plugin-tally-1\.0\.0-[0-9a-f]{12}\.tgz$/);
    // A copy, not a link to the source folder.
    expect((await lstat(path.join(pluginDir, 'node_modules/imspect-plugin-tally'))).isDirectory()).toBe(true);
    // The plugin's peer dependency is this imspect's own SDK: a link to it, no copy fetched from anywhere.
    expect(await realpath(path.join(pluginDir, 'node_modules/@imspect/sdk'))).toBe(await realpath(path.join(REPO_ROOT, 'packages/sdk')));
    const sdkCopies = (await snapshot(pluginDir)).filter((entry) => /(^|\/)@imspect\/sdk\/package\.json/.test(entry));
    expect(sdkCopies).toEqual([]);
    // Readable by everyone (the user imspect drops to), writable by its owner only.
    for (const entry of await snapshot(pluginDir)) {
      if (entry.includes(' -> ')) continue;
      const file = path.join(pluginDir, entry.replace(/\/$/, '').split(' ')[0]!);
      const mode = (await lstat(file)).mode;
      expect(mode & 0o022, `${file} is writable by group or others`).toBe(0);
      expect(mode & 0o004, `${file} is not readable by others`).toBe(0o004);
    }
    expect([await hashOf(path.join(REPO_ROOT, 'package.json')), await hashOf(path.join(REPO_ROOT, 'pnpm-lock.yaml'))]).toEqual(checkout);
    const tally = (await list()).find((p) => p['name'] === 'tally');
    expect(tally).toMatchObject({ origin: 'installed', enabled: true, status: 'ok', version: '1.0.0', kind: 'logger' });
  }, 60_000);

  it('installs a tarball; a newer one replaces the installed version', async () => {
    const next = await writePlugin(path.join(work, 'tally-1.1'), { name: 'imspect-plugin-tally', version: '1.1.0', imspect: { kind: 'logger', host: '^0.1.0', name: 'tally' } });
    const tarball = await pack(next);
    const result = await imspect(['plugins', 'install', tarball]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('replaced tally 1.0.0 with tally 1.1.0 (logger, package imspect-plugin-tally)');
    expect(await readdir(path.join(pluginDir, 'tarballs'))).toEqual([expect.stringMatching(/^imspect-plugin-tally-1\.1\.0-/)]);
    expect((await list()).filter((p) => p['name'] === 'tally').map((p) => p['version'])).toEqual(['1.1.0']);
  }, 60_000);

  const refusals: Array<{ what: string; fixture?: Fixture; spec?: string; plugin: string; cause: RegExp }> = [
    {
      what: 'a host range this imspect is not in',
      fixture: { name: 'imspect-plugin-future', imspect: { kind: 'logger', host: '^9.0.0' } },
      plugin: 'plugin future (imspect-plugin-future)',
      cause: /needs imspect core \^9\.0\.0, this is 0\.1\.0.*PLUGIN_HOST_MISMATCH/,
    },
    {
      what: 'an unknown kind',
      fixture: { name: 'imspect-plugin-printer', imspect: { kind: 'printer', host: '^0.1.0' } },
      plugin: 'plugin printer (imspect-plugin-printer)',
      cause: /"imspect\.kind" must be one of protocol, logger, filter, content \(got "printer"\).*PLUGIN_MANIFEST_INVALID/,
    },
    {
      what: 'no imspect field',
      fixture: { name: 'imspect-plugin-bare', imspect: null },
      plugin: 'plugin bare (imspect-plugin-bare)',
      cause: /package\.json has no "imspect" field.*PLUGIN_MANIFEST_INVALID/,
    },
    {
      what: 'a syntax error',
      fixture: { name: 'imspect-plugin-typo', source: 'export default {{{\n' },
      plugin: 'plugin typo (imspect-plugin-typo)',
      cause: /import of .*index\.js failed: Unexpected token.*PLUGIN_IMPORT_FAILED/,
    },
    {
      what: "a built-in plugin's name",
      fixture: { name: 'imspect-plugin-irc', imspect: { kind: 'logger', host: '^0.1.0' } },
      plugin: 'plugin irc (imspect-plugin-irc)',
      cause: /its name "irc" .* is already the built-in plugin @imspect\/plugin-irc's.*PLUGIN_NAME_TAKEN/,
    },
    {
      what: 'a registry that cannot be reached',
      spec: 'imspect-plugin-elsewhere@^1.0.0',
      plugin: 'imspect-plugin-elsewhere@^1.0.0',
      cause: /the registry cannot be reached \(ECONNREFUSED\).*NPM_FAILED/,
    },
  ];

  for (const refusal of refusals) {
    it(`refuses ${refusal.what}: names the plugin and the cause, changes nothing, enables nothing`, async () => {
      const before = await snapshot(pluginDir);
      const spec = refusal.spec ?? (await pack(await writePlugin(path.join(work, 'bad', refusal.fixture!.name), refusal.fixture!)));
      const result = await imspect(['plugins', 'install', spec]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`imspect: cannot install ${refusal.plugin}: `);
      expect(result.stderr.replace(/\n/g, ' ')).toMatch(refusal.cause);
      expect(result.stderr).toContain(`${pluginDir} is unchanged and nothing was enabled`);
      expect(await snapshot(pluginDir)).toEqual(before);
      // No staging copy or lock is left behind.
      expect((await readdir(dataDir)).sort()).toEqual(['plugins']);
      expect((await list()).filter((p) => p['origin'] === 'installed').map((p) => p['name'])).toEqual(['tally']);
    }, 60_000);
  }

  it('a path that does not exist is named, and a bare name is never taken for a folder of that name', async () => {
    const missing = await imspect(['plugins', 'install', './nothere-1.0.0.tgz']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`imspect: cannot install ./nothere-1.0.0.tgz: ${path.join(work, 'nothere-1.0.0.tgz')} does not exist; nothing was installed`);
    // `tally` is a folder here, but as npm reads it, a bare name is a registry name (and the registry is closed).
    const bare = await imspect(['plugins', 'install', 'tally']);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toContain('the registry cannot be reached');
  }, 60_000);

  it('an installed plugin is loaded by imspect start and sees the events of real traffic', async () => {
    const irc = await startScriptedIrcServer();
    await writeFile(
      path.join(work, 'imspect.config.json'),
      JSON.stringify({
        dataDir: 'data',
        listeners: [{ type: 'forward', port: 0, upstream: { host: '127.0.0.1', port: irc.port }, protocol: 'irc' }],
        log: { format: 'json' },
      }),
    );
    const proxy = await startImspect([], { cwd: work, env });
    try {
      expect(proxy.stdout()).toMatch(/plugins: .*tally \(logger\)/);
      const url = new URL(/listening: (\S+)/.exec(proxy.stdout())![1]!);
      const client = await connectScriptedClient(Number(url.port), 'carol');
      client.say('dave', 'through an installed plugin');
      const deadline = Date.now() + 5000;
      while (!irc.received.includes('through an installed plugin') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      client.close();
      expect(await proxy.stop()).toBe(0);
    } finally {
      await proxy.stop();
      await irc.close();
      await writeFile(path.join(work, 'imspect.config.json'), JSON.stringify({ dataDir: 'data' }));
    }
    const events = (await readFile(path.join(dataDir, 'tally.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events.filter((e) => e['type'] === 'message')).toEqual([
      expect.objectContaining({ protocol: 'irc', localId: 'carol', remoteId: 'dave', text: 'through an installed plugin' }),
    ]);
  }, 60_000);

  it('update leaves a plugin installed from a tarball as it is, and names what it cannot update', async () => {
    const before = await snapshot(pluginDir);
    const result = await imspect(['plugins', 'update']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('tally 1.1.0 (logger, package imspect-plugin-tally) is up to date');
    expect((await snapshot(pluginDir)).filter((e) => !e.includes('package-lock'))).toEqual(before.filter((e) => !e.includes('package-lock')));
    const unknown = await imspect(['plugins', 'update', 'nosuch']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('cannot update nosuch: no plugin of that name is installed or linked');
    const builtIn = await imspect(['plugins', 'update', 'irc']);
    expect(builtIn.stderr).toContain('cannot update irc: it is built in');
  }, 60_000);

  it('a broken link to the SDK (imspect moved) is reported per plugin, and update links the running SDK again', async () => {
    // As if the folder had been made by an imspect installed elsewhere, since removed.
    const sdkLink = path.join(pluginDir, 'node_modules/@imspect/sdk');
    const manifestFile = path.join(pluginDir, 'package.json');
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as { dependencies: Record<string, string> };
    await writeFile(manifestFile, JSON.stringify({ ...manifest, dependencies: { ...manifest.dependencies, '@imspect/sdk': 'file:/nonexistent/imspect/sdk' } }));
    await rm(sdkLink);
    await symlink('/nonexistent/imspect/sdk', sdkLink);
    const broken = (await list()).find((p) => p['name'] === 'tally');
    expect(broken).toMatchObject({ origin: 'installed', status: 'failed', error: expect.objectContaining({ code: 'PLUGIN_MANIFEST_INVALID' }) });
    expect(JSON.stringify(broken)).toContain('is broken (imspect was moved or reinstalled): run imspect plugins update');
    const updated = await imspect(['plugins', 'update']);
    expect(updated.code, updated.stderr).toBe(0);
    expect(await realpath(sdkLink)).toBe(await realpath(path.join(REPO_ROOT, 'packages/sdk')));
    expect((await list()).find((p) => p['name'] === 'tally')).toMatchObject({ status: 'ok' });
  }, 60_000);

  it('installs from a git URL; update takes the new commit, and an update that would not load changes nothing', async () => {
    const repo = await writePlugin(path.join(work, 'git', 'imspect-plugin-versioned'), { name: 'imspect-plugin-versioned', imspect: { kind: 'logger', host: '^0.1.0' } });
    const git = (...args: string[]) => execFileAsync('git', ['-c', 'user.email=dev@example.org', '-c', 'user.name=dev', ...args], { cwd: repo });
    const release = async (version: string, host: string) => {
      const pkg = JSON.parse(await readFile(path.join(repo, 'package.json'), 'utf8')) as Record<string, unknown>;
      await writeFile(path.join(repo, 'package.json'), JSON.stringify({ ...pkg, version, imspect: { kind: 'logger', host } }, null, 2));
      await git('add', '-A');
      await git('commit', '-qm', version);
    };
    await git('init', '-q');
    await release('1.0.0', '^0.1.0');
    const url = `git+file://${repo}`;
    const installed = await imspect(['plugins', 'install', url]);
    expect(installed.code, installed.stderr).toBe(0);
    expect(installed.stdout).toContain(`installed versioned 1.0.0 (logger, package imspect-plugin-versioned)`);
    expect(installed.stdout).toContain(`saved as imspect-plugin-versioned@${url}`);

    await release('1.0.1', '^0.1.0');
    const updated = await imspect(['plugins', 'update', 'versioned']);
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stdout).toContain('updated versioned 1.0.0 -> versioned 1.0.1 (logger, package imspect-plugin-versioned)');

    // The next commit needs a newer imspect: the update is refused and 1.0.1 stays.
    await release('2.0.0', '^9.0.0');
    const before = await snapshot(pluginDir);
    const refused = await imspect(['plugins', 'update']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('cannot update plugin versioned: needs imspect core ^9.0.0, this is 0.1.0');
    expect(refused.stderr).toContain(`${pluginDir} is unchanged`);
    expect(await snapshot(pluginDir)).toEqual(before);
    expect((await list()).find((p) => p['name'] === 'versioned')).toMatchObject({ version: '1.0.1', origin: 'installed', status: 'ok' });
    const removed = await imspect(['plugins', 'remove', 'versioned']);
    expect(removed.code, removed.stderr).toBe(0);
  }, 90_000);

  it('links a plugin being developed, loads it from its folder, and unlinks it', async () => {
    const dev = await writePlugin(path.join(work, 'src', 'imspect-plugin-dev'), { name: 'imspect-plugin-dev', imspect: { kind: 'logger', host: '^0.1.0' } });
    // It is still being written: it needs no SDK to load, so it loads from its folder with no node_modules.
    await writeFile(path.join(dev, 'index.js'), "export default { [Symbol.for('imspect.plugin')]: true, name: 'dev', kind: 'logger', setup: () => ({ write() {} }) };\n");
    const linked = await imspect(['plugins', 'link', dev]);
    expect(linked.code, linked.stderr).toBe(0);
    expect(linked.stdout).toContain(`linked dev 1.0.0 (logger, package imspect-plugin-dev): ${path.join(pluginDir, 'linked/imspect-plugin-dev')} -> ${dev}`);
    expect((await list()).find((p) => p['name'] === 'dev')).toMatchObject({ origin: 'linked', path: dev, enabled: true, status: 'ok' });
    // A change in the folder is what the next start (and list) sees: no reinstall.
    await writeFile(path.join(dev, 'index.js'), 'export default {{{\n');
    expect((await list()).find((p) => p['name'] === 'dev')).toMatchObject({ origin: 'linked', status: 'failed', error: expect.objectContaining({ code: 'PLUGIN_IMPORT_FAILED' }) });
    const unlinked = await imspect(['plugins', 'unlink', 'dev']);
    expect(unlinked.code, unlinked.stderr).toBe(0);
    expect((await list()).some((p) => p['name'] === 'dev')).toBe(false);
    // remove undoes a link too; the folder itself stays.
    expect((await imspect(['plugins', 'link', dev])).code).toBe(0);
    const removed = await imspect(['plugins', 'remove', 'imspect-plugin-dev']);
    expect(removed.stdout).toContain('unlinked dev 1.0.0');
    expect((await list()).some((p) => p['name'] === 'dev')).toBe(false);
    expect((await lstat(dev)).isDirectory()).toBe(true);
  }, 60_000);

  it('refuses to link a folder with a wrong host range or a taken name, and links nothing', async () => {
    const before = await snapshot(pluginDir);
    const future = await writePlugin(path.join(work, 'src', 'future'), { name: 'imspect-plugin-future', imspect: { kind: 'logger', host: '>=2' } });
    const result = await imspect(['plugins', 'link', future]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('cannot link plugin future: needs imspect core >=2, this is 0.1.0; nothing was linked');
    const taken = await writePlugin(path.join(work, 'src', 'taken'), { name: 'imspect-plugin-other-tally', imspect: { kind: 'logger', host: '^0.1.0', name: 'tally' } });
    const clash = await imspect(['plugins', 'link', taken]);
    expect(clash.code).toBe(1);
    expect(clash.stderr).toContain('its name "tally"');
    expect(await snapshot(pluginDir)).toEqual(before);
  }, 60_000);

  it('removes an installed plugin; a built-in one cannot be removed, only disabled', async () => {
    const builtIn = await imspect(['plugins', 'remove', 'irc']);
    expect(builtIn.code).toBe(1);
    expect(builtIn.stderr).toContain('cannot remove irc: it is built in; disable it with `plugins: { irc: { enabled: false } }`');
    const result = await imspect(['plugins', 'remove', 'tally']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('removed tally 1.1.0 (logger, package imspect-plugin-tally)');
    const manifest = JSON.parse(await readFile(path.join(pluginDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(manifest.dependencies)).toEqual(['@imspect/sdk']);
    expect(await readdir(path.join(pluginDir, 'node_modules'))).not.toContain('imspect-plugin-tally');
    expect(await readdir(path.join(pluginDir, 'tarballs'))).toEqual([]);
    expect((await list()).some((p) => p['name'] === 'tally')).toBe(false);
  }, 60_000);
});
