/**
 * Every error imspect reports carries a stable code and, where a plugin is involved, the plugin's name and
 * the hook that failed, so an administrator can tell whose fault it is without a stack trace.
 */
export interface ImspectErrorDetails {
  code: string;
  plugin?: string;
  hook?: string;
  /** Configuration file the error is about. */
  file?: string;
  /** Configuration key (dotted path) the error is about. */
  key?: string;
  cause?: unknown;
}

export class ImspectError extends Error {
  readonly code: string;
  readonly plugin: string | undefined;
  readonly hook: string | undefined;
  readonly file: string | undefined;
  readonly key: string | undefined;

  constructor(message: string, details: ImspectErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'ImspectError';
    this.code = details.code;
    this.plugin = details.plugin;
    this.hook = details.hook;
    this.file = details.file;
    this.key = details.key;
  }
}

/** An error thrown or rejected by a plugin hook, wrapped with the plugin's name and the hook. */
export class PluginHookError extends ImspectError {
  constructor(plugin: string, hook: string, cause: unknown) {
    super(`plugin "${plugin}" failed in ${hook}: ${describeError(cause)}`, {
      code: 'PLUGIN_HOOK_FAILED',
      plugin,
      hook,
      cause,
    });
    this.name = 'PluginHookError';
  }
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}
