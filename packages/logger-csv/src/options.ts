/** The plugin's options: schema (validated by core, defaults applied) and their resolution in setup. */
import { isAbsolute, resolve } from 'node:path';
import { Type, type Static } from '@imspect/sdk';
import { dayFormatter, type DayOf } from './day.js';

const MODE = '^0?[0-7]{3}$';

export const optionsSchema = Type.Object(
  {
    dir: Type.String({
      default: 'logs',
      minLength: 1,
      description: 'Folder of the logs. A relative path is resolved against the imspect data folder.',
    }),
    timezone: Type.String({
      default: 'local',
      minLength: 1,
      description:
        'Time zone that decides the day of the YYYY-MM-DD.csv file: "local" (the process\'s TZ, as IMSpector), "utc", or an IANA name such as "Europe/Paris". The unix time column is not affected.',
    }),
    fsync: Type.Boolean({
      default: false,
      description:
        'fdatasync each file after each batch, before write() resolves: rows survive a power cut, at the cost of one disk flush per file per batch. Without it rows survive a crash of imspect (they are in the OS cache when write() resolves) and flush() syncs the open files.',
    }),
    maxOpenFiles: Type.Integer({
      default: 1024,
      minimum: 0,
      description:
        'Most log files kept open at once (least recently used closed first); 0 opens and closes the file for every batch. Keep it above the number of conversations active at once: below that, nearly every batch reopens files.',
    }),
    fileMode: Type.String({
      default: '0640',
      pattern: MODE,
      description: 'Permissions (octal) of new log files, before the umask. Logs hold private conversations.',
    }),
    dirMode: Type.String({
      default: '0750',
      pattern: MODE,
      description: 'Permissions (octal) of new folders, before the umask.',
    }),
    header: Type.Boolean({
      default: false,
      description: 'Write a header row at the top of each new file. IMSpector wrote none; tools reading its files by position expect none.',
    }),
    excelSafe: Type.Boolean({
      default: false,
      description: "Prefix a ' to text fields that start with = + - @ TAB or CR, so that a spreadsheet does not run them as formulas. Alters the logged text.",
    }),
    networkFolder: Type.Boolean({
      default: true,
      description:
        "Put the events of protocols whose ids are per network (IRC: the event names its network, the server host) under {protocol}/{network}/{localId}/..., so the same nick on two networks is two users. false keeps IMSpector's {protocol}/{localId}/... for them too. Events without a network (MSN, Yahoo, XMPP: global ids) never get the extra folder.",
    }),
    rememberIds: Type.Integer({
      default: 10000,
      minimum: 0,
      description: 'How many recent event ids are remembered so that a batch retried by core is not written twice.',
    }),
  },
  { additionalProperties: false },
);

export type CsvLoggerOptions = Static<typeof optionsSchema>;

export const DEFAULT_OPTIONS: CsvLoggerOptions = {
  dir: 'logs',
  timezone: 'local',
  fsync: false,
  maxOpenFiles: 1024,
  fileMode: '0640',
  dirMode: '0750',
  header: false,
  excelSafe: false,
  networkFolder: true,
  rememberIds: 10000,
};

/** Options turned into what the logger uses. */
export interface CsvLoggerConfig {
  /** Absolute log folder. */
  root: string;
  dayOf: DayOf;
  fsync: boolean;
  maxOpenFiles: number;
  fileMode: number;
  dirMode: number;
  header: boolean;
  excelSafe: boolean;
  /** Events with a network go under `{protocol}/{network}/...`. */
  networkFolder: boolean;
  rememberIds: number;
}

function parseMode(key: string, value: string): number {
  if (!new RegExp(MODE).test(value)) throw new RangeError(`option ${key}: "${value}" is not an octal mode such as 0640`);
  return parseInt(value, 8);
}

function count(key: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`option ${key}: ${value} is not a non-negative integer`);
  return value;
}

/**
 * Fills in defaults (core has normally done so already) and checks what the schema cannot (the time zone).
 * Throws a RangeError naming the option.
 */
export function resolveOptions(options: Partial<CsvLoggerOptions> | undefined, dataDir: string): CsvLoggerConfig {
  const o: CsvLoggerOptions = { ...DEFAULT_OPTIONS };
  for (const [key, value] of Object.entries(options ?? {})) if (value !== undefined) (o as Record<string, unknown>)[key] = value;
  let dayOf: DayOf;
  try {
    dayOf = dayFormatter(o.timezone);
  } catch (error) {
    throw new RangeError(`option timezone: ${(error as Error).message}`);
  }
  if (typeof o.dir !== 'string' || o.dir.length === 0) throw new RangeError('option dir: must be a non-empty path');
  return {
    root: isAbsolute(o.dir) ? resolve(o.dir) : resolve(dataDir, o.dir),
    dayOf,
    fsync: o.fsync === true,
    maxOpenFiles: count('maxOpenFiles', o.maxOpenFiles),
    fileMode: parseMode('fileMode', o.fileMode),
    dirMode: parseMode('dirMode', o.dirMode),
    header: o.header === true,
    excelSafe: o.excelSafe === true,
    networkFolder: o.networkFolder !== false,
    rememberIds: count('rememberIds', o.rememberIds),
  };
}
