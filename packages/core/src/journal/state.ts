/**
 * The journal's state file, `state.json` in the journal folder: each logger's position and last error, the
 * head, and whether the journal is full. The running imspect rewrites it (write to a temporary file, then
 * rename) as delivery progresses, so `imspect status` reads delivery state without talking to the process.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const STATE_FILE = 'state.json';

/** A logger's delivery counts, in a journal's state and in a sink's status. */
export type DeliveryCounts = Pick<ConsumerState, 'delivered' | 'failures' | 'lost' | 'lastError' | 'lastErrorAt'>;

/** Adds `part`'s counts to `total` (several journals, one logger); the last error is the latest of any. */
export function addDeliveryCounts(total: DeliveryCounts, part: Readonly<DeliveryCounts>): void {
  total.delivered += part.delivered;
  total.failures += part.failures;
  total.lost += part.lost ?? 0;
  if (part.lastError !== undefined && part.lastErrorAt !== undefined && (total.lastErrorAt === undefined || part.lastErrorAt > total.lastErrorAt)) {
    total.lastError = part.lastError;
    total.lastErrorAt = part.lastErrorAt;
  }
}

export interface ConsumerState {
  /** Sequence number of the next event this logger has to store. */
  position: number;
  /** Events stored since the process started. */
  delivered: number;
  failures: number;
  /**
   * Events this logger will never get: it was so far behind, with the journal at its limit and
   * `onFull: forward`, that its oldest events were deleted to make room for new ones (kept across restarts).
   */
  lost: number;
  lastError?: string;
  lastErrorAt?: string;
}

export interface JournalState {
  version: 1;
  /** Sequence number the next accepted event gets. */
  head: number;
  /** Oldest sequence number still on disk. */
  tail: number;
  bytes: number;
  maxBytes: number;
  full: boolean;
  onFull: 'forward' | 'block';
  /**
   * Events not journaled, and so logged by no logger: the disk refused the write (full, quota, I/O error) with
   * `onFull: forward`, or the journal was over its limit with nothing it could free. Kept across restarts.
   */
  dropped: number;
  /** Set while the journal cannot write to its disk (the error code, e.g. ENOSPC, and since when). */
  writeError?: JournalWriteError;
  pid: number;
  updatedAt: string;
  consumers: Record<string, ConsumerState>;
}

export interface JournalWriteError {
  code: string;
  message: string;
  since: string;
}

export async function readJournalState(dir: string): Promise<JournalState | undefined> {
  let text: string;
  try {
    text = await readFile(path.join(dir, STATE_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const state = JSON.parse(text) as JournalState;
    if (state?.version !== 1 || typeof state.consumers !== 'object' || state.consumers === null) return undefined;
    return state;
  } catch {
    // A state file cut short by a power loss: positions are unknown, so delivery starts from the oldest event
    // kept (loggers store each event once, so re-delivery is harmless).
    return undefined;
  }
}

export async function writeJournalState(dir: string, state: JournalState): Promise<void> {
  const file = path.join(dir, STATE_FILE);
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(state, null, 1)}\n`, { mode: 0o640 });
  await rename(temp, file);
}
