import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ImEvent, LoggerHooks, PluginContext, PluginLogger } from '@imspect/sdk';
import { testEvent } from '@imspect/sdk/testing';
import plugin from '../src/index.js';
import type { CsvLoggerOptions } from '../src/options.js';

export interface Logged {
  level: string;
  obj: unknown;
  msg: string | undefined;
}

export function quietLogger(sink: Logged[] = []): PluginLogger {
  const logger: PluginLogger = {
    trace: (obj, msg) => void sink.push({ level: 'trace', obj, msg }),
    debug: (obj, msg) => void sink.push({ level: 'debug', obj, msg }),
    info: (obj, msg) => void sink.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => void sink.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => void sink.push({ level: 'error', obj, msg }),
    child: () => logger,
  };
  return logger;
}

const tempDirs: string[] = [];

export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'imspect-logger-csv-'));
  tempDirs.push(dir);
  return dir;
}

/** Removes the folders made by {@link tempDir} (call from afterAll). */
export async function removeTempDirs(): Promise<void> {
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

export async function setupLogger(dataDir: string, options: Partial<CsvLoggerOptions> = {}, sink: Logged[] = []): Promise<Required<LoggerHooks>> {
  const ctx: PluginContext<CsvLoggerOptions> = {
    name: 'logger-csv',
    logger: quietLogger(sink),
    options: { timezone: 'utc', ...options } as CsvLoggerOptions,
    hostVersion: '0.1.0',
    dataDir,
    configDir: dataDir,
  };
  return (await plugin.setup(ctx)) as Required<LoggerHooks>;
}

let counter = 0;

/** `testEvent` with a fresh id per call and the address, time and text the expected CSV rows are written for. */
export function makeEvent(over: Partial<ImEvent> = {}): ImEvent {
  counter += 1;
  return testEvent({
    id: `0190f0c8-0000-7000-8000-${String(counter).padStart(12, '0')}`,
    at: '2024-03-05T10:20:30.456Z',
    text: 'hello',
    client: { ip: '10.0.0.5', port: 51234 },
    ...over,
  });
}

/** A strict RFC 4180 reader (LF or CRLF record ends), independent of the code under test. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  let fieldStart = true;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i += 1;
        const next = text[i];
        if (next !== ',' && next !== '\n' && next !== '\r' && next !== undefined) throw new Error(`junk after quote at ${i}`);
        continue;
      }
      field += c;
      i += 1;
      continue;
    }
    if (c === '"' && fieldStart) {
      quoted = true;
      fieldStart = false;
      i += 1;
      continue;
    }
    if (c === '"') throw new Error(`bare quote at ${i}`);
    if (c === ',') {
      row.push(field);
      field = '';
      fieldStart = true;
      i += 1;
      continue;
    }
    if (c === '\r' && text[i + 1] === '\n') i += 1;
    else if (c === '\r') throw new Error(`bare CR at ${i}`);
    if (text[i] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      fieldStart = true;
      i += 1;
      continue;
    }
    field += c;
    fieldStart = false;
    i += 1;
  }
  if (quoted) throw new Error('unterminated quote');
  if (!fieldStart || row.length > 0) throw new Error('last record has no line end');
  return rows;
}

/** Ids a hostile peer (or a broken protocol plugin) could send. */
export const HOSTILE_IDS: readonly string[] = [
  '..',
  '.',
  '...',
  '../../etc',
  '../../../../../../etc/passwd',
  'a/b',
  'a\\b',
  '/',
  '\\',
  '/abs',
  'C:\\Windows',
  'a:b',
  'a\0b',
  '\0',
  'ctl\x01\x1b[31m\x1f\x7f\x85',
  'line\nbreak\r\n',
  'x'.repeat(10 * 1024),
  'x'.repeat(10 * 1024 - 1) + 'y',
  'é'.repeat(5000),
  '😀'.repeat(3000),
  '',
  ' ',
  'CON',
  'con',
  'nul.txt',
  'COM1',
  'lpt9.log',
  'trailing.',
  'trailing ',
  '%',
  '%2E%2E',
  '%2F',
  '%~0123456789abcdef0123456789abcdef01234567',
  '.hidden',
  '\u202Eexe.txt',
  'zero\u200Bwidth',
  'lone\uD800',
  '\uDC00lone',
  '\uD83D\uDE00',
  'José',
  '李小龙',
  'Ελένη',
  '#channel',
  'user@example.com/Resource',
];
