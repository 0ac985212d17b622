/**
 * The console's audit trail: who logged in (or failed to), searched, opened a transcript, exported or changed
 * something, when and from where. It lives in the archive next to the conversations it is about, in a table of
 * its own with its own migration record (`imspect_audit_migration`), so it never interleaves with the messages
 * table's versions. Rows are only ever inserted: nothing in imspect updates or deletes them, and on every
 * backend triggers refuse both (and TRUNCATE on PostgreSQL), so neither imspect's database account nor anyone
 * using it can rewrite the trail. The database's owner can still drop the triggers: the trail resists editing
 * through the archive's account, it is not proof against the database administrator.
 */
import { sql, type Kysely } from 'kysely';
import type { Migration, MigrationProvider } from 'kysely/migration';
import type { SqlKind } from './options.js';

export const AUDIT_MIGRATION_TABLE = 'imspect_audit_migration';
export const AUDIT_MIGRATION_LOCK_TABLE = 'imspect_audit_migration_lock';

export interface AuditTable {
  id: import('kysely').Generated<number>;
  at_ms: number;
  /** The console user, or the name tried at a failed login. */
  actor: string;
  /** The actor's role at the time (`admin`, `auditor`), empty for a failed login. */
  role: string;
  /** What was done: `login`, `login-failed`, `logout`, `search`, `transcript`, `export`, `change`, ... */
  action: string;
  /** The details (query, conversation, file changed), as JSON text. */
  detail: string;
  /** The client address the request came from. */
  source: string;
}

export interface AuditEntry {
  atMs: number;
  actor: string;
  role: string;
  action: string;
  detail: Readonly<Record<string, unknown>>;
  source: string;
}

export interface StoredAuditEntry extends AuditEntry {
  id: number;
  at: string;
}

/** Longest text kept per entry: a search for a megabyte of text is recorded, cut, not stored whole. */
const MAX_DETAIL_CHARS = 8192;
const MAX_FIELD_CHARS = 256;

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function auditRow(entry: AuditEntry): Omit<AuditTable, 'id'> {
  return {
    at_ms: entry.atMs,
    actor: cut(entry.actor, MAX_FIELD_CHARS),
    role: cut(entry.role, 32),
    action: cut(entry.action, 64),
    detail: cut(JSON.stringify(entry.detail), MAX_DETAIL_CHARS),
    source: cut(entry.source, 64),
  };
}

export function fromAuditRow(row: Record<string, unknown>): StoredAuditEntry {
  let detail: Record<string, unknown>;
  try {
    detail = JSON.parse(String(row['detail'])) as Record<string, unknown>;
  } catch {
    detail = { text: String(row['detail']) }; // cut mid-JSON
  }
  const atMs = Number(row['at_ms']);
  return {
    id: Number(row['id']),
    atMs,
    at: new Date(atMs).toISOString(),
    actor: String(row['actor']),
    role: String(row['role']),
    action: String(row['action']),
    detail,
    source: String(row['source']),
  };
}

function createAuditTable(kind: SqlKind): Migration {
  return {
    async up(db: Kysely<any>) {
      const id = kind === 'sqlite' ? sql`integer` : kind === 'postgres' ? sql`bigserial` : sql`bigint unsigned`;
      const big = kind === 'sqlite' ? sql`integer` : sql`bigint`;
      const text = kind === 'mysql' ? sql`mediumtext` : sql`text`;
      let table = db.schema
        .createTable('console_audit')
        .ifNotExists()
        .addColumn('id', id, (c) => {
          c = c.primaryKey();
          return kind === 'postgres' ? c : c.autoIncrement();
        })
        .addColumn('at_ms', big, (c) => c.notNull())
        .addColumn('actor', sql`varchar(256)`, (c) => c.notNull())
        .addColumn('role', sql`varchar(32)`, (c) => c.notNull())
        .addColumn('action', sql`varchar(64)`, (c) => c.notNull())
        .addColumn('detail', text, (c) => c.notNull())
        .addColumn('source', sql`varchar(64)`, (c) => c.notNull());
      if (kind === 'mysql') table = table.modifyEnd(sql`ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
      await table.execute();
      await db.schema.createIndex('console_audit_at').on('console_audit').columns(['at_ms']).execute();
      if (kind === 'sqlite') {
        // Append-only: an UPDATE or DELETE through any SQLite connection fails (the file itself is the admin's).
        await sql`CREATE TRIGGER IF NOT EXISTS console_audit_no_update BEFORE UPDATE ON console_audit BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END`.execute(db);
        await sql`CREATE TRIGGER IF NOT EXISTS console_audit_no_delete BEFORE DELETE ON console_audit BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END`.execute(db);
      }
    },
  };
}

const APPEND_ONLY = 'the audit trail is append-only';

/**
 * The same refusal on PostgreSQL and MariaDB/MySQL (SQLite has had it since 0001): a trigger before UPDATE and
 * DELETE on each row, and on PostgreSQL before TRUNCATE, raising an error that names the rule. A migration of
 * its own, so archives created before it get the triggers too. On MariaDB/MySQL with binary logging, creating
 * a trigger needs the SUPER privilege or `log_bin_trust_function_creators=1`.
 */
function appendOnlyTriggers(kind: SqlKind): Migration {
  return {
    async up(db: Kysely<any>) {
      if (kind === 'postgres') {
        await sql
          .raw(
            `CREATE OR REPLACE FUNCTION console_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '${APPEND_ONLY}' USING ERRCODE = 'insufficient_privilege'; END $$`,
          )
          .execute(db);
        await sql`DROP TRIGGER IF EXISTS console_audit_no_change ON console_audit`.execute(db);
        await sql`CREATE TRIGGER console_audit_no_change BEFORE UPDATE OR DELETE ON console_audit FOR EACH ROW EXECUTE FUNCTION console_audit_append_only()`.execute(db);
        await sql`DROP TRIGGER IF EXISTS console_audit_no_truncate ON console_audit`.execute(db);
        await sql`CREATE TRIGGER console_audit_no_truncate BEFORE TRUNCATE ON console_audit FOR EACH STATEMENT EXECUTE FUNCTION console_audit_append_only()`.execute(db);
      } else if (kind === 'mysql') {
        for (const [name, when] of [
          ['console_audit_no_update', 'UPDATE'],
          ['console_audit_no_delete', 'DELETE'],
        ] as const) {
          await sql.raw(`DROP TRIGGER IF EXISTS ${name}`).execute(db);
          await sql.raw(`CREATE TRIGGER ${name} BEFORE ${when} ON console_audit FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '${APPEND_ONLY}'`).execute(db);
        }
      }
    },
  };
}

export function auditMigrationProvider(kind: SqlKind): MigrationProvider {
  return {
    getMigrations: async () => ({ '0001-console-audit': createAuditTable(kind), '0002-console-audit-append-only': appendOnlyTriggers(kind) }),
  };
}
