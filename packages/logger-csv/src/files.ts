/**
 * Appends to log files: creates folders once (and remembers them), keeps a bounded number of files open
 * (least recently used closed first), and leaves a file as it was when an append fails.
 *
 * Appends to different files may run concurrently (the logger writes a batch's files in parallel); appends
 * to one file must not overlap, nor run during sync() or close() (the logger never does either).
 */
import { close, fdatasync, fstat, ftruncate, open, read, write } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
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

/**
 * Called when a file opened for appending does not end with a line feed, so its last row is incomplete (a
 * crash in the middle of an append, or a power cut): resolves the length to cut the file back to (the end of
 * its last complete row), or undefined to leave it as it is.
 */
export type TornEndCheck = (file: string, size: number) => Promise<number | undefined>;

interface OpenFile {
  /**
   * The file descriptor. Plain fds and fs's callback functions rather than FileHandle's promise methods:
   * they cost about half as much per call, and a busy logger makes two calls per file per batch. Only the
   * append holding the entry (`busy`), close() and sync() use or close it, never at the same time.
   */
  fd: number;
  /** Written since the last sync. */
  dirty: boolean;
  /** Appends under way: an entry in use is never closed to make room. */
  busy: number;
  /** The file's length as this store left it (the store is its only writer): where a failed append cuts back to. */
  size: number;
  /** When the file was last seen to still have a name on disk (performance.now()). */
  verifiedAt: number;
  /**
   * What was appended since then (rows, no header): if the file turns out to have been deleted, these bytes
   * went into the void and are written again to the new file, so that skipping the check loses nothing.
   */
  unverified: Buffer[];
  unverifiedBytes: number;
  /** Kept to recreate the file (folder, sidecars, header) when it is found deleted outside an append. */
  target: FileTarget;
  header: Buffer | undefined;
}

/**
 * An append checks that its file still has a name on disk (an fstat) only when the last check is older than
 * this, or when more than UNVERIFIED_MAX_BYTES were appended since: one fstat per append cost as much as the
 * write itself. What was appended in between is kept and written again if the file was deleted meanwhile;
 * sync() and close() check every file with such bytes. Memory: at most about UNVERIFIED_MAX_BYTES per open file.
 */
export const VERIFY_INTERVAL_MS = 1000;
export const UNVERIFIED_MAX_BYTES = 64 * 1024;

/** Most files remembered as ending with a whole row written by this store (see `wholeEnds`). */
export const WHOLE_ENDS_KEPT = 4096;

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

// fs's callback functions as promises (util.promisify would do, but these are on the hot path and typed).
function settle<T>(resolve: (value: T) => void, reject: (error: unknown) => void) {
  return (error: NodeJS.ErrnoException | null, value: T): void => (error ? reject(error) : resolve(value));
}
const openFd = (path: string, flags: string, mode: number) => new Promise<number>((res, rej) => open(path, flags, mode, settle(res, rej)));
const readByteAt = (fd: number, position: number) =>
  new Promise<number | undefined>((res, rej) => {
    const byte = Buffer.alloc(1);
    read(fd, byte, 0, 1, position, (error, n) => (error ? rej(error) : res(n === 1 ? byte[0] : undefined)));
  });
const statFd = (fd: number) => new Promise<{ nlink: number; size: number }>((res, rej) => fstat(fd, settle(res, rej)));
const writeFd = (fd: number, data: Buffer, offset: number) => new Promise<number>((res, rej) => write(fd, data, offset, data.length - offset, null, settle(res, rej)));
const syncFd = (fd: number) => new Promise<void>((res, rej) => fdatasync(fd, (error) => (error ? rej(error) : res())));
const truncateFd = (fd: number, length: number) => new Promise<void>((res, rej) => ftruncate(fd, length, (error) => (error ? rej(error) : res())));
const closeFd = (fd: number) => new Promise<void>((res, rej) => close(fd, (error) => (error ? rej(error) : res())));

export class FileStore {
  private readonly dirs = new Set<string>();
  /** Folders being created, so that concurrent appends to files of a new folder create it once. */
  private readonly creating = new Map<string, Promise<void>>();
  /** Open files, least recently used first (Map keeps insertion order; a use re-inserts). */
  private readonly files = new Map<string, OpenFile>();
  /**
   * Files this store appended to last, so their end is a whole row: opened again, they skip the torn-end
   * check (with `maxOpenFiles: 0` every batch opens its files). Oldest forgotten first.
   */
  private readonly wholeEnds = new Set<string>();

  constructor(
    private readonly options: FileStoreOptions,
    private readonly tornEnd?: TornEndCheck,
  ) {}

  get openFiles(): number {
    return this.files.size;
  }

  /** Whether the file is open here, i.e. was appended to by this store since it was last closed. */
  isOpen(file: string): boolean {
    return this.files.has(file);
  }

