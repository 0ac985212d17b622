/**
 * SIGHUP: policy changes without a restart. Filter and content plugins whose options changed in the
 * configuration are set up again with the new options and swapped in (connections keep going; a frame being
 * judged finishes with the old hooks); the others re-read their own files (`reload()`). The `responses` section
 * is applied again. Whatever fails is reported and the last good version stays in force. Other changes (new
 * plugins, listeners, enabled flags) need a restart, and are said to.
 */
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { formatProblems, validateAgainst } from '../config/validate.js';
import type { RelayOptions } from '../proxy/connection.js';
import type { NamedContent, NamedFilter } from '../proxy/policy.js';
import { responseSettings, type Responses } from '../proxy/responses.js';
import { describeError } from '@imspect/sdk';
import type { ContentHooks, FilterHooks, PluginLogger } from '@imspect/sdk';
import { PluginHost } from './plugin-host.js';
import type { LoadedPlugin } from './loader.js';
import { HOST_VERSION } from './version.js';

export interface ReloadTargets {
  loaded: LoadedConfig;
  /** Filter and content plugins as loaded, each with the entry the policy judges with (its hooks are swapped). */
  policyPlugins: Array<{ plugin: LoadedPlugin; named: NamedFilter | NamedContent }>;
  responses: Responses | undefined;
  /** The connections' options: `unreadable` (policy.unreadable) is replaced in place, so open connections see it too. */
  relayOptions?: RelayOptions;
  log: PluginLogger;
  /** Runs `setup`, `reload` and `close` with their timeouts; default: one with the default timeouts. */
  host?: PluginHost;
}

export interface ReloadResult {
  ok: boolean;
  problems: string[];
  /** Plugins set up again with new options. */
  reconfigured: string[];
}

export async function reloadPolicy(targets: ReloadTargets): Promise<ReloadResult> {
  const { loaded, log } = targets;
  const host = targets.host ?? new PluginHost();
  const problems: string[] = [];
  const reconfigured: string[] = [];
  let fresh: LoadedConfig | undefined;
  if (loaded.file) {
    try {
      fresh = await loadConfig({ file: loaded.file });
    } catch (error) {
      problems.push(describeError(error));
      log.error({ file: loaded.file, err: error }, 'configuration not reloaded (plugins still re-read their files); the settings in force stay');
    }
  }
  for (const { plugin, named } of targets.policyPlugins) {
    const before = JSON.stringify(plugin.section?.options ?? {});
    const section = fresh?.config.plugins[plugin.name];
    if (fresh && section?.enabled === false) log.warn({ plugin: plugin.name }, `plugin "${plugin.name}" is disabled in the configuration now: that takes a restart`);
    if (fresh && JSON.stringify(section?.options ?? {}) !== before) {
      try {
        const hooks = await setUpAgain(host, plugin, section?.options ?? {}, fresh, log);
        const old = named.hooks;
        named.hooks = hooks as never;
        plugin.hooks = hooks as never;
        plugin.section = section;
        reconfigured.push(plugin.name);
        log.info({ plugin: plugin.name }, `plugin "${plugin.name}" set up again with its new options`);
        await closeQuietly(host, plugin, old, log);
      } catch (error) {
        problems.push(describeError(error));
        log.error({ plugin: plugin.name, hook: 'setup', err: error }, `plugin "${plugin.name}" keeps its previous options: ${describeError(error)}`);
      }
      continue;
    }
    if (!named.hooks.reload) continue;
    try {
      await host.callAsync(plugin.kind as 'filter' | 'content', plugin.name, named.hooks, 'reload');
    } catch (error) {
      problems.push(`plugin "${plugin.name}" failed in reload: ${describeError(error)}`);
      log.error({ plugin: plugin.name, hook: 'reload', err: error }, `plugin "${plugin.name}" failed to reload; its last good rules stay in force`);
    }
  }
  if (fresh && targets.relayOptions) targets.relayOptions.unreadable = fresh.config.policy.unreadable;
  if (fresh && targets.responses) {
    try {
      targets.responses.update(await responseSettings(fresh.config.responses));
    } catch (error) {
      problems.push(describeError(error));
      log.error({ err: error }, 'responses not reloaded; the ones in force stay');
    }
  }
  log.info({ problems: problems.length, reconfigured }, problems.length === 0 ? 'reloaded' : 'reloaded with problems');
  return { ok: problems.length === 0, problems, reconfigured };
}

async function setUpAgain(
  host: PluginHost,
  plugin: LoadedPlugin,
  rawOptions: Record<string, unknown>,
  fresh: LoadedConfig,
  log: PluginLogger,
): Promise<FilterHooks | ContentHooks> {
  const options = structuredClone(rawOptions);
  const schema = plugin.plugin.options;
  if (schema) {
    const problems = validateAgainst(schema as object, options, `plugins.${plugin.name}.options`);
    if (problems.length > 0) throw new Error(formatProblems(problems, fresh.file));
  }
  const hooks = await host.setup(plugin.name, plugin.plugin, {
    name: plugin.name,
    logger: log.child({ plugin: plugin.name }),
    options,
    hostVersion: HOST_VERSION,
    dataDir: fresh.dataDir,
    configDir: fresh.baseDir,
  });
  const hook = plugin.kind === 'filter' ? 'check' : 'transform';
  if (typeof (hooks as unknown as Record<string, unknown> | null)?.[hook] !== 'function') throw new Error(`plugin "${plugin.name}": setup() returned no ${hook}() function`);
  return hooks as FilterHooks | ContentHooks;
}

/** The hooks a plugin's previous setup returned, closed once the new ones are in force. */
async function closeQuietly(host: PluginHost, plugin: LoadedPlugin, hooks: FilterHooks | ContentHooks, log: PluginLogger): Promise<void> {
  if (!hooks.close) return;
  try {
    await host.callAsync(plugin.kind as 'filter' | 'content', plugin.name, hooks, 'close');
  } catch (error) {
    log.error({ plugin: plugin.name, hook: 'close', err: error }, `plugin "${plugin.name}" failed to close its previous setup`);
  }
}
