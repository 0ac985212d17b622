// Part of a short command's time (`--help`, `status`) goes to compiling oclif's and imspect's modules. Node keeps
// the compiled code on disk when asked (module.enableCompileCache), which cuts that part on every later start.
// Compiled code is run as it is found, so the cache lives inside the installation and only when the installation
// belongs to the user running imspect and nobody else may write to it: whoever could plant code there could
// already change imspect's own files. Anyone else (another user running a root-owned install) goes without.
import { lstatSync, mkdirSync } from 'node:fs';
import module from 'node:module';
import path from 'node:path';

const OTHERS_MAY_WRITE = 0o022;

/** Only the current user may write to `dir`, and it is a real folder (not a link someone could point elsewhere). */
function ownedPrivately(dir) {
  const stats = lstatSync(dir);
  return stats.isDirectory() && stats.uid === process.getuid?.() && (stats.mode & OTHERS_MAY_WRITE) === 0;
}

/**
 * Turns the compile cache on in `<cliDir>/.compile-cache` when that is safe; returns the folder, or why not.
 * `enable` is Node's module.enableCompileCache (replaceable to test the decision without changing the process).
 */
export function setUpCompileCache(cliDir, enable = module.enableCompileCache) {
  if (process.env.IMSPECT_NO_COMPILE_CACHE !== undefined) return { skipped: 'IMSPECT_NO_COMPILE_CACHE is set' };
  if (typeof enable !== 'function') return { skipped: 'this Node has no compile cache' };
  try {
    if (!ownedPrivately(cliDir)) return { skipped: `${cliDir} is not this user's alone` };
    const cacheDir = path.join(cliDir, '.compile-cache');
    mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
    if (!ownedPrivately(cacheDir)) return { skipped: `${cacheDir} is not this user's alone` };
    enable(cacheDir);
    return { cacheDir };
  } catch (error) {
    // A read-only or vanished installation: imspect starts as it would without the cache.
    return { skipped: error instanceof Error ? error.message : String(error) };
  }
}
