import type { SqlTarget } from './options.js';
import { WorkerArchive } from './sqlite-client.js';
import { SqlArchive, type ArchiveStore } from './store.js';

/**
 * Opens the archive. `inWorker` (what the logger uses) runs SQLite in a worker thread; PostgreSQL and MySQL
 * are network clients and never block the loop, so they run in the calling thread.
 */
export function openArchive(target: SqlTarget, options: { inWorker?: boolean; onPoolError?: (error: Error) => void } = {}): ArchiveStore {
  if (target.kind === 'sqlite' && options.inWorker) return new WorkerArchive(target);
  return new SqlArchive(target, options.onPoolError);
}
