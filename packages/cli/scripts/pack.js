#!/usr/bin/env node
// Packs the CLI into one self-contained npm tarball, imspect-cli-<version>.tgz, that `npm install -g` installs
// on a machine without this repository and without the npm registry: @imspect/core and the first-party plugins
// are workspace packages (`workspace:` ranges), not on the registry, so every dependency goes inside the tarball
// (bundleDependencies).
//
//   node packages/cli/scripts/pack.js [output folder]     (default: the working directory; after `pnpm build`)
//
// How: the CLI's production dependencies are copied, as installed in this workspace (the locked versions, native
// modules as built), into a staging folder in npm's layout: each package at the top of node_modules unless
// another version is there already, else inside the package that needs it. Workspace packages get their
// `workspace:` ranges replaced by their versions. The staged package.json bundles them all (bundleDependencies);
// `npm pack` packs that. Nothing is downloaded and nothing is compiled at install (SQLite is the runtime's own
// node:sqlite; koffi, for transparent listeners, ships prebuilt binaries): the tarball needs Node.js 24 where it
// is installed.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const cliDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = path.resolve(cliDir, '../..');
const outDir = path.resolve(process.argv[2] ?? process.cwd());
const run = (command, args, cwd) => execFileSync(command, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

if (!existsSync(path.join(cliDir, 'dist/commands'))) {
  console.error('imspect pack: packages/cli/dist is missing: run `pnpm build` first');
  process.exit(1);
}
// The manifest from the commands as built now (a stale one would describe old flags).
run(process.execPath, [path.join(cliDir, 'scripts/manifest.js')], cliDir);
// oclif as one file, loaded in place of its many (bin/oclif-bundle.js).
run(process.execPath, [path.join(cliDir, 'scripts/bundle-oclif.js')], cliDir);

const workspaceDir = path.join(repoRoot, 'packages');
const isWorkspacePackage = (dir) => path.dirname(dir) === workspaceDir;

/** The real folder of package `name` as Node resolves it from `fromDir` (pnpm's layout: symlinks into .pnpm). */
function findPackage(fromDir, name) {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(candidate, 'package.json'))) return realpathSync(candidate);
    if (dir === path.dirname(dir)) return undefined;
  }
}

/** `workspace:^` (and `workspace:*`, `workspace:~`) ranges become the workspace package's version, as pnpm pack does. */
function withoutWorkspaceRanges(pkg) {
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
    for (const [name, range] of Object.entries(pkg[field] ?? {})) {
      if (!range.startsWith('workspace:')) continue;
      const version = readJson(path.join(findPackage(cliDir, name) ?? path.join(workspaceDir, name.split('/')[1]), 'package.json')).version;
      const kind = range.slice('workspace:'.length);
      pkg[field][name] = kind === '*' ? version : kind === '^' || kind === '~' ? `${kind}${version}` : kind;
    }
  }
  delete pkg.devDependencies;
  delete pkg.scripts;
  return pkg;
}

/**
 * Copies one package: a workspace package without its tests and node_modules (its sources stay: the source maps
 * in dist point at them); any other whole.
 */
function copyPackage(from, to) {
  const skip = isWorkspacePackage(from) ? new Set(['node_modules', 'test', 'tsconfig.json']) : new Set(['node_modules']);
  cpSync(from, to, {
    recursive: true,
    dereference: true,
    filter: (source) => {
      const relative = path.relative(from, source);
      return relative === '' || !(skip.has(relative.split(path.sep)[0]) || relative.endsWith('.tsbuildinfo'));
    },
  });
  const pkg = readJson(path.join(to, 'package.json'));
  if (isWorkspacePackage(from)) writeFileSync(path.join(to, 'package.json'), `${JSON.stringify(withoutWorkspaceRanges(pkg), null, 2)}\n`);
}

/**
 * Places the production dependency tree of `rootDir` under `stageRoot/node_modules`: a package goes to the top
 * unless a different version is there, then into the node_modules of the package that needs it. `placed` maps
 * staged folders to versions, to check what Node would resolve from a folder.
 */
function stageDependencies(rootDir, stageRoot) {
  const placed = new Map();
  const resolvesFrom = (stageDir, name) => {
    for (let dir = stageDir; ; dir = path.dirname(dir)) {
      const version = placed.get(path.join(dir, 'node_modules', name));
      if (version !== undefined) return version;
      if (dir === stageRoot) return undefined;
    }
  };
  const queue = [{ realDir: rootDir, stageDir: stageRoot }];
  while (queue.length > 0) {
    const { realDir, stageDir } = queue.shift();
    const pkg = readJson(path.join(realDir, 'package.json'));
    const wanted = { ...pkg.peerDependencies, ...pkg.optionalDependencies, ...pkg.dependencies };
    const required = new Set(Object.keys(pkg.dependencies ?? {}));
    for (const name of Object.keys(wanted)) {
      const depDir = findPackage(realDir, name);
      if (!depDir) {
        // An optional dependency or peer not installed here (another platform's binary, an unused peer).
        if (required.has(name)) throw new Error(`${pkg.name} needs ${name}, which is not installed: run pnpm install`);
        continue;
      }
      const version = readJson(path.join(depDir, 'package.json')).version;
      const existing = resolvesFrom(stageDir, name);
      if (existing === version) continue;
      const top = path.join(stageRoot, 'node_modules', name);
      const target = placed.has(top) ? path.join(stageDir, 'node_modules', name) : top;
      copyPackage(depDir, target);
      placed.set(target, version);
      queue.push({ realDir: depDir, stageDir: target });
    }
  }
  return placed;
}

const staging = mkdtempSync(path.join(os.tmpdir(), 'imspect-pack-'));
try {
  const stage = path.join(staging, 'cli');
  for (const entry of ['bin', 'dist', 'src', 'templates', 'oclif.manifest.json', 'README.md', 'LICENSE', 'package.json']) {
    if (existsSync(path.join(cliDir, entry))) cpSync(path.join(cliDir, entry), path.join(stage, entry), { recursive: true });
  }
  stageDependencies(cliDir, stage);

  const pkg = withoutWorkspaceRanges(readJson(path.join(stage, 'package.json')));
  const installed = (name) => readJson(path.join(stage, 'node_modules', name, 'package.json')).version;
  // Exact versions of what is bundled, and all of it bundled: npm then fetches nothing.
  pkg.dependencies = Object.fromEntries(Object.keys(pkg.dependencies).map((name) => [name, installed(name)]));
  pkg.bundleDependencies = Object.keys(pkg.dependencies);
  writeFileSync(path.join(stage, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);

  run('npm', ['pack', '--pack-destination', outDir], stage);
  const tarball = readdirSync(outDir).find((f) => f === `imspect-cli-${pkg.version}.tgz`);
  if (!tarball) throw new Error(`npm pack wrote no imspect-cli-${pkg.version}.tgz in ${outDir}`);
  console.log(path.join(outDir, tarball));
} finally {
  rmSync(staging, { recursive: true, force: true });
}
