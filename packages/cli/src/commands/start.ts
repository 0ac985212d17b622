import { Command, Flags } from '@oclif/core';
import { setFlagsFromString } from 'node:v8';
import { policySummary } from '../policy-summary.js';
import { readConsoleCertificateFiles, startConsoleFor } from '../console-start.js';
import { configFlag, explain, failWith, isConfigurationProblem, loadConfigOrExit, pluginRoots, CLI_DIR } from '../shared.js';

/** One line on what happens to encrypted connections. */
function tlsSummary(tls: { authority?: { ca: { files: { cert: string } } } | undefined; config: { action: string } } | undefined): string {
  if (!tls) return 'off';
  if (!tls.authority) return 'no CA: encrypted connections pass through unread (run `imspect ca init` to intercept them)';
  return `default ${tls.config.action}, CA ${tls.authority.ca.files.cert}`;
}

/** Signals closer together than this are one key press delivered twice (see the stop handler). */
const DUPLICATE_SIGNAL_MS = 500;

export default class Start extends Command {
  static override summary = 'Start the proxy: listen, parse IM traffic, apply policy, log conversations';
  static override description =
    `With no configuration file, imspect runs on its embedded defaults: a SOCKS5 proxy on 127.0.0.1:1080 (loopback clients only), every discovered plugin enabled, CSV logs and an SQLite archive under ./imspect-data. Stop it with Ctrl-C or SIGTERM: connections are ended and queued log entries are written first.`;
  static override examples = ['<%= config.bin %> start', '<%= config.bin %> start --config /etc/imspect/imspect.config.yaml', '<%= config.bin %> start --debug'];
  static override flags = {
    config: configFlag,
    debug: Flags.boolean({ description: 'frame-level detail in the operational log (sets the level to debug)' }),
    'log-format': Flags.string({ options: ['auto', 'pretty', 'json'], description: 'operational log format (default: pretty on a terminal, JSON otherwise)' }),
    'allow-root': Flags.boolean({ description: 'keep running as root when started as root with no `user` configured (as `allowRoot: true`)' }),
  };

