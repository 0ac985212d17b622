import { Args, Command, Flags } from '@oclif/core';
import { access, chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CLI_DIR, failWith, pluginRoots } from '../../shared.js';

export default class ConfigImport extends Command {
  static override summary = 'Translate an IMSpector imspector.conf into an imspect configuration';
  static override description =
    `Reads IMSpector's key=value options and writes the equivalent imspect configuration as YAML: port (a transparent listener), http_port (an HTTP CONNECT listener for private networks), listenaddr, user, group, pidfilename, the protocols (jabber is imspect's xmpp plugin), log_typing_events, the ssl options (the tls section), bad words, ACL, block_files, block_webcams, responses and notices, file logging (logger-csv) and SQL logging (logger-sql's url). Plugin sections are written only for installed plugins. Every option that could not be translated is listed with the reason on standard error (or in the JSON output). A configuration holding a database password is written with mode 0600.`;
  static override examples = [
    '<%= config.bin %> config import /etc/imspector/imspector.conf',
    '<%= config.bin %> config import /etc/imspector/imspector.conf --output imspect.config.yaml',
  ];
  static override enableJsonFlag = true;
  static override args = { file: Args.string({ description: 'the IMSpector configuration file', required: true }) };
  static override flags = {
    output: Flags.string({ char: 'o', description: 'write the configuration to this file instead of standard output', helpValue: 'FILE' }),
    force: Flags.boolean({ description: 'overwrite the output file if it exists' }),
  };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(ConfigImport);
    const { translateImspectorConf } = await import('../../imspector-import.js');
    const { discoverPlugins, resolveConfig } = await import('@imspect/core/runtime');
    const { stringify } = await import('yaml');
    const source = path.resolve(args.file);
    let text: string;
    try {
      text = await readFile(source, 'utf8');
    } catch (error) {
      failWith(new Error(`${source}: cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`), 2);
    }
    const discovered = await discoverPlugins({ roots: pluginRoots(), builtinFrom: CLI_DIR, folders: [] });
    const result = translateImspectorConf(text, { baseDir: path.dirname(source), installed: new Set(discovered.map((p) => p.name)) });
    // What is written must load: check it against the configuration schema before anyone relies on it.
    try {
      resolveConfig(structuredClone(result.config), flags.output, process.cwd());
    } catch (error) {
      failWith(error, 1);
    }
    const yaml = `# Translated from ${source} by imspect config import\n${stringify(result.config)}`;
    if (flags.output) {
      if (!flags.force && (await exists(flags.output))) failWith(new Error(`${flags.output} exists; use --force to overwrite it`), 1);
      // The SQL logger's URL may carry the database password: then only the owner may read the file.
      await writeFile(flags.output, yaml, result.containsSecret ? { mode: 0o600 } : {});
      if (result.containsSecret) await chmod(flags.output, 0o600);
    }
    if (this.jsonEnabled()) {
      return { source, config: result.config, translated: result.translated, untranslated: result.untranslated, containsSecret: result.containsSecret };
    }
    if (!flags.output) process.stdout.write(yaml);
    const where = (line: number) => (line > 0 ? `${path.basename(source)}:${line}` : path.basename(source));
    // Translations carry remarks a person must read too (an allow list, a password in the file, a changed default).
    for (const note of result.translated) this.logToStderr(`translated: ${where(note.line)}: ${note.key}: ${note.message}`);
    for (const note of result.untranslated) this.logToStderr(`not translated: ${where(note.line)}: ${note.key}: ${note.message}`);
    const wrote = flags.output ? `; wrote ${flags.output}${result.containsSecret ? ' (mode 0600: it contains the database password)' : ''}` : '';
    this.logToStderr(`${result.translated.length} option(s) translated, ${result.untranslated.length} not translated${wrote}`);
    return undefined;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
