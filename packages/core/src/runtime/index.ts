/** The imspect runtime: what the CLI (and embedding programs) use to run the proxy. */
export { Engine, type EngineOptions, type EngineStatus, type SessionSummary } from './engine.js';
export { discoverPlugins, pluginNameFromPackage, type DiscoveredPlugin, type DiscoveryOptions } from './discovery.js';
export { loadPlugins, resolveEntry, type LoadedPlugin, type PluginRecord, type PluginLoadError, type PluginStatus } from './loader.js';
export { containStrayErrors, pluginOf, type StrayErrorGuard, type PluginLocation } from './stray-errors.js';
export { PluginStartError, requiredFailures, REQUIRED_KINDS } from './required-plugins.js';
export { createOperationalLogger, type OperationalLogger, type LoggingOptions } from './logging.js';
export { HOST_VERSION } from './version.js';
export { uuidv7 } from './ids.js';
export {
  PluginHost,
  HOOKS,
  DEFAULT_HOOK_TIMEOUTS,
  hookTimeouts,
  type HookMap,
  type HookName,
  type HookArgs,
  type HookSpec,
  type HookTable,
  type HookTimeouts,
  type HostedPlugin,
} from './plugin-host.js';
export { loadConfig, resolveConfig, parseCidr, MODULE_NAME, type LoadedConfig, type LoadConfigOptions } from '../config/load.js';
export { ConfigSchema, PluginSectionSchema, type Config, type ListenerConfig, type ResponsesConfig, type ConsoleConfig } from '../config/schema.js';
export { ConfigError, validateAgainst, formatProblems, type ValidationProblem } from '../config/validate.js';
export { closestMatch } from '../config/suggest.js';
export { Socks5Handshake, connectReply, REPLY } from '../net/socks5.js';
export { AllowList } from '../net/allow-list.js';
export { ConnectionLimits, connectionBudget, descriptorLimit, formatDuration } from '../net/connection-limits.js';
export { EventSink, type LoggerStatus } from '../proxy/event-sink.js';
export { Policy, verdictProblem, type FrameDecision } from '../proxy/policy.js';
export { Responses, responseSettings, DEFAULT_RESPONSE_SETTINGS, type ResponseSettings } from '../proxy/responses.js';
export { ProtocolRegistry, type RegisteredProtocol } from '../proxy/protocols.js';
export { ProxyConnection } from '../proxy/connection.js';
export { IdentityRecords } from '../proxy/identity-records.js';
export { replayFile, type CircumventionAttempt, type ReplaySummary, type ReplayedConnection, type ReplayFileOptions } from './replay.js';
export { DatagramWatch, QQ_UDP_PORT, type DatagramFlow } from './replay-datagrams.js';
export { dropPrivileges, handOver, caKeepers, resolveIdentity, rootRefusal, isRoot, checkWritable, type Identity } from './privileges.js';
export { restrictUmask, makeDataDir, narrowDataDir, PRIVATE_UMASK } from './data-dir.js';
export { writePidFile, removePidFile } from './pid-file.js';
export { originalDestination, parseSockaddr, socketFd, type OriginalDestination } from '../net/original-destination.js';
export { HttpConnectRequest, parseAuthority, httpResponse } from '../net/http-connect.js';
export * from '../tls/index.js';
export { Journal, DEFAULT_JOURNAL_OPTIONS, readJournalState, segmentsOnDisk, STATE_FILE, type JournalOptions, type JournalState, type ConsumerState } from '../journal/index.js';
