import { afterAll, describe, expect, it } from 'vitest';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImEvent } from '@imspect/sdk';
import { csvRow } from '../src/csv.js';
import { COLUMNS, eventFields } from '../src/row.js';
import { MAX_ROW_BYTES, ORDER_SLACK_SECONDS, readChunk, readFileTail, readRows } from '../src/tail.js';
import { makeEvent, parseCsv, removeTempDirs, setupLogger, tempDir, type Logged } from './helpers.js';

afterAll(removeTempDirs);

const T0 = Date.parse('2024-03-05T10:00:00Z');

function rowOf(event: ImEvent): string {
  return csvRow(eventFields(event, Date.parse(event.at)));
}

/** An event `s` seconds after T0. */
function at(s: number, over: Partial<ImEvent> = {}): ImEvent {
  return makeEvent({ at: new Date(T0 + s * 1000).toISOString(), ...over });
}

const second = (s: number) => Math.floor(T0 / 1000) + s;

/** Text that puts line feeds, commas and quotes inside quoted fields. */
const AWKWARD = 'line one\n"quoted", and, commas\nline "three"\n';

async function fileWith(events: ImEvent[], extra = ''): Promise<string> {
  const file = join(await tempDir(), 'day.csv');
  await writeFile(file, events.map(rowOf).join('') + extra);
  return file;
}

describe('readRows', () => {
  it('reads the time and id of each row, whatever its quoted fields hold', () => {
    const events = [at(1), at(2, { text: AWKWARD, data: { list: 'a,b', quote: '"' } }), at(3, { text: '"' })];
    const buf = Buffer.from(events.map(rowOf).join(''));
    const reading = readRows(buf, 0, false);
    expect(reading.valid).toBe(true);
    expect(reading.endsWithRow).toBe(true);
    expect(reading.rows.map((r) => [r.second, r.id])).toEqual(events.map((e, k) => [second(k + 1), e.id]));
  });

  it('rejects a reading that breaks RFC 4180 or the row shape', () => {
    expect(readRows(Buffer.from('a,b"c\n'), 0, false).valid).toBe(false); // quote inside an unquoted field
    expect(readRows(Buffer.from('a,b\n'), 0, false).valid).toBe(false); // two fields
    const row = rowOf(at(1));
    expect(readRows(Buffer.from(row.replace(String(second(1)), 'noon')), 0, false).valid).toBe(false);
  });

  it('accepts the header row', () => {
    const buf = Buffer.from(csvRow(COLUMNS) + rowOf(at(1)));
    const reading = readRows(buf, 0, false);
    expect(reading.valid).toBe(true);
    expect(reading.rows).toHaveLength(2);
  });
});

describe('readChunk', () => {
  it('finds which line feed ends a row when the chunk starts inside a quoted field', () => {
    const events = [at(1, { text: AWKWARD }), at(2, { text: AWKWARD }), at(3)];
    const text = events.map(rowOf).join('');
    // Start the chunk just before the first line feed inside the first row's text.
    const cut = text.indexOf('line one') + 'line one'.length - 1;
    const buf = Buffer.from(text.slice(cut));
    const reading = readChunk(buf, cut, text.length);
    expect(reading).not.toBe('unreadable');
    expect(reading).toBeDefined();
    const rows = (reading as Exclude<typeof reading, 'unreadable' | undefined>).rows;
    expect(rows.map((r) => r.id)).toEqual([events[1]!.id, events[2]!.id]);
  });

  it('cannot decide a chunk without quotes on its own, unless the open-quote reading needs a row longer than any', () => {
    const text = [at(1), at(2), at(3)].map(rowOf).join('');
    const cut = 10;
    expect(readChunk(Buffer.from(text.slice(cut)), cut, text.length)).toBeUndefined();
    const decided = readChunk(Buffer.from(text.slice(cut)), cut, cut + MAX_ROW_BYTES);
    expect(decided).toBeDefined();
  });
});

