// oclif trusts oclif.manifest.json for every command's flags and help. In a clone, `tsc` run without `pnpm build`
// (which rewrites the manifest) leaves a manifest older than the compiled commands, describing old flags; such a
// manifest is removed here, before oclif reads it, so oclif reads the command files instead (slower, but right)
// until the next `pnpm build`. An installed package has its files all of one date: nothing is removed there.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandCompiledAfter } from './compiled-after.js';

const cliDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const manifest = path.join(cliDir, 'oclif.manifest.json');
try {
  if (commandCompiledAfter(cliDir, manifest) !== undefined) rmSync(manifest, { force: true });
} catch {
  // No manifest (nothing to check), or one we may not remove (a read-only install): oclif goes on as it would.
}
