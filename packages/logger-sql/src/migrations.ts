/**
 * Versioned migrations of the archive, the same for every backend where SQL allows and per dialect where it
 * does not (column types, full-text index). Kysely's migrator records what ran in `imspect_migration` and
 * holds a lock while migrating, so several gateways starting against one central database migrate it once.
 */
import { sql, type Kysely } from 'kysely';
import type { Migration, MigrationProvider } from 'kysely/migration';
import type { SqlKind } from './options.js';
import { MYSQL_ID_CHARS } from './row.js';
import { parseDataString } from '@imspect/sdk/event-data';

export const MIGRATION_TABLE = 'imspect_migration';
export const MIGRATION_LOCK_TABLE = 'imspect_migration_lock';

function types(kind: SqlKind) {
  switch (kind) {
    case 'sqlite':
      return { id: sql`integer`, bigint: sql`integer`, ident: sql`text`, eventId: sql`text`, long: sql`text`, small: sql`integer` };
    case 'postgres':
      return { id: sql`bigserial`, bigint: sql`bigint`, ident: sql`text`, eventId: sql`varchar(64)`, long: sql`text`, small: sql`smallint` };
    case 'mysql':
      return {
        id: sql`bigint unsigned`,
        bigint: sql`bigint`,
        ident: sql.raw(`varchar(${MYSQL_ID_CHARS})`),
        eventId: sql`varchar(64)`,
        long: sql`mediumtext`,
        small: sql`tinyint`,
      };
  }
}

function initialSchema(kind: SqlKind): Migration {
  return {
    async up(db: Kysely<any>) {
      const t = types(kind);
      let table = db.schema
        .createTable('messages')
        .ifNotExists()
        .addColumn('id', t.id, (c) => {
          c = c.primaryKey();
          return kind === 'postgres' ? c : c.autoIncrement();
        })
        .addColumn('event_id', t.eventId, (c) => c.notNull().unique())
        .addColumn('timestamp', t.bigint, (c) => c.notNull())
        .addColumn('at_ms', t.bigint, (c) => c.notNull())
        .addColumn('at', sql`varchar(40)`, (c) => c.notNull())
        .addColumn('client_address', sql`varchar(64)`, (c) => c.notNull())
        .addColumn('protocol', t.ident, (c) => c.notNull())
        .addColumn('outgoing', t.small, (c) => c.notNull())
        .addColumn('type', t.small, (c) => c.notNull())
        .addColumn('local_id', t.ident, (c) => c.notNull())
        .addColumn('remote_id', t.ident, (c) => c.notNull())
        .addColumn('filtered', t.small, (c) => c.notNull())
        .addColumn('categories', t.long, (c) => c.notNull())
        .addColumn('event_data', t.long, (c) => c.notNull())
        .addColumn('direction', sql`varchar(8)`, (c) => c.notNull())
        .addColumn('type_name', sql`varchar(32)`, (c) => c.notNull())
        .addColumn('subtype', t.ident)
        .addColumn('conversation', t.ident)
        .addColumn('text', t.long)
        .addColumn('delivered_text', t.long)
        .addColumn('file_name', t.long)
        .addColumn('file_size', t.bigint)
        .addColumn('server', t.long, (c) => c.notNull())
        .addColumn('data', t.long);
      if (kind === 'mysql') table = table.modifyEnd(sql`ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
      await table.execute();
      for (const [name, columns] of [
        ['messages_at', ['at_ms']],
        ['messages_local_at', ['local_id', 'at_ms']],
        ['messages_remote_at', ['remote_id', 'at_ms']],
        ['messages_conversation_at', ['conversation', 'at_ms']],
        ['messages_protocol_at', ['protocol', 'at_ms']],
      ] as const) {
        await db.schema
          .createIndex(name)
          .on('messages')
          .columns([...columns])
          .execute();
      }
    },
  };
}

/** Full-text search on `text`: FTS5 (trigram, so CJK matches too), a GIN tsvector index, a FULLTEXT index. */
function fullText(kind: SqlKind): Migration {
  return {
    async up(db: Kysely<any>) {
      switch (kind) {
        case 'sqlite':
          await sql`CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages', content_rowid='id', tokenize='trigram')`.execute(db);
          await sql`CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text); END`.execute(db);
          await sql`CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text); END`.execute(
            db,
          );
          await sql`INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')`.execute(db);
          break;
        case 'postgres':
          await sql`CREATE INDEX messages_text_fts ON messages USING gin (to_tsvector('simple', coalesce(text, '')))`.execute(db);
          break;
        case 'mysql':
          await sql`CREATE FULLTEXT INDEX messages_text_fts ON messages (text)`.execute(db);
          break;
      }
    },
  };
}

/**
 * The network an event's ids belong to (IRC: the server host), indexed for `logs search --network`. Rows stored
 * before it get what the IRC plugin now puts there, the host of their `server` column, lower-cased; rows of other
 * protocols (global ids) keep null.
 */
function network(kind: SqlKind): Migration {
  return {
    async up(db: Kysely<any>) {
      const t = types(kind);
      await db.schema.alterTable('messages').addColumn('network', t.ident).execute();
      await db.schema.createIndex('messages_network_at').on('messages').columns(['network', 'at_ms']).execute();
      // One UPDATE per distinct server (a handful), the host taken apart in JavaScript: the same on every backend.
      const servers = await db.selectFrom('messages').select('server').distinct().where('protocol', '=', 'irc').where('network', 'is', null).execute();
      for (const { server } of servers as Array<{ server: string }>) {
        await db
          .updateTable('messages')
          .set({ network: hostOf(String(server)) })
          .where('protocol', '=', 'irc')
          .where('server', '=', server)
          .where('network', 'is', null)
          .execute();
      }
    },
  };
}

