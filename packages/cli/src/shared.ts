import { Flags } from '@oclif/core';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PluginKind, PluginLogger } from '@imspect/core';
import type { LoadedConfig } from '@imspect/core/runtime';
import type { PluginRecord } from '@imspect/core/plugins';

/** The CLI package folder: plugins installed next to the CLI are found from here. */
export const CLI_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const configFlag = Flags.string({
  char: 'c',
  description: 'configuration file (default: search for imspect.config.* / .imspectrc* / package.json#imspect in the working directory)',
  helpValue: 'FILE',
});

export function pluginRoots(): string[] {
  return [process.cwd(), CLI_DIR];
}

/**
 * Where a configuration's plugins come from: the CLI's own (built-in), imspect's plugin folder in the data folder
 * (installed, linked), the configured `pluginFolders`, and, found but not enabled unless configured, packages in
 * the node_modules folders above the working directory and the CLI.
 */
export async function discoveryOptions(loaded: LoadedConfig) {
  const { pluginDirOf } = await import('@imspect/core/plugins');
  return { roots: pluginRoots(), builtinFrom: CLI_DIR, pluginDir: pluginDirOf(loaded.dataDir), folders: loaded.config.pluginFolders };
}

/** A message for people: the error's own text, its code, and for plugin errors the plugin and hook. */
export function explain(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const e = error as Error & { code?: string; plugin?: string; hook?: string };
  const where = e.plugin ? ` [plugin ${e.plugin}${e.hook ? `, ${e.hook}` : ''}]` : '';
  return `${e.message}${where}${e.code && !e.message.includes(e.code) ? ` (${e.code})` : ''}`;
}

/**
 * Errors fixed in the configuration or in the files it names (the CA, the data folder, the user to drop to): exit
 * code 2, as for an invalid configuration file. Anything else (a port in use, a failing plugin) is exit code 1.
 */
export function isConfigurationProblem(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return code.startsWith('CONFIG_') || code.startsWith('TLS_CA_') || code.startsWith('DATA_DIR_') || code === 'USER_UNKNOWN' || code === 'GROUP_UNKNOWN';
}

/**
 * Prints an error for people and exits: one plain line per problem on standard error, no stack trace, no
 * re-wrapping (oclif's error formatter folds long lines, which breaks the `file: key: message` lines).
 */
export function failWith(error: unknown, exitCode: number): never {
  process.stderr.write(`imspect: ${explain(error).split('\n').join('\nimspect: ')}\n`);
  process.exit(exitCode);
}

/** Loads the configuration (the given file, or the search in the working directory); exits 2 when it is invalid. */
export async function loadConfigOrExit(configFile: string | undefined) {
  // The configuration entry alone, not `@imspect/core/runtime` (the proxy, TLS, journal): quick commands stay quick.
  const { loadConfig } = await import('@imspect/core/config');
  try {
    return await loadConfig(configFile ? { file: configFile } : {});
  } catch (error) {
    failWith(error, 2);
  }
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

/** A logger that writes `imspect: message` lines to standard error from `level` up. */
export function plainLogger(level: string): PluginLogger {
  const threshold = Math.max(0, LEVELS.indexOf(level));
  const at =
    (name: string) =>
    (first: unknown, message?: string): void => {
      if (LEVELS.indexOf(name) < threshold) return;
      const text = typeof first === 'string' ? first : (message ?? '');
      process.stderr.write(`imspect: ${name === 'info' ? '' : `${name}: `}${text}\n`);
    };
  const logger = { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), fatal: at('fatal'), child: () => logger };
  return logger as unknown as PluginLogger;
}

/**
 * Loads the configuration (exit 2 when it is invalid), discovers every plugin and checks the enabled ones
 * (manifest, host range, import, export, options) without running their `setup`: what `plugins list` reports.
 */
export async function inspectPlugins(configFile: string | undefined, logLevel: string, importCheck?: (record: PluginRecord) => boolean) {
  const loaded = await loadConfigOrExit(configFile);
  return inspectLoadedPlugins(loaded, logLevel, [], importCheck);
}

/**
 * Discovers every plugin of a loaded configuration and checks the enabled ones (manifest, host range, import,
 * export, options). `setupKinds`: kinds whose `setup` runs too (what `config check` checks of their files); the
 * caller closes what it returns in `loaded`.
 */
export async function inspectLoadedPlugins(loaded: LoadedConfig, logLevel: string, setupKinds: readonly PluginKind[] = [], importCheck?: (record: PluginRecord) => boolean) {
  const { discoverPlugins, loadPlugins, HOST_VERSION } = await import('@imspect/core/plugins');
  const discovered = await discoverPlugins(await discoveryOptions(loaded));
  const { records, loaded: setUp } = await loadPlugins(discovered, {
    hostVersion: HOST_VERSION,
    sections: loaded.config.plugins,
    // With no plugin set up, only the loader itself logs (a section for a missing plugin): plain lines do, and
    // loading the operational logger (pino and its pretty printer) would double the time `plugins list` takes.
    logger: setupKinds.length > 0 ? (await import('@imspect/core/runtime')).createOperationalLogger({ level: logLevel }) : plainLogger(logLevel),
    dataDir: loaded.dataDir,
    configDir: loaded.baseDir,
    configFile: loaded.file,
    setup: setupKinds.length > 0,
    setupKinds,
    ...(importCheck ? { importCheck } : {}),
  });
  return { loaded, records, setUp, hostVersion: HOST_VERSION };
}
