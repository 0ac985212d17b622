import { ImspectError, PluginHookError } from '@imspect/sdk';

/** Calls a plugin hook, turning any throw or rejection into a {@link PluginHookError} naming plugin and hook. */
export function callHook<T>(plugin: string, hook: string, fn: () => T): T {
  try {
    const result = fn();
    if (isPromiseLike(result)) {
      return Promise.resolve(result).catch((error: unknown) => {
        throw wrap(plugin, hook, error);
      }) as T;
    }
    return result;
  } catch (error) {
    throw wrap(plugin, hook, error);
  }
}

/** Errors that already name their plugin (a nested hook call, a timeout) are passed on as they are. */
function wrap(plugin: string, hook: string, error: unknown): Error {
  if (error instanceof ImspectError && error.plugin !== undefined) return error;
  return new PluginHookError(plugin, hook, error);
}

/** Like {@link callHook} for async hooks, and a hook still pending after `timeoutMs` fails with a timeout. */
export async function callHookWithTimeout<T>(plugin: string, hook: string, timeoutMs: number, fn: () => T | Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new ImspectError(`plugin "${plugin}" did not finish ${hook} within ${timeoutMs} ms`, { code: 'PLUGIN_HOOK_TIMEOUT', plugin, hook }));
    }, timeoutMs);
    timer.unref?.();
  });
  try {
    return await Promise.race([callHook(plugin, hook, fn), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
