/**
 * `imspect plugins install|remove|update|link|unlink`: changes to imspect's plugin folder (see ./folder.ts). A
 * plugin is checked before anything is swapped in: its `imspect` field (kind, host range against this imspect,
 * a name no built-in or other plugin has), then an import of its entry and its export, as `imspect start` would.
 */
import { createHash } from 'node:crypto';
import { copyFile, lstat, mkdir, readFile, readdir, rename, rm, rmdir, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
// The two functions alone: all of semver is dozens of modules for `plugins list` to load.
import satisfies from 'semver/functions/satisfies.js';
import validRange from 'semver/ranges/valid.js';
import { ImspectError, describeError, type PluginLogger } from '@imspect/sdk';
import type { PluginSection } from '../config/schema.js';
import { LINKED_DIR, discoverPlugins, linkedPluginLinks, readPluginManifest, type DiscoveredPlugin } from '../runtime/discovery.js';
import { loadPlugins } from '../runtime/loader.js';
import { TARBALLS_DIR, ensurePluginFolder, pluginDirOf, readFolderManifest, stagingDirOf, withStagedPluginFolder } from './folder.js';
import { runNpm, type NpmCommand } from './npm.js';

export interface PluginFolderOptions {
  /** imspect's data folder; the plugin folder is `<dataDir>/plugins`. */
  dataDir: string;
  /** The CLI's package folder: its plugin dependencies are the built-in plugins, whose names are taken. */
  builtinFrom?: string | undefined;
  /** The running imspect's version, checked against each plugin's `imspect.host`. */
  hostVersion: string;
  /** The configuration's plugin sections: a plugin's options are checked against its schema (a warning only). */
  sections?: Record<string, PluginSection>;
  /** Where relative paths given on the command line are resolved (the working directory). */
  cwd?: string;
  /** One line per step (`npm install ...`), for the person waiting. */
  progress?: (line: string) => void;
  npm?: NpmCommand;
}

/** What a plugin folder entry is, as the commands report it. */
export interface PluginSummary {
  name: string;
  packageName: string;
  version: string;
  kind: string | undefined;
  hostRange: string | undefined;
  dir: string;
}

export interface InstallResult {
  plugin: PluginSummary;
  /** The version installed before, when this replaced one. */
  previousVersion: string | undefined;
  /** What npm recorded in the plugin folder's package.json (a range, a tarball copy, a git URL). */
  savedSpec: string;
  warnings: string[];
}

const NPM_FLAGS = ['--install-links=false', '--no-audit', '--no-fund'];

const silentLogger: PluginLogger = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
} as unknown as PluginLogger;

function summary(plugin: DiscoveredPlugin): PluginSummary {
  return { name: plugin.name, packageName: plugin.packageName, version: plugin.version, kind: plugin.kind, hostRange: plugin.hostRange, dir: plugin.dir };
}

/** A failed plugin-folder change: names the plugin (or what was asked for) and says that nothing changed. */
export class PluginFolderError extends ImspectError {
  constructor(action: string, what: string, cause: string, code: string) {
    // The plugin is named in the message (not as `plugin`, which the CLI would name a second time).
    super(`cannot ${action} ${what}: ${cause}`, { code });
    this.name = 'PluginFolderError';
  }
}

type LocalSpec = { type: 'folder' | 'tarball'; path: string } | { type: 'npm' };

/** A folder or a tarball on disk, or else something npm resolves (a name with a version or range, a git URL). */
async function classify(spec: string, cwd: string): Promise<LocalSpec> {
  // As npm reads a spec: a path only when it looks like one (`./x`, `../x`, `/x`, `~/x`, `.`, `file:`, a tarball
  // name); a bare `name` is a registry name even when a folder of that name is here, and `user/repo` is GitHub's.
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(spec) && !spec.startsWith('file:');
  const looksLocal = !url && (/^(\.{1,2}([\\/]|$)|\/|~[\\/]|file:)/.test(spec) || /\.(tgz|tar\.gz|tar)$/.test(spec));
  if (!looksLocal) return { type: 'npm' };
  const file = path.resolve(cwd, spec.replace(/^file:/, '').replace(/^~(?=[\\/])/, process.env['HOME'] ?? '~'));
  const info = await stat(file).catch(() => undefined);
  if (info?.isDirectory()) return { type: 'folder', path: file };
  if (info?.isFile()) return { type: 'tarball', path: file };
  throw new PluginFolderError('install', spec, `${file} does not exist; nothing was installed`, 'PLUGIN_SPEC_NOT_FOUND');
}

