/**
 * The SDK is what a plugin author installs: it must stay a handful of small pure-JavaScript packages, with no
 * native code, no install scripts and nothing of the proxy runtime, and importing it must load no sockets.
 * Needs `pnpm build` (the import check runs the built package, as a plugin would load it).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const SDK_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Packages that belong to the runtime (or pull native code in): never in the SDK's closure. */
const RUNTIME_PACKAGES = ['@imspect/core', '@imspect/cli', 'pino', 'pino-pretty', 'ajv', 'koffi', 'better-sqlite3', 'sqlite3', 'node-forge', '@oclif/core', 'undici', 'ws'];
/** Builtins that mean sockets, processes or threads: a plugin's contract needs none of them. */
const FORBIDDEN_BUILTINS = ['net', 'tls', 'http', 'https', 'http2', 'dgram', 'dns', 'child_process', 'cluster', 'worker_threads', 'inspector'];
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'prepare'];

interface PackageJson {
  name: string;
  version: string;
  scripts?: Record<string, string>;
  gypfile?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as PackageJson;

/** Where `name` resolves from `fromDir`, as Node finds it: the nearest `node_modules/<name>` up the tree. */
function packageDir(name: string, fromDir: string): string {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate);
    if (dirname(dir) === dir) throw new Error(`${name} (needed from ${fromDir}) is not installed; run pnpm install`);
  }
}

/** The installed packages `@imspect/sdk` needs at run time (dependencies and optional ones, transitively). */
function closure(): Map<string, { dir: string; json: PackageJson }> {
  const found = new Map<string, { dir: string; json: PackageJson }>();
  const visit = (dir: string) => {
    const json = readJson(join(dir, 'package.json'));
    for (const name of Object.keys({ ...json.dependencies, ...json.optionalDependencies })) {
      if (found.has(name)) continue;
      const depDir = packageDir(name, dir);
      found.set(name, { dir: depDir, json: readJson(join(depDir, 'package.json')) });
      visit(depDir);
    }
  };
  visit(SDK_DIR);
  return found;
}

/** Files of a package that are native code or build it. */
function nativeFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      if (entry.name === 'node_modules') continue;
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.node') || entry.name === 'binding.gyp') out.push(path);
    }
  };
  walk(dir);
  return out;
}

describe('@imspect/sdk dependency closure', () => {
  const packages = closure();

  it('is a few packages, none of them the runtime', () => {
    expect(packages.size).toBeGreaterThan(0); // typebox, for option schemas
    expect(packages.size).toBeLessThanOrEqual(3);
    for (const name of packages.keys()) expect(RUNTIME_PACKAGES, `${name} is runtime`).not.toContain(name);
    expect(readJson(join(SDK_DIR, 'package.json')).dependencies).not.toHaveProperty('@imspect/core');
  });

  it('has no install scripts and no native code', () => {
    const sdk = readJson(join(SDK_DIR, 'package.json'));
    for (const [name, { dir, json }] of [['@imspect/sdk', { dir: SDK_DIR, json: sdk }] as const, ...packages]) {
      const scripts = INSTALL_SCRIPTS.filter((script) => json.scripts?.[script] !== undefined);
      expect({ name, scripts, gypfile: json.gypfile ?? false }).toEqual({ name, scripts: [], gypfile: false });
      expect(nativeFiles(dir), `${name}: native files`).toEqual([]);
    }
  });
});

describe('importing @imspect/sdk', () => {
  it('loads no sockets, processes or threads, no native addon, nothing outside its closure, no option checker yet', () => {
    const entry = join(SDK_DIR, 'dist', 'index.js');
    expect(existsSync(entry), `${entry} missing: run pnpm build`).toBe(true);
    // A resolve hook in a fresh process records every module the two entry points load.
    const hook = [
      "import { registerHooks } from 'node:module';",
      'const seen = new Set();',
      'registerHooks({ resolve(specifier, context, next) { const result = next(specifier, context); seen.add(result.url); return result; } });',
      "process.on('exit', () => process.stdout.write(JSON.stringify([...seen])));",
    ].join('\n');
    const script = `await import(${JSON.stringify(pathToFileURL(entry).href)}); await import(${JSON.stringify(pathToFileURL(join(SDK_DIR, 'dist', 'testing', 'index.js')).href)});`;
    const output = execFileSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(hook)}`, '--input-type=module', '-e', script], { encoding: 'utf8' });
    const urls = JSON.parse(output) as string[];
    const builtins = urls.filter((url) => url.startsWith('node:')).map((url) => url.slice(5).split('/')[0]!);
    expect(builtins.length).toBeGreaterThan(0); // the hook saw the imports
    expect(builtins.filter((name) => FORBIDDEN_BUILTINS.includes(name))).toEqual([]);
    const allowedRoots = [realpathSync(SDK_DIR), ...[...closure().values()].map((p) => p.dir)].map((dir) => pathToFileURL(dir).href + '/');
    const files = urls.filter((url) => url.startsWith('file:'));
    expect(files.filter((url) => url.endsWith('.node'))).toEqual([]);
    expect(files.filter((url) => !allowedRoots.some((root) => url.startsWith(root)))).toEqual([]);
    // TypeBox's checker (about 60 modules) loads only when options are resolved, not with the SDK.
    expect(files.some((url) => url.includes('/typebox/build/esm/type/'))).toBe(true);
    expect(files.filter((url) => /\/typebox\/build\/esm\/(value\/(value|check|default)|errors)\//.test(url))).toEqual([]);
  });
});
