/**
 * The data folder holds the conversations (journal segments, CSV logs, the SQLite archive), the TLS leaf keys and
 * the state files: nobody but imspect's user (and its group) may read anything in it, whenever it was created.
 */
import { chmod, lstat, mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { ImspectError, describeError } from '@imspect/sdk';
import type { PluginLogger } from '@imspect/sdk';
import { pluginDirOf } from './discovery.js';

/** Others get nothing; the group may read (an auditors' group), never write. */
export const PRIVATE_UMASK = 0o027;
/** The data folder itself: owner and group only. */
export const DATA_DIR_MODE = 0o750;
/** Folders above the data folder that imspect creates: they hold nothing, and the dropped user must cross them. */
const PARENT_MODE = 0o755;

/**
 * Files created from now on (by core, plugins, SQLite in its worker thread) get no bits for others, whatever the
 * mode asked for. A stricter umask inherited from the service manager is kept.
 */
export function restrictUmask(): void {
  // Worker threads share the process's umask and may not set it; the main thread sets it for all of them.
  if (!isMainThread) return;
  const previous = process.umask(PRIVATE_UMASK);
  if ((previous | PRIVATE_UMASK) !== PRIVATE_UMASK) process.umask(previous | PRIVATE_UMASK);
}

/**
 * Creates the data folder (0750) if needed and takes others' access away from it (an install from before, or a
 * folder made by hand), which alone makes everything in it unreachable for them. Returns whether it was open to
 * others: only then may what is inside be open too (see {@link narrowDataDir}); a folder imspect created, or one
 * it already closed, holds nothing that needs the walk.
 */
export async function makeDataDir(dataDir: string, log: PluginLogger): Promise<boolean> {
  const parent = path.dirname(dataDir);
  const firstCreated = await mkdir(parent, { recursive: true });
  if (firstCreated !== undefined) {
    // The umask cut the parents to 0750: give back the search bit the dropped user needs to reach the data folder.
    for (let folder = parent; folder.length >= firstCreated.length; folder = path.dirname(folder)) {
      await chmod(folder, PARENT_MODE);
      if (folder === firstCreated) break;
    }
  }
  try {
    await mkdir(dataDir, { mode: DATA_DIR_MODE });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const mode = (await stat(dataDir)).mode;
  if ((mode & 0o1002) === 0o1002) {
    // /tmp and the like: taking others' access away would break the system, handing it over worse. (Sticky but
    // closed to others is how imspect leaves a data folder that holds the CA: see handOver.)
    throw new ImspectError(`${dataDir}: dataDir is a shared folder (sticky bit, like /tmp); give imspect a folder of its own, e.g. /var/lib/imspect`, {
      code: 'DATA_DIR_SHARED',
      key: 'dataDir',
      file: dataDir,
    });
  }
  if ((mode & 0o007) === 0) return false;
  try {
    await chmod(dataDir, mode & 0o7770);
  } catch (error) {
    // Someone else's folder that imspect may write in: it still works, but says what is left open.
    log.warn({ dataDir, err: error }, `${dataDir} can be read by other users and imspect cannot change that (${describeError(error)}): run chmod o-rwx ${dataDir}`);
  }
  return true;
}

export interface NarrowResult {
  /** Files and folders whose bits for others were removed. */
  narrowed: number;
  /** Entries that could not be changed (owned by someone else), with the first reason. */
  failed: number;
  firstFailure?: string;
}

/**
 * Removes others' bits from everything under `dataDir` (files left by an older version, or copied in with a
 * umask of 022). Links are not followed: what they point to is not imspect's.
 */
export async function narrowDataDir(dataDir: string): Promise<NarrowResult> {
  const result: NarrowResult = { narrowed: 0, failed: 0 };
  // Plugin code, not conversations: the user imspect drops to must keep reading it (see plugin-folder/folder.ts).
  const pluginDir = pluginDirOf(dataDir);
  const visit = async (target: string): Promise<void> => {
    let entries: string[];
    try {
      entries = await readdir(target);
    } catch (error) {
      note(result, target, error);
      return;
    }
    for (const entry of entries) {
      const file = path.join(target, entry);
      if (file === pluginDir) continue;
      let info;
      try {
        info = await lstat(file);
      } catch {
        continue; // gone meanwhile
      }
      if (info.isSymbolicLink()) continue;
      if ((info.mode & 0o007) !== 0) {
        try {
          await chmod(file, info.mode & 0o7770);
          result.narrowed++;
        } catch (error) {
          note(result, file, error);
        }
      }
      if (info.isDirectory()) await visit(file);
    }
  };
  await visit(dataDir);
  return result;
}

function note(result: NarrowResult, file: string, error: unknown): void {
  result.failed++;
  result.firstFailure ??= `${file}: ${describeError(error)}`;
}

/** {@link narrowDataDir} with what it did in the operational log. */
export async function narrowDataDirLogged(dataDir: string, log: PluginLogger): Promise<void> {
  const result = await narrowDataDir(dataDir);
  if (result.narrowed > 0) {
    log.warn(
      { dataDir, narrowed: result.narrowed },
      `${result.narrowed} files and folders in ${dataDir} could be read by other users: no longer (an older install, or copied in by hand)`,
    );
  }
  if (result.failed > 0) {
    log.warn(
      { dataDir, failed: result.failed },
      `${result.failed} files or folders in ${dataDir} may still be readable by other users and could not be changed (first: ${result.firstFailure})`,
    );
  }
}
