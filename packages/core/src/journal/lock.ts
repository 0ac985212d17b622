/**
 * One process per journal: two appending to the same segments would interleave records. The lock is a file
 * holding the owner's pid, created exclusively; a lock whose process is gone (imspect was killed) is taken over.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ImspectError } from '@imspect/sdk/errors';

export const LOCK_FILE = 'journal.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function lockJournal(dir: string): () => void {
  const file = path.join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o640 });
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let owner = NaN;
    try {
      owner = Number(readFileSync(file, 'utf8').trim());
    } catch {
      // removed meanwhile: try again
    }
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
      throw new ImspectError(`the journal ${dir} is in use by another imspect (pid ${owner}); give this one another dataDir or loggers.journal.dir`, {
        code: 'JOURNAL_LOCKED',
        file,
      });
    }
    rmSync(file, { force: true }); // left by a process that is gone
  }
  throw new ImspectError(`could not lock the journal ${dir}`, { code: 'JOURNAL_LOCKED', file });
}