describe('readFileTail', () => {
  it('returns the ids of the rows from the given second on, among rows of other events', async () => {
    const events = [at(1), at(5, { text: AWKWARD }), at(9), at(10, { text: 'x,y' }), at(12)];
    const file = await fileWith(events);
    const tail = await readFileTail(file, second(9), true);
    expect(tail).not.toBe('unreadable');
    const t = tail as Exclude<typeof tail, 'unreadable' | undefined>;
    expect([...t.ids].sort()).toEqual([events[2]!.id, events[3]!.id, events[4]!.id].sort());
    expect(t.validLength).toBe(t.size);
  });

  it('reads back in small chunks across quoted line feeds to the row it needs', async () => {
    const events = Array.from({ length: 60 }, (_, k) => at(k, { text: k % 3 ? `msg ${k}` : AWKWARD }));
    const file = await fileWith(events);
    for (const chunk of [16, 40, 100, 333]) {
      const tail = await readFileTail(file, second(20), false, chunk);
      const t = tail as Exclude<typeof tail, 'unreadable' | undefined>;
      expect([...t.ids].sort()).toEqual(
        events
          .slice(20)
          .map((e) => e.id)
          .sort(),
      );
    }
  });

  it('stops reading at a row older than the second asked for by more than the slack', async () => {
    const old = Array.from({ length: 60 }, (_, k) => at(-ORDER_SLACK_SECONDS - 100 + k, { text: `old ${k}` }));
    // Garbage at the start of the file is never reached: the reading stops among the old rows. (The quoted
    // text tells which line feeds end rows: without any quote, only the start of the file would.)
    const file = join(await tempDir(), 'day.csv');
    const recent = [at(0, { text: AWKWARD }), at(1)];
    await writeFile(file, 'not,csv"at all\n' + old.map(rowOf).join('') + recent.map(rowOf).join(''));
    const tail = await readFileTail(file, second(0), false, 16);
    const t = tail as Exclude<typeof tail, 'unreadable' | undefined>;
    expect([...t.ids].sort()).toEqual(recent.map((e) => e.id).sort());
    expect(await readFileTail(file, second(-ORDER_SLACK_SECONDS - 100), false, 16)).toBe('unreadable');
  });

  it('cuts off a torn last row (no line feed at the end)', async () => {
    const events = [at(1), at(2)];
    const torn = rowOf(at(3)).slice(0, 30);
    const file = await fileWith(events, torn);
    const tail = await readFileTail(file, second(0), true);
    const t = tail as Exclude<typeof tail, 'unreadable' | undefined>;
    expect(t.size - t.validLength).toBe(Buffer.byteLength(torn));
    expect(await readFile(file, 'utf8')).toBe(events.map(rowOf).join(''));
  });

  it('cuts off a row torn just after a line feed inside its quoted text', async () => {
    const events = [at(1, { text: AWKWARD }), at(2)];
    const whole = rowOf(at(3, { text: AWKWARD }));
    const torn = whole.slice(0, whole.indexOf('line one\n') + 'line one\n'.length); // ends with "\n"
    const file = await fileWith(events, torn);
    const tail = await readFileTail(file, second(0), true, 32);
    const t = tail as Exclude<typeof tail, 'unreadable' | undefined>;
    expect(t.validLength).toBe(Buffer.byteLength(events.map(rowOf).join('')));
    expect(await readFile(file, 'utf8')).toBe(events.map(rowOf).join(''));
    expect([...t.ids].sort()).toEqual(events.map((e) => e.id).sort());
  });

  it('cuts a file that holds only a torn row back to empty, and leaves it as is without repair', async () => {
    const torn = rowOf(at(1, { text: AWKWARD })).slice(0, 60);
    const file = await fileWith([], torn);
    const kept = await readFileTail(file, second(0), false);
    expect((kept as { validLength: number }).validLength).toBe(0);
    expect(await readFile(file, 'utf8')).toBe(torn);
    await readFileTail(file, second(0), true);
    expect(await readFile(file, 'utf8')).toBe('');
  });

  it("says so for a file that is not this logger's CSV, and undefined for a missing one", async () => {
    const file = join(await tempDir(), 'other.csv');
    await writeFile(file, 'a,b,c\n1,2,3\n');
    expect(await readFileTail(file, 0, true)).toBe('unreadable');
    expect(await readFile(file, 'utf8')).toBe('a,b,c\n1,2,3\n');
    expect(await readFileTail(join(file, '..', 'missing.csv'), 0, true)).toBeUndefined();
  });
});

