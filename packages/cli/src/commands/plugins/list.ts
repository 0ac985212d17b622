import { Command, Flags } from '@oclif/core';
import { configFlag, inspectPlugins } from '../../shared.js';

/** Origins whose code was checked when it got there: the CLI's own plugins, and those `plugins install` checked. */
const CHECKED_ON_ARRIVAL = new Set(['built-in', 'installed']);

export default class PluginsList extends Command {
  static override summary = 'List every plugin: name, kind, version, origin, enabled, load errors';
  static override description =
    "Origins: built-in (shipped with the CLI), installed and linked (imspect plugins install / link, in <dataDir>/plugins), folder (a configured pluginFolders entry), found (an @imspect/plugin-*, imspect-plugin-* ... package in a node_modules folder above the working directory or the CLI). Found plugins are not enabled unless the configuration names them (plugins: { NAME: { enabled: true } }): each says so, and how to enable it. Every enabled plugin's manifest and host range are checked; linked and folder plugins are also imported to check their export (built-in and installed ones were checked when they got there; --check imports those too).";
  static override examples = ['<%= config.bin %> plugins list', '<%= config.bin %> plugins list --json', '<%= config.bin %> plugins list --check'];
  static override enableJsonFlag = true;
  static override flags = {
    config: configFlag,
    check: Flags.boolean({ description: 'import every enabled plugin to check it, the built-in and installed ones too (slower)' }),
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(PluginsList);
    const imported = (record: { origin: string }) => flags.check || !CHECKED_ON_ARRIVAL.has(record.origin);
    const { records, hostVersion } = await inspectPlugins(flags.config, 'error', imported);
    const plugins = records.map((r) => ({
      name: r.name,
      kind: r.kind ?? null,
      version: r.version,
      package: r.packageName,
      origin: r.origin,
      path: r.dir,
      host: r.hostRange ?? null,
      enabled: r.enabled,
      status: r.status === 'loaded' ? 'ok' : r.status,
      checked: r.enabled ? (imported(r) ? 'import' : 'manifest') : null,
      reason: r.reason ?? null,
      error: r.error ?? null,
    }));
    if (!this.jsonEnabled()) {
      if (plugins.length === 0) this.log('No plugins found.');
      const rows = plugins.map((p) => [p.name, p.kind ?? '?', p.version, p.origin, p.enabled ? 'yes' : 'no', p.status, p.path]);
      const header = ['NAME', 'KIND', 'VERSION', 'ORIGIN', 'ENABLED', 'STATUS', 'PATH'];
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
      this.log(line(header));
      for (const row of rows) this.log(line(row));
      for (const p of plugins) {
        if (p.reason) this.log(`\n${p.name}: ${p.reason}`);
        if (p.error) this.log(`\n${p.name}: ${p.error.code}: ${p.error.message}${p.error.cause ? `\n  cause: ${p.error.cause}` : ''}`);
      }
    }
    return { hostVersion, plugins };
  }
}
