/**
 * Running a filter, content or logger plugin without imspect: a stub of the context `setup` receives, the
 * plugin set up with validated options, and its hooks called on test events the way imspect calls them
 * (frozen events, logger batches then flush and close). Failures are `PluginHookError`s naming plugin and hook.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImspectError, PluginHookError } from '../errors.js';
import type { ImEvent } from '../event.js';
import { isTypeBoxSchema, resolveOptions } from '../options.js';
import type { ContentHooks, FilterHooks, HooksByKind, ImspectPlugin, LoggerHooks, PluginContext, PluginKind, Verdict } from '../plugin.js';
import { recordingLogger, type RecordingLogger } from './logger.js';

/** The host version a stub context reports. */
export const TEST_HOST_VERSION = '0.0.0-test';

export interface StubContextOptions<Options> {
  /** Default `test-plugin`. */
  name?: string;
  options?: Options;
  /** Default: a fresh `recordingLogger()`. */
  logger?: RecordingLogger;
  /**
   * Default: a folder under the system temp folder that is NOT created. Pass your own temp folder when the
   * plugin writes files (and remove it afterwards).
   */
  dataDir?: string;
  /** Default: `dataDir`. */
  configDir?: string;
  /** Default `TEST_HOST_VERSION`. */
  hostVersion?: string;
}

/** A `PluginContext` as imspect passes it to `setup`, its logger a `RecordingLogger`. Options are taken as given. */
export function stubContext<Options = Record<string, unknown>>(over: StubContextOptions<Options> = {}): PluginContext<Options> & { logger: RecordingLogger } {
  const name = over.name ?? 'test-plugin';
  const dataDir = over.dataDir ?? join(tmpdir(), `imspect-test-${name}-${process.pid}`);
  return {
    name,
    logger: over.logger ?? recordingLogger(),
    options: (over.options ?? {}) as Options,
    hostVersion: over.hostVersion ?? TEST_HOST_VERSION,
    dataDir,
    configDir: over.configDir ?? dataDir,
  };
}

export interface PluginUnderTest<K extends PluginKind> {
  hooks: HooksByKind[K];
  context: PluginContext<unknown> & { logger: RecordingLogger };
  logger: RecordingLogger;
}

/**
 * Sets a plugin up as imspect would: its options (`options`, as in the configuration file) get the schema's
 * defaults and are validated (a TypeBox schema; a plain JSON Schema is passed through unchecked), then `setup`
 * runs with a stub context. Invalid options throw an `ImspectError` (`CONFIG_INVALID`) naming plugin and key.
 *
 * ```ts
 * const { hooks, logger } = await setupPlugin(badwords, { options: { words: ['darn'] } });
 * const [verdict] = await runFilter(hooks, testEvent({ text: 'darn it' }));
 * ```
 */
export async function setupPlugin<K extends PluginKind>(plugin: ImspectPlugin<K>, over: Omit<StubContextOptions<unknown>, 'name'> = {}): Promise<PluginUnderTest<K>> {
  let options: unknown = over.options ?? {};
  if (plugin.options !== undefined && isTypeBoxSchema(plugin.options)) {
    const resolved = await resolveOptions(plugin.options, over.options);
    if (!resolved.ok) {
      const first = resolved.problems[0]!;
      throw new ImspectError(`plugin "${plugin.name}": invalid options: ${resolved.problems.map((p) => `${p.key}: ${p.message}`).join('; ')}`, {
        code: 'CONFIG_INVALID',
        plugin: plugin.name,
        key: first.key,
      });
    }
    options = resolved.options;
  }
  const context = stubContext({ ...over, name: plugin.name, options });
  let hooks: HooksByKind[K];
  try {
    hooks = await plugin.setup(context as never);
  } catch (error) {
    throw new PluginHookError(plugin.name, 'setup', error);
  }
  return { hooks, context, logger: context.logger };
}

/** A deep-frozen copy of `event`, as hooks receive it (a hook that tries to change it throws in strict mode). */
export function frozenEvent(event: ImEvent): Readonly<ImEvent> {
  return deepFreeze(structuredClone(event));
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

const list = (events: ImEvent | readonly ImEvent[]): readonly ImEvent[] => (Array.isArray(events) ? events : [events as ImEvent]);

/** Calls `check` on each event (frozen) in turn; returns the verdicts. A bad verdict fails naming the hook. */
export async function runFilter(hooks: FilterHooks, events: ImEvent | readonly ImEvent[], name = 'test-plugin'): Promise<Verdict[]> {
  const verdicts: Verdict[] = [];
  for (const event of list(events)) {
    let verdict: Verdict;
    try {
      verdict = await hooks.check(frozenEvent(event));
    } catch (error) {
      throw new PluginHookError(name, 'check', error);
    }
    if (typeof verdict !== 'object' || verdict === null || (verdict.action !== 'pass' && verdict.action !== 'block')) {
      throw new PluginHookError(name, 'check', new TypeError(`returned ${JSON.stringify(verdict)}, not a verdict ({ action: 'pass' | 'block' })`));
    }
    verdicts.push(verdict);
  }
  return verdicts;
}

/** Calls `transform` on each event (frozen) in turn; returns the new texts (undefined: left as it was). */
export async function runContent(hooks: ContentHooks, events: ImEvent | readonly ImEvent[], name = 'test-plugin'): Promise<Array<string | undefined>> {
  const texts: Array<string | undefined> = [];
  for (const event of list(events)) {
    let text: string | undefined;
    try {
      text = await hooks.transform(frozenEvent(event));
    } catch (error) {
      throw new PluginHookError(name, 'transform', error);
    }
    if (text !== undefined && typeof text !== 'string') throw new PluginHookError(name, 'transform', new TypeError(`returned ${typeof text}, not a string or undefined`));
    texts.push(text);
  }
  return texts;
}

export interface RunLoggerOptions {
  /** Events per `write` call (default: all in one). */
  batchSize?: number;
  /** Call `close` after the last write and `flush` (default true), as imspect does at shutdown. */
  close?: boolean;
  name?: string;
}

/** Writes the events (frozen) in batches, then calls `flush` and, unless `close: false`, `close`. */
export async function runLogger(hooks: LoggerHooks, events: readonly ImEvent[], options: RunLoggerOptions = {}): Promise<void> {
  const name = options.name ?? 'test-plugin';
  const size = Math.max(1, options.batchSize ?? events.length);
  const call = async (hook: string, run: () => Promise<void> | undefined) => {
    try {
      await run();
    } catch (error) {
      throw new PluginHookError(name, hook, error);
    }
  };
  for (let i = 0; i < events.length; i += size) {
    const batch = Object.freeze(events.slice(i, i + size).map(frozenEvent));
    await call('write', () => hooks.write(batch));
  }
  await call('flush', () => hooks.flush?.());
  if (options.close !== false) await call('close', () => hooks.close?.());
}
