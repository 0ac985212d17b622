/**
 * The main thread's side of the relay threads (`workers` in the configuration). Each thread is a relay of its
 * own: it binds every listener with SO_REUSEPORT (the kernel spreads new connections over the threads), loads
 * the protocol, filter and content plugins, parses, judges and journals its connections into a journal folder
 * of its own (`<journal>/relay-<i>`), so an event is still written before its frame is forwarded. The main
 * thread keeps the loggers and reads each thread's journal through a port (journal/remote.ts), and passes on
 * the state the threads must keep alike (the monitoring notices sent, who is connected, who logged in where).
 *
 * Start-up runs in steps so that no plugin runs as root: the threads bind (as root), the main thread drops root
 * for the whole process, then the threads set up their plugins.
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { ImEvent, PluginLogger } from '@imspect/sdk';
import type { LoadedConfig } from '../config/load.js';
import type { ListenerConfig } from '../config/schema.js';
import type { PluginRecord } from './loader.js';
import type { HookTimeouts } from './plugin-host.js';
import type { LogLevel } from './port-logger.js';
import { fromThreadError, type BoundListener, type FromThread, type RelayThreadData, type SharedChange, type ThreadRequest, type ToThread } from './thread-messages.js';

/** How many relay threads the `workers` setting asks for (`auto`: one per core the process may use). */
export function relayThreadCount(setting: 'auto' | number | undefined): number {
  if (setting === undefined) return 1;
  return setting === 'auto' ? Math.max(1, availableParallelism()) : setting;
}

export interface RelayThreadsOptions {
  count: number;
  loaded: LoadedConfig;
  pluginRoots: string[];
  builtinFrom?: string | undefined;
  debug: boolean;
  hookTimeouts?: Partial<HookTimeouts> | undefined;
  log: PluginLogger;
  logLevel: string;
  sharedCounts?: SharedArrayBuffer | undefined;
  upstreamPorts?: SharedArrayBuffer | undefined;
  /** A thread changed state the others keep too; it has been passed on to them already. */
  onShare(change: SharedChange, from: number): void;
  /** Events a thread accepted, while {@link RelayThreads.watchEvents} is on. */
  onEvents(events: readonly ImEvent[]): void;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** One relay thread, as the main thread sees it. */
class RelayThread {
  readonly worker: Worker;
  private nextRequest = 1;
  private readonly pending = new Map<number, Pending>();
  private bound: Promise<BoundListener[]>;
  private ready: Promise<PluginRecord[]> | undefined;
  private settleBound!: { resolve(value: BoundListener[]): void; reject(error: Error): void };
  private settleReady: { resolve(value: PluginRecord[]): void; reject(error: Error): void } | undefined;
  exited = false;
  /** Its listeners could not be bound: the thread ends by itself (see relay-thread.ts) and answers nothing more. */
  bindFailed = false;
  /** Set while the engine stops: an exit then is expected. */
  stopping = false;

  constructor(
    readonly index: number,
    data: RelayThreadData,
    private readonly owner: RelayThreads,
    private readonly log: PluginLogger,
  ) {
    this.bound = new Promise((resolve, reject) => {
      this.settleBound = { resolve, reject };
    });
    this.bound.catch(() => undefined);
    this.worker = new Worker(new URL('./relay-thread.js', import.meta.url), { workerData: data, execArgv: threadExecArgv(process.execArgv) });
    this.worker.on('message', (message: FromThread) => this.onMessage(message));
    this.worker.on('error', (error) => {
      this.log.error({ thread: this.label, err: error }, `relay thread ${this.label} failed: ${error.message}`);
    });
    this.worker.on('exit', (code) => this.onExit(code));
  }

  get label(): number {
    return this.index + 1;
  }

