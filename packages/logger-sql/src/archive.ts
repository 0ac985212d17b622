/**
 * `@imspect/logger-sql/archive`: the archive store and the SQL it builds, for code that works on the database
 * directly (tests, fixtures, tools). Kept out of the package's entry point, which the gateway loads as a plugin:
 * these load Kysely, which the gateway's main thread does not need while SQLite runs in the worker thread.
 */
export { SqlArchive } from './store.js';
export { buildSearch, buildAliasLookup } from './search.js';
export { migrationProvider, hostOf, MIGRATION_TABLE } from './migrations.js';
