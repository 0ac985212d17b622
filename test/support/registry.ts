/**
 * A real npm registry on this machine, for tests that publish and install packages as their authors and users do:
 * verdaccio (a root dev dependency) on 127.0.0.1 on a free port, its configuration, storage and users in a temp
 * folder, and no uplink, so nothing is ever fetched from (or leaks to) the public registry. What a test installs
 * must first be published to it: the workspace's `@imspect/*` packages (packed by pnpm, which turns `workspace:`
 * ranges into versions, then `npm publish`ed) and, for their third-party dependencies, the copies already
 * installed in this workspace (`seedInstalled`). Stopped by PID.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './imspect-process.js';

const run = promisify(execFile);

export interface LocalRegistry {
  /** `http://127.0.0.1:PORT/` */
  readonly url: string;
  /** Scratch folder of this registry (storage, npm's cache and user config); removed by `stop`. */
  readonly dir: string;
  /**
   * Environment for npm (and anything it runs) talking to this registry only: its own user config (registry and
   * token), its own cache, no audit, no funding, no update check, Node 24 first on the PATH.
   */
  readonly env: NodeJS.ProcessEnv;
  /** Runs npm with `env` in `cwd`; rejects with npm's output on failure. */
  npm(args: string[], cwd: string): Promise<{ stdout: string; stderr: string }>;
  /** Packs a workspace package (`pnpm pack`: `workspace:` ranges become versions) and `npm publish`es it. */
  publishWorkspacePackage(name: string): Promise<{ tarball: string; version: string }>;
  /** `npm publish` of a tarball or folder, as an author does. */
  publish(tarballOrDir: string): Promise<void>;
  /**
   * Puts third-party packages on the registry, as installed in this workspace, with their production
   * dependencies (and peers that are not optional): the copies pnpm fetched, so nothing is downloaded.
   */
  seedInstalled(names: readonly string[], fromDir?: string): Promise<string[]>;
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);

