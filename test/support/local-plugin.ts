/**
 * A plugin folder as `pluginFolders` discovers it: `<folder>/<name>/package.json` (named `imspect-plugin-<name>`,
 * with its kind and host range) and `index.js` holding `code`. For tests that need a plugin of their own.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

export async function writeLocalPlugin(folder: string, name: string, kind: 'filter' | 'content' | 'logger' | 'protocol', code: string): Promise<string> {
  const dir = path.join(folder, name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: `imspect-plugin-${name}`, type: 'module', main: 'index.js', imspect: { kind, host: '^0.1.0' } }));
  await writeFile(path.join(dir, 'index.js'), code);
  return dir;
}
