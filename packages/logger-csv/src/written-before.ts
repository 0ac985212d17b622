/**
 * After a crash, the journal delivers again the events a logger had not acknowledged, and its saved position
 * can be older than the last batch written (state.json is rewritten at most every 100 ms, or lost with a
 * power cut: then delivery starts again at the oldest event kept). RecentIds knows only what this process
 * wrote; this knows what the files already held when it started.
 *
 * Only events from before this process started can be in a file already, so only they are checked: the
 * steady write path costs nothing. The first time such an event goes to a file, the end of the file is read
 * back (tail.ts) to a row older than the event by more than ORDER_SLACK_SECONDS: a row repeated for the
 * event has the same file and the same time, so it is among the rows read. Later events of that file are
 * checked against what was read, and an older one reads further back. A row left incomplete by a crash is
 * cut off first (its event was not acknowledged, so it is being delivered again).
 */
import { describeError, type PluginLogger } from '@imspect/sdk';
import { readFileTail } from './tail.js';

/** Most files whose end is remembered; a file forgotten is read again when needed. */
export const KNOWN_FILES = 4096;

/**
 * A file's end is read back this much further than the oldest event asked about, so that the next batches'
 * events, slightly out of time order, do not each make it read again.
 */
export const READ_MARGIN_SECONDS = 60;

interface Known {
  /** Rows of this second or later are known. */
  fromSecond: number;
  /** Their event ids, less the ones met since (an event is delivered again once); undefined: unreadable. */
  ids: Set<string> | undefined;
}

export class WrittenBefore {
  private readonly files = new Map<string, Known>();

  /**
   * @param startSecond when this process started (unix seconds): events from later cannot be in the files.
   * @param isOpen whether this process has the file open for appending (then it has written it, and its end
   *   is a whole row: it is not cut).
   */
  constructor(
    private readonly startSecond: number,
    private readonly log: PluginLogger,
    private readonly isOpen: (file: string) => boolean,
  ) {}

  /** Whether an event of this second may have been written by an earlier run. */
  mayBeWritten(second: number): boolean {
    return second <= this.startSecond;
  }

  /**
   * The ids among `ids` that `file` already holds a row for (each reported once: the caller skips them and
   * remembers them itself). `fromSecond` is the oldest time among the events asked about.
   */
  async written(file: string, fromSecond: number, ids: readonly string[]): Promise<Set<string>> {
    let known = this.files.get(file);
    if (known) {
      this.files.delete(file);
      this.files.set(file, known);
    }
    if (!known || fromSecond < known.fromSecond) {
      known = await this.read(file, Math.min(fromSecond, known?.fromSecond ?? fromSecond) - READ_MARGIN_SECONDS);
      this.files.delete(file);
      this.files.set(file, known);
      if (this.files.size > KNOWN_FILES) this.files.delete(this.files.keys().next().value as string);
    }
    const found = new Set<string>();
    if (!known.ids) return found;
    for (const id of ids) {
      if (known.ids.delete(id)) found.add(id);
    }
    return found;
  }

  private async read(file: string, fromSecond: number): Promise<Known> {
    const repair = !this.isOpen(file);
    let tail: Awaited<ReturnType<typeof readFileTail>>;
    try {
      tail = await readFileTail(file, fromSecond, repair);
    } catch (error) {
      // Writing on is better than not logging: at worst a row is repeated.
      this.log.warn(
        { file, err: describeError(error) },
        'cannot read the end of the log file to skip events it already holds; events delivered again after the restart may be logged twice',
      );
      return { fromSecond, ids: undefined };
    }
    if (tail === undefined) return { fromSecond, ids: new Set() };
    if (tail === 'unreadable') {
      this.log.warn({ file }, 'the end of the log file is not CSV as logger-csv writes it; events delivered again after the restart may be logged twice there');
      return { fromSecond: Number.NEGATIVE_INFINITY, ids: undefined };
    }
    if (repair && tail.validLength < tail.size) {
      this.log.warn(
        { file, bytes: tail.size - tail.validLength },
        'cut off an incomplete last row left by an interrupted write (imspect was stopped mid-write); its event is written again whole',
      );
    }
    return { fromSecond, ids: tail.ids };
  }
}
