/**
 * Reads back the end of a log file written before this process started: the event ids of its last rows (so
 * that events the journal delivers again after a crash are not written twice) and where its last complete row
 * ends (so that a row cut short by a SIGKILL in the middle of a write can be cut off).
 *
 * The file is read from the end in growing chunks, never further back than needed. A chunk starts at an
 * arbitrary byte, so whether its first line feed ends a row or sits inside a quoted field is not known: the
 * chunk is parsed under both hypotheses, strictly (RFC 4180 as `csvRow` writes it, rows of COLUMNS.length
 * fields with a numeric time). The wrong one almost always breaks the rules within a few rows; while both
 * hold (a chunk without any quote, or text crafted to look like rows), the chunk grows, until the start of
 * the file settles it (it starts with a row), or until the hypothesis "inside a quoted field" would need a
 * single row of MAX_ROW_BYTES or more.
 */
import { close, fstat, ftruncate, open, read } from 'node:fs';
import { COLUMNS } from './row.js';

/** First chunk read from the end of a file; each further one is four times as large. */
export const TAIL_CHUNK_BYTES = 64 * 1024;

/**
 * Longest row assumed possible: a row holds one event, whose fields come from one protocol frame (64 KiB by
 * default). Only the reading "the chunk starts inside a quoted field that is still open at the end of the
 * file" (a torn row longer than the chunk) can need this, for a chunk without any double quote.
 */
export const MAX_ROW_BYTES = 256 * 1024;

/**
 * How far out of time order rows of one file may be (seconds). Rows are appended in the journal's order,
 * and an event's time is taken when it is parsed, before filters run (each bounded by a hook timeout of
 * seconds): an event is never logged after one more than this much younger. Reading back stops at the first
 * row (from the end) older than the oldest event to check by more than this.
 */
export const ORDER_SLACK_SECONDS = 600;

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;

/** A complete row: its unix time (column 2; -Infinity for a header row) and its event id (column 9). */
export interface TailRow {
  /** Offset just after the row's line feed, from the start of the parsed buffer. */
  end: number;
  second: number;
  id: string;
}

/** One reading of a chunk. */
export interface TailReading {
  /** False when the chunk breaks the rules under this reading. */
  valid: boolean;
  /** Complete rows, in file order (not the one the chunk starts inside of, under the "inside" reading). */
  rows: TailRow[];
  /** Offset just after the last line feed that ends a row, -1 when none does. */
  lastBoundary: number;
  /** True when the buffer ends exactly at the end of a row. */
  endsWithRow: boolean;
}

const enum State {
  FieldStart,
  Unquoted,
  Quoted,
  QuoteInQuoted,
}

/**
 * Parses `buf` from `from` on. With `insideQuotes`, `from` is taken to be inside a quoted field of a row that
 * began before it (that row is not returned); else `from` is the start of a row.
 */
export function readRows(buf: Buffer, from: number, insideQuotes: boolean): TailReading {
  const rows: TailRow[] = [];
  let state = insideQuotes ? State.Quoted : State.FieldStart;
  let partialFirst = insideQuotes;
  let field = 0;
  let fieldStart = from;
  let second = '';
  let id = '';
  let lastBoundary = -1;
  const fail = (): TailReading => ({ valid: false, rows, lastBoundary, endsWithRow: false });
  const endField = (end: number): void => {
    if (!partialFirst && (field === 1 || field === 8)) {
      let value = buf.toString('utf8', fieldStart, end);
      if (value.startsWith('"')) value = value.slice(1, -1).replaceAll('""', '"');
      if (field === 1) second = value;
      else id = value;
    }
    field += 1;
  };
  for (let i = from; i < buf.length; i++) {
    const c = buf[i]!;
    switch (state) {
      case State.FieldStart:
        fieldStart = i;
        if (c === QUOTE) state = State.Quoted;
        else if (c === CR)
          return fail(); // csvRow quotes CR
        else if (c !== COMMA && c !== LF) state = State.Unquoted;
        break;
      case State.Unquoted:
        if (c === QUOTE || c === CR) return fail();
        break;
      case State.Quoted:
        if (c === QUOTE) state = State.QuoteInQuoted;
        continue;
      case State.QuoteInQuoted:
        if (c === QUOTE) {
          state = State.Quoted;
          continue;
        }
        if (c !== COMMA && c !== LF) return fail();
        break;
    }
    if (c === COMMA) {
      endField(i);
      state = State.FieldStart;
      fieldStart = i + 1;
    } else if (c === LF) {
      endField(i);
      if (!partialFirst) {
        if (field !== COLUMNS.length) return fail();
        const header = second === COLUMNS[1] && id === COLUMNS[8];
        if (!header && !/^-?\d+$/.test(second)) return fail();
        rows.push({ end: i + 1, second: header ? Number.NEGATIVE_INFINITY : Number(second), id: header ? '' : id });
      }
      partialFirst = false;
      lastBoundary = i + 1;
      field = 0;
      second = '';
      id = '';
      state = State.FieldStart;
      fieldStart = i + 1;
    }
  }
  const endsWithRow = state === State.FieldStart && field === 0 && lastBoundary === buf.length;
  return { valid: true, rows, lastBoundary, endsWithRow };
}

