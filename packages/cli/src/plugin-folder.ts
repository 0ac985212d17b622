import { Flags } from '@oclif/core';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { PluginFolderOptions } from '@imspect/core/plugin-folder';
import { CLI_DIR, failWith, loadConfigOrExit } from './shared.js';

/** The data folder whose `plugins/` the plugin commands change; by default the configuration's `dataDir`. */
export const dataDirFlag = Flags.string({
  description: "data folder whose plugins/ folder to change (default: the configuration's dataDir, as `imspect start` uses it)",
  helpValue: 'DIR',
});

/**
 * What the plugin-folder commands need: the data folder (created 0750 when missing, as `imspect start` would),
 * the built-in plugins' names, this imspect's version, the configured plugin sections (options warnings) and a
 * progress line on standard error.
 */
export async function pluginFolderOptions(flags: { config?: string | undefined; 'data-dir'?: string | undefined }, quiet = false): Promise<PluginFolderOptions> {
  const loaded = await loadConfigOrExit(flags.config);
  const { HOST_VERSION } = await import('@imspect/core/plugins');
  const dataDir = flags['data-dir'] ? path.resolve(flags['data-dir']) : loaded.dataDir;
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o750 });
  } catch (error) {
    failWith(new Error(`${dataDir}: the data folder cannot be created: ${(error as Error).message}`), 2);
  }
  return {
    dataDir,
    builtinFrom: CLI_DIR,
    hostVersion: HOST_VERSION,
    sections: loaded.config.plugins,
    cwd: process.cwd(),
    ...(quiet ? {} : { progress: (line: string) => process.stderr.write(`imspect: ${line}\n`) }),
  };
}

/** `name 1.2.0 (logger, package imspect-plugin-x)`. */
export function describePlugin(plugin: { name: string; packageName: string; version: string; kind: string | undefined }): string {
  const pkg = plugin.packageName === plugin.name ? '' : `, package ${plugin.packageName}`;
  return `${plugin.name} ${plugin.version} (${plugin.kind ?? 'unknown kind'}${pkg})`;
}
