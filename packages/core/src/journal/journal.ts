/**
 * The event journal: every accepted event gets a sequence number and, when the journal has a folder, is
 * appended to a segment file before any logger sees it. Each logger (a consumer) has its own position; the
 * journal keeps an event until every consumer is past it.
 *
 * Two journals answer to one interface: `MemoryJournal` (no folder: in memory only, nothing is lost and nothing
 * survives a restart) and `DiskJournal` (segment files, state file, lock). The disk journal's parts are in files
 * of their own: `ConsumerCursors` (positions and counts), `MemoryWindow` (the newest events, in memory),
 * `SegmentWriter` (encoding, writing and syncing the segments) and `CapacityPolicy` (what happens when it is full).
 *
 * Appending is synchronous: core commits the events of a chunk (one `write` into the OS cache) before it
 * forwards the chunk's frames, so an event that was forwarded survives a SIGKILL of imspect; `fdatasync` runs
 * in the background every `fsyncIntervalMs`, which bounds what a power loss can take.
 */
import type { PluginLogger } from '@imspect/sdk';
import type { Journal as JournalContract, JournalOptions } from './contract.js';
import { MemoryJournal } from './memory-journal.js';
import { DiskJournal } from './disk-journal.js';

export { DEFAULT_JOURNAL_OPTIONS, type JournalOptions, type RecordBatch } from './contract.js';
export type { JournalBatch } from './view.js';

export type Journal = JournalContract;

export const Journal = {
  /** A journal in memory only (no durability): for tests and embedding without a data folder. */
  inMemory(consumers: readonly string[], log: PluginLogger): Journal {
    return new MemoryJournal(consumers, log);
  },
  /**
   * Opens (or creates) the journal in `options.dir`: finds the segments, cuts off a torn tail, restores each
   * consumer's position (a consumer new to the state file starts at the head; without a state file, everyone
   * starts at the oldest event kept), and starts a fresh segment.
   */
  open(options: JournalOptions & { dir: string }, consumers: readonly string[], log: PluginLogger): Promise<Journal> {
    return DiskJournal.open(options, consumers, log);
  },
};
