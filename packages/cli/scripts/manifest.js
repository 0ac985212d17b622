#!/usr/bin/env node
// Writes packages/cli/oclif.manifest.json: every command's id, flags, arguments and help text, so oclif finds a
// command without importing every command file at start-up (`imspect --help`, `--version` and each command stay
// quick). What `oclif manifest` does, without the `oclif` release tool and its dependencies. Run after tsc (the
// manifest is read from dist/commands); `pnpm build` does both, and `pnpm --filter @imspect/cli pack:tarball`
// (scripts/pack.js) before packing. A manifest older than the commands would describe old flags: build again
// after editing a command.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Config, Help, Plugin } from '@oclif/core';

const cliDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// ignoreManifest: build it from the command files, not from a previous manifest; errorOnManifestCreate: a
// command that fails to import stops the build instead of silently missing from the manifest.
const plugin = new Plugin({ root: cliDir, type: 'core', isRoot: true, ignoreManifest: true, errorOnManifestCreate: true, respectNoCacheDefault: true });
await plugin.load();
const file = path.join(cliDir, 'oclif.manifest.json');
writeFileSync(file, `${JSON.stringify(plugin.manifest, null, 2)}\n`);
console.log(`oclif manifest: ${Object.keys(plugin.manifest.commands).length} commands written to ${path.relative(process.cwd(), file) || file}`);

// What the root help lists (bin/root-help.js prints it without loading oclif): asked of oclif's own Help class,
// with every core plugin loaded, so it holds the same topics, commands and summaries oclif would show.
const config = await Config.load(cliDir);
const help = new Help(config, { stripAnsi: true });
const separate = (id) => id.replaceAll(':', config.topicSeparator);
const rootHelp = {
  oclifVersion: createRequire(import.meta.url)('@oclif/core/package.json').version,
  name: config.name,
  version: config.version,
  bin: config.bin,
  state: config.pjson.oclif.state,
  description: help.render(config.pjson.oclif.description || config.pjson.description || ''),
  topics: help.sortedTopics
    .filter((topic) => !topic.name.includes(':'))
    .map((topic) => [separate(topic.name), topic.description ? help.render(topic.description.split('\n', 1)[0]) : topic.description]),
  commands: help.sortedCommands.filter((command) => command.id && !command.id.includes(':')).map((command) => [separate(command.id), help.summary(command)]),
};
const rootHelpFile = path.join(cliDir, 'dist/root-help.json');
writeFileSync(rootHelpFile, `${JSON.stringify(rootHelp, null, 2)}\n`);
console.log(`oclif root help: ${rootHelp.topics.length} topics, ${rootHelp.commands.length} commands written to ${path.relative(process.cwd(), rootHelpFile) || rootHelpFile}`);
