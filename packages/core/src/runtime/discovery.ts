import { readFile, readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { PLUGIN_KINDS, type PluginKind } from '@imspect/sdk/plugin';

/** A plugin package found on disk; nothing of it has been imported yet. */
export interface DiscoveredPlugin {
  /** Configuration key and the name in every message: the manifest's `imspect.name`, else derived from the package name. */
  name: string;
  packageName: string;
  version: string;
  kind: PluginKind | undefined;
  /** Semver range of @imspect/core the plugin supports (`imspect.host`). */
  hostRange: string | undefined;
  /** Package folder (real path). */
  dir: string;
  /** Problems with the manifest; a plugin with any is not loaded. */
  problems: string[];
  /** Where it was found: a node_modules folder, imspect's plugin folder or a configured plugin folder. */
  source: string;
  /** Why it is in the plugin set: see {@link PluginOrigin}. */
  origin: PluginOrigin;
}

/**
 * How a plugin came to be there. Only `found` plugins are left disabled unless the configuration names them: a
 * package merely lying in some `node_modules` above the working directory was never chosen by anyone.
 * - `built-in`: a dependency of the CLI (shipped with imspect);
 * - `installed`: in imspect's plugin folder (`imspect plugins install`);
 * - `linked`: a link in that folder to a plugin being developed (`imspect plugins link`);
 * - `folder`: in a configured `pluginFolders` entry;
 * - `found`: in a `node_modules` folder above the working directory or the CLI, put there by something else.
 */
export type PluginOrigin = 'built-in' | 'installed' | 'linked' | 'folder' | 'found';

export interface DiscoveryOptions {
  /** Folders whose ancestors' node_modules are searched (the working directory and the CLI's folder): `found`. */
  roots: string[];
  /** A package folder (the CLI's) whose plugin dependencies are the built-in plugins. */
  builtinFrom?: string | undefined;
  /** imspect's own plugin folder (`<dataDir>/plugins`): its package.json dependencies and its `linked/` links. */
  pluginDir?: string | undefined;
  /** Configured plugin folders, searched as they are (absolute). */
  folders?: string[];
}

/** imspect's own plugin folder inside the data folder (`imspect plugins install`, `link`). */
export const PLUGIN_DIR_NAME = 'plugins';

export function pluginDirOf(dataDir: string): string {
  return path.join(dataDir, PLUGIN_DIR_NAME);
}

/** The plugin folder's package.json; `@imspect/sdk` there is the host's own SDK, linked, never a plugin. */
export const PLUGIN_DIR_MANIFEST = 'package.json';
/** Links made by `imspect plugins link`, laid out as node_modules (`linked/name`, `linked/@scope/name`). */
export const LINKED_DIR = 'linked';

const PLUGIN_NAME_PATTERNS = [/^@imspect\/(plugin|logger|filter|content)-/, /^imspect-plugin-/, /^@[^/]+\/imspect-plugin-/];

/** Whether a package name follows the plugin naming conventions (what the `node_modules` scan looks for). */
export function isPluginPackageName(name: string): boolean {
  return PLUGIN_NAME_PATTERNS.some((pattern) => pattern.test(name));
}

/** Every folder from `start` up to the file-system root. */
function ancestors(start: string): string[] {
  const out: string[] = [];
  let dir = path.resolve(start);
  for (;;) {
    out.push(dir);
    const parent = path.dirname(dir);
    if (parent === dir) return out;
    dir = parent;
  }
}

/**
 * Finds plugin packages by reading package.json files only, in this order (the first of two with the same name is
 * the one loaded, the other is reported as a duplicate): the built-in plugins, the links and the installed plugins
 * of imspect's plugin folder (a link made while developing a plugin comes before an installed copy of it), the
 * configured folders, then the `node_modules` folders above the roots (`found`). Within those, the nearest
 * node_modules wins, as Node's own resolution would.
 */
export async function discoverPlugins(options: DiscoveryOptions): Promise<DiscoveredPlugin[]> {
  const found: DiscoveredPlugin[] = [];
  const seenPackages = new Set<string>();
  const add = async (manifestDir: string, source: string, origin: PluginOrigin): Promise<void> => {
    let real: string;
    try {
      real = await realpath(manifestDir);
    } catch {
      return;
    }
    if (seenPackages.has(real)) return;
    const plugin = await readManifest(real, source, origin);
    // A folder with no package.json at all (a configured folder's `docs/`) is no package.
    if (plugin?.problems[0]?.includes('ENOENT') && origin !== 'installed' && origin !== 'linked') return;
    seenPackages.add(real);
    if (plugin) found.push(plugin);
  };
  if (options.builtinFrom) for (const dir of await builtinPluginDirs(options.builtinFrom)) await add(dir, options.builtinFrom, 'built-in');
  if (options.pluginDir) {
    const linked = path.join(options.pluginDir, LINKED_DIR);
    for (const dir of await packagesIn(linked, false)) await add(dir, linked, 'linked');
    const installed = await installedPluginDirs(options.pluginDir);
    const sdkProblem = installed.length > 0 ? await brokenSdkLink(options.pluginDir) : undefined;
    for (const dir of installed) {
      const before = found.length;
      await add(dir, options.pluginDir, 'installed');
      if (sdkProblem && found.length > before) found[found.length - 1]!.problems.push(sdkProblem);
    }
  }
  for (const folder of options.folders ?? []) {
    for (const dir of [path.resolve(folder), ...(await packagesIn(path.resolve(folder), false))]) await add(dir, path.resolve(folder), 'folder');
  }
  const seenDirs = new Set<string>();
  for (const root of options.roots) {
    for (const dir of ancestors(root)) {
      const nodeModules = path.join(dir, 'node_modules');
      if (seenDirs.has(nodeModules)) continue;
      seenDirs.add(nodeModules);
      for (const dir of await packagesIn(nodeModules, true)) await add(dir, nodeModules, 'found');
    }
  }
  return found;
}

/**
 * The package folders in a node_modules-like folder (`name`, `@scope/name`), sorted; with `pluginNamesOnly`, only
 * those named like plugins. Read with readdir alone: a glob library costs `plugins list` more to load than the
 * whole scan takes. Folders without a package.json are dropped when their manifest is read.
 */
async function packagesIn(dir: string, pluginNamesOnly: boolean): Promise<string[]> {
  const names: string[] = [];
  for (const entry of await readdir(dir).catch(() => [] as string[])) {
    if (entry.startsWith('.')) continue;
    if (entry.startsWith('@')) {
      for (const scoped of await readdir(path.join(dir, entry)).catch(() => [] as string[])) {
        if (!scoped.startsWith('.')) names.push(`${entry}/${scoped}`);
      }
    } else {
      names.push(entry);
    }
  }
  return names
    .filter((name) => !pluginNamesOnly || isPluginPackageName(name))
    .sort()
    .map((name) => path.join(dir, name));
}

async function readJson(file: string): Promise<Record<string, unknown> | undefined> {
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as unknown;
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Where `require.resolve(name + '/package.json')` from `from` would look: `from`'s node_modules and its ancestors'. */
async function resolvePackageDir(from: string, name: string): Promise<string | undefined> {
  for (const dir of ancestors(from)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (await readJson(path.join(candidate, 'package.json'))) return candidate;
  }
  return undefined;
}

/** The CLI's dependencies named like plugins, resolved as Node would from the CLI's folder (pnpm, npm -g, tarball). */
async function builtinPluginDirs(cliDir: string): Promise<string[]> {
  const pkg = await readJson(path.join(cliDir, 'package.json'));
  const dependencies = Object.keys((pkg?.['dependencies'] as Record<string, string> | undefined) ?? {})
    .filter(isPluginPackageName)
    .sort();
  const dirs: string[] = [];
  for (const name of dependencies) {
    const dir = await resolvePackageDir(cliDir, name);
    if (dir) dirs.push(dir);
  }
  return dirs;
}

/** The plugin folder's direct dependencies (what was installed on purpose), not what they pulled in. */
export async function installedPluginDirs(pluginDir: string): Promise<string[]> {
  const pkg = await readJson(path.join(pluginDir, PLUGIN_DIR_MANIFEST));
  const names = Object.keys((pkg?.['dependencies'] as Record<string, string> | undefined) ?? {})
    .filter((name) => name !== '@imspect/sdk')
    .sort();
  return names.map((name) => path.join(pluginDir, 'node_modules', name));
}

/**
 * Installed plugins import the SDK through the folder's link to the host's SDK; when imspect was moved or its
 * old installation removed, that link points nowhere, and each plugin would fail with "Cannot find package".
 */
async function brokenSdkLink(pluginDir: string): Promise<string | undefined> {
  const link = path.join(pluginDir, 'node_modules', '@imspect', 'sdk');
  if (await readJson(path.join(link, 'package.json'))) return undefined;
  return `the plugin folder's link to imspect's SDK (${link}) is broken (imspect was moved or reinstalled): run imspect plugins update to link it again`;
}

/** Every link in the plugin folder's `linked/` folder, as package-name -> link path. */
export async function linkedPluginLinks(pluginDir: string): Promise<Map<string, string>> {
  const links = new Map<string, string>();
  const linked = path.join(pluginDir, LINKED_DIR);
  const entries = await readdir(linked, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (entry.name.startsWith('@') && entry.isDirectory()) {
      for (const scoped of await readdir(path.join(linked, entry.name)).catch(() => [])) links.set(`${entry.name}/${scoped}`, path.join(linked, entry.name, scoped));
    } else {
      links.set(entry.name, path.join(linked, entry.name));
    }
  }
  return links;
}

/** The manifest of one package folder, as discovery reads it (for `imspect plugins link`). */
export async function readPluginManifest(dir: string, origin: PluginOrigin): Promise<DiscoveredPlugin | undefined> {
  return readManifest(await realpath(dir), path.dirname(dir), origin);
}

async function readManifest(dir: string, source: string, origin: PluginOrigin): Promise<DiscoveredPlugin | undefined> {
  let pkg: Record<string, unknown>;
  try {
    pkg = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
  } catch (error) {
    return {
      name: path.basename(dir),
      packageName: path.basename(dir),
      version: '',
      kind: undefined,
      hostRange: undefined,
      dir,
      source,
      origin,
      problems: [`package.json cannot be read: ${(error as Error).message}`],
    };
  }
  const manifest = pkg['imspect'];
  const keywords = Array.isArray(pkg['keywords']) ? (pkg['keywords'] as unknown[]) : [];
  // A package in a configured folder that is not an imspect plugin at all is ignored, not reported; one installed or
  // linked as a plugin is reported.
  const chosen = origin === 'installed' || origin === 'linked' || origin === 'built-in';
  if ((typeof manifest !== 'object' || manifest === null) && !keywords.includes('imspect-plugin') && !chosen) return undefined;
  const packageName = typeof pkg['name'] === 'string' ? pkg['name'] : path.basename(dir);
  const problems: string[] = [];
  const m = (typeof manifest === 'object' && manifest !== null ? manifest : {}) as Record<string, unknown>;
  if (typeof manifest !== 'object' || manifest === null) problems.push('package.json has no "imspect" field ({ "kind": ..., "host": ... })');
  const kind = m['kind'];
  if (manifest && !PLUGIN_KINDS.includes(kind as PluginKind)) {
    problems.push(`package.json "imspect.kind" must be one of ${PLUGIN_KINDS.join(', ')} (got ${JSON.stringify(kind)})`);
  }
  const host = m['host'];
  if (manifest && host !== undefined && typeof host !== 'string') problems.push('package.json "imspect.host" must be a semver range string');
  const name = typeof m['name'] === 'string' && m['name'] ? m['name'] : pluginNameFromPackage(packageName);
  return {
    name,
    packageName,
    version: typeof pkg['version'] === 'string' ? pkg['version'] : '',
    kind: PLUGIN_KINDS.includes(kind as PluginKind) ? (kind as PluginKind) : undefined,
    hostRange: typeof host === 'string' ? host : undefined,
    dir,
    source,
    origin,
    problems,
  };
}

/** `@imspect/plugin-irc` -> `irc`, `imspect-plugin-foo` -> `foo`, `@imspect/logger-csv` -> `logger-csv`. */
export function pluginNameFromPackage(packageName: string): string {
  const bare = packageName.replace(/^@[^/]+\//, '');
  return bare.replace(/^imspect-plugin-/, '').replace(/^plugin-/, '');
}