  private onMessage(message: FromThread): void {
    switch (message.type) {
      case 'log': {
        const write = (this.log as unknown as Record<LogLevel, ((obj: unknown, msg?: string) => void) | undefined>)[message.level] ?? this.log.error;
        write.call(this.log, message.obj, message.msg);
        return;
      }
      case 'bound':
        this.settleBound.resolve(message.listeners);
        return;
      case 'ready':
        this.settleReady?.resolve(message.plugins);
        return;
      case 'failed': {
        const error = fromThreadError(message.error);
        if (!this.ready) this.bindFailed = true;
        this.settleBound.reject(error);
        this.settleReady?.reject(error);
        return;
      }
      case 'reply': {
        const waiting = this.pending.get(message.id);
        if (!waiting) return;
        this.pending.delete(message.id);
        if (message.ok) waiting.resolve(message.value);
        else waiting.reject(fromThreadError(message.error ?? { name: 'Error', message: 'failed' }));
        return;
      }
      case 'share':
        this.owner.share(message.change, this.index);
        return;
      case 'events':
        this.owner.events(message.events);
        return;
    }
  }

  private onExit(code: number): void {
    this.exited = true;
    const error = new Error(`relay thread ${this.label} stopped (exit code ${code})`);
    this.settleBound.reject(error);
    this.settleReady?.reject(error);
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
    if (!this.stopping && !this.bindFailed)
      this.log.error(
        { thread: this.label, code },
        `relay thread ${this.label} stopped unexpectedly (exit code ${code}): its connections are closed, the other threads go on; its journal is delivered at the next start`,
      );
  }

  whenBound(): Promise<BoundListener[]> {
    return this.bound;
  }

  setUp(consumers: string[]): { ready: Promise<PluginRecord[]>; journal: import('node:worker_threads').MessagePort } {
    const channel = new MessageChannel();
    this.ready = new Promise((resolve, reject) => {
      this.settleReady = { resolve, reject };
    });
    this.ready.catch(() => undefined);
    this.send({ type: 'setup', consumers, journal: channel.port2 }, [channel.port2]);
    return { ready: this.ready, journal: channel.port1 };
  }

  send(message: ToThread, transfer?: readonly import('node:worker_threads').Transferable[]): void {
    if (this.exited) return;
    this.worker.postMessage(message, transfer as never);
  }

  request<T>(what: ThreadRequest): Promise<T> {
    if (this.exited || this.bindFailed) return Promise.reject(new Error(`relay thread ${this.label} is not running`));
    const id = this.nextRequest++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.send({ type: 'request', id, what });
    });
  }
}

/**
 * The process's Node options a relay thread runs with. A worker refuses V8's options (`--max-semi-space-size`:
 * they are the whole process's already, so the thread has them anyway) and must not run the modules preloaded
 * into the process again (`--import`, `--require`: a supervisor's probe, signal handlers). What stays: profiling
 * (a thread's profile is a file of its own: `--cpu-prof-name` is dropped so the threads do not overwrite one
 * another's), source maps, warnings, conditions.
 */
export function threadExecArgv(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  const withValue = new Set(['--cpu-prof-dir', '--heap-prof-dir', '--conditions', '-C']);
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    const name = arg.split('=')[0]!;
    if (withValue.has(name)) {
      if (arg.includes('=')) kept.push(arg);
      else if (i + 1 < execArgv.length) kept.push(arg, execArgv[++i]!);
      continue;
    }
    if (name === '--cpu-prof-name' || name === '--heap-prof-name' || name === '--import' || name === '--require' || name === '-r') {
      if (!arg.includes('=')) i++;
      continue;
    }
    if (/^--(cpu-prof|heap-prof|enable-source-maps|no-warnings|no-deprecation|trace-warnings|trace-uncaught)/.test(name)) kept.push(arg);
  }
  return kept;
}

export class RelayThreads {
  private readonly threads: RelayThread[] = [];
  /** Plugin records of the first thread (its filters and content plugins are what the console shows). */
  plugins: PluginRecord[] = [];

  constructor(private readonly options: RelayThreadsOptions) {}