  /**
   * Appends `data` to the target file, with `header` first when the file is empty. Resolves once the bytes
   * are written (and synced with `fsync`). On failure the file is cut back to its previous length, as far
   * as the file system allows, so that a retry does not leave half a row behind.
   */
  async append(target: FileTarget, data: Buffer, header?: Buffer): Promise<void> {
    const { file } = target;
    let entry: OpenFile | undefined = await this.acquire(target, header);
    try {
      if (this.mustVerify(entry)) entry = await this.verify(file, entry);
      const before = entry.size;
      await this.writeAt(file, entry, before, header && before === 0 ? Buffer.concat([header, data]) : data);
      entry.unverified.push(data);
      entry.unverifiedBytes += data.length;
      this.rememberWholeEnd(file);
    } finally {
      if (entry) entry.busy -= 1;
    }
    if (this.options.maxOpenFiles === 0) await this.drop(file);
    else if (this.files.size > this.options.maxOpenFiles) await this.evict();
  }

  private mustVerify(entry: OpenFile): boolean {
    return entry.unverifiedBytes > UNVERIFIED_MAX_BYTES || performance.now() - entry.verifiedAt >= VERIFY_INTERVAL_MS;
  }

  /**
   * Checks that the file (held busy by the caller) still has a name on disk. If it was deleted under us (or
   * its folder was), writing on would swallow rows silently: it is created afresh, the bytes appended since
   * the last check are written to it again, and the new entry (busy) is returned in place of the old one.
   */
  private async verify(file: string, entry: OpenFile): Promise<OpenFile> {
    const size = await this.sizeOf(file, entry);
    if (size !== undefined) {
      entry.size = size;
      entry.verifiedAt = performance.now();
      entry.unverified = [];
      entry.unverifiedBytes = 0;
      return entry;
    }
    const { target, header, unverified } = entry;
    entry.busy -= 1;
    await this.drop(file);
    this.dirs.delete(dirname(file));
    const fresh = await this.acquire(target, header);
    if (unverified.length > 0) {
      const lost = Buffer.concat(unverified);
      await this.writeAt(file, fresh, fresh.size, header && fresh.size === 0 ? Buffer.concat([header, lost]) : lost);
      fresh.unverified.push(lost);
      fresh.unverifiedBytes += lost.length;
    }
    return fresh;
  }

  /** Verifies a file that is not in use and has unverified bytes (before a sync or a close). */
  private async verifyIdle(file: string): Promise<void> {
    const entry = this.files.get(file);
    if (!entry || entry.unverifiedBytes === 0) return;
    entry.busy += 1;
    const current = await this.verify(file, entry);
    current.busy -= 1;
  }

  /** Writes all of `bytes`; on failure cuts the file back to `before` bytes and forgets it. */
  private async writeAt(file: string, entry: OpenFile, before: number, bytes: Buffer): Promise<void> {
    try {
      for (let offset = 0; offset < bytes.length; ) {
        offset += await writeFd(entry.fd, bytes, offset);
      }
      entry.size = before + bytes.length;
      entry.dirty = true;
      if (this.options.fsync) {
        await syncFd(entry.fd);
        entry.dirty = false;
      }
    } catch (error) {
      this.wholeEnds.delete(file);
      await truncateFd(entry.fd, before).catch(() => undefined);
      await this.drop(file);
      throw new FileStoreError(`cannot write ${file}: ${reason(error)}`, file, error);
    }
  }

  /** The file's length, or undefined when it no longer has a name on disk. */
  private async sizeOf(file: string, entry: OpenFile): Promise<number | undefined> {
    try {
      const stat = await statFd(entry.fd);
      return stat.nlink > 0 ? stat.size : undefined;
    } catch (error) {
      await this.drop(file);
      throw new FileStoreError(`cannot stat ${file}: ${reason(error)}`, file, error);
    }
  }

  /** fdatasyncs every open file written since its last sync. */
  async sync(): Promise<void> {
    const errors: unknown[] = [];
    for (const file of [...this.files.keys()]) {
      await this.verifyIdle(file).catch((error: unknown) => errors.push(error));
    }
    for (const [file, entry] of this.files) {
      if (!entry.dirty) continue;
      try {
        await syncFd(entry.fd);
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
        await this.verifyIdle(file);
        await this.drop(file, true);
      } catch (error) {
        errors.push(error);
      }
    }
    this.dirs.clear();
    if (errors.length > 0) throw errors[0];
  }