  async run(): Promise<void> {
    // Relaying allocates a few short-lived objects per message. V8's allocation-site pretenuring takes a burst
    // of them for long-lived data and allocates it straight into the old generation, where it dies and needs
    // full collections: without it, less CPU per message and a smaller peak heap under load (bench/messages).
    // Read at collection time, so setting it before the first connection takes effect.
    setFlagsFromString('--no-allocation-site-pretenuring');
    const { flags } = await this.parse(Start);
    const { containStrayErrors, createOperationalLogger, Engine, rootRefusal, resolveIdentity, writePidFile, removePidFile, formatDuration } = await import(
      '@imspect/core/runtime'
    );
    const loaded = await loadConfigOrExit(flags.config);
    const { config } = loaded;
    // The embedded defaults are the try-it-out set-up (a loopback-only SOCKS5 proxy on an unprivileged port), so
    // the README's `pnpm start` works as root too; a configuration file is a deployment, and there root must be
    // dropped (`user`) or kept on purpose (`allowRoot`).
    const trialAsRoot = loaded.file === undefined && rootRefusal(config) !== undefined;
    const refusal = trialAsRoot ? undefined : rootRefusal(config, flags['allow-root']);
    if (refusal) failWith(new Error(refusal), 2);
    try {
      // An unknown user or group is a configuration mistake: said before anything is loaded or bound.
      if (config.user !== undefined) resolveIdentity(config.user, config.group);
    } catch (error) {
      failWith(error, 2);
    }
    const logger = createOperationalLogger({
      level: flags.debug ? 'debug' : config.log.level,
      format: (flags['log-format'] as 'auto' | 'pretty' | 'json' | undefined) ?? config.log.format,
    });
    const engine = new Engine({ loaded, logger, pluginRoots: pluginRoots(), builtinFrom: CLI_DIR, debug: flags.debug });
    // From before the plugins' setup on: an error a plugin or its library raises where nobody handles it is
    // logged with the plugin's name and contained, not the end of every chat (why: runtime/stray-errors.ts).
    containStrayErrors(logger, () => engine.plugins);
    const pidFile = config.pidFile;
    let webConsole: Awaited<ReturnType<typeof startConsoleFor>>;
    try {
      // Before the engine drops root: the pid file usually lives in a folder only root may write, and so do
      // the console's certificate files.
      if (pidFile) await writePidFile(pidFile);
      const consoleCertificate = await readConsoleCertificateFiles(loaded);
      await engine.start();
      try {
        webConsole = await startConsoleFor(engine, loaded, consoleCertificate, () => tlsSummary(engine.tls));
      } catch (error) {
        // A console that was asked for and cannot start (port in use, no certificate) is a start-up error.
        await engine.stop();
        throw error;
      }
    } catch (error) {
      if (pidFile) await removePidFile(pidFile);
      // A configuration problem (a broken CA, a configured logger or filter that cannot start, ...) gets the plain
      // `imspect: file: problem` line and exit code 2, like a bad key.
      const code = (error as { code?: unknown }).code;
      if (isConfigurationProblem(error) || code === 'PLUGIN_START_FAILED') failWith(error, 2);
      if (code === 'CONSOLE_LISTEN_FAILED') failWith(error, 1);
      logger.fatal({ err: error }, explain(error));
      this.exit(1);
    }
    if (trialAsRoot && !flags['allow-root']) {
      logger.warn('running as root on the embedded defaults (loopback only); a configuration file must set `user` to drop root, or `allowRoot: true`');
    }
    const loadedPlugins = engine.plugins.filter((p) => p.status === 'loaded');
    const failed = engine.plugins.filter((p) => p.status === 'failed');
    const policy = policySummary({
      filters: loadedPlugins.filter((p) => p.kind === 'filter').map((p) => p.name),
      plugins: config.plugins,
      baseDir: loaded.baseDir,
      failMode: config.pipeline.failMode,
      unreadable: config.policy.unreadable,
      responses: config.responses,
    });
    logger.info(
      {
        config: loaded.file ?? '(embedded defaults)',
        listeners: engine.listeners.map((l) => l.url),
        ...(webConsole ? { console: webConsole.url } : {}),
        dataDir: loaded.dataDir,
        plugins: loadedPlugins.map((p) => `${p.name}@${p.version}`),
        limits: engine.limits?.describe(),
        ports: [...(engine.registry?.ports ?? new Map()).entries()].map(([port, p]) => `${port}=${p.name}`).join(' '),
        policy,
      },
      'imspect started',
    );
    // Signal handlers go in before the ready message: whoever waits for that message may signal at once.
    const stopped = new Promise<void>((resolve) => {
      let stopping = false;
      let abortedWait = false;
      let lastSignalAt = 0;
      const stop = (signal: NodeJS.Signals) => {
        const now = Date.now();
        // One Ctrl-C can arrive twice: the terminal sends it to the whole process group, and a script runner in
        // that group (`pnpm start`) forwards its own copy to imspect. A repeat within DUPLICATE_SIGNAL_MS of the
        // last one counts as that same key press, so only a deliberate second Ctrl-C stops waiting for loggers.
        if (stopping && now - lastSignalAt < DUPLICATE_SIGNAL_MS) {
          logger.debug({ signal }, 'signal repeated within the same key press: ignored');
          return;
        }
        lastSignalAt = now;
        if (stopping) {
          if (abortedWait) {
            logger.warn(`${signal} a third time: exiting now`);
            process.exit(130);
          }
          abortedWait = true;
          logger.warn(`${signal} again: no longer waiting for loggers; what is not stored yet is reported`);
          engine.abortStop();
          return;
        }
        stopping = true;
        logger.info({ signal }, 'stopping: ending connections and writing queued log entries');
        const consoleClosed = webConsole?.close().catch((error: unknown) => logger.warn({ err: error }, 'console: error while closing')) ?? Promise.resolve();
        Promise.all([engine.stop(), consoleClosed]).then(
          async () => {
            if (pidFile && !(await removePidFile(pidFile))) logger.debug({ pidFile }, 'pid file left in place (not writable after dropping root, or not ours)');
            logger.info('imspect stopped');
            resolve();
          },
          (error: unknown) => {
            logger.error({ err: error }, 'error while stopping');
            resolve();
          },
        );
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      // SIGHUP: re-read word lists, ACLs, policies and the responses section without dropping connections.
      process.on('SIGHUP', () => {
        if (stopping) return;
        logger.info('SIGHUP: reloading');
        void engine.reload();
      });
    });
    // The facts a person starting it needs, on standard output whatever the log format.
    this.log(`imspect ${this.config.version} running`);
    this.log(`  config:    ${loaded.file ?? '(none found: embedded defaults)'}`);
    for (const listener of engine.listeners) this.log(`  listening: ${listener.url}`);
    if (webConsole) this.log(`  console:   ${webConsole.url}`);
    this.log(`  data:      ${loaded.dataDir}`);
    this.log(`  tls:       ${tlsSummary(engine.tls)}`);
    if (engine.limits)
      this.log(`  limits:    ${engine.limits.describe()}, idle ${config.connections.idleTimeoutMs === 0 ? 'never closed' : formatDuration(config.connections.idleTimeoutMs)}`);
    this.log(`  plugins:   ${loadedPlugins.map((p) => `${p.name} (${p.kind})`).join(', ') || 'none'}`);
    if (failed.length > 0) this.log(`  failed:    ${failed.map((p) => `${p.name}: ${p.error?.message}`).join('; ')}`);
    this.log(`  filters:   ${policy.filters.join(', ') || 'none'}`);
    this.log(`  notice:    ${policy.notice}`);
    this.log(`  blocked:   ${policy.blocked}`);
    this.log(`  failMode:  ${policy.failMode}`);
    this.log(`  unreadable: ${policy.unreadable}`);
    this.log('Press Ctrl-C to stop.');

    await stopped;
  }
}
