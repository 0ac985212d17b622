import { constants } from 'node:fs';
import { IdentityRecords } from '../proxy/identity-records.js';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import type { ImEvent } from '@imspect/sdk';
import type { ContentHooks, FilterHooks, LoggerHooks, PluginKind, PluginLogger } from '@imspect/sdk';
import type { ProtocolHooks } from '@imspect/sdk';
import { startListener, type AcceptedConnection, type RunningListener } from '../net/listeners.js';
import { ConnectionLimits } from '../net/connection-limits.js';
import { SharedCounts } from '../net/shared-counts.js';
import { SharedUpstreamPorts } from '../net/upstream-ports.js';
import { DestinationPolicy } from '../net/destination-policy.js';
import { ProxyConnection, type RelayDeps } from '../proxy/connection.js';
import { TurnBudget } from '../proxy/turn-budget.js';
import { EventSink, type LoggerStatus } from '../proxy/event-sink.js';
import { Journal } from '../journal/journal.js';
import { Policy } from '../proxy/policy.js';
import { LocalUsers } from '../proxy/local-users.js';
import { Responses, responseSettings } from '../proxy/responses.js';
import { reloadPolicy, type ReloadResult, type ReloadTargets } from './reload.js';
import { DEFAULT_MAX_FRAME_SIZE, ProtocolRegistry, type RegisteredProtocol } from '../proxy/protocols.js';
import { discoverPlugins, pluginDirOf } from './discovery.js';
import { loadPlugins, type LoadedPlugin, type PluginRecord } from './loader.js';
import { PluginStartError, requiredFailures } from './required-plugins.js';
import { HOST_VERSION } from './version.js';
import { caKeepers, checkWritable, dropPrivileges, handOver, resolveIdentity, type Identity } from './privileges.js';
import { makeDataDir, narrowDataDirLogged, restrictUmask } from './data-dir.js';
import { PluginHost, hookTimeouts, type HookTimeouts } from './plugin-host.js';
import { caFiles, createTlsInterceptor, type TlsInterceptor } from '../tls/interceptor.js';
import type { ListenerConfig } from '../config/schema.js';
import type { BoundListener, SharedChange } from './thread-messages.js';
import { RelayThreads, relayThreadCount } from './relay-workers.js';
import { RemoteJournal } from '../journal/remote.js';
import { journalFolders, relayJournalDir } from '../journal/folders.js';

export interface EngineOptions {
  loaded: LoadedConfig;
  logger: PluginLogger;
  /** Folders whose node_modules (and their ancestors') are searched for plugins. */
  pluginRoots: string[];
  /** The CLI's package folder: its plugin dependencies are the built-in plugins. */
  builtinFrom?: string | undefined;
  debug?: boolean;
  /** How long shutdown waits for loggers to store what is queued; default `loggers.shutdownTimeoutMs` (0: as long as it takes). */
  shutdownGraceMs?: number;
  /** Plugin kinds not to load (e.g. `imspect replay` without `--to-loggers` loads no logger). */
  skipKinds?: PluginKind[];
  /** Hook time limits beyond the configuration's (`setupMs`, `closeMs`; embedding programs, tests). */
  hookTimeouts?: Partial<HookTimeouts>;
  /** Set in a relay thread (runtime/relay-thread.ts): what it binds, and how it tells the others what changed. */
  thread?: RelayThreadSettings;
}

/** A relay thread's part of the whole (see runtime/relay-workers.ts). */
export interface RelayThreadSettings {
  index: number;
  listeners: ListenerConfig[];
  sharedCounts?: SharedArrayBuffer;
  /** The transparent listeners' upstream ports of every thread (net/upstream-ports.ts). */
  upstreamPorts?: SharedArrayBuffer;
  share(change: SharedChange): void;
}

/** One open connection whose protocol is known, as the console's who-is-online list shows it. */
export interface SessionSummary {
  id: string;
  protocol: string;
  /** The protected user, once the protocol has named one. */
  localId?: string;
  client: { ip: string; port: number };
  server: { host: string; port: number };
  /** Milliseconds since the epoch. */
  since: number;
  clientVersion?: string;
  encrypted?: 'tls-port' | 'starttls' | 'tls';
  intercepted?: boolean;
}

