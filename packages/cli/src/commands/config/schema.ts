import { Command, Flags } from '@oclif/core';
import { writeFile } from 'node:fs/promises';
import { CLI_DIR, configFlag, failWith, pluginRoots } from '../../shared.js';
import { buildConfigJsonSchema } from '../../config-schema.js';

export default class ConfigSchemaCommand extends Command {
  static override summary = 'Print the JSON Schema of the configuration, including each discovered plugin’s options, for editors';
  static override examples = ['<%= config.bin %> config schema --output imspect.schema.json'];
  static override flags = {
    config: configFlag,
    output: Flags.string({ char: 'o', description: 'write to this file instead of standard output', helpValue: 'FILE' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ConfigSchemaCommand);
    let schema: object;
    try {
      schema = await buildConfigJsonSchema(pluginRoots(), flags.config, CLI_DIR);
    } catch (error) {
      failWith(error, 2);
    }
    const text = `${JSON.stringify(schema, null, 2)}\n`;
    if (flags.output) {
      await writeFile(flags.output, text);
      this.logToStderr(`wrote ${flags.output}`);
    } else process.stdout.write(text);
  }
}
