/** The plugin's options (validated by core, defaults applied) and where they point. */
import { isAbsolute, resolve } from 'node:path';
import { Type, type Static } from '@imspect/sdk';

export const optionsSchema = Type.Object(
  {
    url: Type.String({
      default: '',
      description: 'Database URL: postgres://user:pass@host:5432/db, mysql://user:pass@host:3306/db (MariaDB too), or sqlite:PATH. Empty: the embedded SQLite file (option file).',
    }),
    file: Type.String({
      default: 'archive.sqlite',
      minLength: 1,
      description: 'SQLite database file when url is empty; relative to the imspect data folder.',
    }),
    poolSize: Type.Integer({ default: 4, minimum: 1, maximum: 100, description: 'PostgreSQL / MySQL: most connections kept open.' }),
    connectTimeoutMs: Type.Integer({ default: 10_000, minimum: 100, description: 'PostgreSQL / MySQL: how long connecting may take before a write fails and is retried.' }),
    synchronous: Type.Union([Type.Literal('full'), Type.Literal('normal')], {
      default: 'full',
      description: 'SQLite: full syncs each batch to disk (survives a power cut); normal is faster and survives a crash of imspect.',
    }),
  },
  { additionalProperties: false },
);

export type SqlLoggerOptions = Static<typeof optionsSchema>;

export type SqlKind = 'sqlite' | 'postgres' | 'mysql';

/** Where the archive is: what both the plugin and `imspect logs search` open. */
export type SqlTarget = { kind: 'sqlite'; file: string; synchronous: 'full' | 'normal' } | { kind: 'postgres' | 'mysql'; url: string; poolSize: number; connectTimeoutMs: number };

export const DEFAULT_OPTIONS: SqlLoggerOptions = { url: '', file: 'archive.sqlite', poolSize: 4, connectTimeoutMs: 10_000, synchronous: 'full' };

/** Resolves options against the data folder. Throws a RangeError naming the option when the URL is unusable. */
export function resolveTarget(options: Partial<SqlLoggerOptions> | undefined, dataDir: string): SqlTarget {
  const o: SqlLoggerOptions = { ...DEFAULT_OPTIONS };
  for (const [key, value] of Object.entries(options ?? {})) if (value !== undefined) (o as Record<string, unknown>)[key] = value;
  const url = o.url.trim();
  const sqliteFile = (file: string) => ({ kind: 'sqlite' as const, file: isAbsolute(file) ? resolve(file) : resolve(dataDir, file), synchronous: o.synchronous });
  if (url === '') return sqliteFile(o.file);
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'sqlite':
    case 'file':
      return sqliteFile(decodeURIComponent(url.slice(scheme.length + 1).replace(/^\/\/(?=\/)/, '')));
    case 'postgres':
    case 'postgresql':
      return { kind: 'postgres', url, poolSize: o.poolSize, connectTimeoutMs: o.connectTimeoutMs };
    case 'mysql':
    case 'mariadb':
      return { kind: 'mysql', url: url.replace(/^mariadb:/i, 'mysql:'), poolSize: o.poolSize, connectTimeoutMs: o.connectTimeoutMs };
    default:
      throw new RangeError(`option url: "${redact(url)}" is not a postgres://, mysql://, mariadb:// or sqlite: URL`);
  }
}

/** A URL without its password, for logs and errors. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}

export function describeTarget(target: SqlTarget): string {
  return target.kind === 'sqlite' ? `sqlite:${target.file}` : redact(target.url);
}
