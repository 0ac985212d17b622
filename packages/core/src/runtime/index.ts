/** The imspect runtime: what the CLI (and embedding programs) use to run the proxy. */
export { Engine, type EngineOptions, type EngineStatus } from './engine.js';
export { discoverPlugins, pluginNameFromPackage, type DiscoveredPlugin, type DiscoveryOptions } from './discovery.js';
export { loadPlugins, resolveEntry, type LoadedPlugin, type PluginRecord, type PluginLoadError, type PluginStatus } from './loader.js';
export { createOperationalLogger, type OperationalLogger, type LoggingOptions } from './logging.js';
export { HOST_VERSION } from './version.js';
export { uuidv7 } from './ids.js';
export { callHook, callHookWithTimeout } from './hooks.js';
export { loadConfig, resolveConfig, parseCidr, MODULE_NAME, type LoadedConfig, type LoadConfigOptions } from '../config/load.js';
export { ConfigSchema, PluginSectionSchema, type Config, type ListenerConfig } from '../config/schema.js';
export { ConfigError, validateAgainst, formatProblems, type ValidationProblem } from '../config/validate.js';
export { Socks5Handshake, connectReply, REPLY } from '../net/socks5.js';
export { AllowList } from '../net/allow-list.js';
export { EventSink, type LoggerStatus } from '../proxy/event-sink.js';
export { Policy, type FrameDecision } from '../proxy/policy.js';
export { ProtocolRegistry, type RegisteredProtocol } from '../proxy/protocols.js';
export { ProxyConnection } from '../proxy/connection.js';
export { replayFile, type ReplaySummary, type ReplayedConnection, type ReplayFileOptions } from './replay.js';
export { Journal, DEFAULT_JOURNAL_OPTIONS, readJournalState, segmentsOnDisk, STATE_FILE, type JournalOptions, type JournalState, type ConsumerState } from '../journal/index.js';
