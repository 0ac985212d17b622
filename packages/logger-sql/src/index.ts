/**
 * @imspect/logger-sql: every event as a row of one `messages` table, in the embedded SQLite file by default, or
 * in PostgreSQL or MySQL/MariaDB by URL, the same schema and code for all three. See README.md.
 */
import { definePlugin } from '@imspect/sdk';
import { openArchive } from './open.js';
import { describeTarget, optionsSchema, resolveTarget } from './options.js';

export default definePlugin({
  name: 'logger-sql',
  kind: 'logger',
  options: optionsSchema,
  setup(ctx) {
    const target = resolveTarget(ctx.options, ctx.dataDir);
    const archive = openArchive(target, {
      inWorker: true,
      // Only the code and message: pg attaches the whole client to a pool error (its connection parameters,
      // password included), which must never reach the log.
      onPoolError: (error) => ctx.logger.warn({ code: (error as { code?: unknown }).code, error: error.message }, 'database connection lost; the next write reconnects'),
    });
    ctx.logger.info({ archive: describeTarget(target) }, 'logging to the SQL archive');
    // Connect and migrate in the background now, so the first events do not wait for it (and the SQLite worker
    // has started before traffic does). A database that is down only delays the writes, which core retries;
    // it never delays the start of imspect.
    archive.migrate().catch((error: unknown) => {
      ctx.logger.warn({ err: error, archive: describeTarget(target) }, 'the SQL archive is not reachable yet; events wait in the journal until it is');
    });
    return {
      write: async (events) => {
        await archive.insert(events);
      },
      close: () => archive.close(),
    };
  },
});

export { openArchive } from './open.js';
// Types only, and values that need no database: the gateway imports this entry point as its plugin, and what it
// loads stays in memory for the life of the process. The store and the SQL builders are in `./archive`.
export type {
  ArchiveStore,
  SearchPage,
  SearchPageOptions,
  ActivityBucket,
  LocalUserSummary,
  PresenceState,
  UserDetail,
  SqlArchive,
} from './store.js';
export type { AuditEntry, StoredAuditEntry } from './audit.js';
export { WorkerArchive } from './sqlite-client.js';
export { resolveTarget, describeTarget, redact, optionsSchema, DEFAULT_OPTIONS, type SqlLoggerOptions, type SqlTarget, type SqlKind } from './options.js';
export { parseTime, words, MAX_IDENTITIES_PER_NAME, PRESENCE_FILTERS, type PresenceFilter } from './query.js';
export type { SearchQuery, PageCursor, Identity } from './search.js';
export { toRow, fromRow, typeCode, eventData, type ArchivedMessage } from './row.js';
export type { Database, MessagesTable, MessageRow } from './schema.js';
export { DriverMissingError, loadDriver } from './drivers.js';
