/**
 * CsvLogger: batches of events -> rows appended to `{root}/{protocol}/{localId}/{remoteId}/{day}.csv`, or
 * `{root}/{protocol}/{network}/{localId}/{remoteId}/{day}.csv` for an event that names its network (IRC).
 */
import { createHash } from 'node:crypto';
import { join, sep } from 'node:path';
import { ImspectError, describeError, messageCopyIdentity, type ImEvent, type LoggerHooks, type PluginLogger } from '@imspect/sdk';
import { csvRow } from './csv.js';
import { EventSeconds } from './event-time.js';
import { FileStore, type FileTarget } from './files.js';
import type { CsvLoggerConfig } from './options.js';
import { RecentIds } from './recent.js';
import { COLUMNS, eventRow } from './row.js';
import { encodeSegment } from './segment.js';
import { readFileTail } from './tail.js';
import { WrittenBefore } from './written-before.js';

/** Name of the file that keeps the whole encoded id of a folder whose name had to be truncated. */
export const ID_FILE = '.id';

/** Most (protocol, network?, localId, remoteId, day) -> file entries remembered; the oldest is forgotten first. */
export const TARGET_CACHE_SIZE = 4096;

/**
 * Most files of one batch written at the same time (never more than `maxOpenFiles`, so that the cap holds).
 * The writes go to libuv's thread pool; a few more than its threads keeps it busy.
 */
export const WRITE_CONCURRENCY = 16;

/** protocol -> network -> localId -> remoteId -> that conversation's file on its last day asked for. */
type TargetTree = Map<unknown, Map<string | undefined, Map<unknown, Map<unknown, { day: string; target: FileTarget }>>>>;

interface Group {
  target: FileTarget;
  rows: string[];
  /** The event id of each row (undefined for an event without one). */
  ids: (string | undefined)[];
  /** The message of each row (participant and message key, hashed; undefined for an event without a key). */
  messages: (string | undefined)[];
  /** Oldest time (unix seconds) among the rows that an earlier run may have written; Infinity when none. */
  checkFrom: number;
}

export class CsvLogger implements LoggerHooks {
  private readonly store: FileStore;
  private readonly recent: RecentIds;
  /**
   * The messages (participant and message key) of the last rows written: a copy of a message that reached the
   * user's other device (same key) is not written again. CSV rows are never rewritten, so the row names only the
   * first copy's device; the SQL archive lists them all.
   */
  private readonly recentMessages: RecentIds;
  private readonly writtenBefore: WrittenBefore;
  private readonly times = new EventSeconds();
  private readonly header: Buffer | undefined;
  /** Batches run one after the other, so that a retry never races the attempt it repeats. */
  private tail: Promise<unknown> = Promise.resolve();
  /**
   * targetFor's results: encoding the ids and joining the path is the costly part of a row. Keyed level by level
   * (protocol, network, localId, remoteId), so that a lookup builds no key string: a batch interleaves many
   * conversations, and a joined key cost more than the rest of the lookup. Each conversation keeps the target of
   * the last day asked for.
   */
  private readonly targets: TargetTree = new Map();
  private targetCount = 0;
  /** The day of the last second asked for (time zone offsets are whole seconds). */
  private daySecond = Number.NaN;
  private day = '';

  constructor(
    private readonly config: CsvLoggerConfig,
    private readonly log: PluginLogger,
    private readonly pluginName = 'logger-csv',
  ) {
    this.store = new FileStore(config, (file, size) => this.validLengthOf(file, size));
    this.recent = new RecentIds(config.rememberIds);
    this.recentMessages = new RecentIds(config.rememberIds);
    this.writtenBefore = new WrittenBefore(Math.floor(Date.now() / 1000), log, (file) => this.store.isOpen(file));
    this.header = config.header ? Buffer.from(csvRow(COLUMNS), 'utf8') : undefined;
  }

