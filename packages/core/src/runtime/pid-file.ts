import { readFile, unlink, writeFile } from 'node:fs/promises';
import { ImspectError } from '@imspect/sdk';

/**
 * Writes this process's id to `file`, refusing when it names another imspect that is still alive. Written before
 * root is dropped; removing it at exit then needs the folder to be writable by the user (e.g. /run/imspect,
 * systemd's RuntimeDirectory), otherwise a stale file stays behind and is replaced at the next start.
 */
export async function writePidFile(file: string): Promise<void> {
  const previous = Number((await readFile(file, 'utf8').catch(() => '')).trim());
  if (Number.isInteger(previous) && previous > 0 && previous !== process.pid && isAlive(previous)) {
    throw new ImspectError(`${file}: imspect is already running with pid ${previous}`, { code: 'ALREADY_RUNNING', key: 'pidFile' });
  }
  try {
    await writeFile(file, `${process.pid}\n`, { mode: 0o644 });
  } catch (error) {
    throw new ImspectError(`${file}: cannot write the pid file: ${(error as Error).message}`, { code: 'PID_FILE_UNWRITABLE', key: 'pidFile', cause: error });
  }
}

/** Removes the pid file if it is still ours; true when removed. */
export async function removePidFile(file: string): Promise<boolean> {
  const content = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (content !== String(process.pid)) return false;
  try {
    await unlink(file);
    return true;
  } catch {
    return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