/**
 * One message, several devices: `message_key` (a hash of the event's `messageKey`) is unique per participant
 * (`local_id`), so the copies of a message that reached the user's other devices merge into the first one's
 * row, whose `devices` lists every device it reached. Rows without a key (NULL) are never merged.
 */
function messageKeys(kind: SqlKind): Migration {
  return {
    async up(db: Kysely<any>) {
      const t = types(kind);
      await db.schema.alterTable('messages').addColumn('message_key', sql`varchar(64)`).execute();
      await db.schema.alterTable('messages').addColumn('devices', t.long).execute();
      // MySQL: local_id (700 characters) and the 64-character hash together stay within InnoDB's 3072-byte key.
      await db.schema.createIndex('messages_local_message_key').on('messages').columns(['local_id', 'message_key']).unique().execute();
    },
  };
}

/** Rows converted per statement batch by {@link typedData}: bounded memory whatever the archive's size. */
const DATA_BATCH_ROWS = 500;

/**
 * Event data became typed pairs: the `data` column holds them as a JSON object text (`{"port":5000}`) instead of
 * a `key=value` string. Rows stored before are converted with the rules that string was read by
 * (`parseDataString`: values percent-decoded, kept as text), in batches walked by id, the same on every backend.
 * `event_data` (IMSpector's column) keeps its `key=value` rendering for old and new rows alike.
 */
function typedData(): Migration {
  return {
    async up(db: Kysely<any>) {
      let after = 0;
      for (;;) {
        const rows = (await db
          .selectFrom('messages')
          .select(['id', 'data'])
          .where('id', '>', after)
          .where('data', 'is not', null)
          .orderBy('id')
          .limit(DATA_BATCH_ROWS)
          .execute()) as Array<{ id: number | string; data: string }>;
        if (rows.length === 0) return;
        for (const row of rows) {
          const stored = String(row.data);
          if (isJsonObjectText(stored)) continue; // written by this version already (a migration resumed)
          await db
            .updateTable('messages')
            .set({ data: stored.length === 0 ? null : JSON.stringify(parseDataString(stored)) })
            .where('id', '=', row.id)
            .execute();
        }
        after = Number(rows[rows.length - 1]!.id);
      }
    },
  };
}

/**
 * SQLite: the full-text index follows the table instead of being filled by a trigger per row (which made FTS5
 * flush its pending terms at every statement, and cost three quarters of a row's insert): the archive indexes
 * the rows after `messages_fts_position` in steps of their own (store.ts), and search reads the rows not yet
 * indexed directly (search.ts). Everything stored before was indexed by the trigger. Rows are only ever
 * inserted by the archive's own code; 0002's delete trigger now takes out indexed rows only. PostgreSQL and MySQL
 * index on their own.
 */
function followingFullText(kind: SqlKind): Migration {
  return {
    async up(db: Kysely<any>) {
      if (kind !== 'sqlite') return;
      await sql`DROP TRIGGER IF EXISTS messages_fts_insert`.execute(db);
      await sql`CREATE TABLE IF NOT EXISTS messages_fts_position (id integer NOT NULL)`.execute(db);
      await sql`DELETE FROM messages_fts_position`.execute(db);
      await sql`INSERT INTO messages_fts_position (id) SELECT coalesce(max(id), 0) FROM messages`.execute(db);
      // A row past the position is not in the index: its 'delete' would take out terms the index never had (an
      // external-content index does not check), leaving it damaged. Only indexed rows are taken out.
      await sql`DROP TRIGGER IF EXISTS messages_fts_delete`.execute(db);
      await sql`CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN old.id <= (SELECT id FROM messages_fts_position) BEGIN INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text); END`.execute(
        db,
      );
    },
  };
}

/**
 * The copies index (0003) holds the rows that have a message key only. Most rows have none (IRC, and every event
 * that is not a message): as entries keyed by a NULL they made every insert pay,
 * for lookups that never look for a NULL key (the copy lookup asks `message_key = ?`, which the planners match to
 * a partial index). Without them SQLite stores 1.2-1.5x the rows per second (bench/logger-sql, `sqlite-whole-key`). MySQL has no
 * partial indexes: its index stays whole.
 */
function keyedCopiesOnly(kind: SqlKind): Migration {
  return {
    async up(db: Kysely<any>) {
      if (kind === 'mysql') return;
      await sql`DROP INDEX messages_local_message_key`.execute(db);
      await sql`CREATE UNIQUE INDEX messages_local_message_key ON messages (local_id, message_key) WHERE message_key IS NOT NULL`.execute(db);
    },
  };
}

/** True for the text of a JSON object (what the `data` column holds since migration 0005). */
export function isJsonObjectText(text: string): boolean {
  if (!text.startsWith('{')) return false;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

/** `host:port` or `[v6]:port` (the `server` column) -> the host as the IRC plugin names a network. */
export function hostOf(server: string): string {
  let host = server;
  const bracket = /^\[([^\]]*)\](?::\d*)?$/.exec(server);
  if (bracket) host = bracket[1]!;
  else if (/:\d*$/.test(server) && server.indexOf(':') === server.lastIndexOf(':')) host = server.slice(0, server.lastIndexOf(':'));
  host = host.trim().toLowerCase();
  while (host.endsWith('.') && host.length > 1) host = host.slice(0, -1);
  return host;
}

export function migrationProvider(kind: SqlKind): MigrationProvider {
  return {
    async getMigrations() {
      return {
        '0001-messages': initialSchema(kind),
        '0002-full-text': fullText(kind),
        '0003-message-key': messageKeys(kind),
        '0004-network': network(kind),
        '0005-typed-data': typedData(),
        '0006-following-full-text': followingFullText(kind),
        '0007-keyed-copies-index': keyedCopiesOnly(kind),
      };
    },
  };
}