/** Copies a tarball into the folder's `tarballs/`, named by its content, and returns the spec npm installs. */
async function keepTarball(staging: string, tarball: string): Promise<string> {
  const hash = createHash('sha256')
    .update(await readFile(tarball))
    .digest('hex')
    .slice(0, 12);
  const base = path.basename(tarball).replace(/\.(tgz|tar\.gz|tar)$/, '');
  const name = `${base}-${hash}.tgz`;
  await mkdir(path.join(staging, TARBALLS_DIR), { recursive: true, mode: 0o755 });
  await copyFile(tarball, path.join(staging, TARBALLS_DIR, name));
  return `file:${TARBALLS_DIR}/${name}`;
}

/** `npm pack` of a folder (its `prepare` script builds it), as its author would publish it. */
async function packFolder(staging: string, folder: string, options: PluginFolderOptions): Promise<string> {
  const out = path.join(staging, '.pack');
  await mkdir(out, { recursive: true });
  options.progress?.(`packing ${folder} (npm pack)`);
  await runNpm(['pack', folder, '--pack-destination', out, '--loglevel=error'], staging, options.npm);
  const packed = (await readdir(out)).filter((file) => file.endsWith('.tgz'));
  if (packed.length !== 1) throw new Error(`npm pack left ${packed.length} tarballs in ${out}`);
  const spec = await keepTarball(staging, path.join(out, packed[0]!));
  await rm(out, { recursive: true, force: true });
  return spec;
}

/** Tarball copies no dependency refers to any more. */
async function dropUnusedTarballs(staging: string): Promise<void> {
  const used = new Set(
    Object.values((await readFolderManifest(staging)).dependencies)
      .filter((spec) => spec.startsWith(`file:${TARBALLS_DIR}/`))
      .map((spec) => path.basename(spec)),
  );
  for (const file of await readdir(path.join(staging, TARBALLS_DIR)).catch(() => [])) {
    if (!used.has(file)) await rm(path.join(staging, TARBALLS_DIR, file), { force: true });
  }
}

/** Which dependency an install added or changed: the package name npm read from the package itself. */
function installedPackageName(before: Record<string, string>, after: Record<string, string>, npmSpec: string): string | undefined {
  const changed = Object.keys(after).filter((name) => name !== '@imspect/sdk' && after[name] !== before[name]);
  if (changed.length === 1) return changed[0];
  const bySpec = Object.keys(after).filter((name) => after[name] === npmSpec || (npmSpec.startsWith('file:') && after[name]?.endsWith(path.basename(npmSpec))));
  if (bySpec.length === 1) return bySpec[0];
  // The same name and range installed again: npm saved nothing new.
  const named = /^(@[^/@]+\/[^/@]+|[^/@.][^/@]*)(@.*)?$/.exec(npmSpec)?.[1];
  return named !== undefined && named in after ? named : undefined;
}

/**
 * Checks one plugin of a plugin folder as `imspect start` would load it, without setting it up: its manifest,
 * its name against the built-in and the other plugins, the host range, the import and the export. Returns
 * warnings for what does not stop it from being installed (options the configuration does not give yet).
 */
async function checkPlugin(plugin: DiscoveredPlugin, all: readonly DiscoveredPlugin[], options: PluginFolderOptions): Promise<string[]> {
  const fail = (code: string, cause: string): never => {
    throw Object.assign(new Error(cause), { code });
  };
  if (plugin.problems.length > 0) fail('PLUGIN_MANIFEST_INVALID', plugin.problems.join('; '));
  const clash = all.find((other) => other !== plugin && other.name === plugin.name && other.packageName !== plugin.packageName && other.origin !== 'found');
  if (clash) {
    const owner = clash.origin === 'built-in' ? `the built-in plugin ${clash.packageName}` : `${clash.packageName} (${clash.origin}, ${clash.dir})`;
    fail('PLUGIN_NAME_TAKEN', `its name "${plugin.name}" (package.json "imspect.name", else derived from the package name) is already ${owner}'s`);
  }
  if (plugin.packageName === '@imspect/sdk') fail('PLUGIN_MANIFEST_INVALID', '@imspect/sdk is the plugin SDK, not a plugin');
  const section = options.sections?.[plugin.name];
  const { records } = await loadPlugins([plugin], {
    hostVersion: options.hostVersion,
    sections: section ? { [plugin.name]: { ...section, enabled: true } } : {},
    logger: silentLogger,
    dataDir: options.dataDir,
    configDir: options.cwd ?? process.cwd(),
    setup: false,
  });
  const error = records[0]?.error;
  if (!error) return [];
  if (error.code === 'CONFIG_INVALID') return [`its options are not valid yet: ${error.message}`];
  return fail(error.code, `${error.message}${error.cause ? ` (${error.cause})` : ''}`);
}

