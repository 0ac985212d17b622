import { Args, Command } from '@oclif/core';
import { describePlugin, dataDirFlag, pluginFolderOptions } from '../../plugin-folder.js';
import { configFlag, failWith } from '../../shared.js';

export default class PluginsLink extends Command {
  static override summary = 'Link a plugin you are developing: imspect loads it from its folder at the next start';
  static override description =
    'Makes a link to DIR in the plugin folder (<dataDir>/plugins/linked/<package>), so each start loads what DIR holds then, with no reinstall. DIR\'s package.json must have a valid "imspect" field (kind, host range that admits this imspect, a name no built-in plugin has); that it imports is checked too but only warned about, as it may not be built yet. A link comes before an installed copy of the same plugin. `imspect plugins unlink NAME` (or `remove`) undoes it. The plugin imports @imspect/sdk from its own folder (its dev dependency).';
  static override examples = ['<%= config.bin %> plugins link .', '<%= config.bin %> plugins link ~/src/imspect-plugin-jsonl'];
  static override enableJsonFlag = true;
  static override args = { dir: Args.string({ required: true, description: 'the plugin package folder' }) };
  static override flags = { config: configFlag, 'data-dir': dataDirFlag };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(PluginsLink);
    const { linkPlugin } = await import('@imspect/core/plugin-folder');
    const options = await pluginFolderOptions(flags, this.jsonEnabled());
    let result;
    try {
      result = await linkPlugin(args.dir, options);
    } catch (error) {
      failWith(error, 1);
    }
    this.log(`linked ${describePlugin(result.plugin)}: ${result.link} -> ${result.plugin.dir}; loaded from there at the next start of imspect`);
    for (const warning of result.warnings) this.warn(`${result.plugin.name}: ${warning}`);
    return result;
  }
}