describe('CsvLogger after a restart', () => {
  async function restartOn(data: string, sink: Logged[] = []) {
    return setupLogger(data, {}, sink);
  }

  it('does not write again the events a file already holds, and writes the others', async () => {
    const data = await tempDir();
    const before = Array.from({ length: 30 }, (_, k) => at(k, { remoteId: k % 2 ? 'bob' : '#chan', text: k % 4 ? `m${k}` : AWKWARD }));
    const first = await setupLogger(data);
    await first.write(before.slice(0, 20));
    // "Killed" here: a new logger on the same folder gets the journal's re-delivery, from an older position.
    const second = await restartOn(data);
    await second.write(before.slice(5, 15));
    await second.write(before.slice(15, 30));
    await second.close();
    const rows = await allRows(data);
    expect(rows.map((r) => r[8]).sort()).toEqual(before.map((e) => e.id).sort());
  });

  it('repairs a torn last row and writes its event once, whole', async () => {
    const data = await tempDir();
    const events = [at(1, { text: AWKWARD }), at(2), at(3, { text: AWKWARD })];
    const first = await setupLogger(data);
    await first.write(events.slice(0, 2));
    await first.close();
    const [file] = await csvFiles(data);
    const whole = rowOf(events[2]!);
    await appendFile(file!, whole.slice(0, whole.indexOf('line one\n') + 9));
    const sink: Logged[] = [];
    const second = await restartOn(data, sink);
    await second.write(events);
    await second.close();
    const text = await readFile(file!, 'utf8');
    expect(parseCsv(text).map((r) => r[8])).toEqual(events.map((e) => e.id));
    expect(text).toBe(events.map(rowOf).join(''));
    expect(sink.some((l) => l.level === 'warn' && /incomplete last row/.test(l.msg ?? ''))).toBe(true);
  });

  it('cuts a torn last row before appending a new event (dated after the start) to the file', async () => {
    const data = await tempDir();
    const when = new Date(Date.now() + 2000);
    const file = join(data, 'logs/irc/alice/bob', `${when.toISOString().slice(0, 10)}.csv`);
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(file, '..'), { recursive: true });
    const earlier = makeEvent({ at: new Date(Date.now() - 5000).toISOString(), text: AWKWARD });
    const torn = rowOf(makeEvent({ at: earlier.at, text: AWKWARD })).slice(0, 40); // ends inside the quoted text
    await writeFile(file, rowOf(earlier) + torn);
    const sink: Logged[] = [];
    const logger = await setupLogger(data, {}, sink);
    const fresh = makeEvent({ at: when.toISOString() });
    await logger.write([fresh]);
    await logger.close();
    expect(await readFile(file, 'utf8')).toBe(rowOf(earlier) + rowOf(fresh));
    expect(sink.some((l) => l.level === 'warn' && /incomplete last row/.test(l.msg ?? ''))).toBe(true);
  });

  it('checks an event older than the rows it read back by reading further', async () => {
    const data = await tempDir();
    const events = Array.from({ length: 10 }, (_, k) => at(k * 400));
    const first = await setupLogger(data);
    await first.write(events);
    const second = await restartOn(data);
    await second.write(events.slice(8)); // reads back to second(3200 - slack)
    await second.write(events.slice(0, 8)); // older: read further back
    await second.close();
    expect((await allRows(data)).map((r) => r[8])).toEqual(events.map((e) => e.id));
  });
});

async function csvFiles(dir: string): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.csv'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

async function allRows(dir: string): Promise<string[][]> {
  const rows: string[][] = [];
  for (const file of await csvFiles(dir)) rows.push(...parseCsv(await readFile(file, 'utf8')));
  return rows;
}
