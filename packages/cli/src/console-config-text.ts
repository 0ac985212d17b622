/**
 * Texts the console edits inside the configuration file: the blocked reply (`responses.blocked.text`) and the
 * monitoring notice written inline (`responses.notice.text`). Decision: they stay where the administrator put
 * them, and the console changes that one key of that file, so the file stays the single truth and `imspect
 * config check` sees what runs. Only data files are rewritten: JSON (re-serialised, 2-space indent) and YAML
 * (edited in place, comments and order kept). A program (`imspect.config.js`/`.ts`), `package.json`'s `imspect`
 * key or no configuration file at all is not something imspect rewrites: the console shows the text with the
 * reason instead of a save button. The new configuration is validated whole before it replaces the file (temp
 * file and rename), and applied through the SIGHUP reload, which re-reads the file.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { resolveConfig, type LoadedConfig } from '@imspect/core/runtime';

export interface ConfigText {
  /** Where it is shown: `imspect.config.yaml → responses.blocked.text`. */
  where: string;
  read(): Promise<string>;
  write(text: string): Promise<void>;
  /** Set when the configuration is not a file imspect may rewrite. */
  refusal: string | undefined;
}

type Format = 'json' | 'yaml';

function formatOf(file: string): Format | { refusal: string } {
  const base = path.basename(file);
  if (base === 'package.json') return { refusal: `the configuration is the "imspect" key of ${file}, which imspect does not rewrite; change it there` };
  const ext = path.extname(base).toLowerCase();
  if (ext === '.json') return 'json';
  if (ext === '.yaml' || ext === '.yml' || ext === '') return 'yaml';
  return { refusal: `the configuration ${file} is a program, which imspect does not rewrite; change it there (or use a JSON or YAML configuration)` };
}

/** `key` (a path such as `['responses', 'blocked', 'text']`) of the configuration in force, editable when its file is data. */
export function configText(loaded: LoadedConfig, key: readonly string[], current: () => string): ConfigText {
  const file = loaded.file;
  const dotted = key.join('.');
  if (!file) {
    return {
      where: `${dotted} (built-in default)`,
      read: async () => current(),
      write: async () => Promise.reject(new Error('no configuration file')),
      refusal: `imspect runs without a configuration file; write ${dotted} in one (imspect.config.yaml) to change it`,
    };
  }
  const format = formatOf(file);
  const refusal = typeof format === 'object' ? format.refusal : undefined;
  const read = async () => {
    if (refusal) return current();
    const value = lookup(await parse(await readFile(file, 'utf8'), format as Format), key);
    return typeof value === 'string' ? value : current();
  };
  return {
    where: `${file} → ${dotted}`,
    read,
    refusal,
    write: async (text) => {
      if (refusal) throw new Error(refusal);
      const before = await readFile(file, 'utf8');
      const after = await withValue(before, format as Format, key, text);
      try {
        // The whole configuration as it would be: a mistake is refused here, not found at the next reload.
        resolveConfig(await parse(after, format as Format), file, loaded.baseDir);
      } catch (error) {
        throw new Error(`the configuration would not be valid: ${(error as Error).message}`);
      }
      const temp = `${file}.console-${process.pid}.tmp`;
      try {
        await writeFile(temp, after, { mode: 0o640 });
        await rename(temp, file);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const why =
          code === 'EACCES' || code === 'EPERM' ? 'permission denied to the user imspect runs as' : code === 'EROFS' ? 'a read-only file system' : (error as Error).message;
        throw new Error(`cannot write ${file} (${why}); change ${dotted} there by hand and reload (SIGHUP)`);
      }
    },
  };
}

async function parse(text: string, format: Format): Promise<unknown> {
  if (format === 'json') return JSON.parse(text);
  const { parse: parseYaml } = await import('yaml');
  return parseYaml(text) ?? {};
}

function lookup(value: unknown, key: readonly string[]): unknown {
  let at = value;
  for (const k of key) at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[k] : undefined;
  return at;
}

async function withValue(text: string, format: Format, key: readonly string[], value: string): Promise<string> {
  if (format === 'json') {
    const root = JSON.parse(text) as Record<string, unknown>;
    let at = root;
    for (const k of key.slice(0, -1)) {
      const next = at[k];
      at = (at[k] = next !== null && typeof next === 'object' && !Array.isArray(next) ? next : {}) as Record<string, unknown>;
    }
    at[key.at(-1)!] = value;
    return `${JSON.stringify(root, null, 2)}\n`;
  }
  const { parseDocument } = await import('yaml');
  const doc = parseDocument(text);
  if (doc.contents === null) doc.contents = doc.createNode({}) as unknown as typeof doc.contents;
  doc.setIn([...key], value);
  return doc.toString();
}
