import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
// The two functions alone: all of semver is dozens of modules for `plugins list` to load.
import satisfies from 'semver/functions/satisfies.js';
import validRange from 'semver/ranges/valid.js';
import type { PluginSection } from '../config/schema.js';
import { ConfigError, validateAgainst } from '../config/validate.js';
import { ImspectError, describeError } from '@imspect/sdk/errors';
import { isPlugin, type HooksByKind, type ImspectPlugin, type PluginKind, type PluginLogger } from '@imspect/sdk/plugin';
import type { DiscoveredPlugin } from './discovery.js';
import { PluginHost } from './plugin-host.js';

export type PluginStatus = 'loaded' | 'disabled' | 'failed';

export interface PluginLoadError {
  code: string;
  message: string;
  hook?: string;
  cause?: string;
}

export interface PluginRecord extends DiscoveredPlugin {
  enabled: boolean;
  status: PluginStatus;
  error?: PluginLoadError;
  /** Why a plugin is not enabled, and how to enable it, when that is not the configuration's `enabled: false`. */
  reason?: string;
}

export interface LoadedPlugin<K extends PluginKind = PluginKind> {
  record: PluginRecord;
  name: string;
  kind: K;
  plugin: ImspectPlugin<K>;
  hooks: HooksByKind[K];
  section: PluginSection | undefined;
}

export interface LoadPluginsOptions {
  hostVersion: string;
  sections: Record<string, PluginSection>;
  logger: PluginLogger;
  dataDir: string;
  configDir: string;
  /** The configuration file, named in option errors. */
  configFile?: string | undefined;
  /** Only check manifests, the host range and the export (no `setup`): for `imspect plugins list`. */
  setup?: boolean;
  /**
   * With `setup`: run `setup` only for plugins of these kinds, check the others without it (`imspect config check`
   * sets up filters, whose setup only reads their files, and never a logger, whose setup opens its archive).
   */
  setupKinds?: readonly PluginKind[];
  /** The host that runs `setup` (its timeout: `setupMs`); default: one with the default timeouts. */
  host?: PluginHost;
  /** Shorthand for a host whose `setup` limit is this (tests). */
  setupTimeoutMs?: number;
  /** Kinds left disabled whatever the configuration says. */
  skipKinds?: PluginKind[];
  /**
   * Without `setup`: which enabled plugins are imported to check their export (all when absent). The others get
   * their manifest and host range checked only (`plugins list` imports neither built-in plugins nor those checked
   * when they were installed).
   */
  importCheck?: (record: PluginRecord) => boolean;
}

export interface LoadResult {
  records: PluginRecord[];
  loaded: LoadedPlugin[];
}

/**
 * Imports and sets up every enabled plugin. A failure is recorded on that plugin's record, with its name and
 * the step that failed; it never stops the others from loading.
 */
export async function loadPlugins(discovered: readonly DiscoveredPlugin[], options: LoadPluginsOptions): Promise<LoadResult> {
  const records: PluginRecord[] = [];
  const loaded: LoadedPlugin[] = [];
  const byName = new Map<string, PluginRecord>();
  const host = options.host ?? new PluginHost(options.setupTimeoutMs === undefined ? {} : { setupMs: options.setupTimeoutMs });
  for (const found of discovered) {
    const section = options.sections[found.name];
    const skipped = found.kind !== undefined && options.skipKinds?.includes(found.kind) === true;
    // A package merely found in some node_modules runs only when the configuration names it.
    const chosen = found.origin !== 'found' || section !== undefined;
    const record: PluginRecord = { ...found, enabled: section?.enabled !== false && !skipped && chosen, status: 'disabled' };
    if (!chosen) record.reason = notChosenReason(found);
    records.push(record);
    const earlier = byName.get(found.name);
    if (earlier) {
      record.enabled = false;
      record.status = 'failed';
      record.error = { code: 'PLUGIN_DUPLICATE', message: `another plugin named "${found.name}" was found first, in ${earlier.dir}` };
      continue;
    }
    byName.set(found.name, record);
    if (!record.enabled) continue;
    try {
      const result = await loadOne(record, section, options, host);
      record.status = 'loaded';
      if (result) loaded.push(result);
    } catch (error) {
      record.status = 'failed';
      record.error = toLoadError(error);
    }
  }
  for (const name of Object.keys(options.sections)) {
    if (!byName.has(name)) {
      options.logger.warn({ plugin: name }, `configuration has a section for plugin "${name}", but no such plugin was found`);
    }
  }
  return { records, loaded };
}

