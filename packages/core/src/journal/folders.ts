/**
 * Where the journals are: the base folder (the main thread's journal) and one `relay-<i>` folder per relay
 * worker thread, each a journal of its own (segments, state file, lock). A folder stays when the number of
 * workers changes: its events are still delivered, by a journal opened on the main thread.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { addDeliveryCounts, readJournalState, type ConsumerState, type JournalState } from './state.js';

const RELAY_FOLDER = /^relay-(\d+)$/;

/** The journal folder of relay worker `index`. */
export function relayJournalDir(dir: string, index: number): string {
  if (!Number.isInteger(index) || index < 0) throw new RangeError(`journal: a relay worker's index is a whole number from 0 (got ${index})`);
  return path.join(dir, `relay-${index}`);
}

/** The `relay-<i>` folders in `dir` (full paths, by index); none when `dir` does not exist. */
export async function journalFolders(dir: string): Promise<string[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return entries
    .filter((e) => e.isDirectory() && RELAY_FOLDER.test(e.name))
    .map((e) => ({ index: Number(RELAY_FOLDER.exec(e.name)![1]), dir: path.join(dir, e.name) }))
    .sort((a, b) => a.index - b.index)
    .map((e) => e.dir);
}

export interface JournalStateOf {
  dir: string;
  state: JournalState;
}

/** The state file of the base journal, then those of the `relay-<i>` folders: the ones that exist and read. */
export async function readJournalStates(dir: string): Promise<JournalStateOf[]> {
  const dirs = [dir, ...(await journalFolders(dir))];
  const states = await Promise.all(dirs.map(async (d) => ({ dir: d, state: await readJournalState(d) })));
  return states.filter((s): s is JournalStateOf => s.state !== undefined);
}

/**
 * One state for several journals, as `imspect status` reports them: sizes, limits and counters summed, full or
 * refusing writes when any is, each logger's positions summed so that `head - position` is what it has left
 * (a journal without that logger counts as delivered for it). The state of a single journal is returned as is.
 */
export function combineJournalStates(states: readonly JournalState[]): JournalState | undefined {
  if (states.length <= 1) return states[0];
  const first = states[0]!;
  const names = [...new Set(states.flatMap((s) => Object.keys(s.consumers)))];
  const consumers: Record<string, ConsumerState> = {};
  for (const name of names) {
    const total: ConsumerState = { position: 0, delivered: 0, failures: 0, lost: 0 };
    for (const s of states) {
      const c = s.consumers[name];
      total.position += c ? c.position : s.head;
      if (c) addDeliveryCounts(total, c);
    }
    consumers[name] = total;
  }
  const writeError = states.find((s) => s.writeError)?.writeError;
  const sum = (pick: (s: JournalState) => number) => states.reduce((n, s) => n + pick(s), 0);
  return {
    version: 1,
    head: sum((s) => s.head),
    tail: sum((s) => s.tail),
    bytes: sum((s) => s.bytes),
    maxBytes: sum((s) => s.maxBytes),
    full: states.some((s) => s.full),
    onFull: first.onFull,
    dropped: sum((s) => s.dropped),
    ...(writeError ? { writeError } : {}),
    pid: first.pid,
    updatedAt: states
      .map((s) => s.updatedAt)
      .sort()
      .at(-1)!,
    consumers,
  };
}
