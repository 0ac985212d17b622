import { Args, Command } from '@oclif/core';
import { dataDirFlag, pluginFolderOptions } from '../../plugin-folder.js';
import { configFlag, failWith } from '../../shared.js';

export default class PluginsUnlink extends Command {
  static override summary = 'Remove the link to a plugin made by `imspect plugins link` (its folder is left alone)';
  static override examples = ['<%= config.bin %> plugins unlink jsonl'];
  static override enableJsonFlag = true;
  static override args = { name: Args.string({ required: true, description: 'plugin or package name' }) };
  static override flags = { config: configFlag, 'data-dir': dataDirFlag };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(PluginsUnlink);
    const { unlinkPlugin } = await import('@imspect/core/plugin-folder');
    const options = await pluginFolderOptions(flags, this.jsonEnabled());
    let result;
    try {
      result = await unlinkPlugin(args.name, options);
    } catch (error) {
      failWith(error, 1);
    }
    this.log(`unlinked ${args.name} (${result.link}); gone at the next start of imspect`);
    return result;
  }
}
