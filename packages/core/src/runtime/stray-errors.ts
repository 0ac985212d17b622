import { realpathSync } from 'node:fs';
import path from 'node:path';
import type { PluginLogger } from '@imspect/sdk';

/**
 * The last resort of `imspect start` for errors nobody handled: an 'error' event emitted on an emitter with
 * no listener (a database driver's connection, a plugin's socket), a throw inside a plugin's timer, a promise
 * a plugin rejected and never awaited. Node's default is to end the process.
 *
 * Decision: contain them, log them with the plugin's name when the stack points into a plugin's package, and
 * keep relaying. Why not exit:
 * - every hook core calls is already wrapped (a throw or rejection there is the plugin's error, retried or
 *   judged by `failMode`), and core's own sockets all have error listeners; what reaches this handler is, by
 *   construction, raised from code core does not run: a plugin's or one of its libraries';
 * - nothing accepted can be lost by going on: events are in the journal before their bytes are forwarded, and
 *   a logger whose writes fail is retried from there;
 * - exiting ends every user's chat for one plugin's mistake, and an error that recurs (a driver failing the
 *   same way on every reconnect) would turn a supervisor's restarts into a loop of dropped chats.
 * The cost: a plugin's own state may be left half-updated (its next calls fail and are handled as hook
 * failures). Every stray error is logged at error level with its stack and counted, so it is seen and fixed.
 */
export interface StrayErrorGuard {
  /** Stray errors contained since {@link containStrayErrors}. */
  readonly count: number;
  uninstall(): void;
}

export interface PluginLocation {
  name: string;
  /** The plugin's package folder. */
  dir: string;
}

export function containStrayErrors(log: PluginLogger, plugins: () => readonly PluginLocation[]): StrayErrorGuard {
  let count = 0;
  const report = (kind: 'uncaught exception' | 'unhandled rejection', reason: unknown) => {
    count++;
    const plugin = pluginOf(reason, plugins());
    const who = plugin ? `plugin "${plugin}"` : 'an unknown origin (a plugin or a library it uses)';
    log.error(
      { ...(plugin ? { plugin } : {}), kind, error: describeStray(reason), strayErrors: count },
      `${kind} from ${who} contained: imspect keeps relaying; what failed is retried or reported where it belongs`,
    );
  };
  const onException = (error: Error) => report('uncaught exception', error);
  const onRejection = (reason: unknown) => report('unhandled rejection', reason);
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return {
    get count() {
      return count;
    },
    uninstall() {
      process.off('uncaughtException', onException);
      process.off('unhandledRejection', onRejection);
    },
  };
}

/** The plugin whose package folder appears first (nearest the throw) in the error's stack, if any. */
export function pluginOf(reason: unknown, plugins: readonly PluginLocation[]): string | undefined {
  const stack = reason instanceof Error ? reason.stack : undefined;
  if (!stack) return undefined;
  const folders = plugins.flatMap((p) => folderVariants(p.dir).map((dir) => ({ name: p.name, prefix: dir.endsWith(path.sep) ? dir : dir + path.sep })));
  for (const line of stack.split('\n').slice(1)) {
    const hit = folders.find((f) => line.includes(f.prefix) || line.includes(`file://${f.prefix}`));
    if (hit) return hit.name;
  }
  return undefined;
}

/** The folder as discovered and as its real path (stacks show real paths; node_modules entries may be links). */
function folderVariants(dir: string): string[] {
  try {
    const real = realpathSync(dir);
    return real === dir ? [dir] : [dir, real];
  } catch {
    return [dir];
  }
}

/**
 * What is logged of a stray error: its type, code, message and stack, never its other properties (a database
 * driver may hang its whole client, connection password included, on the error).
 */
function describeStray(reason: unknown): Record<string, unknown> {
  if (!(reason instanceof Error)) {
    try {
      return { value: String(reason) };
    } catch {
      return { value: '(a value that cannot be printed)' };
    }
  }
  const code = (reason as { code?: unknown }).code;
  return { type: reason.name, message: reason.message, ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}), stack: reason.stack };
}
