/** The main thread's side of the SQLite worker: the same {@link ArchiveStore} interface, over messages. */
import { Worker } from 'node:worker_threads';
import type { ImEvent } from '@imspect/sdk';
import type { SqlTarget } from './options.js';
import type { ArchivedMessage } from './row.js';
import type { SearchQuery } from './search.js';
import type { ActivityBucket, ArchiveStore, LocalUserSummary, SearchPage, SearchPageOptions, UserDetail } from './store.js';
import type { AuditEntry, StoredAuditEntry } from './audit.js';
import type { WorkerReply, WorkerRequest } from './sqlite-worker.js';

export class WorkerArchive implements ArchiveStore {
  readonly kind = 'sqlite' as const;
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly calls = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  constructor(private readonly target: Extract<SqlTarget, { kind: 'sqlite' }>) {}

  private start(): Worker {
    if (this.worker) return this.worker;
    // No inherited --import / --require preloads: they were meant for imspect's main thread (a preload that
    // watches standard input, say, would see the worker's empty one end).
    const worker = new Worker(new URL('./sqlite-worker.js', import.meta.url), { workerData: this.target, execArgv: [] });
    worker.on('message', (reply: WorkerReply) => {
      const call = this.calls.get(reply.id);
      if (!call) return;
      this.calls.delete(reply.id);
      if ('error' in reply) call.reject(Object.assign(new Error(reply.error.message), reply.error.code ? { code: reply.error.code } : {}));
      else call.resolve(reply.result);
    });
    const fail = (error: Error) => {
      // A worker that died is started again by the next call; what was in flight is failed (and retried by core).
      this.worker = undefined;
      for (const call of this.calls.values()) call.reject(error);
      this.calls.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`SQLite worker exited (code ${code})`)));
    // The worker does not keep imspect alive on its own; pending calls do (their promises are awaited).
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private call<T>(method: WorkerRequest['method'], ...args: unknown[]): Promise<T> {
    const worker = this.start();
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.calls.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker.ref();
      worker.postMessage({ id, method, args } satisfies WorkerRequest);
    }).finally(() => {
      if (this.calls.size === 0) this.worker?.unref();
    });
  }

  migrate(): Promise<void> {
    return this.call('migrate');
  }

  insert(events: readonly ImEvent[]): Promise<number> {
    return this.call('insert', events);
  }

  search(query: SearchQuery): Promise<ArchivedMessage[]> {
    return this.call('search', query);
  }

  page(query: Omit<SearchQuery, 'limit'>, options: SearchPageOptions): Promise<SearchPage> {
    return this.call('page', query, options);
  }

  count(): Promise<number> {
    return this.call('count');
  }

  activity(sinceMs: number, bucketMs: number): Promise<ActivityBucket[]> {
    return this.call('activity', sinceMs, bucketMs);
  }

  localUsers(options: { prefix?: string; limit: number }): Promise<LocalUserSummary[]> {
    return this.call('localUsers', options);
  }

  userDetail(localId: string, options: { limit: number }): Promise<UserDetail> {
    return this.call('userDetail', localId, options);
  }

  appendAudit(entry: AuditEntry): Promise<void> {
    return this.call('appendAudit', entry);
  }

  listAudit(options: { beforeId?: number; size: number }): Promise<StoredAuditEntry[]> {
    return this.call('listAudit', options);
  }

  async close(): Promise<void> {
    if (!this.worker) return;
    const worker = this.worker;
    try {
      await this.call('close');
    } finally {
      this.worker = undefined;
      await worker.terminate();
    }
  }
}
