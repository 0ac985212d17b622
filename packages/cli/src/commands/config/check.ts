import { Command } from '@oclif/core';
import { configFlag, explain, inspectPlugins, isConfigurationProblem } from '../../shared.js';

export default class ConfigCheck extends Command {
  static override summary = 'Validate the configuration and every enabled plugin’s options without starting';
  static override examples = ['<%= config.bin %> config check', '<%= config.bin %> config check --config imspect.config.yaml'];
  static override enableJsonFlag = true;
  static override flags = { config: configFlag };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(ConfigCheck);
    const { loaded, records } = await inspectPlugins(flags.config, 'warn');
    const problems = records.filter((r) => r.status === 'failed').map((r) => `plugin ${r.name}: ${r.error?.message}`);
    // The CA as `imspect start` reads it (mode, content, key and certificate together): a broken one stops the start.
    const { createTlsInterceptor, createOperationalLogger } = await import('@imspect/core/runtime');
    let caProblem = false;
    try {
      await createTlsInterceptor(loaded.config.tls, { dataDir: loaded.dataDir, baseDir: loaded.baseDir }, createOperationalLogger({ level: 'error' }));
    } catch (error) {
      caProblem = isConfigurationProblem(error);
      problems.push(explain(error));
    }
    const unknown = Object.keys(loaded.config.plugins).filter((name) => !records.some((r) => r.name === name));
    problems.push(...unknown.map((name) => `${loaded.file ?? 'configuration'}: plugins.${name}: no plugin of that name was found`));
    const result = { file: loaded.file ?? null, valid: problems.length === 0, problems, config: loaded.config };
    if (!this.jsonEnabled()) {
      if (problems.length === 0) this.log(`${loaded.file ?? 'embedded defaults'}: valid`);
      else this.logToStderr(problems.join('\n'));
    }
    // As `imspect start`: a CA it would refuse is a configuration problem (2); a plugin that fails to load is 1.
    if (problems.length > 0 && !this.jsonEnabled()) this.exit(caProblem ? 2 : 1);
    return result;
  }
}
