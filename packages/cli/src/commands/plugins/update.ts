import { Args, Command } from '@oclif/core';
import { describePlugin, dataDirFlag, pluginFolderOptions } from '../../plugin-folder.js';
import { configFlag, failWith } from '../../shared.js';

export default class PluginsUpdate extends Command {
  static override summary = 'Update the installed plugins (or one) within the version range they were installed with';
  static override description =
    "npm updates the plugins in a staging copy of the plugin folder; each plugin whose version changed is checked again (kind, host range, import) before the copy replaces the folder, so an update that would not load changes nothing. A plugin installed from a tarball or a folder stays as it is (install the new one instead). Also links the folder to this imspect's SDK again, after imspect itself was upgraded.";
  static override examples = ['<%= config.bin %> plugins update', '<%= config.bin %> plugins update jsonl'];
  static override enableJsonFlag = true;
  static override args = { name: Args.string({ required: false, description: 'plugin or package name (default: every installed plugin)' }) };
  static override flags = { config: configFlag, 'data-dir': dataDirFlag };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(PluginsUpdate);
    const { updatePlugins } = await import('@imspect/core/plugin-folder');
    const options = await pluginFolderOptions(flags, this.jsonEnabled());
    let result;
    try {
      result = await updatePlugins(args.name, options);
    } catch (error) {
      failWith(error, 1);
    }
    for (const { plugin, from } of result.updated) this.log(`updated ${plugin.name} ${from} -> ${describePlugin(plugin)}`);
    for (const plugin of result.unchanged) this.log(`${describePlugin(plugin)} is up to date`);
    if (result.updated.length + result.unchanged.length === 0) this.log('no plugin is installed');
    else if (result.updated.length > 0) this.log('the new versions run at the next start of imspect');
    for (const warning of result.warnings) this.warn(warning);
    return result;
  }
}
