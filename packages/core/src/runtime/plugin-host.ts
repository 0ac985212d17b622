/**
 * The one place imspect calls into plugins. Every hook a plugin (or an object a plugin returned: a protocol
 * session, a frame) answers is named in {@link HookMap}; {@link PluginHost.call} takes the hook's name and
 * arguments typed from that map, so a misspelt hook or a wrong argument is a compile error, not a runtime
 * `undefined is not a function`. {@link HOOKS} is the single table of what bounds each hook in time and what
 * imspect does when it fails; its type requires an entry for every hook of the SDK.
 *
 * Whatever a hook throws or rejects with comes out as a `PluginHookError` naming the plugin and the hook; a
 * hook still pending after its timeout fails with `PLUGIN_HOOK_TIMEOUT`, also naming both.
 */
import { ImspectError, PluginHookError, describeError } from '@imspect/sdk/errors';
import type { ContentHooks, FilterHooks, Frame, HooksByKind, LoggerHooks, PluginContext, PluginKind, PluginLogger, ProtocolHooks, ProtocolSession } from '@imspect/sdk';

/** A plugin's lifecycle: `setup` turns the plugin definition into the hooks of its kind. */
export interface PluginLifecycle {
  setup(ctx: PluginContext<unknown>): HooksByKind[PluginKind] | Promise<HooksByKind[PluginKind]>;
}

/** Every object whose methods imspect calls on a plugin's behalf, by the role it plays. */
export interface HookMap {
  plugin: PluginLifecycle;
  protocol: ProtocolHooks;
  /** What a protocol's `createSession` returned: the parser of one connection. */
  session: ProtocolSession;
  /** A frame a protocol session returned (rewriting it, refusing it). */
  frame: Frame;
  filter: FilterHooks;
  content: ContentHooks;
  logger: LoggerHooks;
}

export type HookRole = keyof HookMap;

type AnyFunction = (...args: never[]) => unknown;

/** The names of the methods of a role (data members such as `ports` or `localId` are not hooks). */
export type HookName<R extends HookRole> = {
  [K in keyof HookMap[R]]-?: NonNullable<HookMap[R][K]> extends AnyFunction ? K : never;
}[keyof HookMap[R]] &
  string;

export type HookArgs<R extends HookRole, H extends HookName<R>> = NonNullable<HookMap[R][H]> extends (...args: infer A) => unknown ? A : never;
export type HookResult<R extends HookRole, H extends HookName<R>> = NonNullable<HookMap[R][H]> extends (...args: never[]) => infer T ? T : never;

/** The host's time limits, from the configuration (see {@link hookTimeouts}). */
export interface HookTimeouts {
  /** `setup` and `reload`: a plugin reading its files, opening its archive or its database. */
  setupMs: number;
  /** A filter's `check` or a content plugin's `transform` answering with a promise (`pipeline.hookTimeoutMs`). */
  policyMs: number;
  /** A logger's `write`, `flush` and `close` (`loggers.writeTimeoutMs`). */
  loggerMs: number;
  /** `close` of a protocol, filter or content plugin at shutdown. */
  closeMs: number;
}

export const DEFAULT_HOOK_TIMEOUTS: HookTimeouts = { setupMs: 30_000, policyMs: 2_000, loggerMs: 30_000, closeMs: 10_000 };

export interface HookSpec {
  /**
   * Which limit bounds the hook when it answers with a promise. Absent: the hook answers synchronously on the
   * relay path (a parser, a sniffer), where a promise is not an answer and nothing can be abandoned midway.
   */
  timeout?: keyof HookTimeouts;
  /** What imspect does when the hook throws, rejects or times out (the call site does it; this says what). */
  onFailure: string;
}

/** Every hook, with its timeout and failure mode; the type makes a hook without an entry a compile error. */
export type HookTable = { readonly [R in HookRole]: { readonly [H in HookName<R>]-?: HookSpec } };

const CLOSE: HookSpec = { timeout: 'closeMs', onFailure: 'reported by name; the other plugins still close and imspect exits' };
const RELOAD: HookSpec = { timeout: 'setupMs', onFailure: 'reported; the last good rules stay in force' };

export const HOOKS: HookTable = {
  plugin: {
    setup: {
      timeout: 'setupMs',
      onFailure:
        "the plugin is not started; a logger, filter or content plugin stops start-up (PLUGIN_START_FAILED) unless its section says optional: true; a protocol plugin's traffic is relayed unparsed",
    },
  },
  protocol: {
    sniff: { onFailure: 'counts as not recognised' },
    createSession: { onFailure: 'the connection is relayed unparsed' },
    routeForward: { onFailure: "the forward listener's own upstream is used" },
    close: CLOSE,
  },
  session: {
    push: { onFailure: 'the connection is relayed unparsed from there on; the bytes held are forwarded as they came' },
    end: { onFailure: 'the bytes held are forwarded as they came' },
    gap: { onFailure: 'the connection is relayed unparsed from there on; the bytes held are forwarded as they came' },
    respond: { onFailure: 'no reply is sent' },
    respondLater: { onFailure: 'respond is asked instead' },
    tlsIntercepted: { onFailure: 'the decrypted connection is relayed unparsed' },
  },
  frame: {
    rewrite: { onFailure: 'the frame is forwarded as it came' },
    refusal: { onFailure: 'no refusal is sent (the blocked reply still is)' },
  },
  filter: {
    check: { timeout: 'policyMs', onFailure: 'pipeline.failMode: open passes the event, closed blocks it (category "error NAME")' },
    reload: RELOAD,
    close: CLOSE,
  },
  content: {
    transform: { timeout: 'policyMs', onFailure: 'the text is left as it was' },
    reload: RELOAD,
    close: CLOSE,
  },
  logger: {
    write: { timeout: 'loggerMs', onFailure: 'the batch stays in the journal and is retried with backoff' },
    flush: { timeout: 'loggerMs', onFailure: 'reported; the logger is still closed' },
    close: { timeout: 'loggerMs', onFailure: 'reported by name; the other plugins still close and imspect exits' },
  },
};