async function stagedPlugins(staging: string, options: PluginFolderOptions): Promise<DiscoveredPlugin[]> {
  return discoverPlugins({ roots: [], builtinFrom: options.builtinFrom, pluginDir: staging });
}

async function installedVersion(pluginDir: string, packageName: string): Promise<string | undefined> {
  try {
    return (JSON.parse(await readFile(path.join(pluginDir, 'node_modules', packageName, 'package.json'), 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/**
 * `imspect plugins install SPEC`: npm installs SPEC (a name with an optional version or range, a tarball, a
 * folder, a git URL) into a staging copy of the plugin folder; the plugin is checked there; the copy is swapped
 * in only then. Any failure leaves the plugin folder as it was.
 */
export async function installPlugin(spec: string, options: PluginFolderOptions): Promise<InstallResult> {
  const pluginDir = pluginDirOf(options.dataDir);
  let label = spec;
  try {
    return await withStagedPluginFolder(pluginDir, async (staging) => {
      const before = { ...(await readFolderManifest(staging)).dependencies };
      const local = await classify(spec, options.cwd ?? process.cwd());
      let npmSpec = spec;
      if (local.type === 'folder') npmSpec = await packFolder(staging, local.path, options);
      else if (local.type === 'tarball') npmSpec = await keepTarball(staging, local.path);
      const registry = process.env['npm_config_registry'] ?? process.env['NPM_CONFIG_REGISTRY'];
      options.progress?.(`npm install ${local.type === 'npm' ? spec : local.path}${local.type === 'npm' ? ` (registry: ${registry ?? "npm's configured one"})` : ''}`);
      await runNpm(['install', npmSpec, '--save', ...NPM_FLAGS], staging, options.npm);
      const after = (await readFolderManifest(staging)).dependencies;
      const packageName = installedPackageName(before, after, npmSpec);
      if (!packageName) throw new Error(`npm installed ${spec}, but which package it was cannot be told from ${path.join(pluginDir, 'package.json')}`);
      label = packageName;
      const all = await stagedPlugins(staging, options);
      const plugin = all.find((p) => p.origin === 'installed' && p.packageName === packageName);
      if (!plugin) {
        throw Object.assign(new Error(`${packageName} is not an imspect plugin: its package.json has no "imspect" field ({ "kind": ..., "host": ... })`), {
          code: 'PLUGIN_MANIFEST_INVALID',
        });
      }
      label = plugin.name === packageName ? `plugin ${plugin.name}` : `plugin ${plugin.name} (${packageName})`;
      const warnings = await checkPlugin(plugin, all, options);
      await dropUnusedTarballs(staging);
      const previousVersion = before[packageName] !== undefined ? await installedVersion(pluginDir, packageName) : undefined;
      return {
        plugin: { ...summary(plugin), dir: path.join(pluginDir, 'node_modules', packageName) },
        previousVersion,
        savedSpec: after[packageName]!,
        warnings,
      };
    });
  } catch (error) {
    if (error instanceof PluginFolderError) throw error;
    const code = (error as { code?: string }).code ?? 'PLUGIN_INSTALL_FAILED';
    // Paths inside the staging copy are named as they would have been in the folder.
    const cause = describeError(error).replaceAll(stagingDirOf(pluginDir), pluginDir);
    throw new PluginFolderError('install', label, `${cause}; ${pluginDir} is unchanged and nothing was enabled`, code);
  }
}

/** The installed and linked plugins of the plugin folder, as discovery sees them. */
export async function listPluginFolder(options: PluginFolderOptions): Promise<DiscoveredPlugin[]> {
  return (await stagedPlugins(pluginDirOf(options.dataDir), options)).filter((p) => p.origin === 'installed' || p.origin === 'linked');
}

function findByName(plugins: readonly DiscoveredPlugin[], name: string): DiscoveredPlugin[] {
  return plugins.filter((p) => p.name === name || p.packageName === name);
}

export interface RemoveResult {
  plugin: PluginSummary;
  origin: 'installed' | 'linked';
}

/** `imspect plugins remove NAME` (plugin or package name): a link is removed, an installed plugin uninstalled. */
export async function removePlugin(name: string, options: PluginFolderOptions): Promise<RemoveResult> {
  const pluginDir = pluginDirOf(options.dataDir);
  const all = await stagedPlugins(pluginDir, options);
  const matches = findByName(all, name);
  const linked = matches.find((p) => p.origin === 'linked');
  if (linked) return { plugin: summary(linked), origin: 'linked', ...(await unlinkPlugin(name, options)) };
  const installed = matches.find((p) => p.origin === 'installed');
  if (!installed) throw notInFolder('remove', name, matches, pluginDir);
  try {
    await withStagedPluginFolder(pluginDir, async (staging) => {
      options.progress?.(`npm uninstall ${installed.packageName}`);
      await runNpm(['uninstall', installed.packageName, ...NPM_FLAGS], staging, options.npm);
      await dropUnusedTarballs(staging);
    });
  } catch (error) {
    throw new PluginFolderError('remove', `plugin ${installed.name}`, `${describeError(error)}; ${pluginDir} is unchanged`, 'PLUGIN_REMOVE_FAILED');
  }
  return { plugin: summary(installed), origin: 'installed' };
}

function notInFolder(action: string, name: string, matches: readonly DiscoveredPlugin[], pluginDir: string): PluginFolderError {
  const other = matches[0];
  const hint =
    other?.origin === 'built-in'
      ? `it is built in; disable it with \`plugins: { ${other.name}: { enabled: false } }\` in the configuration`
      : other
        ? `it is not installed or linked in ${pluginDir} but ${other.origin === 'folder' ? 'in a configured plugin folder' : 'found'} at ${other.dir}`
        : `no plugin of that name is installed or linked in ${pluginDir} (see imspect plugins list)`;
  return new PluginFolderError(action, name, hint, 'PLUGIN_NOT_INSTALLED');
}

export interface UpdateResult {
  updated: Array<{ plugin: PluginSummary; from: string }>;
  unchanged: PluginSummary[];
  warnings: string[];
}

/**
 * `imspect plugins update [NAME]`: npm updates the installed plugins (or NAME) within the version range saved at
 * install time; every plugin whose version changed is checked again before the result is swapped in. Also links
 * the plugin folder to the running imspect's SDK again (after imspect itself was upgraded or moved).
 */
export async function updatePlugins(name: string | undefined, options: PluginFolderOptions): Promise<UpdateResult> {
  const pluginDir = pluginDirOf(options.dataDir);
  const current = await stagedPlugins(pluginDir, options);
  const installed = current.filter((p) => p.origin === 'installed');
  let targets = installed;
  if (name !== undefined) {
    const matches = findByName(current, name);
    const target = matches.find((p) => p.origin === 'installed');
    if (!target) {
      if (matches.some((p) => p.origin === 'linked')) throw new PluginFolderError('update', name, 'it is linked: it is whatever its folder holds', 'PLUGIN_LINKED');
      throw notInFolder('update', name, matches, pluginDir);
    }
    targets = [target];
  }
  // Nothing installed and no folder yet: nothing to update, and no folder is made for it.
  if (targets.length === 0 && !(await stat(path.join(pluginDir, 'package.json')).catch(() => undefined))) return { updated: [], unchanged: [], warnings: [] };
  let label = name ?? 'the installed plugins';
  try {
    return await withStagedPluginFolder(pluginDir, async (staging) => {
      options.progress?.(`npm update ${targets.map((p) => p.packageName).join(' ') || '(none installed: linking the SDK again)'}`);
      await runNpm(['update', ...targets.map((p) => p.packageName), '--save', ...NPM_FLAGS], staging, options.npm);
      const all = await stagedPlugins(staging, options);
      const result: UpdateResult = { updated: [], unchanged: [], warnings: [] };
      for (const before of targets) {
        const after = all.find((p) => p.origin === 'installed' && p.packageName === before.packageName);
        if (!after) throw new Error(`${before.packageName} is gone after npm update`);
        const shown = { ...summary(after), dir: before.dir };
        if (after.version === before.version) {
          result.unchanged.push(shown);
          continue;
        }
        label = `plugin ${after.name}`;
        for (const warning of await checkPlugin(after, all, options)) result.warnings.push(`${after.name}: ${warning}`);
        result.updated.push({ plugin: shown, from: before.version });
      }
      await dropUnusedTarballs(staging);
      return result;
    });
  } catch (error) {
    if (error instanceof PluginFolderError) throw error;
    const code = (error as { code?: string }).code ?? 'PLUGIN_UPDATE_FAILED';
    throw new PluginFolderError('update', label, `${describeError(error)}; ${pluginDir} is unchanged`, code);
  }
}

export interface LinkResult {
  plugin: PluginSummary;
  link: string;
  warnings: string[];
}

/**
 * `imspect plugins link DIR`: a link in the plugin folder's `linked/` to a plugin being developed, loaded from its
 * folder at the next start (a link comes before an installed copy of the same plugin). Its manifest, name and
 * host range must be right; that it imports is checked too, but only warned about (it may not be built yet).
 */
export async function linkPlugin(dir: string, options: PluginFolderOptions): Promise<LinkResult> {
  const pluginDir = pluginDirOf(options.dataDir);
  const folder = path.resolve(options.cwd ?? process.cwd(), dir);
  const plugin = await readPluginManifest(folder, 'linked').catch((error: unknown) => {
    throw new PluginFolderError('link', dir, describeError(error), 'PLUGIN_SPEC_NOT_FOUND');
  });
  if (!plugin)
    throw new PluginFolderError('link', dir, `${folder}/package.json has no "imspect" field ({ "kind": ..., "host": ... }): not an imspect plugin`, 'PLUGIN_MANIFEST_INVALID');
  const all = await stagedPlugins(pluginDir, options);
  let warnings: string[];
  try {
    const others = all.filter((p) => p.packageName !== plugin.packageName);
    if (plugin.hostRange !== undefined && validRange(plugin.hostRange) && !satisfies(options.hostVersion, plugin.hostRange, { includePrerelease: true })) {
      throw Object.assign(new Error(`needs imspect core ${plugin.hostRange}, this is ${options.hostVersion}`), { code: 'PLUGIN_HOST_MISMATCH' });
    }
    warnings = await checkPlugin(plugin, [...others, plugin], options).catch((error: unknown) => {
      const code = (error as { code?: string }).code ?? '';
      if (code === 'PLUGIN_MANIFEST_INVALID' || code === 'PLUGIN_NAME_TAKEN' || code === 'PLUGIN_HOST_MISMATCH') throw error;
      return [`it does not load yet (${code}: ${describeError(error)}); it is linked all the same and loaded at the next start`];
    });
  } catch (error) {
    throw new PluginFolderError('link', `plugin ${plugin.name}`, `${describeError(error)}; nothing was linked`, (error as { code?: string }).code ?? 'PLUGIN_LINK_FAILED');
  }
  await ensurePluginFolder(pluginDir);
  const link = path.join(pluginDir, LINKED_DIR, plugin.packageName);
  await mkdir(path.dirname(link), { recursive: true, mode: 0o755 });
  // A new link is made beside the old one and renamed over it: the plugin is never missing in between.
  const temporary = `${link}.new-${process.pid}`;
  await rm(temporary, { force: true });
  await symlink(plugin.dir, temporary, 'dir');
  await rename(temporary, link);
  return { plugin: summary(plugin), link, warnings };
}

/** `imspect plugins unlink NAME`: removes a link made by `link` (the plugin's folder itself is left alone). */
export async function unlinkPlugin(name: string, options: PluginFolderOptions): Promise<{ link: string }> {
  const pluginDir = pluginDirOf(options.dataDir);
  const links = await linkedPluginLinks(pluginDir);
  let link = links.get(name);
  if (!link) {
    for (const [packageName, candidate] of links) {
      const plugin = await readPluginManifest(candidate, 'linked').catch(() => undefined);
      if (plugin?.name === name || packageName === name) link = candidate;
    }
  }
  if (!link) {
    // A link whose folder is gone is still removed by its package name (above); anything else is not linked.
    const matches = findByName(await stagedPlugins(pluginDir, options), name);
    throw notInFolder(
      'unlink',
      name,
      matches.filter((p) => p.origin !== 'linked'),
      pluginDir,
    );
  }
  const info = await lstat(link);
  if (!info.isSymbolicLink()) throw new PluginFolderError('unlink', name, `${link} is not a link`, 'PLUGIN_NOT_LINKED');
  await rm(link);
  // An emptied scope folder (linked/@scope) goes too.
  const parent = path.dirname(link);
  if (path.basename(parent).startsWith('@')) await rmdir(parent).catch(() => undefined);
  return { link };
}

export { pluginDirOf };
