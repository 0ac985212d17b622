/**
 * What an npm tarball holds, and what is wrong with it as a release: the checks every `@imspect/*` package and
 * every package `imspect plugins new` makes must pass (licence text, README, repository fields, entry points
 * that exist, no build info, no tests, no source maps naming sources that are not shipped, no `workspace:`
 * ranges).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TarballContents {
  /** Paths inside the package folder (`package/` removed), sorted. */
  files: string[];
  text(file: string): string;
  manifest: Record<string, unknown>;
}

async function walk(dir: string, base: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(full, base)));
    else out.push(path.relative(base, full).split(path.sep).join('/'));
  }
  return out;
}

export async function readTarball(tarball: string): Promise<TarballContents> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-tarball-'));
  try {
    await run('tar', ['-xzf', tarball, '-C', dir]);
    const root = path.join(dir, 'package');
    if (!existsSync(root)) throw new Error(`${tarball} has no package/ folder`);
    const files = (await walk(root, root)).sort();
    const texts = new Map<string, string>();
    for (const file of files) texts.set(file, await readFile(path.join(root, file), 'utf8'));
    const text = (file: string) => {
      const value = texts.get(file);
      if (value === undefined) throw new Error(`${tarball} has no ${file}`);
      return value;
    };
    return { files, text, manifest: JSON.parse(text('package.json')) as Record<string, unknown> };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Files an `exports`/`main`/`types`/`bin` field names (conditions and subpaths flattened). */
function entryPoints(manifest: Record<string, unknown>): string[] {
  const out: string[] = [];
  const visit = (value: unknown) => {
    if (typeof value === 'string') out.push(value);
    else if (value && typeof value === 'object') for (const inner of Object.values(value)) visit(inner);
  };
  for (const field of ['main', 'types', 'exports', 'bin']) visit(manifest[field]);
  return out.filter((p) => !p.includes('*')).map((p) => path.posix.normalize(p));
}

export interface HygieneOptions {
  /** Text the LICENSE file must contain (e.g. `GNU GENERAL PUBLIC LICENSE`, `MIT License`). */
  licenceText: string;
  /** Require `repository`, `homepage` and `bugs` (the project's own packages). */
  repositoryFields?: boolean;
}

/** Everything wrong with the tarball as a release, as sentences; empty when it is clean. */
export function tarballProblems(contents: TarballContents, options: HygieneOptions): string[] {
  const { files, text, manifest } = contents;
  const problems: string[] = [];
  const has = new Set(files);
  if (!has.has('LICENSE')) problems.push('no LICENSE file');
  else if (!text('LICENSE').includes(options.licenceText)) problems.push(`LICENSE does not hold the licence text (${options.licenceText})`);
  if (typeof manifest['license'] !== 'string') problems.push('package.json has no "license"');
  if (!has.has('README.md')) problems.push('no README.md');
  if (options.repositoryFields) {
    const repository = manifest['repository'] as { url?: unknown; directory?: unknown } | undefined;
    if (typeof repository?.url !== 'string') problems.push('package.json has no "repository.url"');
    if (typeof manifest['homepage'] !== 'string') problems.push('package.json has no "homepage"');
    if (typeof (manifest['bugs'] as { url?: unknown } | undefined)?.url !== 'string') problems.push('package.json has no "bugs.url"');
  }
  if (!Array.isArray(manifest['files'])) problems.push('package.json has no "files" list (everything would be packed)');
  for (const file of files) {
    // The CLI ships the files `imspect plugins new` copies (tests and a tsconfig among them) as templates.
    const template = file.startsWith('templates/');
    if (file.endsWith('.tsbuildinfo')) problems.push(`build info shipped: ${file}`);
    if (!template && (/(^|\/)(test|tests|__tests__)\//.test(file) || /\.test\.[cm]?[jt]s$/.test(file))) problems.push(`test file shipped: ${file}`);
    if (file.startsWith('node_modules/')) problems.push(`node_modules shipped: ${file}`);
    if (file.endsWith('.tgz')) problems.push(`tarball shipped: ${file}`);
    if (!template && path.posix.basename(file).startsWith('tsconfig')) problems.push(`tsconfig shipped: ${file}`);
  }
  for (const entry of entryPoints(manifest)) {
    if (entry === 'package.json') continue;
    if (!has.has(entry)) problems.push(`package.json names ${entry}, which is not in the tarball`);
  }
  for (const map of files.filter((f) => f.endsWith('.map'))) {
    let parsed: { sources?: unknown; sourceRoot?: unknown };
    try {
      parsed = JSON.parse(text(map)) as typeof parsed;
    } catch {
      problems.push(`${map} is not JSON`);
      continue;
    }
    const root = typeof parsed.sourceRoot === 'string' ? parsed.sourceRoot : '';
    for (const source of Array.isArray(parsed.sources) ? parsed.sources : []) {
      const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(map), root, String(source)));
      if (!has.has(resolved)) problems.push(`${map} points at ${source}, which is not shipped`);
    }
  }
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
    for (const [name, range] of Object.entries((manifest[field] as Record<string, string>) ?? {})) {
      if (range.startsWith('workspace:')) problems.push(`${field}.${name} is still ${range}`);
    }
  }
  if (typeof manifest['name'] === 'string' && manifest['name'].startsWith('@') && (manifest['publishConfig'] as { access?: unknown } | undefined)?.access !== 'public') {
    problems.push('a scoped package without publishConfig.access "public" would be published as restricted');
  }
  return problems;
}
