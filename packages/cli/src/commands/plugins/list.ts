import { Command } from '@oclif/core';
import { configFlag, inspectPlugins } from '../../shared.js';

export default class PluginsList extends Command {
  static override summary = 'List every discovered plugin: name, kind, version, package folder, enabled, load errors';
  static override description =
    'Plugins are npm packages named @imspect/plugin-*, @imspect/logger-*, @imspect/filter-*, @imspect/content-*, imspect-plugin-* or @scope/imspect-plugin-*, found in the node_modules folders above the working directory and above the CLI, and in configured plugin folders. Each enabled plugin is imported to check it, without being set up.';
  static override examples = ['<%= config.bin %> plugins list', '<%= config.bin %> plugins list --json'];
  static override enableJsonFlag = true;
  static override flags = { config: configFlag };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(PluginsList);
    const { records, hostVersion } = await inspectPlugins(flags.config, 'error');
    const plugins = records.map((r) => ({
      name: r.name,
      kind: r.kind ?? null,
      version: r.version,
      package: r.packageName,
      path: r.dir,
      host: r.hostRange ?? null,
      enabled: r.enabled,
      status: r.status === 'loaded' ? 'ok' : r.status,
      error: r.error ?? null,
    }));
    if (!this.jsonEnabled()) {
      if (plugins.length === 0) this.log('No plugins found.');
      const rows = plugins.map((p) => [p.name, p.kind ?? '?', p.version, p.enabled ? 'yes' : 'no', p.status, p.path]);
      const header = ['NAME', 'KIND', 'VERSION', 'ENABLED', 'STATUS', 'PATH'];
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
      this.log(line(header));
      for (const row of rows) this.log(line(row));
      for (const p of plugins) {
        if (p.error) this.log(`\n${p.name}: ${p.error.code}: ${p.error.message}${p.error.cause ? `\n  cause: ${p.error.cause}` : ''}`);
      }
    }
    return { hostVersion, plugins };
  }
}