async function loadOne(record: PluginRecord, section: PluginSection | undefined, options: LoadPluginsOptions, host: PluginHost): Promise<LoadedPlugin | undefined> {
  const fail = (code: string, message: string, hook?: string, cause?: unknown): never => {
    throw new ImspectError(message, { code, plugin: record.name, ...(hook ? { hook } : {}), cause });
  };
  if (record.problems.length > 0) fail('PLUGIN_MANIFEST_INVALID', record.problems.join('; '), 'manifest');
  if (record.hostRange !== undefined) {
    if (!validRange(record.hostRange)) fail('PLUGIN_MANIFEST_INVALID', `"imspect.host" is not a semver range: ${record.hostRange}`, 'manifest');
    if (!satisfies(options.hostVersion, record.hostRange, { includePrerelease: true })) {
      fail('PLUGIN_HOST_MISMATCH', `needs imspect core ${record.hostRange}, this is ${options.hostVersion}`, 'manifest');
    }
  }
  if (options.setup === false && options.importCheck && !options.importCheck(record)) return undefined;
  let entry: string;
  try {
    entry = await resolveEntry(record.dir);
  } catch (error) {
    return fail('PLUGIN_ENTRY_NOT_FOUND', `cannot find the package's entry point: ${describeError(error)}`, 'import', error);
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
  } catch (error) {
    return fail('PLUGIN_IMPORT_FAILED', `import of ${entry} failed: ${describeError(error)}`, 'import', error);
  }
  const plugin = [mod['default'], mod['plugin']].find(isPlugin);
  if (!plugin) fail('PLUGIN_INVALID_EXPORT', 'the module does not export a plugin: export default definePlugin({...})', 'import');
  const checked = plugin as ImspectPlugin;
  if (checked.kind !== record.kind) fail('PLUGIN_KIND_MISMATCH', `package.json says kind "${record.kind}", the plugin says "${checked.kind}"`, 'import');
  if (checked.name !== record.name) {
    options.logger.debug({ plugin: record.name }, `plugin calls itself "${checked.name}"; it is configured as "${record.name}"`);
  }
  const pluginOptions = structuredClone(section?.options ?? {});
  if (checked.options) {
    const problems = validateAgainst(checked.options as object, pluginOptions, `plugins.${record.name}.options`);
    if (problems.length > 0) throw new ConfigError(problems, options.configFile, record.name);
  }
  if (options.setup === false || (options.setupKinds !== undefined && !options.setupKinds.includes(checked.kind))) return undefined;
  const hooks = await host.setup(record.name, checked, {
    name: record.name,
    logger: options.logger.child({ plugin: record.name }),
    options: pluginOptions,
    hostVersion: options.hostVersion,
    dataDir: options.dataDir,
    configDir: options.configDir,
  });
  const shapeProblem = checkHooks(checked.kind, hooks);
  if (shapeProblem) fail('PLUGIN_INVALID_HOOKS', `setup() returned ${shapeProblem}`, 'setup');
  return { record, name: record.name, kind: checked.kind, plugin: checked, hooks: hooks as HooksByKind[PluginKind], section };
}

function checkHooks(kind: PluginKind, hooks: unknown): string | undefined {
  if (typeof hooks !== 'object' || hooks === null) return 'no hooks object';
  const h = hooks as Record<string, unknown>;
  const fn = (key: string) => (typeof h[key] === 'function' ? undefined : `no ${key}() function`);
  switch (kind) {
    case 'protocol':
      if (!Array.isArray(h['ports']) || !(h['ports'] as unknown[]).every((p) => Number.isInteger(p) && (p as number) >= 0 && (p as number) <= 65535)) {
        return 'no valid ports array';
      }
      return fn('createSession');
    case 'filter':
      return fn('check');
    case 'content':
      return fn('transform');
    case 'logger':
      return fn('write');
  }
}

/** The module `import(packageName)` would load, from package.json `exports` / `main`. */
export async function resolveEntry(dir: string): Promise<string> {
  const pkg = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
  const target = pickExport(pkg['exports']) ?? (typeof pkg['main'] === 'string' ? pkg['main'] : 'index.js');
  const entry = path.resolve(dir, target);
  if (!entry.startsWith(dir + path.sep)) throw new Error(`entry ${target} points outside the package`);
  return entry;
}

function pickExport(exports: unknown): string | undefined {
  if (typeof exports === 'string') return exports;
  if (typeof exports !== 'object' || exports === null || Array.isArray(exports)) return undefined;
  const map = exports as Record<string, unknown>;
  const root = Object.keys(map).some((k) => k.startsWith('.')) ? map['.'] : map;
  return pickCondition(root);
}

function pickCondition(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(pickCondition).find((v) => v !== undefined);
  if (typeof value !== 'object' || value === null) return undefined;
  const map = value as Record<string, unknown>;
  for (const condition of ['import', 'node', 'default']) {
    if (condition in map) {
      const picked = pickCondition(map[condition]);
      if (picked) return picked;
    }
  }
  return undefined;
}

function notChosenReason(found: DiscoveredPlugin): string {
  return (
    `found in ${found.source}, but not built in, installed, linked or in pluginFolders, so not enabled: ` +
    `install it (imspect plugins install ${found.dir}) or name it in the configuration (plugins: { ${JSON.stringify(found.name)}: { enabled: true } })`
  );
}

function toLoadError(error: unknown): PluginLoadError {
  const cause = (error as { cause?: unknown }).cause;
  return {
    code: (error as { code?: string }).code ?? 'PLUGIN_LOAD_FAILED',
    message: describeError(error),
    ...((error as { hook?: string }).hook ? { hook: (error as { hook: string }).hook } : {}),
    ...(cause !== undefined && describeError(cause) !== describeError(error) ? { cause: describeError(cause) } : {}),
  };
}
