// A file the build writes from the compiled commands (the oclif manifest, the root help's list) is out of date
// once a command is compiled after it, e.g. by a `tsc` run without `pnpm build`.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** The first compiled command (relative to dist/commands) newer than `file`, or undefined when none is. */
export function commandCompiledAfter(cliDir, file) {
  const written = statSync(file).mtimeMs;
  const commands = path.join(cliDir, 'dist/commands');
  return readdirSync(commands, { recursive: true })
    .map(String)
    .find((name) => name.endsWith('.js') && statSync(path.join(commands, name)).mtimeMs > written);
}
