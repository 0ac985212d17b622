/**
 * The console's audit trail: who logged in (or failed to), searched, opened a transcript, exported or changed
 * something, when and from where. It lives in the archive next to the conversations it is about, in a table of
 * its own with its own migration record (`imspect_audit_migration`), so it never interleaves with the messages
 * table's versions. Rows are only ever inserted: nothing in imspect updates or deletes them, and on SQLite
 * triggers refuse both.
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

export function auditMigrationProvider(kind: SqlKind): MigrationProvider {
  return {
    getMigrations: async () => ({ '0001-console-audit': createAuditTable(kind) }),
  };
}
