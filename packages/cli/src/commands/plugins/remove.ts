import { Args, Command } from '@oclif/core';
import { describePlugin, dataDirFlag, pluginFolderOptions } from '../../plugin-folder.js';
import { configFlag, failWith } from '../../shared.js';

export default class PluginsRemove extends Command {
  static override summary = 'Remove an installed plugin, or the link to a linked one';
  static override description =
    'NAME is the plugin name (as in `imspect plugins list`) or its package name. An installed plugin is uninstalled with npm from a staging copy of the plugin folder (a failure leaves it installed); a linked plugin loses its link, its folder is left alone. Takes effect at the next start.';
  static override examples = ['<%= config.bin %> plugins remove jsonl', '<%= config.bin %> plugins remove @acme/imspect-plugin-audit'];
  static override enableJsonFlag = true;
  static override args = { name: Args.string({ required: true, description: 'plugin or package name' }) };
  static override flags = { config: configFlag, 'data-dir': dataDirFlag };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(PluginsRemove);
    const { removePlugin } = await import('@imspect/core/plugin-folder');
    const options = await pluginFolderOptions(flags, this.jsonEnabled());
    let result;
    try {
      result = await removePlugin(args.name, options);
    } catch (error) {
      failWith(error, 1);
    }
    this.log(`${result.origin === 'linked' ? 'unlinked' : 'removed'} ${describePlugin(result.plugin)}; gone at the next start of imspect`);
    return result;
  }
}
