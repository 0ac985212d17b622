import { Flags } from '@oclif/core';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The CLI package folder: plugins installed next to the CLI are found from here. */
export const CLI_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const configFlag = Flags.string({
  char: 'c',
  description: 'configuration file (default: search for imspect.config.* / .imspectrc* / package.json#imspect in the working directory)',
  helpValue: 'FILE',
});

export function pluginRoots(): string[] {
  return [process.cwd(), CLI_DIR];
}

/** A message for people: the error's own text, its code, and for plugin errors the plugin and hook. */
export function explain(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const e = error as Error & { code?: string; plugin?: string; hook?: string };
  const where = e.plugin ? ` [plugin ${e.plugin}${e.hook ? `, ${e.hook}` : ''}]` : '';
  return `${e.message}${where}${e.code && !e.message.includes(e.code) ? ` (${e.code})` : ''}`;
}

/**
 * Prints an error for people and exits: one plain line per problem on standard error, no stack trace, no
 * re-wrapping (oclif's error formatter folds long lines, which breaks the `file: key: message` lines).
 */
export function failWith(error: unknown, exitCode: number): never {
  process.stderr.write(`imspect: ${explain(error).split('\n').join('\nimspect: ')}\n`);
  process.exit(exitCode);
}