  /** Where an event's row goes (exposed for tools and tests). */
  targetFor(event: Readonly<ImEvent>, timeMs: number): FileTarget {
    const network = this.config.networkFolder && typeof event.network === 'string' ? event.network : undefined;
    const day = this.dayOf(timeMs);
    let byNetwork = this.targets.get(event.protocol);
    if (byNetwork === undefined) this.targets.set(event.protocol, (byNetwork = new Map()));
    let byLocal = byNetwork.get(network);
    if (byLocal === undefined) byNetwork.set(network, (byLocal = new Map()));
    let byRemote = byLocal.get(event.localId);
    if (byRemote === undefined) byLocal.set(event.localId, (byRemote = new Map()));
    const cached = byRemote.get(event.remoteId);
    if (cached !== undefined && cached.day === day) return cached.target;
    const ids =
      network === undefined
        ? [idString(event.protocol), idString(event.localId), idString(event.remoteId)]
        : [idString(event.protocol), network, idString(event.localId), idString(event.remoteId)];
    const target = this.computeTarget(ids, day);
    if (cached !== undefined) {
      cached.day = day;
      cached.target = target;
      return target;
    }
    // Bounded: forgetting everything at once is simpler than ageing a tree, and as cheap when ids churn.
    if (this.targetCount >= TARGET_CACHE_SIZE) {
      this.targets.clear();
      this.targetCount = 0;
      return this.targetFor(event, timeMs);
    }
    byRemote.set(event.remoteId, { day, target });
    this.targetCount += 1;
    return target;
  }

  private dayOf(timeMs: number): string {
    const second = Math.floor(timeMs / 1000);
    if (second !== this.daySecond) {
      this.day = this.config.dayOf(timeMs);
      this.daySecond = second;
    }
    return this.day;
  }

  private computeTarget(ids: readonly string[], day: string): FileTarget {
    const segments = ids.map((id) => encodeSegment(id));
    const names = segments.map((s) => s.name);
    const file = join(this.config.root, ...names, `${day}.csv`);
    if (!file.startsWith(this.config.root + sep)) {
      // Cannot happen with the encoding; kept as a last line of defence.
      throw new ImspectError(`refusing to write outside ${this.config.root}: ${file}`, { code: 'LOG_PATH_ESCAPE', plugin: this.pluginName, hook: 'write' });
    }
    const sidecars = segments.flatMap((s, i) => (s.truncated ? [{ path: join(this.config.root, ...names.slice(0, i + 1), ID_FILE), content: `${s.full}\n` }] : []));
    return { file, sidecars };
  }

