/**
 * imspect's own plugin folder, `<dataDir>/plugins`: an npm project of its own (package.json, package-lock.json,
 * node_modules), apart from imspect's installation and its lockfile, so installing a plugin never edits either,
 * whether imspect came from a clone, `npm install -g` or a tarball. Every change is made in a staging copy next to
 * it and swapped in only when it succeeded: a failed install leaves the folder as it was.
 */
import { chmod, cp, lstat, mkdir, open, readFile, readdir, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { ImspectError } from '@imspect/sdk';
import { PLUGIN_DIR_MANIFEST, PLUGIN_DIR_NAME, pluginDirOf } from '../runtime/discovery.js';

export { PLUGIN_DIR_NAME, pluginDirOf };
/** Copies of the tarballs and packed folders installed, so the folder never depends on files elsewhere. */
export const TARBALLS_DIR = 'tarballs';

/** The package folder of the SDK this imspect runs on (the one core itself imports). */
export async function hostSdkDir(): Promise<string> {
  return realpath(path.dirname(fileURLToPath(import.meta.resolve('@imspect/sdk/package.json'))));
}

export interface PluginFolderManifest {
  name: string;
  private: true;
  description: string;
  dependencies: Record<string, string>;
  [key: string]: unknown;
}

export async function readFolderManifest(dir: string): Promise<PluginFolderManifest> {
  const pkg = JSON.parse(await readFile(path.join(dir, PLUGIN_DIR_MANIFEST), 'utf8')) as PluginFolderManifest;
  pkg.dependencies ??= {};
  return pkg;
}

export async function writeFolderManifest(dir: string, pkg: PluginFolderManifest): Promise<void> {
  await writeFile(path.join(dir, PLUGIN_DIR_MANIFEST), `${JSON.stringify(pkg, null, 2)}\n`);
}

/**
 * Points the folder's `@imspect/sdk` dependency at the running imspect's own SDK (a `file:` link, which npm makes
 * a symbolic link): every plugin's peer dependency on the SDK is satisfied by it, so npm neither fetches a second
 * copy from the registry nor fails when the SDK is not on it, and the plugins share core's SDK module.
 */
async function pinHostSdk(dir: string): Promise<void> {
  const pkg = await readFolderManifest(dir).catch(() => undefined);
  const sdk = `file:${await hostSdkDir()}`;
  const next: PluginFolderManifest = pkg ?? {
    name: 'imspect-plugins',
    private: true,
    description: 'Plugins installed by `imspect plugins install`; managed by imspect, do not edit by hand',
    dependencies: {},
  };
  next.dependencies = { ...next.dependencies, '@imspect/sdk': sdk };
  await writeFolderManifest(dir, next);
}

/**
 * Nobody but the owner (root, when an administrator installs) may change plugin code, which imspect imports
 * while it may still be root; everybody may read it, so the user imspect drops to can load what a plugin
 * imports later. Links are left as they are (they point at the host's SDK or a plugin being developed).
 */
export async function narrowModes(dir: string): Promise<void> {
  const visit = async (target: string): Promise<void> => {
    const info = await lstat(target);
    if (info.isSymbolicLink()) return;
    const mode = info.mode & 0o7777;
    const wanted = info.isDirectory() ? (mode & ~0o022) | 0o555 : (mode & ~0o022) | 0o444;
    if (wanted !== mode) await chmod(target, wanted);
    if (info.isDirectory()) for (const entry of await readdir(target)) await visit(path.join(target, entry));
  };
  await visit(dir);
}

/** The staging copy this process makes of the plugin folder (next to it: same file system, so renames swap it). */
export function stagingDirOf(pluginDir: string): string {
  return `${pluginDir}.staging-${process.pid}`;
}

/** Only one command changes the folder at a time: a lock file next to it, with the holder's pid. */
async function lock(pluginDir: string): Promise<() => Promise<void>> {
  const file = `${pluginDir}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o644);
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(holder) && holder > 0 && processAlive(holder)) {
        throw new ImspectError(`another imspect command (pid ${holder}) is changing ${pluginDir}; try again when it is done`, { code: 'PLUGIN_FOLDER_BUSY' });
      }
      await rm(file, { force: true }); // left by a command that died
    }
  }
  throw new ImspectError(`cannot lock ${pluginDir}`, { code: 'PLUGIN_FOLDER_BUSY' });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `change` on a staging copy of the plugin folder (created if there is none yet) and swaps the copy in only
 * when `change` resolves; when it throws, the staging copy is removed and the folder is left as it was.
 */
export async function withStagedPluginFolder<T>(pluginDir: string, change: (staging: string) => Promise<T>): Promise<T> {
  await mkdir(path.dirname(pluginDir), { recursive: true });
  const unlock = await lock(pluginDir);
  const staging = stagingDirOf(pluginDir);
  try {
    await rm(staging, { recursive: true, force: true });
    const exists = await lstat(pluginDir).then(
      () => true,
      () => false,
    );
    // Links are copied as links: the SDK link is relative and the staging copy sits next to the folder, so it
    // points at the same SDK from either place.
    if (exists) await cp(pluginDir, staging, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    else await mkdir(staging, { mode: 0o755 });
    await pinHostSdk(staging);
    const result = await change(staging);
    await narrowModes(staging);
    await swap(pluginDir, staging, exists);
    return result;
  } finally {
    await rm(staging, { recursive: true, force: true });
    await unlock();
  }
}

async function swap(pluginDir: string, staging: string, exists: boolean): Promise<void> {
  if (!exists) return rename(staging, pluginDir);
  const previous = `${pluginDir}.previous-${process.pid}`;
  await rm(previous, { recursive: true, force: true });
  await rename(pluginDir, previous);
  try {
    await rename(staging, pluginDir);
  } catch (error) {
    await rename(previous, pluginDir);
    throw error;
  }
  await rm(previous, { recursive: true, force: true });
}

/** Creates the plugin folder (with its package.json and the SDK link) when there is none; for `link`. */
export async function ensurePluginFolder(pluginDir: string): Promise<void> {
  const exists = await lstat(path.join(pluginDir, PLUGIN_DIR_MANIFEST)).then(
    () => true,
    () => false,
  );
  if (!exists) await withStagedPluginFolder(pluginDir, async () => undefined);
}
