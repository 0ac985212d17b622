import { Command } from '@oclif/core';
import type { LoadedConfig } from '@imspect/core/runtime';
import { configFlag, explain, failWith, inspectLoadedPlugins } from '../../shared.js';

/** Kinds whose `setup` runs in the check: a filter's setup only reads its files (word list, ACL, rules). */
const SET_UP_IN_CHECK = ['filter'] as const;

/**
 * What `imspect start` would refuse or report, without starting: the configuration (schema and semantics, every
 * mistake at once), every enabled plugin (manifest, import, options; filters are set up, so that a missing or
 * invalid word list, ACL or rules file is found, then closed again), sections for plugins that do not exist, and
 * the CA. Loggers are checked by their options only: their setup opens the archive or creates files.
 * Valid: exit 0. Invalid: exit 2, with every problem (one line each on standard error, or in the JSON).
 */
export default class ConfigCheck extends Command {
  static override summary = 'Validate the configuration and every enabled plugin without starting (exit 0 valid, 2 invalid)';
  static override description =
    'Checks what `imspect start` checks: the configuration file, every enabled plugin’s options, the files filters read (word lists, ACL and rules files), and the CA. Loggers are checked by their options only (their setup would open the archive). Every problem is listed; exit code 2 when there is any.';
  static override examples = ['<%= config.bin %> config check', '<%= config.bin %> config check --config imspect.config.yaml --json'];
  static override enableJsonFlag = true;
  static override flags = { config: configFlag };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(ConfigCheck);
    const { loadConfig, closestMatch } = await import('@imspect/core/runtime');
    let loaded: LoadedConfig;
    try {
      loaded = await loadConfig(flags.config ? { file: flags.config } : {});
    } catch (error) {
      if (!this.jsonEnabled()) failWith(error, 2);
      return this.invalid({ file: (error as { file?: string }).file ?? flags.config ?? null, problems: configProblems(error), config: null });
    }
    const { records, setUp } = await inspectLoadedPlugins(loaded, 'warn', SET_UP_IN_CHECK);
    // The check is over once setup has read the files: what it opened (file watchers) is closed again, in the
    // reverse order of setup, each within its close timeout (a failure to close is no problem of the configuration).
    const { PluginHost, createOperationalLogger: quietLogger } = await import('@imspect/core/plugins');
    await new PluginHost().closeInReverse(setUp, quietLogger({ level: 'silent' }));
    const problems = records.filter((r) => r.status === 'failed').map((r) => pluginProblem(r.name, r.error));
    // The CA as `imspect start` reads it (mode, content, key and certificate together): a broken one stops the start.
    const { createTlsInterceptor, createOperationalLogger } = await import('@imspect/core/runtime');
    try {
      await createTlsInterceptor(loaded.config.tls, { dataDir: loaded.dataDir, baseDir: loaded.baseDir }, createOperationalLogger({ level: 'error' }));
    } catch (error) {
      problems.push(explain(error));
    }
    const names = records.map((r) => r.name);
    for (const name of Object.keys(loaded.config.plugins).filter((n) => !names.includes(n))) {
      const suggestion = closestMatch(name, names);
      problems.push(`${loaded.file ?? 'configuration'}: plugins.${name}: no plugin of that name was found${suggestion ? `; did you mean "${suggestion}"?` : ''}`);
    }
    if (problems.length > 0) return this.invalid({ file: loaded.file ?? null, problems, config: loaded.config });
    this.log(`${loaded.file ?? 'embedded defaults'}: valid`);
    return { file: loaded.file ?? null, valid: true, problems, config: loaded.config };
  }

  /** Every problem, then exit code 2: as lines on standard error, or (`--json`) as `valid: false` on standard output. */
  private invalid(result: { file: string | null; problems: string[]; config: unknown }): unknown {
    if (!this.jsonEnabled()) {
      this.logToStderr(result.problems.join('\n'));
      this.exit(2);
    }
    // oclif prints what run() returns; the exit code is set without throwing, so that the JSON is still printed.
    process.exitCode = 2;
    return { file: result.file, valid: false, problems: result.problems, config: result.config };
  }
}

/** One line naming the plugin and the step that failed (a hook's own error already names both). */
function pluginProblem(name: string, error: { message: string; hook?: string } | undefined): string {
  const message = error?.message ?? 'failed';
  if (message.includes(`plugin "${name}"`)) return message;
  return `plugin ${name}${error?.hook ? ` (${error.hook})` : ''}: ${message}`;
}

/** The lines of a configuration that did not load: one per problem for schema and semantic errors. */
function configProblems(error: unknown): string[] {
  const e = error as { code?: string; message?: string };
  if (e.code === 'CONFIG_INVALID' && typeof e.message === 'string') return e.message.split('\n');
  return [explain(error)];
}