export interface EngineStatus {
  listeners: string[];
  dataDir: string;
  connections: number;
  /** The connection limits in force and what they hold (live engines only). */
  limits?: { maxConnections: number; maxPerClient: number; handshakeTimeoutMs: number; idleTimeoutMs: number; active: number; sockets: number; refused: number; summary: string };
  loggers: LoggerStatus[];
}

/**
 * Everything `imspect start` runs: plugins, loggers, policy, listeners, live connections. Lifecycle:
 * `start()` loads and listens, `stop()` stops accepting, ends connections, stores queued events, closes plugins.
 */
export class Engine {
  plugins: PluginRecord[] = [];
  listeners: RunningListener[] = [];
  registry: ProtocolRegistry | undefined;
  sink: EventSink | undefined;
  /** TLS interception settings and the CA (set by {@link start}; replay runs without). */
  tls: TlsInterceptor | undefined;
  private loadedPlugins: LoadedPlugin[] = [];
  private readonly connections = new Set<ProxyConnection>();
  /** Every connection's close listener: one function rather than a closure per connection. */
  private readonly forgetConnection = (connection: ProxyConnection) => {
    this.connections.delete(connection);
  };
  private nextConnectionId = 1;
  private stopping: Promise<void> | undefined;
  /** Shared by every listener; set by {@link start}. */
  limits: ConnectionLimits | undefined;
  /** Calls every plugin hook, with the configured timeouts; closes the plugins. */
  readonly host: PluginHost;
  /** Who is connected through imspect: a message between two of them is judged as its recipient will judge it. */
  private readonly localUsers: LocalUsers;
  /** Who logged in from which client address (for sessions that join mid-way). */
  private readonly identity: IdentityRecords;
  /** The relay threads, when `workers` asks for more than one (this engine is then the main thread's). */
  private threads: RelayThreads | undefined;
  /** The main thread's listeners of the live-event view while relay threads run. */
  private readonly threadEventListeners = new Set<(events: readonly ImEvent[]) => void>();