/** A started plugin as the host closes it: its name, its kind and the hooks its setup returned. */
export interface HostedPlugin {
  readonly name: string;
  readonly kind: PluginKind;
  readonly hooks: HooksByKind[PluginKind];
}

/**
 * Dispatches hooks with the table's timeouts, and closes plugins. One per engine; a policy, sink or registry
 * built alone (tests, tools) makes its own with the default timeouts.
 */
export class PluginHost {
  readonly timeouts: HookTimeouts;

  constructor(timeouts: Partial<HookTimeouts> = {}) {
    this.timeouts = { ...DEFAULT_HOOK_TIMEOUTS, ...timeouts };
  }

  /**
   * Calls `target[hook](...args)` for `plugin`. A synchronous answer comes back as it is (the relay path stays
   * free of promises); a promise is raced against the hook's timeout. Throws and rejections are
   * `PluginHookError`s naming plugin and hook; an error that already names a plugin (a nested call, a
   * timeout) is passed on as it is.
   */
  call<R extends HookRole, H extends HookName<R>>(role: R, plugin: string, target: HookMap[R], hook: H, ...args: HookArgs<R, H>): HookResult<R, H> {
    const fn = (target as unknown as Record<string, unknown>)[hook];
    let result: unknown;
    try {
      if (typeof fn !== 'function') throw new Error(`${hook} is not a function`);
      result = (fn as (...a: unknown[]) => unknown).apply(target, args);
    } catch (error) {
      throw wrap(plugin, hook, error);
    }
    if (!isPromiseLike(result)) return result as HookResult<R, H>;
    const limit = HOOKS[role][hook as unknown as keyof HookTable[R]] as HookSpec | undefined;
    const settled = Promise.resolve(result).catch((error: unknown) => {
      throw wrap(plugin, hook, error);
    });
    return (limit?.timeout ? withTimeout(settled, plugin, hook, this.timeouts[limit.timeout]) : settled) as HookResult<R, H>;
  }

  /** Like {@link call}, always as a promise (for hooks whose callers wait anyway: setup, reload, write, close). */
  async callAsync<R extends HookRole, H extends HookName<R>>(role: R, plugin: string, target: HookMap[R], hook: H, ...args: HookArgs<R, H>): Promise<Awaited<HookResult<R, H>>> {
    return (await this.call(role, plugin, target, hook, ...args)) as Awaited<HookResult<R, H>>;
  }

  /** Runs a plugin's `setup` (bounded by `setupMs`) and returns the hooks of its kind, unchecked. */
  setup(plugin: string, definition: { setup(ctx: PluginContext<never>): unknown }, ctx: PluginContext<unknown>): Promise<unknown> {
    return this.callAsync('plugin', plugin, definition as unknown as PluginLifecycle, 'setup', ctx);
  }

  /**
   * Closes plugins in the reverse order of their setup (a plugin set up later may use what an earlier one
   * opened), each within its close timeout: one that fails or hangs is reported by name and the next is
   * closed all the same, so shutdown always ends. Returns the names of those that did not close cleanly.
   */
  async closeInReverse(plugins: readonly HostedPlugin[], log: PluginLogger): Promise<string[]> {
    const failed: string[] = [];
    for (const plugin of [...plugins].reverse()) {
      const hooks = plugin.hooks as { close?: unknown };
      if (typeof hooks.close !== 'function') continue;
      try {
        await this.callAsync(plugin.kind, plugin.name, plugin.hooks as never, 'close' as never);
      } catch (error) {
        failed.push(plugin.name);
        const hung = (error as { code?: string }).code === 'PLUGIN_HOOK_TIMEOUT';
        log.error(
          { plugin: plugin.name, hook: 'close', err: error },
          hung
            ? `${plugin.kind} plugin "${plugin.name}" did not close in time; the others are closed anyway`
            : `${plugin.kind} plugin "${plugin.name}" failed to close: ${describeError(error)}`,
        );
      }
    }
    return failed;
  }
}

/** The host's timeouts from the configuration's settings. */
export function hookTimeouts(config: { pipeline: { hookTimeoutMs: number }; loggers: { writeTimeoutMs: number } }): Partial<HookTimeouts> {
  return { policyMs: config.pipeline.hookTimeoutMs, loggerMs: config.loggers.writeTimeoutMs };
}

function wrap(plugin: string, hook: string, error: unknown): Error {
  if (error instanceof ImspectError && error.plugin !== undefined) return error;
  return new PluginHookError(plugin, hook, error);
}

function withTimeout<T>(promise: Promise<T>, plugin: string, hook: string, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new ImspectError(`plugin "${plugin}" did not finish ${hook} within ${timeoutMs} ms`, { code: 'PLUGIN_HOOK_TIMEOUT', plugin, hook }));
    }, timeoutMs);
    timer.unref?.();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