/** Folder of the installed verdaccio, or undefined when it is not installed. */
function verdaccioBin(): string | undefined {
  try {
    const pkgFile = require.resolve('verdaccio/package.json', { paths: [REPO_ROOT] });
    const bin = path.join(path.dirname(pkgFile), 'bin/verdaccio');
    return existsSync(bin) ? bin : undefined;
  } catch {
    return undefined;
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function configYaml(dir: string): string {
  // No `uplinks`: a package that was not published here is a 404, never a fetch from the public registry.
  return [
    `storage: ${JSON.stringify(path.join(dir, 'storage'))}`,
    `plugins: ${JSON.stringify(path.join(dir, 'plugins'))}`,
    'web:',
    '  enable: false',
    'auth:',
    '  htpasswd:',
    `    file: ${JSON.stringify(path.join(dir, 'htpasswd'))}`,
    '    max_users: 100',
    'uplinks: {}',
    'packages:',
    "  '**':",
    '    access: $all',
    '    publish: $authenticated',
    '    unpublish: $authenticated',
    'max_body_size: 200mb',
    'log:',
    '  type: stdout',
    '  format: pretty',
    '  level: warn',
    '',
  ].join('\n');
}

/** Environment without the npm/pnpm settings of the process that runs the tests (pnpm passes its own down). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_|^pnpm_/i.test(key)) continue;
    env[key] = value;
  }
  env['PATH'] = [path.dirname(process.execPath), env['PATH'] ?? ''].join(path.delimiter);
  return env;
}

async function waitForPing(url: string, child: ChildProcess, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`verdaccio exited (${child.exitCode ?? child.signalCode}) before answering: ${output()}`);
    }
    try {
      const response = await fetch(new URL('-/ping', url));
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`verdaccio did not answer ${url}-/ping within ${timeoutMs} ms: ${output()}`);
}

async function addUser(url: string): Promise<string> {
  const name = 'imspect-test';
  const response = await fetch(new URL(`-/user/org.couchdb.user:${name}`, url), {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, password: 'imspect-test-password', email: 'test@example.org', type: 'user' }),
  });
  const body = (await response.json()) as { token?: string; error?: string };
  if (!response.ok || !body.token) throw new Error(`verdaccio refused the test user: ${response.status} ${body.error ?? ''}`);
  return body.token;
}

/** Starts a registry; throws when verdaccio is missing or does not come up (see `tryStartRegistry`). */
export async function startRegistry(): Promise<LocalRegistry> {
  const bin = verdaccioBin();
  if (!bin) throw new Error('verdaccio is not installed (a root dev dependency: run pnpm install)');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-registry-'));
  await writeFile(path.join(dir, 'config.yaml'), configYaml(dir));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const child = spawn(process.execPath, [bin, '--config', path.join(dir, 'config.yaml'), '--listen', `127.0.0.1:${port}`], {
    cwd: dir,
    env: { ...cleanEnv(), NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      const pid = child.pid;
      const signal = (name: NodeJS.Signals) => {
        try {
          process.kill(pid, name);
        } catch {
          // gone already
        }
      };
      signal('SIGTERM');
      const timer = setTimeout(() => signal('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await waitForPing(url, child, () => output, 30_000);
    const token = await addUser(url);
    const userconfig = path.join(dir, 'npmrc');
    const host = `//127.0.0.1:${port}/`;
    await writeFile(userconfig, `registry=${url}\n${host}:_authToken=${token}\n`);
    const env: NodeJS.ProcessEnv = {
      ...cleanEnv(),
      npm_config_userconfig: userconfig,
      npm_config_registry: url,
      npm_config_cache: path.join(dir, 'npm-cache'),
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      npm_config_update_notifier: 'false',
      npm_config_loglevel: 'warn',
    };
    const npm = async (args: string[], cwd: string) => {
      try {
        return await run('npm', args, { cwd, env, maxBuffer: 64 * 1024 * 1024 });
      } catch (error) {
        const e = error as Error & { stdout?: string; stderr?: string };
        throw new Error(`npm ${args.join(' ')} (in ${cwd}) failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
      }
    };
    const publish = async (tarballOrDir: string) => {
      await npm(['publish', tarballOrDir, '--registry', url, '--ignore-scripts'], dir);
    };
    const packDir = path.join(dir, 'packed');
    await mkdir(packDir, { recursive: true });

    return {
      url,
      dir,
      env,
      npm,
      publish,
      async publishWorkspacePackage(name) {
        const { tarball, version } = await packWorkspacePackage(name, packDir);
        await publish(tarball);
        return { tarball, version };
      },
      seedInstalled: (names, fromDir = REPO_ROOT) => seedInstalled(url, env, packDir, names, fromDir),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A registry, or why there cannot be one (verdaccio missing or not starting): for `describeWithService`. */
export async function tryStartRegistry(): Promise<{ registry?: LocalRegistry; problem?: string }> {
  try {
    return { registry: await startRegistry() };
  } catch (error) {
    return { problem: `the local npm registry (verdaccio) cannot start: ${(error as Error).message}` };
  }
}

/** The folder of a workspace package by its name (`@imspect/sdk` → packages/sdk). */
export function workspacePackageDir(name: string): string {
  for (const dir of workspacePackageDirs()) {
    if (readJson(path.join(dir, 'package.json'))['name'] === name) return dir;
  }
  throw new Error(`no workspace package named ${name}`);
}

/** Every package folder under packages/ (those with a package.json). */
export function workspacePackageDirs(): string[] {
  const root = path.join(REPO_ROOT, 'packages');
  return readdirSync(root)
    .map((entry) => path.join(root, entry))
    .filter((dir) => existsSync(path.join(dir, 'package.json')))
    .sort();
}

/** `pnpm pack` of a workspace package into `outDir`, as its release would be made. */
export async function packWorkspacePackage(name: string, outDir: string): Promise<{ tarball: string; version: string }> {
  const dir = workspacePackageDir(name);
  const { stdout } = await run('pnpm', ['pack', '--pack-destination', outDir, '--json'], { cwd: dir, env: cleanEnv(), maxBuffer: 16 * 1024 * 1024 });
  const result = JSON.parse(stdout) as { filename: string; version: string };
  return { tarball: path.isAbsolute(result.filename) ? result.filename : path.join(outDir, result.filename), version: result.version };
}

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}

/** The real folder of package `name` as Node resolves it from `fromDir` (pnpm: symlinks into .pnpm). */
function findInstalled(fromDir: string, name: string): string | undefined {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(candidate, 'package.json'))) return realpathSync(candidate);
    if (dir === path.dirname(dir)) return undefined;
  }
}

async function seedInstalled(url: string, env: NodeJS.ProcessEnv, packDir: string, names: readonly string[], fromDir: string): Promise<string[]> {
  // First the closure (package.json reads only), then the uploads, a few at a time.
  const found = new Map<string, Record<string, unknown>>();
  const queue = names.map((name) => ({ name, from: fromDir, required: true }));
  while (queue.length > 0) {
    const { name, from, required } = queue.shift()!;
    const dir = findInstalled(from, name);
    if (!dir) {
      if (required) throw new Error(`seeding the registry: ${name} is not installed in this workspace (from ${from})`);
      continue; // another platform's optional binary
    }
    if (found.has(dir)) continue;
    const pkg = readJson(path.join(dir, 'package.json'));
    found.set(dir, pkg);
    const optionalPeers = new Set(Object.keys((pkg['peerDependenciesMeta'] as Record<string, unknown>) ?? {}));
    for (const dep of Object.keys((pkg['dependencies'] as Record<string, string>) ?? {})) queue.push({ name: dep, from: dir, required: true });
    for (const dep of Object.keys((pkg['optionalDependencies'] as Record<string, string>) ?? {})) queue.push({ name: dep, from: dir, required: false });
    for (const dep of Object.keys((pkg['peerDependencies'] as Record<string, string>) ?? {})) {
      if (!optionalPeers.has(dep)) queue.push({ name: dep, from: dir, required: false });
    }
  }
  const pending = [...found];
  const worker = async () => {
    for (let next = pending.shift(); next !== undefined; next = pending.shift()) await putInstalledPackage(url, env, packDir, next[0], next[1]);
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return [...found.values()].map((pkg) => `${pkg['name']}@${pkg['version']}`);
}

/**
 * Publishes an installed package folder through the registry's publish API (a PUT of the manifest with the
 * tarball attached), not `npm publish`: a third-party package's own `publishConfig` could name another registry.
 */
async function putInstalledPackage(url: string, env: NodeJS.ProcessEnv, packDir: string, dir: string, pkg: Record<string, unknown>): Promise<void> {
  const name = String(pkg['name']);
  const version = String(pkg['version']);
  const file = path.join(packDir, `${name.replace('/', '-')}-${version}.tgz`);
  // --hard-dereference: pnpm's store hard-links identical files, and npm does not extract hard-link entries.
  await run('tar', ['-czf', file, '--hard-dereference', '--exclude=./node_modules', '--transform', 's,^\\.,package,', '-C', dir, '.'], { env });
  const data = await readFile(file);
  const manifest = { ...pkg, _id: `${name}@${version}` } as Record<string, unknown>;
  delete manifest['scripts'];
  manifest['dist'] = {
    shasum: createHash('sha1').update(data).digest('hex'),
    integrity: `sha512-${createHash('sha512').update(data).digest('base64')}`,
    tarball: new URL(`${name}/-/${path.basename(file)}`, url).href,
  };
  const token = /_authToken=(.+)/.exec(readFileSync(String(env['npm_config_userconfig']), 'utf8'))![1]!;
  const response = await fetch(new URL(name.replace('/', '%2f'), url), {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      _id: name,
      name,
      'dist-tags': { latest: version },
      versions: { [version]: manifest },
      _attachments: { [path.basename(file)]: { content_type: 'application/octet-stream', data: data.toString('base64'), length: data.length } },
    }),
  });
  // 409: this version is there already (seeded by an earlier call).
  if (!response.ok && response.status !== 409) throw new Error(`seeding ${name}@${version}: ${response.status} ${await response.text()}`);
}