  constructor(private readonly options: EngineOptions) {
    this.host = new PluginHost({ ...hookTimeouts(options.loaded.config), ...options.hookTimeouts });
    const share = options.thread?.share;
    this.localUsers = new LocalUsers(share ? (from, to) => share({ kind: 'local-user', ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) }) : undefined);
    this.identity = new IdentityRecords(share ? (change, clientIp) => share({ kind: 'identity', change, clientIp }) : undefined);
  }

  get log(): PluginLogger {
    return this.options.logger;
  }

  /**
   * What needs root comes first (reading the CA key, binding the ports), then root is dropped, and only then are
   * the plugins imported and set up: no plugin code runs with root's rights. Connections are held until all of
   * it is done.
   */
  async start(): Promise<void> {
    if (this.options.thread) throw new Error('a relay thread starts with bindThread() and setUpThread()');
    const threads = relayThreadCount(this.options.loaded.config.workers);
    await this.openLive();
    if (threads > 1) return this.startThreads(threads);
    // Connections wait until every port is bound, root is dropped and the plugins are set up.
    let open!: () => void;
    let fail!: (error: unknown) => void;
    const ready = new Promise<void>((resolve, reject) => {
      open = resolve;
      fail = reject;
    });
    ready.catch(() => undefined);
    try {
      await this.listen(ready);
      await this.dropRoot();
      await this.setUpPlugins();
      await this.deliverLeftJournals(0);
      this.relayDeps = { ...this.relayDeps!, tls: this.tls };
      open();
    } catch (error) {
      fail(error);
      await this.stop();
      throw error;
    }
  }

  /**
   * What live relaying needs before any port: the CA, the data folder (narrowed), the notice state. Stops the
   * engine and throws when any of it fails.
   */
  private async openLive(): Promise<void> {
    // Live connections only: replaying a capture (prepare alone) never holds a CA. Read first, while imspect may
    // still be root (the key stays root's after the drop), and before anything is opened: a broken CA is a
    // configuration problem, said at once.
    const { config, dataDir, baseDir } = this.options.loaded;
    const tls = await createTlsInterceptor(config.tls, { dataDir, baseDir }, this.log);
    await this.openDataDir();
    try {
      // An older install (or a folder filled by hand) may have left conversations readable by others. Only a data
      // folder that was itself open can hold such files: a closed one is not walked again at every start.
      if (this.dataDirWasOpen) await narrowDataDirLogged(dataDir, this.log);
      // Only live proxying tells users they are monitored (a replay must not record notices as given).
      await this.responses?.openNotice(path.join(dataDir, 'state', 'monitoring-notice.json'), this.log);
    } catch (error) {
      await this.stop();
      throw error;
    }
    this.tls = tls;
  }

  /** Blocked-message replies and the monitoring notice; set by {@link prepare}. */
  responses: Responses | undefined;

  /** The data folder was open to other users when found (set by {@link prepare}): what it holds is narrowed at start. */
  private dataDirWasOpen = false;

  /** Loads plugins and builds the protocol registry, the policy and the event sink; opens no port (replay). */
  async prepare(): Promise<void> {
    await this.openDataDir();
    await this.setUpPlugins();
  }

  /** The data folder, made private, and the reply settings (files a plugin never reads). */
  private async openDataDir(): Promise<void> {
    const { config, dataDir } = this.options.loaded;
    // Everything created from here on (journal, logs, archive, state, leaf keys) is out of others' reach.
    restrictUmask();
    this.dataDirWasOpen = await makeDataDir(dataDir, this.log);
    this.responses = new Responses(await responseSettings(config.responses));
  }

  /** Imports and sets up the plugins, then builds the protocol registry, the journal, the sink and the policy. */
  private async setUpPlugins(journalConsumers?: readonly string[]): Promise<void> {
    const { config, dataDir, baseDir } = this.options.loaded;
    const skipKinds = [...(this.options.skipKinds ?? []), ...(this.threads ? (['filter', 'content'] as const) : [])];
    const discovered = await discoverPlugins({
      roots: this.options.pluginRoots,
      builtinFrom: this.options.builtinFrom,
      pluginDir: pluginDirOf(dataDir),
      folders: config.pluginFolders,
    });
    const { records, loaded } = await loadPlugins(discovered, {
      hostVersion: HOST_VERSION,
      sections: config.plugins,
      logger: this.log,
      dataDir,
      configDir: baseDir,
      configFile: this.options.loaded.file,
      host: this.host,
      ...(skipKinds.length > 0 ? { skipKinds } : {}),
    });
    this.plugins = records;
    this.loadedPlugins = loaded;
    for (const record of records) {
      if (record.status === 'failed') {
        const optional = config.plugins[record.name]?.optional === true ? ' (optional: imspect runs without it)' : '';
        this.log.error(
          { plugin: record.name, code: record.error?.code, hook: record.error?.hook, cause: record.error?.cause },
          `plugin "${record.name}" not loaded${optional}: ${record.error?.message}`,
        );
      }
    }
    const required = requiredFailures(records, config.plugins);
    if (required.length > 0) {
      // Running on without them would archive nothing or enforce less than configured, and that period would
      // never be stored later: refuse to start, after closing what did start (workers, watchers).
      await this.closePlugins();
      throw new PluginStartError(required);
    }
    const of = <T>(kind: string) => loaded.filter((p) => p.kind === kind).map((p) => ({ name: p.name, hooks: p.hooks as T, section: p.section }));
    const protocols: RegisteredProtocol[] = of<ProtocolHooks>('protocol').map((p) => ({
      name: p.name,
      hooks: p.hooks,
      maxFrameSize: p.section?.maxFrameSize ?? p.hooks.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE,
    }));
    this.registry = new ProtocolRegistry(protocols, config.ports, this.log, this.host);
    const loggers = of<LoggerHooks>('logger');
    const journalConfig = config.loggers.journal;
    // A relay thread journals for the main thread's loggers, into a folder of its own.
    const consumers = journalConsumers ?? loggers.map((l) => l.name);
    const thread = this.options.thread;
    const baseJournalDir = path.resolve(dataDir, journalConfig.dir);
    const journalDir = thread ? relayJournalDir(baseJournalDir, thread.index) : baseJournalDir;
    const journal =
      journalConfig.enabled && consumers.length > 0
        ? await Journal.open({ ...journalConfig, dir: journalDir }, consumers, this.log)
        : thread && consumers.length > 0
          ? Journal.inMemory(consumers, this.log)
          : undefined;
    this.sink = new EventSink(loggers, { ...config.loggers, host: this.host }, this.log, journal);
    const filters = of<FilterHooks>('filter');
    const contents = of<ContentHooks>('content');
    this.policyPlugins = [...filters, ...contents].map((named) => ({ plugin: loaded.find((p) => p.name === named.name)!, named }));
    // Who is connected through imspect: a message between two of them is judged as its recipient will judge it.
    const policy = new Policy(filters, contents, { ...config.pipeline, host: this.host }, this.log, this.responses, this.localUsers);
    if (protocols.length === 0 && thread === undefined) this.log.warn('no protocol plugin is loaded: connections are relayed without being logged');
    if (of('logger').length === 0 && !this.options.skipKinds?.includes('logger')) this.log.warn('no logger plugin is loaded: events are not stored');

    this.relayDeps = {
      registry: this.registry,
      policy,
      sink: this.sink,
      log: this.log,
      options: { ...config.connections, debug: this.options.debug === true, unreadable: config.policy.unreadable },
      identity: this.identity,
      turnBudget: new TurnBudget(),
    };
  }

  /** What every connection (live or replayed) is processed with; set by {@link prepare}. */
  relayDeps: RelayDeps | undefined;

  /**
   * Binds every listener (as root, for low ports). What they need from the plugins (the protocols' ports for
   * `destinations`, their forward routing) is read at the first connection, which waits for `ready`: by then the
   * plugins are set up.
   */
  private async listen(ready: Promise<void>): Promise<void> {
    const { config } = this.options.loaded;
    const thread = this.options.thread;
    const limits = (this.limits = connectionLimits(config.connections, this.log, thread?.sharedCounts));
    let destinations: DestinationPolicy | undefined;
    for (const listenerConfig of thread ? thread.listeners : config.listeners) {
      this.listeners.push(
        await startListener(listenerConfig, {
          log: this.log,
          connectTimeoutMs: config.connections.connectTimeoutMs,
          handshakeTimeoutMs: config.connections.handshakeTimeoutMs,
          limits,
          onConnection: (accepted) => this.accept(accepted, this.relayDeps!),
          acceptAfter: ready,
          forwardRouter: (forward) => forwardRouter(this.host, this.relayDeps!.registry, forward.protocol, forward.upstream.port, this.log),
          destinations: () => (destinations ??= destinationPolicy(config, this.relayDeps!.registry)),
          ...(thread ? { reusePort: true } : {}),
          ...(thread?.upstreamPorts ? { upstreamPorts: new SharedUpstreamPorts(thread.upstreamPorts) } : {}),
        }),
      );
    }
  }

  /** With `user` configured: the data folder goes to that user, then root is dropped for good. */
  private async dropRoot(): Promise<void> {
    const { config, dataDir } = this.options.loaded;
    if (config.user === undefined) return;
    const identity = resolveIdentity(config.user, config.group);
    if (process.getuid?.() === 0) {
      // The CA key was read above, as root: it stays root's, out of the unprivileged process's reach. So does the
      // plugin folder, when there is one: commands run as root import its code.
      const pluginDir = pluginDirOf(dataDir);
      const hasPluginDir = await stat(pluginDir).then(
        () => true,
        () => false,
      );
      const keep = caKeepers(dataDir, Object.values(caFiles(config.tls, dataDir)));
      const { reclaimed } = await handOver(dataDir, identity, hasPluginDir ? [...keep, pluginDir] : keep);
      const caReclaimed = reclaimed.filter((entry) => entry !== pluginDir);
      if (caReclaimed.length > 0)
        this.log.warn(
          { reclaimed: caReclaimed },
          `the CA files were ${identity.user}'s (an older imspect handed them over): root's again; if ${identity.user} may have been compromised, make a new CA (imspect ca init --force)`,
        );
      if (reclaimed.includes(pluginDir))
        this.log.warn({ pluginDir }, `the plugin folder was ${identity.user}'s: root's again; reinstall its plugins if ${identity.user} may have changed them`);
    }
    dropPrivileges(identity);
    await checkWritable([dataDir], identity);
    if (this.tls?.authority) await this.checkCaOutOfReach(identity);
    this.log.info({ user: identity.user, uid: identity.uid, group: identity.group, gid: identity.gid }, `running as ${identity.user}:${identity.group} (root dropped)`);
  }

  /**
   * The CA key was read as root; the unprivileged process must not be able to read it again or put another in
   * its place (the next start would sign with it). Said loudly when the files allow either.
   */
  private async checkCaOutOfReach(identity: Identity): Promise<void> {
    const key = this.tls!.authority!.ca.files.key;
    const readable = await access(key, constants.R_OK).then(
      () => true,
      () => false,
    );
    // A writable folder lets the key be renamed away and replaced, unless it is sticky and the key not the user's.
    const folderWritable = await access(path.dirname(key), constants.W_OK).then(
      () => true,
      () => false,
    );
    const sticky = async () => {
      const [folder, file] = await Promise.all([stat(path.dirname(key)), stat(key)]);
      return (folder.mode & 0o1000) !== 0 && file.uid !== identity.uid;
    };
    const replaceable = folderWritable && !(await sticky().catch(() => false));
    if (readable)
      this.log.warn({ key }, `${key}: the CA key is readable by ${identity.user} after dropping root: make it root's with mode 0600 (chown root: ${key}; chmod 600 ${key})`);
    if (replaceable)
      this.log.warn(
        { key },
        `${key}: ${identity.user} may replace the CA key (its folder is writable after dropping root): keep it in a folder only root may write (the default: ca/ in dataDir)`,
      );
  }

  private accept(accepted: AcceptedConnection, deps: RelayDeps): void {
    if (this.stopping) {
      accepted.client.destroy();
      accepted.upstream.destroy();
      return;
    }
    const connection = new ProxyConnection(
      accepted.client,
      accepted.upstream,
      {
        // Threads number their connections apart: `2.15` is the second thread's fifteenth.
        id: this.options.thread ? `${this.options.thread.index + 1}.${this.nextConnectionId++}` : String(this.nextConnectionId++),
        client: accepted.clientAddress,
        server: accepted.destination,
        ...(accepted.protocol ? { protocol: accepted.protocol } : {}),
        ...(accepted.initialClientData ? { initialClientData: accepted.initialClientData } : {}),
        ...(accepted.listenerAddress ? { listener: accepted.listenerAddress } : {}),
        ...(accepted.greeted ? { greeted: true } : {}),
        ...(accepted.via ? { via: accepted.via } : {}),
      },
      deps,
    );
    this.connections.add(connection);
    connection.onClose(this.forgetConnection);
  }

  /** Observe every accepted event. */
  onEvents(listener: (events: readonly ImEvent[]) => void): () => void {
    if (!this.sink) throw new Error('engine not started');
    const threads = this.threads;
    if (!threads) return this.sink.onEvents(listener);
    // The relay threads accept the events: they post them here only while someone watches.
    this.threadEventListeners.add(listener);
    if (this.threadEventListeners.size === 1) threads.watchEvents(true);
    return () => {
      if (this.threadEventListeners.delete(listener) && this.threadEventListeners.size === 0) threads.watchEvents(false);
    };
  }

  /**
   * The open connections, protocol known or not (`unparsed`), for the console: nothing of a connection's
   * internals. With relay threads, each thread is asked (hence the promise).
   */
  sessions(): SessionSummary[] | Promise<SessionSummary[]> {
    if (this.threads) return this.threads.ask<SessionSummary[]>('sessions').then((lists) => lists.flat());
    const list: SessionSummary[] = [];
    for (const c of this.connections) {
      list.push({
        id: c.id,
        protocol: c.protocol?.name ?? 'unparsed',
        ...(c.localId !== undefined ? { localId: c.localId } : {}),
        client: { ip: c.client.ip, port: c.client.port },
        server: { host: c.server.host, port: c.server.port },
        since: c.startedAt,
        ...(c.clientVersion !== undefined ? { clientVersion: c.clientVersion } : {}),
        ...(c.encrypted !== undefined ? { encrypted: c.encrypted } : {}),
        ...(c.intercepted !== undefined ? { intercepted: true } : {}),
      });
    }
    return list;
  }

  status(): EngineStatus {
    return {
      listeners: this.listeners.map((l) => l.url),
      dataDir: this.options.loaded.dataDir,
      // With relay threads the connections are theirs: the shared counts hold them all.
      connections: this.threads ? (this.limits?.activeInAll ?? 0) : this.connections.size,
      ...(this.limits
        ? {
            limits: {
              maxConnections: this.limits.maxConnections,
              maxPerClient: this.limits.maxPerClient,
              handshakeTimeoutMs: this.limits.handshakeTimeoutMs,
              idleTimeoutMs: this.options.loaded.config.connections.idleTimeoutMs,
              active: this.limits.activeInAll,
              sockets: this.limits.sockets,
              refused: this.limits.refused,
              summary: this.limits.describe(),
            },
          }
        : {}),
      loggers: this.sink?.status() ?? [],
    };
  }

  /** SIGHUP: policy changes without a restart (see {@link reloadPolicy}). */
  reload(): Promise<ReloadResult> {
    // One reload at a time: a second SIGHUP waits for the first, then reads the files again.
    const threads = this.threads;
    const run = threads
      ? async (): Promise<ReloadResult> => {
          // The policy plugins are the threads': each reloads its own; the responses are the main thread's too.
          const [own, theirs] = await Promise.all([
            reloadPolicy({ loaded: this.options.loaded, policyPlugins: [], responses: this.responses, log: this.log }),
            threads.ask<ReloadResult>('reload'),
          ]);
          return mergeReloads([own, ...theirs]);
        }
      : () =>
          reloadPolicy({
            loaded: this.options.loaded,
            policyPlugins: this.policyPlugins,
            responses: this.responses,
            ...(this.relayDeps ? { relayOptions: this.relayDeps.options } : {}),
            log: this.log,
          });
    this.reloading = this.reloading.then(run, run);
    return this.reloading;
  }

  private reloading: Promise<ReloadResult> = Promise.resolve({ ok: true, problems: [], reconfigured: [] });

  /** Filter and content plugins with the entries the policy judges with (for reloads). */
  private policyPlugins: ReloadTargets['policyPlugins'] = [];

  private readonly abortShutdown = new AbortController();

  /** Stop waiting for loggers during shutdown (a second Ctrl-C); what is left is reported as not stored. */
  abortStop(): void {
    this.abortShutdown.abort();
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    if (this.threads) return this.stopThreads(this.threads);
    await this.endRelaying();
    if (this.sink) {
      await this.sink.close({
        closeLoggers: false,
        graceMs: this.options.shutdownGraceMs ?? this.options.loaded.config.loggers.shutdownTimeoutMs,
        signal: this.abortShutdown.signal,
      });
    }
    await this.responses?.close();
    await this.closePlugins();
  }

  /**
   * The main thread with relay threads: the threads bind (as root), root is dropped for the whole process, the
   * main thread sets up the loggers (and the protocols, for the start banner and the console), then the threads
   * set up their plugins and journals, and the loggers read those journals. Journal folders of threads from an
   * earlier run with more threads are read too, so nothing they hold is left behind.
   */
  private async startThreads(count: number): Promise<void> {
    const { config } = this.options.loaded;
    const sharedCounts = SharedCounts.create().buffer;
    const upstreamPorts = SharedUpstreamPorts.create().buffer;
    const threads = (this.threads = new RelayThreads({
      count,
      loaded: this.options.loaded,
      pluginRoots: this.options.pluginRoots,
      builtinFrom: this.options.builtinFrom,
      debug: this.options.debug === true,
      hookTimeouts: this.options.hookTimeouts,
      log: this.log,
      logLevel: (this.log as { level?: string }).level ?? 'info',
      sharedCounts,
      upstreamPorts,
      onShare: (change) => {
        if (change.kind === 'notice') this.responses?.notices?.record(change.key, change.at);
      },
      onEvents: (events) => {
        for (const listener of this.threadEventListeners) {
          try {
            listener(events);
          } catch (error) {
            this.log.error({ err: error }, 'event listener failed');
          }
        }
      },
    }));
    try {
      this.limits = connectionLimits(config.connections, this.log, sharedCounts);
      this.listeners = (await threads.bind()).map((bound) => boundListener(bound));
      await this.dropRoot();
      await this.setUpPlugins();
      const consumers = this.sink!.loggerNames;
      const ports = await threads.setUp(consumers);
      for (const port of ports) this.sink!.addJournal(await RemoteJournal.connect(port, this.log));
      await this.deliverLeftJournals(count);
      // The console and the banner show the threads' filters and content plugins (the main thread loads none).
      const theirs = threads.plugins.filter((p) => p.kind === 'filter' || p.kind === 'content');
      this.plugins = [...this.plugins.filter((p) => !theirs.some((t) => t.name === p.name)), ...theirs];
      this.log.info({ threads: count }, `relaying in ${count} threads`);
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /**
   * The journals of relay threads from an earlier run that this run does not have (all of them without threads,
   * those past the last thread with fewer): opened here, so the loggers still get what they hold.
   */
  private async deliverLeftJournals(threadsNow: number): Promise<void> {
    const { config, dataDir } = this.options.loaded;
    const journalConfig = config.loggers.journal;
    const consumers = this.sink?.loggerNames ?? [];
    if (!journalConfig.enabled || consumers.length === 0) return;
    const base = path.resolve(dataDir, journalConfig.dir);
    for (const folder of await journalFolders(base)) {
      // `relay-<i>` (journalFolders lists no other): thread i of this run reads its own.
      if (Number(path.basename(folder).slice('relay-'.length)) < threadsNow) continue;
      const journal = await Journal.open({ ...journalConfig, dir: folder }, consumers, this.log);
      const pending = Math.max(...consumers.map((c) => journal.pending(c)));
      if (pending > 0) this.log.info({ journal: folder, pending }, `delivering ${pending} events left in ${folder} by an earlier run with more relay threads`);
      this.sink!.addJournal(journal);
    }
  }

  private async stopThreads(threads: RelayThreads): Promise<void> {
    threads.stopping();
    // Each thread stops accepting and ends its connections; their events are journaled by then.
    await threads.ask('stop-relay');
    this.limits?.close();
    if (this.sink) {
      await this.sink.close({
        closeLoggers: false,
        graceMs: this.options.shutdownGraceMs ?? this.options.loaded.config.loggers.shutdownTimeoutMs,
        signal: this.abortShutdown.signal,
      });
    }
    await threads.terminate();
    await this.responses?.close();
    await this.closePlugins();
  }

  /**
   * A relay thread's first step (as root): the CA, the data folder, the notice state (shared), the listeners
   * (bound with SO_REUSEPORT; connections held until {@link setUpThread}).
   */
  async bindThread(): Promise<BoundListener[]> {
    const thread = this.options.thread;
    if (!thread) throw new Error('bindThread() is for relay threads');
    const { config, dataDir, baseDir } = this.options.loaded;
    // The main thread read the same CA and said what it had to say about it.
    const tls = await createTlsInterceptor(config.tls, { dataDir, baseDir }, quietLogger(this.log));
    await this.openDataDir();
    await this.responses?.openNotice(path.join(dataDir, 'state', 'monitoring-notice.json'), this.log, {
      sent: (key, at) => thread.share({ kind: 'notice', key, at }),
    });
    if (this.responses) this.responses.onBlockedReply = (key, at) => thread.share({ kind: 'blocked-reply', key, at });
    this.tls = tls;
    this.threadReady = new Promise<void>((resolve, reject) => {
      this.openThread = resolve;
      this.failThread = reject;
    });
    this.threadReady.catch(() => undefined);
    await this.listen(this.threadReady);
    return this.listeners.map((l) => ({ url: l.url, address: l.address, config: l.config }));
  }

  private threadReady: Promise<void> | undefined;
  private openThread: (() => void) | undefined;
  private failThread: ((error: unknown) => void) | undefined;

  /** A relay thread's second step (root dropped): its plugins, and its journal for the main thread's loggers. */
  async setUpThread(consumers: readonly string[]): Promise<void> {
    try {
      await this.setUpPlugins(consumers);
      this.relayDeps = { ...this.relayDeps!, tls: this.tls };
      this.openThread?.();
    } catch (error) {
      this.failThread?.(error);
      throw error;
    }
  }

  /** A change another relay thread made to the state they keep alike. */
  applyShared(change: SharedChange): void {
    if (change.kind === 'notice') this.responses?.notices?.learn(change.key, change.at);
    else if (change.kind === 'blocked-reply') this.responses?.learnBlockedReply(change.key, change.at);
    else if (change.kind === 'local-user') this.localUsers.applyMove(change.from, change.to);
    else this.identity.apply(change.change, change.clientIp);
  }

  /** A relay thread stops accepting and ends its connections (its journal stays open for the loggers). */
  async stopRelay(): Promise<void> {
    this.stopping ??= Promise.resolve();
    this.failThread?.(new Error('stopping'));
    await this.endRelaying();
  }

  /** Stops accepting and ends every connection (their events are journaled by then); releases the limits. */
  private async endRelaying(): Promise<void> {
    // Stop accepting at once; a listener's close completes only when its connections have closed, so it is
    // awaited after they are ended (awaiting it first waited forever on any open chat).
    const listenersClosed = Promise.all(this.listeners.map((l) => l.close().catch(() => undefined)));
    // Ask every connection to end: each direction forwards what it has, then half-closes.
    for (const connection of this.connections) connection.end();
    const deadline = Date.now() + 2_000;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const connection of this.connections) connection.destroy('shutdown');
    await listenersClosed;
    this.limits?.close();
  }

  /** A relay thread's last step: its plugins are closed (its journal was closed by the main thread's loggers). */
  async closeThread(): Promise<void> {
    await this.responses?.close();
    await this.closePlugins();
  }

  /**
   * Closes every plugin set up, in the reverse order of their setup, each within its close timeout (see
   * {@link PluginHost.closeInReverse}); loggers too, after the sink's last write and flush. Once only.
   */
  private async closePlugins(): Promise<void> {
    const plugins = this.loadedPlugins;
    this.loadedPlugins = [];
    await this.host.closeInReverse(plugins, this.log);
  }
}

