/**
 * The database drivers, each loaded only when its backend is configured: SQLite is the runtime's own
 * `node:sqlite` (nothing to install or compile), PostgreSQL and MySQL/MariaDB are the `pg` and `mysql2`
 * packages, optional peer dependencies that only their users install. A missing one is named in the error.
 */
import { createRequire } from 'node:module';
import type { SqliteDatabase } from 'kysely';
import type { DatabaseSync, SQLInputValue } from 'node:sqlite';

/** Loads a package by name (`require` relative to this plugin); replaceable in tests. */
export type ModuleLoader = (name: string) => unknown;

const requireHere: ModuleLoader = createRequire(import.meta.url);

const BACKENDS = { pg: 'PostgreSQL', mysql2: 'MySQL/MariaDB' } as const;

export class DriverMissingError extends Error {
  readonly code = 'DRIVER_MISSING';
  constructor(readonly packageName: keyof typeof BACKENDS) {
    super(
      `the ${BACKENDS[packageName]} archive needs the "${packageName}" package, which is not installed: ` +
        `install it next to imspect (npm install ${packageName}, or pnpm add ${packageName} in a clone)`,
    );
  }
}

/** `pg` or `mysql2`, or a {@link DriverMissingError} naming the package when it is not installed. */
export function loadDriver<T>(packageName: keyof typeof BACKENDS, load: ModuleLoader = requireHere): T {
  try {
    return load(packageName) as T;
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    // Only the driver itself missing is "not installed"; a driver that fails to load for another reason (or a
    // package the driver needs is missing) keeps its own message.
    if ((e.code === 'MODULE_NOT_FOUND' || e.code === 'ERR_MODULE_NOT_FOUND') && e.message.includes(`'${packageName}'`)) {
      throw new DriverMissingError(packageName);
    }
    throw error;
  }
}

/** Kysely's view of a `node:sqlite` database, and the database itself for the archive's batch insert (store.ts). */
export type NodeSqliteDatabase = SqliteDatabase & { readonly raw: DatabaseSync };

/**
 * A `node:sqlite` database in the shape Kysely's SqliteDialect drives (the shape of better-sqlite3, which the
 * archive used before): statements bound from an array, `reader` for statements that return rows.
 */
export function openNodeSqlite(file: string, synchronous: 'full' | 'normal'): NodeSqliteDatabase {
  const { DatabaseSync } = process.getBuiltinModule('node:sqlite');
  const db = new DatabaseSync(file);
  db.exec('PRAGMA journal_mode = WAL');
  db.exec(`PRAGMA synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  db.exec('PRAGMA busy_timeout = 10000');
  // `imspect_contains(text, word)`: 1 when the text contains the word, case folded for every script (SQLite's
  // lower() and LIKE fold ASCII only). The search checks dense words with it row by row (search.ts, `walk`),
  // agreeing with the trigram index, which folds case the same way.
  db.function('imspect_contains', { deterministic: true }, (text, word) =>
    typeof text === 'string' && typeof word === 'string' && text.toLowerCase().includes(word.toLowerCase()) ? 1 : 0,
  );
  return {
    raw: db,
    close: () => db.close(),
    prepare(sqlText) {
      const statement = db.prepare(sqlText);
      const bind = (parameters: ReadonlyArray<unknown>) => parameters as SQLInputValue[];
      return {
        reader: statement.columns().length > 0,
        all: (parameters) => statement.all(...bind(parameters)),
        run: (parameters) => statement.run(...bind(parameters)),
        iterate: (parameters) => statement.iterate(...bind(parameters)),
      };
    },
  };
}
