/**
 * Worker thread that owns the SQLite connection. node:sqlite is synchronous: run on the main thread, a
 * batch insert (and its fsync) would stall the event loop that relays bytes; here it stalls only this thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { SqlTarget } from './options.js';
import { SqlArchive } from './store.js';

export interface WorkerRequest {
  id: number;
  method: 'migrate' | 'insert' | 'search' | 'page' | 'count' | 'activity' | 'localUsers' | 'userDetail' | 'appendAudit' | 'listAudit' | 'close';
  args: unknown[];
}

export type WorkerReply = { id: number; result: unknown } | { id: number; error: { message: string; code?: string } };

const archive = new SqlArchive(workerData as SqlTarget);

parentPort!.on('message', (request: WorkerRequest) => {
  const call = (archive[request.method] as (...args: unknown[]) => Promise<unknown>).apply(archive, request.args);
  call.then(
    (result) => parentPort!.postMessage({ id: request.id, result } satisfies WorkerReply),
    (error: unknown) => {
      const e = error as Error & { code?: string };
      parentPort!.postMessage({ id: request.id, error: { message: e?.message ?? String(error), ...(e?.code ? { code: String(e.code) } : {}) } } satisfies WorkerReply);
    },
  );
});