  /**
   * Starts the threads and waits until each has bound its listeners. The first binds first: a listener on port 0
   * gets its port there, and the others bind that port. Forward listeners are the first thread's alone (see the
   * module comment of relay-thread.ts).
   */
  async bind(): Promise<BoundListener[]> {
    const { loaded } = this.options;
    const first = this.spawn(0, loaded.config.listeners);
    const bound = await first.whenBound();
    const shared: ListenerConfig[] = bound.filter((l) => l.config.type !== 'forward').map((l) => ({ ...l.config, port: l.address.port }) as ListenerConfig);
    const others: RelayThread[] = [];
    for (let index = 1; index < this.options.count; index++) others.push(this.spawn(index, shared));
    await Promise.all(others.map((thread) => thread.whenBound()));
    return bound;
  }

  private spawn(index: number, listeners: ListenerConfig[]): RelayThread {
    const data: RelayThreadData = {
      index,
      loaded: this.options.loaded,
      listeners,
      pluginRoots: this.options.pluginRoots,
      ...(this.options.builtinFrom !== undefined ? { builtinFrom: this.options.builtinFrom } : {}),
      debug: this.options.debug,
      ...(this.options.hookTimeouts ? { hookTimeouts: this.options.hookTimeouts } : {}),
      logLevel: this.options.logLevel,
      ...(this.options.sharedCounts ? { sharedCounts: this.options.sharedCounts } : {}),
      ...(this.options.upstreamPorts ? { upstreamPorts: this.options.upstreamPorts } : {}),
    };
    const thread = new RelayThread(index, data, this, this.options.log);
    this.threads.push(thread);
    return thread;
  }

  /** Every thread sets up its plugins and opens its journal (consumers: the loggers); returns the journals' ports. */
  async setUp(consumers: string[]): Promise<import('node:worker_threads').MessagePort[]> {
    const started = this.threads.map((thread) => thread.setUp(consumers));
    const records = await Promise.all(started.map((s) => s.ready));
    this.plugins = records[0] ?? [];
    return started.map((s) => s.journal);
  }

  /** A thread's change, passed on to the others. */
  share(change: SharedChange, from: number): void {
    for (const thread of this.threads) if (thread.index !== from) thread.send({ type: 'share', change });
    this.options.onShare(change, from);
  }

  events(events: readonly ImEvent[]): void {
    this.options.onEvents(events);
  }

  /** Threads post the events they accept while this is on (the console's live view). */
  watchEvents(on: boolean): void {
    for (const thread of this.threads) thread.send({ type: 'watch-events', on });
  }

  /** Asks every running thread; a thread that fails to answer is left out (and logged). */
  async ask<T>(what: ThreadRequest): Promise<T[]> {
    const answers = await Promise.allSettled(this.threads.filter((t) => !t.exited && !t.bindFailed).map((thread) => thread.request<T>(what)));
    const values: T[] = [];
    for (const answer of answers) {
      if (answer.status === 'fulfilled') values.push(answer.value);
      else this.options.log.warn({ err: answer.reason }, `a relay thread did not answer "${what}": ${(answer.reason as Error).message}`);
    }
    return values;
  }

  /** Ends the threads (after `close`); a thread that does not exit within `timeoutMs` is terminated. */
  async terminate(timeoutMs = 5_000): Promise<void> {
    await Promise.all(
      this.threads.map(async (thread) => {
        thread.stopping = true;
        if (thread.exited) return;
        const exited = new Promise<void>((resolve) => thread.worker.once('exit', () => resolve()));
        const timer = setTimeout(() => void thread.worker.terminate(), timeoutMs);
        try {
          if (!thread.bindFailed) await thread.request('close').catch(() => undefined);
          await exited;
        } finally {
          clearTimeout(timer);
        }
      }),
    );
  }

  /** Marks every thread as stopping (their exit is expected from now on). */
  stopping(): void {
    for (const thread of this.threads) thread.stopping = true;
  }
}