/**
 * The reading of a chunk that starts `chunkStart` bytes into the file, or undefined while it cannot be
 * decided (both readings hold, or neither does before the start of the file).
 */
export function readChunk(buf: Buffer, chunkStart: number, fileSize: number): TailReading | 'unreadable' | undefined {
  if (chunkStart === 0) {
    const whole = readRows(buf, 0, false);
    return whole.valid ? whole : 'unreadable';
  }
  const lf = buf.indexOf(LF);
  if (lf < 0) return undefined;
  const outside = readRows(buf, lf + 1, false);
  const inside = readRows(buf, lf + 1, true);
  // "Inside" with no row ending anywhere: one row from before the chunk to the end of the file.
  if (inside.valid && inside.lastBoundary < 0 && fileSize - chunkStart >= MAX_ROW_BYTES) inside.valid = false;
  if (outside.valid === inside.valid) return undefined;
  const reading = outside.valid ? outside : inside;
  // The rows are needed back to a line feed that surely ends one.
  return reading.lastBoundary < 0 ? undefined : reading;
}

/** What the end of a file holds. */
export interface FileTail {
  /** Ids of the rows whose time is `fromSecond` or later (rows without an id left out). */
  ids: Set<string>;
  /** The file's length up to the end of its last complete row. */
  validLength: number;
  /** The file's length as read. */
  size: number;
}

const openFd = (path: string, flags: string) => new Promise<number>((res, rej) => open(path, flags, (e, fd) => (e ? rej(e) : res(fd))));
const sizeOf = (fd: number) => new Promise<number>((res, rej) => fstat(fd, (e, s) => (e ? rej(e) : res(s.size))));
const readAt = (fd: number, buf: Buffer, position: number) => new Promise<number>((res, rej) => read(fd, buf, 0, buf.length, position, (e, n) => (e ? rej(e) : res(n))));
const truncateFd = (fd: number, length: number) => new Promise<void>((res, rej) => ftruncate(fd, length, (e) => (e ? rej(e) : res())));
const closeFd = (fd: number) => new Promise<void>((res) => close(fd, () => res()));

async function readRange(fd: number, start: number, end: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(end - start);
  let got = 0;
  while (got < buf.length) {
    const n = await readAt(fd, buf.subarray(got), start + got);
    if (n === 0) return buf.subarray(0, got);
    got += n;
  }
  return buf;
}

/**
 * Reads the end of `path` back to the first row older than `fromSecond - ORDER_SLACK_SECONDS` (or to its
 * start). With `repair`, a last row left incomplete (the file does not end where a row does) is cut off.
 * Resolves undefined when the file does not exist, and 'unreadable' when it is not CSV as this logger writes
 * it (nothing is known then).
 */
export async function readFileTail(path: string, fromSecond: number, repair: boolean, chunkBytes = TAIL_CHUNK_BYTES): Promise<FileTail | 'unreadable' | undefined> {
  let fd: number;
  try {
    fd = await openFd(path, repair ? 'r+' : 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const size = await sizeOf(fd);
    if (size === 0) return { ids: new Set(), validLength: 0, size };
    const stopBefore = fromSecond - ORDER_SLACK_SECONDS;
    for (let chunk = chunkBytes; ; chunk *= 4) {
      const start = Math.max(0, size - chunk);
      const buf = await readRange(fd, start, size);
      if (buf.length !== size - start) return 'unreadable'; // shrank while read: not ours to judge
      const reading = readChunk(buf, start, size);
      if (reading === 'unreadable') return reading;
      if (reading === undefined || (start > 0 && !reading.rows.some((row) => row.second < stopBefore))) continue;
      const ids = new Set<string>();
      for (const row of reading.rows) if (row.second >= fromSecond && row.id !== '') ids.add(row.id);
      const validLength = reading.endsWithRow ? size : start + Math.max(0, reading.lastBoundary);
      if (repair && validLength < size) await truncateFd(fd, validLength);
      return { ids, validLength, size };
    }
  } finally {
    await closeFd(fd);
  }
}
