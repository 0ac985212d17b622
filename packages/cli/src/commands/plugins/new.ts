import { Args, Command, Flags } from '@oclif/core';
import path from 'node:path';
import { SCAFFOLD_KINDS, type ScaffoldKind, scaffoldPlugin } from '../../plugin-scaffold.js';
import { failWith } from '../../shared.js';

export default class PluginsNew extends Command {
  static override summary = 'Create a ready plugin package: package.json, a working skeleton of its kind, a test with the SDK test kit, a README';
  static override description =
    'NAME is the npm package name: imspect-plugin-NAME or @scope/imspect-plugin-NAME (a bare NAME gets the imspect-plugin- prefix). The package goes into DIR/NAME (without the scope); an existing folder that is not empty is never touched. In the new folder, `npm install && npm test` runs its tests (TypeScript: after the build); `imspect plugins link DIR`, where imspect runs, loads it into imspect.';
  static override examples = [
    '<%= config.bin %> plugins new jsonl --kind logger',
    '<%= config.bin %> plugins new @acme/imspect-plugin-chat --kind protocol --typescript --dir ~/src',
  ];
  static override args = {
    name: Args.string({ description: 'npm package name of the plugin', required: true }),
  };
  static override flags = {
    kind: Flags.string({ char: 'k', description: 'what the plugin does', options: [...SCAFFOLD_KINDS], required: true }),
    typescript: Flags.boolean({ description: 'a TypeScript package (built with tsc) instead of JavaScript', default: false }),
    dir: Flags.string({ char: 'd', description: 'folder to create the package folder in (default: the working directory)', helpValue: 'DIR' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(PluginsNew);
    try {
      const result = await scaffoldPlugin({
        name: args.name,
        kind: flags.kind as ScaffoldKind,
        typescript: flags.typescript,
        dir: path.resolve(flags.dir ?? process.cwd()),
      });
      const shown = path.relative(process.cwd(), result.dir) || '.';
      this.log(`Created ${result.packageName} (${flags.kind} plugin "${result.pluginName}", ${flags.typescript ? 'TypeScript' : 'JavaScript'}) in ${result.dir}:`);
      for (const file of result.files) this.log(`  ${file}`);
      this.log('');
      this.log('Next:');
      this.log(`  cd ${shown.includes(' ') ? JSON.stringify(shown) : shown}`);
      this.log('  npm install && npm test');
      this.log(`  imspect plugins link ${result.dir}   (where imspect runs: it then loads this folder at each start)`);
    } catch (error) {
      failWith(error, 2);
    }
  }
}
