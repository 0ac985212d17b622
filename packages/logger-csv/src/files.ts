/**
 * Appends to log files: creates folders once (and remembers them), keeps a bounded number of files open
 * (least recently used closed first), and leaves a file as it was when an append fails.
 */
import { mkdir, open, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface FileTarget {
  /** Absolute path of the file. */
  file: string;
  /**
   * Files to (re)write when the file's folder is created, e.g. the `.id` file that keeps the whole id of a
   * truncated folder name. Absolute paths.
   */
  sidecars: readonly { path: string; content: string }[];
}

export interface FileStoreOptions {
  maxOpenFiles: number;
  fileMode: number;
  dirMode: number;
  fsync: boolean;
}

interface OpenFile {
  handle: FileHandle;
  /** Written since the last sync. */
  dirty: boolean;
}

/** A file-system error with the path it is about in its message. */
export class FileStoreError extends Error {
  readonly code: string | undefined;
  constructor(
    message: string,
    readonly path: string,
    cause: unknown,
  ) {
    super(message, { cause });
    this.name = 'FileStoreError';
    this.code = (cause as NodeJS.ErrnoException | undefined)?.code;
  }
}

function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class FileStore {
  private readonly dirs = new Set<string>();
  /** Open files, least recently used first (Map keeps insertion order; a use re-inserts). */
  private readonly files = new Map<string, OpenFile>();

  constructor(private readonly options: FileStoreOptions) {}

  get openFiles(): number {
    return this.files.size;
  }

  /**
   * Appends `data` to the target file, with `header` first when the file is empty. Resolves once the bytes
   * are written (and synced with `fsync`). On failure the file is cut back to its previous length, as far
   * as the file system allows, so that a retry does not leave half a row behind.
   */
  async append(target: FileTarget, data: Buffer, header?: Buffer): Promise<void> {
    const { file } = target;
    let entry = await this.openFile(target);
    let before = await this.sizeOf(file, entry);
    if (before === undefined) {
      // Deleted under us (or its folder was): writing on would swallow rows silently. Start afresh.
      await this.drop(file);
      this.dirs.delete(dirname(file));
      entry = await this.openFile(target);
      before = (await this.sizeOf(file, entry)) ?? 0;
    }
    const bytes = header && before === 0 ? Buffer.concat([header, data]) : data;
    try {
      for (let offset = 0; offset < bytes.length; ) {
        const { bytesWritten } = await entry.handle.write(bytes, offset, bytes.length - offset);
        offset += bytesWritten;
      }
      entry.dirty = true;
      if (this.options.fsync) {
        await entry.handle.datasync();
        entry.dirty = false;
      }
    } catch (error) {
      await entry.handle.truncate(before).catch(() => undefined);
      await this.drop(file);
      throw new FileStoreError(`cannot write ${file}: ${reason(error)}`, file, error);
    }
    if (this.options.maxOpenFiles === 0) await this.drop(file);
  }

  /** The file's length, or undefined when it no longer has a name on disk. */
  private async sizeOf(file: string, entry: OpenFile): Promise<number | undefined> {
    try {
      const stat = await entry.handle.stat();
      return stat.nlink > 0 ? stat.size : undefined;
    } catch (error) {
      await this.drop(file);
      throw new FileStoreError(`cannot stat ${file}: ${reason(error)}`, file, error);
    }
  }

  /** fdatasyncs every open file written since its last sync. */
  async sync(): Promise<void> {
    const errors: unknown[] = [];
    for (const [file, entry] of this.files) {
      if (!entry.dirty) continue;
      try {
        await entry.handle.datasync();
        entry.dirty = false;
      } catch (error) {
        errors.push(new FileStoreError(`cannot sync ${file}: ${reason(error)}`, file, error));
      }
    }
    if (errors.length > 0) throw errors[0];
  }

  /** Closes every open file (syncing them first with `fsync`). The store can still be used afterwards. */
  async close(): Promise<void> {
    const errors: unknown[] = [];
    for (const file of [...this.files.keys()]) {
      try {
        await this.drop(file, true);
      } catch (error) {
        errors.push(error);
      }
    }
    this.dirs.clear();
    if (errors.length > 0) throw errors[0];
  }

  private async openFile(target: FileTarget): Promise<OpenFile> {
    const { file } = target;
    const cached = this.files.get(file);
    if (cached) {
      this.files.delete(file);
      this.files.set(file, cached);
      return cached;
    }
    let handle: FileHandle;
    try {
      await this.ensureDir(target);
      handle = await open(file, 'a', this.options.fileMode);
    } catch (error) {
      if (error instanceof FileStoreError || errnoCode(error) !== 'ENOENT') throw wrap('open', file, error);
      // The folder went away since it was created: create it again, once.
      this.dirs.delete(dirname(file));
      try {
        await this.ensureDir(target);
        handle = await open(file, 'a', this.options.fileMode);
      } catch (again) {
        throw wrap('open', file, again);
      }
    }
    const entry: OpenFile = { handle, dirty: false };
    this.files.set(file, entry);
    await this.evict();
    return entry;
  }

  private async ensureDir(target: FileTarget): Promise<void> {
    const dir = dirname(target.file);
    if (this.dirs.has(dir)) return;
    try {
      await mkdir(dir, { recursive: true, mode: this.options.dirMode });
    } catch (error) {
      throw new FileStoreError(`cannot create folder ${dir}: ${reason(error)}`, dir, error);
    }
    for (const sidecar of target.sidecars) {
      try {
        await writeFile(sidecar.path, sidecar.content, { mode: this.options.fileMode });
      } catch (error) {
        throw new FileStoreError(`cannot write ${sidecar.path}: ${reason(error)}`, sidecar.path, error);
      }
    }
    this.dirs.add(dir);
  }

  /** Closes the least recently used files beyond the cap (never the one just opened). */
  private async evict(): Promise<void> {
    const cap = Math.max(1, this.options.maxOpenFiles);
    while (this.files.size > cap) {
      const oldest = this.files.keys().next().value as string;
      await this.drop(oldest).catch(() => undefined);
    }
  }

  /** Forgets a file and closes it; with `strict`, syncs it first (fsync option) and reports errors. */
  private async drop(file: string, strict = false): Promise<void> {
    const entry = this.files.get(file);
    if (!entry) return;
    this.files.delete(file);
    let failure: unknown;
    if (strict && this.options.fsync && entry.dirty) {
      await entry.handle.datasync().catch((error: unknown) => {
        failure = new FileStoreError(`cannot sync ${file}: ${reason(error)}`, file, error);
      });
    }
    await entry.handle.close().catch((error: unknown) => {
      failure ??= new FileStoreError(`cannot close ${file}: ${reason(error)}`, file, error);
    });
    if (strict && failure !== undefined) throw failure;
  }
}

function wrap(what: string, file: string, error: unknown): FileStoreError {
  if (error instanceof FileStoreError) return error;
  return new FileStoreError(`cannot ${what} ${file}: ${reason(error)}`, file, error);
}

