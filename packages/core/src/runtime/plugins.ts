/**
 * Plugin discovery and checking without the proxy (`imspect plugins list`): discovery reads package.json files
 * only; the loader imports the enabled plugins. Kept apart from `./index.ts` so the CLI's quick commands do not
 * import the engine, the listeners and the TLS code.
 */
export { discoverPlugins, pluginDirOf, pluginNameFromPackage, type DiscoveredPlugin, type DiscoveryOptions, type PluginOrigin } from './discovery.js';
export { loadPlugins, resolveEntry, type LoadedPlugin, type PluginRecord } from './loader.js';
export { PluginHost, HOOKS, type HookTimeouts } from './plugin-host.js';
export { createOperationalLogger, type OperationalLogger } from './logging.js';
export { HOST_VERSION } from './version.js';
