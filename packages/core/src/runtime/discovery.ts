import fg from 'fast-glob';
import { readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import { PLUGIN_KINDS, type PluginKind } from '@imspect/sdk';

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
  /** Where it was found: a node_modules folder or a configured plugin folder. */
  source: string;
}

export interface DiscoveryOptions {
  /** Folders whose ancestors' node_modules are searched (the working directory and the CLI's folder). */
  roots: string[];
  /** Configured plugin folders, searched as they are (absolute). */
  folders?: string[];
}

const NODE_MODULES_PATTERNS = [
  '@imspect/plugin-*/package.json',
  '@imspect/logger-*/package.json',
  '@imspect/filter-*/package.json',
  '@imspect/content-*/package.json',
  'imspect-plugin-*/package.json',
  '@*/imspect-plugin-*/package.json',
];
const FOLDER_PATTERNS = ['package.json', '*/package.json', '@*/*/package.json'];

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
 * Finds plugin packages by reading package.json files only. The nearest node_modules wins when two folders
 * hold a plugin of the same name, as Node's own resolution would.
 */
export async function discoverPlugins(options: DiscoveryOptions): Promise<DiscoveredPlugin[]> {
  const searchDirs: Array<{ dir: string; patterns: string[] }> = [];
  const seenDirs = new Set<string>();
  for (const root of options.roots) {
    for (const dir of ancestors(root)) {
      const nodeModules = path.join(dir, 'node_modules');
      if (seenDirs.has(nodeModules)) continue;
      seenDirs.add(nodeModules);
      searchDirs.push({ dir: nodeModules, patterns: NODE_MODULES_PATTERNS });
    }
  }
  for (const folder of options.folders ?? []) searchDirs.push({ dir: path.resolve(folder), patterns: FOLDER_PATTERNS });

  const found: DiscoveredPlugin[] = [];
  const seenPackages = new Set<string>();
  for (const { dir, patterns } of searchDirs) {
    const manifests = await fg(patterns, { cwd: dir, absolute: true, onlyFiles: true, followSymbolicLinks: true, suppressErrors: true, deep: 3 });
    manifests.sort();
    for (const manifestPath of manifests) {
      let real: string;
      try {
        real = await realpath(path.dirname(manifestPath));
      } catch {
        continue;
      }
      if (seenPackages.has(real)) continue;
      seenPackages.add(real);
      const plugin = await readManifest(real, dir);
      if (plugin) found.push(plugin);
    }
  }
  return found;
}

async function readManifest(dir: string, source: string): Promise<DiscoveredPlugin | undefined> {
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
      problems: [`package.json cannot be read: ${(error as Error).message}`],
    };
  }
  const manifest = pkg['imspect'];
  const keywords = Array.isArray(pkg['keywords']) ? (pkg['keywords'] as unknown[]) : [];
  // A package in a configured folder that is not an imspect plugin at all is ignored, not reported.
  if ((typeof manifest !== 'object' || manifest === null) && !keywords.includes('imspect-plugin')) return undefined;
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
    problems,
  };
}

/** `@imspect/plugin-irc` -> `irc`, `imspect-plugin-foo` -> `foo`, `@imspect/logger-csv` -> `logger-csv`. */
export function pluginNameFromPackage(packageName: string): string {
  const bare = packageName.replace(/^@[^/]+\//, '');
  return bare.replace(/^imspect-plugin-/, '').replace(/^plugin-/, '');
}
