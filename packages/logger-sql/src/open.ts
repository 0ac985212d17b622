import type { ImEvent } from '@imspect/sdk';
import type { AuditEntry, StoredAuditEntry } from './audit.js';
import type { SqlTarget } from './options.js';
import type { ArchivedMessage } from './row.js';
import type { SearchQuery } from './search.js';
import { WorkerArchive } from './sqlite-client.js';
import type { ActivityBucket, ArchiveStore, LocalUserSummary, SearchPage, SearchPageOptions, SqlArchive, UserDetail } from './store.js';

/**
 * Opens the archive. `inWorker` (what the logger uses) runs SQLite in a worker thread; PostgreSQL and MySQL
 * are network clients and never block the loop, so they run in the calling thread.
 */
export function openArchive(target: SqlTarget, options: { inWorker?: boolean; onPoolError?: (error: Error) => void } = {}): ArchiveStore {
  if (target.kind === 'sqlite' && options.inWorker) return new WorkerArchive(target);
  return new LazyArchive(target, options.onPoolError);
}

/**
 * A {@link SqlArchive} loaded at its first call. The store brings Kysely (about 250 modules, some 10 MB of
 * heap): a process whose SQLite archive runs in the worker thread never needs it in its main thread, so this
 * package's entry point must not import it (see `./archive` for the store itself).
 */
class LazyArchive implements ArchiveStore {
  private store: Promise<SqlArchive> | undefined;

  constructor(
    private readonly target: SqlTarget,
    private readonly onPoolError: ((error: Error) => void) | undefined,
  ) {}

  get kind(): SqlTarget['kind'] {
    return this.target.kind;
  }

  private open(): Promise<SqlArchive> {
    this.store ??= import('./store.js').then(({ SqlArchive }) => new SqlArchive(this.target, this.onPoolError));
    return this.store;
  }

  async migrate(): Promise<void> {
    return (await this.open()).migrate();
  }
  async insert(events: readonly ImEvent[]): Promise<number> {
    return (await this.open()).insert(events);
  }
  async search(query: SearchQuery): Promise<ArchivedMessage[]> {
    return (await this.open()).search(query);
  }
  async page(query: Omit<SearchQuery, 'limit'>, options: SearchPageOptions): Promise<SearchPage> {
    return (await this.open()).page(query, options);
  }
  async count(): Promise<number> {
    return (await this.open()).count();
  }
  async activity(sinceMs: number, bucketMs: number): Promise<ActivityBucket[]> {
    return (await this.open()).activity(sinceMs, bucketMs);
  }
  async localUsers(options: { prefix?: string; limit: number }): Promise<LocalUserSummary[]> {
    return (await this.open()).localUsers(options);
  }
  async userDetail(localId: string, options: { limit: number }): Promise<UserDetail> {
    return (await this.open()).userDetail(localId, options);
  }
  async appendAudit(entry: AuditEntry): Promise<void> {
    return (await this.open()).appendAudit(entry);
  }
  async listAudit(options: { beforeId?: number; size: number }): Promise<StoredAuditEntry[]> {
    return (await this.open()).listAudit(options);
  }
  async close(): Promise<void> {
    // Never opened: nothing to close, and no reason to load the store now.
    if (this.store) await (await this.store).close();
  }
}
