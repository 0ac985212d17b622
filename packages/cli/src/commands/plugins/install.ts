import { Args, Command } from '@oclif/core';
import { describePlugin, dataDirFlag, pluginFolderOptions } from '../../plugin-folder.js';
import { configFlag, failWith } from '../../shared.js';

export default class PluginsInstall extends Command {
  static override summary = "Install a plugin into imspect's plugin folder (<dataDir>/plugins) with npm";
  static override description =
    'SPEC is what npm installs: a package name with an optional version or range (imspect-plugin-jsonl@^1.0.0), a tarball, a folder (packed with npm pack first) or a git URL. npm runs with your npm configuration (registry, proxy, .npmrc). The plugin is installed into a staging copy of the plugin folder and checked there (its package.json "imspect" field: kind, host range against this imspect, a name no other plugin has; then its import and export); only then does the copy replace the folder. Whatever fails leaves the installed plugins as they were. The plugin\'s @imspect/sdk peer dependency is this imspect\'s own SDK, linked into the folder, never fetched. Installed plugins are enabled at the next start.';
  static override examples = [
    '<%= config.bin %> plugins install imspect-plugin-jsonl',
    '<%= config.bin %> plugins install @acme/imspect-plugin-audit@^2.1.0',
    '<%= config.bin %> plugins install ./imspect-plugin-jsonl-1.0.0.tgz',
    '<%= config.bin %> plugins install ../imspect-plugin-jsonl',
    '<%= config.bin %> plugins install git+https://git.example.org/acme/imspect-plugin-audit.git',
  ];
  static override enableJsonFlag = true;
  static override args = { spec: Args.string({ required: true, description: 'npm name[@version|range], tarball, folder or git URL' }) };
  static override flags = { config: configFlag, 'data-dir': dataDirFlag };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(PluginsInstall);
    const { installPlugin } = await import('@imspect/core/plugin-folder');
    const options = await pluginFolderOptions(flags, this.jsonEnabled());
    let result;
    try {
      result = await installPlugin(args.spec, options);
    } catch (error) {
      failWith(error, 1);
    }
    const { plugin, previousVersion } = result;
    const what = describePlugin(plugin);
    if (previousVersion === undefined) this.log(`installed ${what} in ${plugin.dir}`);
    else if (previousVersion === plugin.version) this.log(`reinstalled ${what} in ${plugin.dir}`);
    else this.log(`replaced ${plugin.name} ${previousVersion} with ${what} in ${plugin.dir}`);
    this.log(`  saved as ${plugin.packageName}@${result.savedSpec}; host range ${plugin.hostRange ?? '(any)'}; enabled at the next start of imspect`);
    for (const warning of result.warnings) this.warn(`${plugin.name}: ${warning}`);
    return { ...result, dataDir: options.dataDir };
  }
}
