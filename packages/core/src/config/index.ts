/**
 * Loading and validating the configuration, without the rest of the runtime: what the CLI's quick commands
 * (`status`, `plugins list`) import, so they do not pay for the proxy, TLS and journal code at start-up.
 */
export { loadConfig, resolveConfig, parseCidr, MODULE_NAME, type LoadedConfig, type LoadConfigOptions } from './load.js';
export { ConfigError, validateAgainst, formatProblems, type ValidationProblem } from './validate.js';