  write(events: readonly ImEvent[]): Promise<void> {
    const run = this.tail.then(() => this.writeBatch(events));
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Waits for the writes under way, then fdatasyncs the files written since the last sync. */
  flush(): Promise<void> {
    const run = this.tail
      .then(() => this.store.sync())
      .catch((error: unknown) => {
        throw this.failure('flush', describeError(error), error);
      });
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Waits for the writes under way and closes every file. A later write opens them again. */
  close(): Promise<void> {
    const run = this.tail
      .then(() => this.store.close())
      .catch((error: unknown) => {
        throw this.failure('close', describeError(error), error);
      });
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async writeBatch(events: readonly ImEvent[]): Promise<void> {
    const groups = new Map<string, Group>();
    const inBatch = new Set<string>();
    const messagesInBatch = new Set<string>();
    for (const event of events) {
      const id = typeof event.id === 'string' && event.id.length > 0 ? event.id : undefined;
      if (id !== undefined) {
        if (this.recent.has(id) || !addedNew(inBatch, id)) continue; // written already: this is a retry
      }
      const message = messageOf(event);
      if (message !== undefined) {
        if (this.recentMessages.has(message) || !addedNew(messagesInBatch, message)) continue; // a copy on another device
      }
      // Rounded down to the second: a row needs no more (its unix time, its day).
      let timeMs = this.times.msOf(event.at);
      if (Number.isNaN(timeMs)) {
        timeMs = Date.now();
        this.log.warn({ eventId: id, at: event.at }, 'event time is not an ISO date; logged with the current time');
      }
      const target = this.targetFor(event, timeMs);
      let group = groups.get(target.file);
      if (!group) groups.set(target.file, (group = { target, rows: [], ids: [], messages: [], checkFrom: Number.POSITIVE_INFINITY }));
      group.rows.push(eventRow(event, timeMs, this.config.excelSafe));
      group.ids.push(id);
      group.messages.push(message);
      const second = Math.floor(timeMs / 1000);
      if (id !== undefined && second < group.checkFrom && this.writtenBefore.mayBeWritten(second)) group.checkFrom = second;
    }
    // Every file is attempted even when one fails, so that a retry has as little left to do as possible.
    // Files are written a few at a time; each file gets one write per batch, so no two writes overlap on it.
    const list = [...groups.values()];
    const errors: unknown[] = new Array(list.length);
    const ok: boolean[] = new Array(list.length).fill(false);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < list.length) {
        const i = next++;
        const group = list[i]!;
        try {
          if (group.checkFrom !== Number.POSITIVE_INFINITY) await this.skipWrittenBefore(group);
          if (group.rows.length > 0) await this.store.append(group.target, Buffer.from(group.rows.join(''), 'utf8'), this.header);
          ok[i] = true;
        } catch (error) {
          errors[i] = error;
        }
      }
    };
    const workers = Math.min(list.length, Math.max(1, Math.min(WRITE_CONCURRENCY, this.config.maxOpenFiles)));
    await Promise.all(Array.from({ length: workers }, worker));
    // Remembered and reported in the batch's order, whatever order the writes ended in.
    const failed: { file: string; rows: number; error: unknown }[] = [];
    list.forEach(({ target, rows, ids, messages }, i) => {
      if (ok[i]) {
        // New to both memories: the batch skipped what they held and its own repeats, and no other batch ran since.
        for (const id of ids) if (id !== undefined) this.recent.addNew(id);
        for (const message of messages) if (message !== undefined) this.recentMessages.addNew(message);
      } else failed.push({ file: target.file, rows: rows.length, error: errors[i] });
    });
    if (failed.length === 0) return;
    const first = failed[0]!;
    const more = failed.length > 1 ? ` (and ${failed.length - 1} more files)` : '';
    const lost = failed.reduce((n, f) => n + f.rows, 0);
    throw this.failure('write', `${lost} of ${events.length} events not written: ${describeError(first.error)}${more}`, first.error);
  }

  /**
   * Where the last complete row of a file that does not end with a line feed ends (FileStore cuts it there
   * before appending). Rows of events dated before the start were checked, and the file cut, by
   * WrittenBefore already; this catches the rest (a file first written after a restart by a new event, a
   * power cut that lost the journal's copy of the event).
   */
  private async validLengthOf(file: string, size: number): Promise<number | undefined> {
    let tail: Awaited<ReturnType<typeof readFileTail>>;
    try {
      tail = await readFileTail(file, Number.POSITIVE_INFINITY, false);
    } catch (error) {
      this.log.warn({ file, err: describeError(error) }, 'the log file ends in an incomplete row and cannot be read back to cut it off; appending after it');
      return undefined;
    }
    if (tail === undefined || tail === 'unreadable') {
      this.log.warn({ file }, 'the log file ends in an incomplete row and is not CSV as logger-csv writes it; appending after it');
      return undefined;
    }
    if (tail.validLength < size) {
      this.log.warn({ file, bytes: size - tail.validLength }, 'cut off an incomplete last row left by an interrupted write (imspect was stopped mid-write)');
    }
    return tail.validLength;
  }

  /** Drops the rows of events that the file already held when this process started (see WrittenBefore). */
  private async skipWrittenBefore(group: Group): Promise<void> {
    const asked = group.ids.filter((id): id is string => id !== undefined);
    const found = await this.writtenBefore.written(group.target.file, group.checkFrom, asked);
    if (found.size === 0) return;
    const rows: string[] = [];
    const ids: (string | undefined)[] = [];
    const messages: (string | undefined)[] = [];
    group.ids.forEach((id, k) => {
      const message = group.messages[k];
      if (id !== undefined && found.has(id)) {
        this.recent.add(id);
        if (message !== undefined) this.recentMessages.add(message);
        return;
      }
      rows.push(group.rows[k]!);
      ids.push(id);
      messages.push(message);
    });
    this.log.debug({ file: group.target.file, skipped: found.size }, 'events delivered again after a restart were already in the log file');
    group.rows = rows;
    group.ids = ids;
    group.messages = messages;
  }

  private failure(hook: string, message: string, cause: unknown): ImspectError {
    if (cause instanceof ImspectError) return cause;
    return new ImspectError(`${this.pluginName}: ${message}`, { code: 'LOG_WRITE_FAILED', plugin: this.pluginName, hook, cause });
  }
}

/** Adds `value` and tells whether it was new: one lookup where `has` then `add` make two, for every event. */
function addedNew(set: Set<string>, value: string): boolean {
  const size = set.size;
  set.add(value);
  return set.size !== size;
}

function idString(id: unknown): string {
  return id === undefined || id === null ? '' : String(id);
}

/** One message for one participant, whichever device the copy reached (hashed: keys and texts can be long). */
function messageOf(event: Readonly<ImEvent>): string | undefined {
  const identity = messageCopyIdentity(event);
  return identity === undefined ? undefined : createHash('sha256').update(identity).digest('base64');
}