  /** The open file, opened if need be, marked in use (`busy`): the caller decrements `busy` when done. */
  private async acquire(target: FileTarget, header: Buffer | undefined): Promise<OpenFile> {
    const { file } = target;
    const cached = this.files.get(file);
    if (cached) {
      this.files.delete(file);
      this.files.set(file, cached);
      cached.busy += 1;
      cached.header = header;
      return cached;
    }
    let opened: { fd: number; readable: boolean };
    try {
      await this.ensureDir(target);
      opened = await this.openForAppend(file);
    } catch (error) {
      if (error instanceof FileStoreError || errnoCode(error) !== 'ENOENT') throw wrap('open', file, error);
      // The folder went away since it was created: create it again, once.
      this.dirs.delete(dirname(file));
      try {
        await this.ensureDir(target);
        opened = await this.openForAppend(file);
      } catch (again) {
        throw wrap('open', file, again);
      }
    }
    const { fd, readable } = opened;
    const entry: OpenFile = {
      fd,
      dirty: false,
      busy: 1,
      size: 0,
      verifiedAt: performance.now(),
      unverified: [],
      unverifiedBytes: 0,
      target,
      header,
    };
    this.files.set(file, entry);
    try {
      // Just opened by name, so it has one: only its length is needed.
      entry.size = (await this.sizeOf(file, entry)) ?? 0;
      if (readable && entry.size > 0 && !this.wholeEnds.has(file)) await this.cutTornEnd(file, entry);
    } catch (error) {
      entry.busy -= 1;
      throw error;
    }
    await this.evict();
    return entry;
  }

  private rememberWholeEnd(file: string): void {
    if (!this.tornEnd) return;
    this.wholeEnds.delete(file);
    this.wholeEnds.add(file);
    if (this.wholeEnds.size > WHOLE_ENDS_KEPT) this.wholeEnds.delete(this.wholeEnds.values().next().value as string);
  }

  /**
   * Opens for appending, and for reading when allowed (to check the last byte): a file this process may
   * append to but not read is still appended to.
   */
  private async openForAppend(file: string): Promise<{ fd: number; readable: boolean }> {
    if (this.tornEnd) {
      try {
        return { fd: await openFd(file, 'a+', this.options.fileMode), readable: true };
      } catch (error) {
        const code = errnoCode(error);
        if (code !== 'EACCES' && code !== 'EPERM') throw error;
      }
    }
    return { fd: await openFd(file, 'a', this.options.fileMode), readable: false };
  }

  /**
   * Rows always end with a line feed, so a file that does not was cut short in the middle of a row (by a
   * crash or a power cut). Appending after it would glue the next row to the broken one (inside its quotes,
   * maybe): the broken row is cut off first, where `tornEnd` says. One byte read per file opened.
   */
  private async cutTornEnd(file: string, entry: OpenFile): Promise<void> {
    let last: number | undefined;
    try {
      last = await readByteAt(entry.fd, entry.size - 1);
    } catch {
      return; // not readable after all: appended to as before
    }
    if (last === 0x0a || last === undefined) return;
    const length = await this.tornEnd!(file, entry.size);
    if (length === undefined || length >= entry.size) return;
    try {
      await truncateFd(entry.fd, length);
    } catch (error) {
      await this.drop(file);
      throw new FileStoreError(`cannot cut the incomplete last row of ${file}: ${reason(error)}`, file, error);
    }
    entry.size = length;
  }

  private async ensureDir(target: FileTarget): Promise<void> {
    const dir = dirname(target.file);
    if (this.dirs.has(dir)) return;
    let pending = this.creating.get(dir);
    if (!pending) {
      pending = this.createDir(dir, target).finally(() => this.creating.delete(dir));
      this.creating.set(dir, pending);
    }
    await pending;
  }

  private async createDir(dir: string, target: FileTarget): Promise<void> {
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

  /**
   * Closes the least recently used files beyond the cap, never one in use (such as the one just opened):
   * with appends under way the cap can be passed until they end; each append evicts again when it ends.
   */
  private async evict(): Promise<void> {
    const cap = Math.max(1, this.options.maxOpenFiles);
    let excess = this.files.size - cap;
    if (excess <= 0) return;
    const victims: string[] = [];
    for (const [file, entry] of this.files) {
      if (excess <= 0) break;
      if (entry.busy > 0) continue;
      victims.push(file);
      excess -= 1;
    }
    await Promise.all(victims.map((file) => this.retire(file).catch(() => undefined)));
  }

  /** Closes a file made room for, after checking it was not deleted with unverified bytes in it. */
  private async retire(file: string): Promise<void> {
    await this.verifyIdle(file);
    // The check awaited: an append may have taken the file meanwhile.
    if ((this.files.get(file)?.busy ?? 0) === 0) await this.drop(file);
  }

  /** Forgets a file and closes it; with `strict`, syncs it first (fsync option) and reports errors. */
  private async drop(file: string, strict = false): Promise<void> {
    const entry = this.files.get(file);
    if (!entry) return;
    this.files.delete(file);
    let failure: unknown;
    if (strict && this.options.fsync && entry.dirty) {
      await syncFd(entry.fd).catch((error: unknown) => {
        failure = new FileStoreError(`cannot sync ${file}: ${reason(error)}`, file, error);
      });
    }
    await closeFd(entry.fd).catch((error: unknown) => {
      failure ??= new FileStoreError(`cannot close ${file}: ${reason(error)}`, file, error);
    });
    if (strict && failure !== undefined) throw failure;
  }
}

function wrap(what: string, file: string, error: unknown): FileStoreError {
  if (error instanceof FileStoreError) return error;
  return new FileStoreError(`cannot ${what} ${file}: ${reason(error)}`, file, error);
}
