import { Command } from '@oclif/core';
import { configFlag, inspectPlugins } from '../../shared.js';

export default class ConfigCheck extends Command {
  static override summary = 'Validate the configuration and every enabled plugin’s options without starting';
  static override examples = ['<%= config.bin %> config check', '<%= config.bin %> config check --config imspect.config.yaml'];
  static override enableJsonFlag = true;
  static override flags = { config: configFlag };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(ConfigCheck);
    const { loaded, records } = await inspectPlugins(flags.config, 'warn');
    const problems = records.filter((r) => r.status === 'failed').map((r) => `plugin ${r.name}: ${r.error?.message}`);
    const unknown = Object.keys(loaded.config.plugins).filter((name) => !records.some((r) => r.name === name));
    problems.push(...unknown.map((name) => `${loaded.file ?? 'configuration'}: plugins.${name}: no plugin of that name was found`));
    const result = { file: loaded.file ?? null, valid: problems.length === 0, problems, config: loaded.config };
    if (!this.jsonEnabled()) {
      if (problems.length === 0) this.log(`${loaded.file ?? 'embedded defaults'}: valid`);
      else this.logToStderr(problems.join('\n'));
    }
    if (problems.length > 0 && !this.jsonEnabled()) this.exit(1);
    return result;
  }
}
