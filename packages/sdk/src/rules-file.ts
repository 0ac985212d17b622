/**
 * A rules file a filter plugin reads (a word list, an ACL, a policy), kept current while imspect runs: the file
 * is watched (its folder, so that editors that save by renaming are seen too) and re-read after a short quiet
 * period; `reload()` re-reads it at once (SIGHUP). A file that cannot be read or parsed is reported and the last
 * good rules stay in force. Only the first load fails loudly: without rules there is nothing to keep.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describeError, ImspectError } from './errors.js';
import type { PluginLogger } from './plugin.js';

export interface RulesFileOptions<T> {
  /** Absolute path of the file. */
  file: string;
  /** Turns the file's text into rules; throws (with a message naming the line) when the text is invalid. */
  parse(text: string): T;
  /** Where reloads and problems are reported (the plugin's logger). */
  logger: PluginLogger;
  /** What the file is, for messages: `word list`, `ACL`, ... */
  what: string;
  /** Watch the file for changes (default true). */
  watch?: boolean;
  /** Quiet period after the last change before the file is re-read, in ms (default 200). */
  debounceMs?: number;
  /** Called with the new rules after each successful reload. */
  onReload?(rules: T): void;
}

export class RulesFile<T> {
  private rules: T;
  private text: string;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reloading: Promise<boolean> | undefined;
  private again = false;
  /** Number of successful loads, the first included (for tests and status). */
  generation = 1;

  private constructor(
    private readonly options: RulesFileOptions<T>,
    text: string,
    rules: T,
  ) {
    this.text = text;
    this.rules = rules;
  }

  /** Reads and parses the file; throws an {@link ImspectError} `RULES_FILE_INVALID` naming the file when it cannot. */
  static async open<T>(options: RulesFileOptions<T>): Promise<RulesFile<T>> {
    let text: string;
    try {
      text = await readFile(options.file, 'utf8');
    } catch (error) {
      throw new ImspectError(`cannot read the ${options.what} ${options.file}: ${describeError(error)}`, { code: 'RULES_FILE_INVALID', file: options.file, cause: error });
    }
    let rules: T;
    try {
      rules = options.parse(text);
    } catch (error) {
      throw new ImspectError(`${options.file}: ${describeError(error)}`, { code: 'RULES_FILE_INVALID', file: options.file, cause: error });
    }
    const loaded = new RulesFile(options, text, rules);
    if (options.watch !== false) loaded.startWatching();
    return loaded;
  }

  get current(): T {
    return this.rules;
  }

  get file(): string {
    return this.options.file;
  }

  /**
   * Re-reads the file. Resolves true when the rules in force are the file's current content (reloaded, or
   * unchanged), false when the file is broken and the last good rules were kept.
   */
  reload(): Promise<boolean> {
    if (this.reloading) {
      this.again = true;
      return this.reloading;
    }
    this.reloading = this.readAndParse().finally(() => {
      this.reloading = undefined;
      if (this.again) {
        this.again = false;
        void this.reload();
      }
    });
    return this.reloading;
  }

  /**
   * A filter's `reload` hook: `reload()`, rejecting (naming the file) when the file is broken and the last good
   * rules were kept, so that SIGHUP reports the problem.
   */
  async reloadOrThrow(): Promise<void> {
    if (!(await this.reload())) throw new Error(`${this.options.what} ${this.file} is invalid or unreadable; the last good version stays in force`);
  }

  close(): void {
    clearTimeout(this.timer);
    this.watcher?.close();
    this.watcher = undefined;
  }

  private async readAndParse(): Promise<boolean> {
    const { file, what, logger } = this.options;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      logger.error({ file, err: error }, `cannot read the ${what}; the last good version stays in force`);
      return false;
    }
    if (text === this.text) return true;
    let rules: T;
    try {
      rules = this.options.parse(text);
    } catch (error) {
      logger.error({ file }, `${what} ${file} is invalid (${describeError(error)}); the last good version stays in force`);
      return false;
    }
    this.text = text;
    this.rules = rules;
    this.generation++;
    logger.info({ file }, `${what} reloaded`);
    try {
      this.options.onReload?.(rules);
    } catch (error) {
      logger.error({ file, err: error }, `applying the reloaded ${what} failed`);
    }
    return true;
  }

  private startWatching(): void {
    const { file, logger, what } = this.options;
    const dir = path.dirname(file);
    const base = path.basename(file);
    try {
      this.watcher = watch(dir, { persistent: false }, (_event, name) => {
        // Some platforms do not say which file changed: then any change in the folder counts.
        if (name !== null && name !== undefined && String(name) !== base) return;
        clearTimeout(this.timer);
        this.timer = setTimeout(() => void this.reload(), this.options.debounceMs ?? 200);
        this.timer.unref?.();
      });
      this.watcher.on('error', (error) => logger.warn({ file, err: error }, `watching the ${what} failed; send SIGHUP to reload it`));
    } catch (error) {
      logger.warn({ file, err: error }, `cannot watch the ${what}; send SIGHUP to reload it`);
    }
  }
}