/** The `destinations` policy; `ports: 'protocols'` means the loaded protocols' ports, TLS ports and the `ports` section. */
function destinationPolicy(config: LoadedConfig['config'], registry: ProtocolRegistry): DestinationPolicy {
  const protocolPorts = new Set<number>([...registry.ports.keys(), ...Object.keys(config.ports).map(Number)]);
  for (const protocol of registry.all) for (const port of protocol.hooks.tlsPorts ?? []) protocolPorts.add(port);
  return new DestinationPolicy(config.destinations, { protocolPorts });
}

/** The `routeForward` hook of the protocol a forward listener serves (by its setting, else its upstream port). */
function forwardRouter(host: PluginHost, registry: ProtocolRegistry, protocolName: string | undefined, port: number, log: PluginLogger) {
  const protocol = protocolName ? registry.get(protocolName) : registry.forPort(port);
  if (!protocol?.hooks.routeForward) return undefined;
  const router = (firstBytes: Uint8Array, client: { ip: string; port: number }) => {
    try {
      return host.call('protocol', protocol.name, protocol.hooks, 'routeForward', firstBytes, client);
    } catch (error) {
      log.error({ plugin: protocol.name, hook: 'routeForward', err: error }, `protocol "${protocol.name}" failed to route a connection; using the listener's upstream`);
      return undefined;
    }
  };
  const greeting = protocol.hooks.forwardGreeting;
  // Copied: the plugin's array is not the listener's to share.
  return greeting instanceof Uint8Array && greeting.length > 0 ? Object.assign(router, { greeting: Uint8Array.from(greeting) }) : router;
}

function boundListener(bound: BoundListener): RunningListener {
  // The threads' sockets: closed by the threads when the engine stops.
  return { config: bound.config, url: bound.url, address: bound.address, close: async () => undefined };
}

/** Several threads' reload results as one: ok when every one was; each problem once. */
function mergeReloads(results: readonly ReloadResult[]): ReloadResult {
  return {
    ok: results.every((r) => r.ok),
    problems: [...new Set(results.flatMap((r) => r.problems))],
    reconfigured: [...new Set(results.flatMap((r) => r.reconfigured))],
  };
}

/** The limits every listener of this engine admits through; with `shared`, counted with the other relay threads. */
function connectionLimits(settings: LoadedConfig['config']['connections'], log: PluginLogger, shared: SharedArrayBuffer | undefined): ConnectionLimits {
  return new ConnectionLimits(settings, log, undefined, undefined, shared ? { shared: SharedCounts.from(shared) } : {});
}

/** Errors only: for steps a relay thread repeats after the main thread, which logged their warnings already. */
function quietLogger(log: PluginLogger): PluginLogger {
  const quiet: PluginLogger = {
    trace: () => undefined,
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: (obj, msg) => log.error(obj, msg),
    child: () => quiet,
  };
  return quiet;
}
