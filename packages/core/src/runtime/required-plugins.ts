import type { PluginSection } from '../config/schema.js';
import { ImspectError } from '@imspect/sdk';
import type { PluginKind } from '@imspect/sdk';
import type { PluginRecord } from './loader.js';

/**
 * Kinds imspect does not run without once they are enabled: a logger that cannot start means a period with no
 * archive that is never stored later (nothing journals for a logger that does not exist), and a filter or
 * content plugin that cannot start means policy silently not applied. Protocol plugins are not in the list:
 * their traffic is still relayed and their failure is reported, as before.
 */
export const REQUIRED_KINDS: readonly PluginKind[] = ['logger', 'filter', 'content'];

/**
 * The plugins whose failure must stop start-up: enabled (every discovered plugin is, unless its section says
 * `enabled: false` or the command skips its kind), of a required kind, failed to load, validate or set up, and
 * not marked `optional` in the configuration. A duplicate is not counted: the first of that name is the one used.
 */
export function requiredFailures(records: readonly PluginRecord[], sections: Readonly<Record<string, PluginSection>>): PluginRecord[] {
  return records.filter(
    (r) =>
      r.enabled && r.status === 'failed' && r.error?.code !== 'PLUGIN_DUPLICATE' && r.kind !== undefined && REQUIRED_KINDS.includes(r.kind) && sections[r.name]?.optional !== true,
  );
}

/** Start-up refused because a required plugin failed; one line per plugin, each naming it and the cause. */
export class PluginStartError extends ImspectError {
  readonly plugins: readonly string[];
  constructor(failed: readonly PluginRecord[]) {
    const lines = failed.map((r) => `${r.kind} plugin "${r.name}" failed to start${r.error?.hook ? ` (${r.error.hook})` : ''}: ${r.error?.message ?? 'unknown error'}`);
    const names = failed.map((r) => r.name);
    const hint =
      `imspect does not run without a configured logger or filter; fix ${names.length > 1 ? 'them' : 'it'}, ` +
      `or set plugins.<name>.optional: true to run without ${names.length > 1 ? 'them' : 'it'}, or enabled: false`;
    // The lines name each plugin and step; `plugin` / `hook` stay unset so that they are not appended again.
    super([...lines, hint].join('\n'), { code: 'PLUGIN_START_FAILED' });
    this.name = 'PluginStartError';
    this.plugins = names;
  }
}
