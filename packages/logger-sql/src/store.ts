/**
 * The archive on one query layer (Kysely) for SQLite (the runtime's node:sqlite), PostgreSQL (pg) and
 * MySQL/MariaDB (mysql2), each driver loaded only when its backend is configured (drivers.ts): migrate, insert batches idempotently (by event id, and the copies of one message by its key), search. The SQLite store runs inside a worker
 * thread when used by the logger (see sqlite-worker.ts), so its synchronous writes never block the relay loop.
 */
import { Kysely, MysqlDialect, PostgresDialect, SqliteDialect, sql, type Dialect, type Transaction } from 'kysely';
import { Migrator } from 'kysely/migration';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
// The SDK's parts without its schema builder (TypeBox), which would cost the SQLite worker's isolate about 17 MB.
import { EVENT_TYPE_CODES, type ImEvent } from '@imspect/sdk/event';
import { formatDataString } from '@imspect/sdk/event-data';
import { MIGRATION_LOCK_TABLE, MIGRATION_TABLE, migrationProvider } from './migrations.js';
import type { SqlKind, SqlTarget } from './options.js';
import { fromRow, joinDevices, MYSQL_ID_CHARS, splitDevices, storedData, toRow, type ArchivedMessage } from './row.js';
import type { Database, MessageRow } from './schema.js';
import {
  buildAliasLookup,
  buildSearch,
  ftsMatch,
  indexable,
  MAX_IDENTITIES_PER_NAME,
  SQLITE_DENSE_MATCHES,
  words,
  type Identity,
  type PageCursor,
  type SearchQuery,
  type SqliteTextPlan,
} from './search.js';
import { loadDriver, openNodeSqlite, type NodeSqliteDatabase } from './drivers.js';
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import { AUDIT_MIGRATION_LOCK_TABLE, AUDIT_MIGRATION_TABLE, auditMigrationProvider, auditRow, fromAuditRow, type AuditEntry, type StoredAuditEntry } from './audit.js';

export interface SearchPageOptions {
  after?: PageCursor;
  size: number;
  newestFirst?: boolean;
}

export interface SearchPage {
  messages: ArchivedMessage[];
  /** Where the next page starts; absent on the last page. */
  next?: PageCursor;
}

export interface LocalUserSummary {
  localId: string;
  lastMs: number;
  events: number;
}

export interface UserDetail {
  conversations: Array<{ protocol: string; network: string | null; peer: string; messages: number; lastMs: number }>;
  /** The latest contact-list event per contact: `subtype` says what it was (add, remove, list, a subscription state), `data` the protocol's details (list, group). */
  contacts: Array<{
    protocol: string;
    network: string | null;
    remoteId: string;
    subtype: string | null;
    /** The contact's group, where the protocol's contact-list event names it (Yahoo, OSCAR: data key `group`). */
    group: string | null;
    /**
     * Where the contact stands on the user's list, in the protocol's words: XMPP `subscription`, MSN `list`
     * (FL, AL, BL, RL), Gadu-Gadu `kind`. The contact's presence is `presence`.
     */
    status: string | null;
    data: string | null;
    atMs: number;
    /** The contact's last known presence (a `contact`/`status` event), or null when none was seen. */
    presence: PresenceState | null;
  }>;
  /** The user's own last known presence (an `other`/`status` event), or null when none was seen. */
  presence: PresenceState | null;
}

/** A last known presence: what it is, and since when it has been so. */
export interface PresenceState {
  protocol: string;
  /** Normalised (`online`, `away`, `busy`, ...; see the SDK's PRESENCE_STATUSES). */
  status: string;
  /** The protocol's own code (`BSY`, `dnd`, `0x0003`), when it gave one. */
  protocolStatus: string | null;
  /** Status text or personal message of the latest presence event, when it had one. */
  description: string | null;
  /** When the status took its present value: the first of the latest run of events with this status. */
  sinceMs: number;
  /** When the latest presence event was seen. */
  atMs: number;
}

export interface ActivityBucket {
  startMs: number;
  messages: number;
  blocked: number;
}

/** Rows per INSERT statement: well below every backend's limit on bound parameters. */
const ROWS_PER_STATEMENT = 400;

export interface ArchiveStore {
  readonly kind: SqlKind;
  /** Creates or migrates the schema; safe to call again and from several processes at once. */
  migrate(): Promise<void>;
  /** Stores the events that are not stored yet, in one transaction; returns how many were new. */
  insert(events: readonly ImEvent[]): Promise<number>;
  search(query: SearchQuery): Promise<ArchivedMessage[]>;
  /** One page of matches, oldest first (or newest first), and where the next page starts (none: this was the last). */
  page(query: Omit<SearchQuery, 'limit'>, options: SearchPageOptions): Promise<SearchPage>;
  count(): Promise<number>;
  /** Messages per time bucket since `sinceMs` (buckets of `bucketMs`, keyed by their start), and how many were blocked. */
  activity(sinceMs: number, bucketMs: number): Promise<ActivityBucket[]>;
  /** The protected users in the archive (local ids), most recently seen first; `prefix`: ids starting with it. */
  localUsers(options: { prefix?: string; limit: number }): Promise<LocalUserSummary[]>;
  /** One local id's conversations (newest first) and its contact-list events (the latest per contact). */
  userDetail(localId: string, options: { limit: number }): Promise<UserDetail>;
  /** Adds one entry to the console's audit trail (append-only). */
  appendAudit(entry: AuditEntry): Promise<void>;
  /** The audit trail, newest first, a page at a time (`beforeId`: the last id of the previous page). */
  listAudit(options: { beforeId?: number; size: number }): Promise<StoredAuditEntry[]>;
  close(): Promise<void>;
}

/** The columns of a `messages` row, in the order the SQLite batch insert binds them. */
const MESSAGE_COLUMNS = [
  'event_id',
  'timestamp',
  'at_ms',
  'at',
  'client_address',
  'protocol',
  'outgoing',
  'type',
  'local_id',
  'remote_id',
  'filtered',
  'categories',
  'event_data',
  'direction',
  'type_name',
  'subtype',
  'conversation',
  'text',
  'delivered_text',
  'file_name',
  'file_size',
  'server',
  'data',
  'network',
  'message_key',
  'devices',
] as const satisfies ReadonlyArray<keyof MessageRow>;

/** Rows added to SQLite's full-text index per transaction while it catches up with the table. */
const FTS_ROWS_PER_STEP = 2000;
/**
 * The index waits this long after a batch before its next step, so that a burst of batches is stored at the
 * table's own pace and indexed after it...
 */
const FTS_IDLE_MS = 20;
/** ...unless it is this many rows behind: then a step follows every batch, so that it never falls further behind. */
const FTS_MAX_BEHIND = 50_000;
/** Longest `close` goes on indexing the rows the full-text index has not caught up with. */
const CLOSE_INDEXING_MS = 5000;

/**
 * SQLite's batch insert, on `node:sqlite` directly: its statements prepared once (Kysely prepares each query
 * again, which cost as much as the insert itself), one row per statement, one transaction per batch.
 *
 * The full-text index (FTS5 trigram, about three quarters of the cost of a row) is not filled by the insert:
 * since migration 0006 it follows the table, in steps of its own (`indexStep`), from the position kept in
 * `messages_fts_position` (the last row id indexed, moved in the same transaction as the index). A batch is
 * stored, and acknowledged, once its rows are in the table; search checks the rows after the position
 * directly (search.ts), so a row is found from the moment it is stored.
 */
class SqliteBatchInsert {
  private readonly insertRow: StatementSync;
  private readonly findCopy: StatementSync;
  private readonly setDevices: StatementSync;
  private readonly indexedUpTo: StatementSync;
  private readonly lastToIndex: StatementSync;
  private readonly indexText: StatementSync;
  private readonly moveIndexed: StatementSync;

  constructor(private readonly db: DatabaseSync) {
    this.insertRow = db.prepare(`INSERT INTO messages (${MESSAGE_COLUMNS.join(', ')}) VALUES (${MESSAGE_COLUMNS.map(() => '?').join(', ')}) ON CONFLICT (event_id) DO NOTHING`);
    this.findCopy = db.prepare('SELECT id, devices FROM messages WHERE local_id = ? AND message_key = ?');
    this.setDevices = db.prepare('UPDATE messages SET devices = ? WHERE id = ?');
    this.indexedUpTo = db.prepare('SELECT id FROM messages_fts_position');
    this.lastToIndex = db.prepare('SELECT max(id) AS id FROM (SELECT id FROM messages WHERE id > ? ORDER BY id LIMIT ?)');
    this.indexText = db.prepare('INSERT INTO messages_fts (rowid, text) SELECT id, text FROM messages WHERE id > ? AND id <= ? ORDER BY id');
    this.moveIndexed = db.prepare('UPDATE messages_fts_position SET id = ?');
  }

  /** Stores the rows that are new in one transaction (all or none); returns how many were new. */
  run(rows: readonly MessageRow[]): number {
    return this.transaction(() => {
      let inserted = 0;
      const values: SQLInputValue[] = new Array(MESSAGE_COLUMNS.length);
      for (const row of rows) {
        if (row.message_key !== null && this.mergeCopy(row)) continue;
        for (let i = 0; i < MESSAGE_COLUMNS.length; i++) values[i] = row[MESSAGE_COLUMNS[i]!];
        const result = this.insertRow.run(...values);
        if (result.changes > 0) {
          inserted++;
          this.lastStored = Math.max(this.lastStored, Number(result.lastInsertRowid));
        }
      }
      return inserted;
    });
  }

  /** Rows stored and not indexed yet, as far as this connection knows (it updates both ends). */
  get behind(): number {
    return this.lastStored - this.lastIndexed;
  }
  private lastStored = 0;
  private lastIndexed = 0;

  /** Adds up to `limit` rows after the index's position to the full-text index; returns how many. */
  indexStep(limit = FTS_ROWS_PER_STEP): number {
    return this.transaction(() => {
      const from = Number((this.indexedUpTo.get() as { id: number | bigint } | undefined)?.id ?? 0);
      this.lastIndexed = from;
      const last = (this.lastToIndex.get(from, limit) as { id: number | bigint | null }).id;
      if (last === null) return 0;
      const added = Number(this.indexText.run(from, last).changes);
      this.moveIndexed.run(last);
      this.lastIndexed = Number(last);
      return added;
    });
  }

  private transaction<T>(work: () => T): T {
    // Kysely's transactions span awaits on the same connection; only migrations use one, and the archive waits for them.
    if (this.db.isTransaction) throw new Error('the SQLite archive is inside another transaction; the batch is retried');
    // IMMEDIATE: the write lock before anything is read, so that another writer cannot get between the read and the write.
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = work();
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }

  /** As {@link SqlArchive.insertOrMerge}: true when the row is a copy of a stored message (its device added). */
  private mergeCopy(row: MessageRow): boolean {
    const stored = this.findCopy.get(row.local_id, row.message_key) as { id: number | bigint; devices: string | null } | undefined;
    if (stored === undefined) return false;
    const devices = splitDevices(stored.devices);
    const added = splitDevices(row.devices).filter((d) => !devices.includes(d));
    if (added.length > 0) this.setDevices.run(joinDevices([...devices, ...added]), stored.id);
    return true;
  }
}

function dialectFor(target: SqlTarget, onPoolError: (error: Error) => void, onSqlite: (db: NodeSqliteDatabase) => void): Dialect {
  switch (target.kind) {
    case 'sqlite': {
      mkdirSync(dirname(target.file), { recursive: true, mode: 0o750 });
      // The archive holds every conversation: created owner and group only before SQLite opens it (its -wal and
      // -shm files copy the database file's mode).
      closeSync(openSync(target.file, 'a', 0o640));
      const database = openNodeSqlite(target.file, target.synchronous);
      onSqlite(database);
      return new SqliteDialect({ database });
    }
    case 'postgres': {
      const pg = loadDriver<typeof import('pg')>('pg');
      const pool = new pg.Pool({
        connectionString: target.url,
        max: target.poolSize,
        connectionTimeoutMillis: target.connectTimeoutMs,
        idleTimeoutMillis: 30_000,
      });
      // A connection that dies (database restarted, network cut, RST) emits 'error' on its client; an 'error'
      // nobody listens to is thrown and ends the process. The pool listens only while a client is idle, and
      // Kysely none while it holds one (between the statements of a transaction), so every client gets a
      // listener of its own for its whole life, from the moment it connects. The failed statement rejects on
      // its own; the pool drops the dead client when it is released, and core retries the batch.
      pool.on('connect', (client) => client.on('error', onPoolError));
      // The pool re-emits an idle client's error after the client's own listener has reported it.
      pool.on('error', () => undefined);
      return new PostgresDialect({ pool });
    }
    case 'mysql': {
      const mysql = loadDriver<typeof import('mysql2')>('mysql2');
      const pool = mysql.createPool({
        uri: target.url,
        connectionLimit: target.poolSize,
        connectTimeout: target.connectTimeoutMs,
        charset: 'UTF8MB4_UNICODE_CI',
        supportBigNumbers: true,
        bigNumberStrings: false,
        timezone: 'Z',
      });
      // As for PostgreSQL: every connection listens for its own errors for its whole life. mysql2's pool listens
      // with once() (to drop the connection), so a second 'error' on the same connection would be thrown; with
      // this listener a reset connection only fails its statement and is dropped.
      pool.on('connection', (connection) => (connection as unknown as NodeJS.EventEmitter).on('error', onPoolError));
      (pool as unknown as NodeJS.EventEmitter).on('error', onPoolError);
      return new MysqlDialect({ pool });
    }
  }
}

export class SqlArchive implements ArchiveStore {
  readonly kind: SqlKind;
  private readonly db: Kysely<Database>;
  private migrated = false;
  private migrating: Promise<void> | undefined;
  private sqlite: DatabaseSync | undefined;
  private batchInsert: SqliteBatchInsert | undefined;
  /** The next step of the full-text index (SQLite), while rows wait for it. */
  private indexing: { step: NodeJS.Immediate; rows: number } | { idle: NodeJS.Timeout } | undefined;

  constructor(target: SqlTarget, onPoolError: (error: Error) => void = () => undefined) {
    this.kind = target.kind;
    this.db = new Kysely<Database>({ dialect: dialectFor(target, onPoolError, (db) => (this.sqlite = db.raw)) });
  }

  migrate(): Promise<void> {
    if (this.migrated) return Promise.resolve();
    // Callers at the same time share one migration; a failed one is tried again by the next caller.
    this.migrating ??= this.runMigrations().finally(() => (this.migrating = undefined));
    return this.migrating;
  }

  private async runMigrations(): Promise<void> {
    const migrator = new Migrator({
      db: this.db,
      provider: migrationProvider(this.kind),
      migrationTableName: MIGRATION_TABLE,
      migrationLockTableName: MIGRATION_LOCK_TABLE,
    });
    let { error, results } = await migrator.migrateToLatest();
    if (!error) {
      // The console's audit trail: its own table and migration record (see audit.ts).
      const audit = new Migrator({
        db: this.db,
        provider: auditMigrationProvider(this.kind),
        migrationTableName: AUDIT_MIGRATION_TABLE,
        migrationLockTableName: AUDIT_MIGRATION_LOCK_TABLE,
      });
      ({ error, results } = await audit.migrateToLatest());
    }
    if (error) {
      const failed = results?.find((r) => r.status === 'Error')?.migrationName;
      // The driver's message is enough (a cause would repeat it in every log line).
      throw Object.assign(new Error(`migrating the archive${failed ? ` (${failed})` : ''} failed: ${(error as Error).message ?? String(error)}`), {
        code: (error as { code?: unknown }).code,
      });
    }
    this.migrated = true;
  }

  async insert(events: readonly ImEvent[]): Promise<number> {
    if (events.length === 0) return 0;
    await this.migrate();
    const idChars = this.kind === 'mysql' ? MYSQL_ID_CHARS : Number.POSITIVE_INFINITY;
    const rows = events.map((e) => toRow(e, idChars));
    if (this.sqlite !== undefined) {
      // Prepared after the migrations, which create the tables and drop the per-row index trigger.
      this.batchInsert ??= new SqliteBatchInsert(this.sqlite);
      const inserted = this.batchInsert.run(rows);
      if (inserted > 0) this.scheduleIndexing(inserted);
      return inserted;
    }
    return this.db.transaction().execute(async (tx) => {
      let inserted = 0;
      // Rows in order: runs of rows without a message key as multi-row inserts, each keyed row on its own (it may
      // be a copy of a message stored earlier, or earlier in this batch).
      let plain: MessageRow[] = [];
      const flush = async () => {
        for (let i = 0; i < plain.length; i += ROWS_PER_STATEMENT) inserted += await this.insertRows(tx, plain.slice(i, i + ROWS_PER_STATEMENT));
        plain = [];
      };
      for (const row of rows) {
        if (row.message_key === null) {
          plain.push(row);
          continue;
        }
        await flush();
        inserted += await this.insertOrMerge(tx, row);
      }
      await flush();
      return inserted;
    });
  }

  /**
   * Indexes the rows stored since the last step, a step at a time, each in its own macrotask, so that a batch
   * that comes in meanwhile (a message to the worker) is stored in between. After a batch (`batchRows` new rows)
   * the steps wait until no batch came for FTS_IDLE_MS, unless the index is FTS_MAX_BEHIND rows behind: then
   * the next step takes the batch's rows and a step more, so that the index never falls further behind.
   */
  private scheduleIndexing(batchRows?: number): void {
    const insert = this.batchInsert;
    if (insert === undefined) return;
    const afterBatch = batchRows !== undefined;
    if (afterBatch && insert.behind < FTS_MAX_BEHIND) {
      this.stopIndexing();
      const idle = setTimeout(() => {
        this.indexing = undefined;
        this.scheduleIndexing();
      }, FTS_IDLE_MS);
      idle.unref();
      this.indexing = { idle };
      return;
    }
    const rows = FTS_ROWS_PER_STEP + (batchRows ?? 0);
    if (this.indexing !== undefined && 'step' in this.indexing) {
      this.indexing.rows += batchRows ?? 0;
      return;
    }
    this.stopIndexing();
    const next = {
      rows,
      step: setImmediate(() => {
        this.indexing = undefined;
        try {
          if (insert.indexStep(next.rows) > 0) this.scheduleIndexing();
        } catch {
          // The rows stay after the index's position, where search reads them directly; the next batch tries again.
        }
      }),
    };
    this.indexing = next;
  }

  private stopIndexing(): void {
    if (this.indexing === undefined) return;
    if ('step' in this.indexing) clearImmediate(this.indexing.step);
    else clearTimeout(this.indexing.idle);
    this.indexing = undefined;
  }

  /**
   * SQLite: whether the query's words are looked up through the full-text index or walked in time order
   * (see {@link SqliteTextPlan}), from how many rows the index matches, counted no further than
   * {@link SQLITE_DENSE_MATCHES}.
   */
  private async textPlan(query: Pick<SearchQuery, 'text'>): Promise<SqliteTextPlan> {
    if (this.kind !== 'sqlite') return 'lookup';
    const indexed = words(query.text).filter((w) => indexable('sqlite', w));
    if (indexed.length === 0) return 'lookup';
    const { rows } = await sql<{
      n: number;
    }>`SELECT count(*) AS n FROM (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ${ftsMatch(indexed)} LIMIT ${SQLITE_DENSE_MATCHES})`.execute(this.db);
    return Number(rows[0]?.n ?? 0) >= SQLITE_DENSE_MATCHES ? 'walk' : 'lookup';
  }

  /** The identities that also went by `query.user` (IRC nick changes), for buildSearch. */
  private async identities(query: SearchQuery): Promise<Identity[]> {
    if (query.user === undefined) return [];
    const rows = await buildAliasLookup(this.db, query.user, query, this.kind).execute();
    if (rows.length > MAX_IDENTITIES_PER_NAME) {
      throw new Error(`more than ${MAX_IDENTITIES_PER_NAME} identities went by the name "${query.user}"; narrow the search with --network or --protocol`);
    }
    return rows.map((r) => ({ network: r.network ?? null, localId: String(r.local_id) }));
  }

  private async insertRows(tx: Transaction<Database>, rows: MessageRow[]): Promise<number> {
    let q = tx.insertInto('messages').values(rows);
    q = this.kind === 'mysql' ? q.ignore() : q.onConflict((oc) => oc.column('event_id').doNothing());
    const result = await q.executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n);
  }

  /**
   * A copy of a message already stored for the same participant (same `local_id` and `message_key`) adds its
   * device to that row and is not stored again; the row keeps the first copy's text and delivered text. A
   * re-delivered copy changes nothing.
   */
  private async insertOrMerge(tx: Transaction<Database>, row: MessageRow): Promise<number> {
    const stored = await tx.selectFrom('messages').select(['id', 'devices']).where('local_id', '=', row.local_id).where('message_key', '=', row.message_key).executeTakeFirst();
    if (stored === undefined) return this.insertRows(tx, [row]);
    const devices = splitDevices(stored.devices);
    const added = splitDevices(row.devices).filter((d) => !devices.includes(d));
    if (added.length > 0)
      await tx
        .updateTable('messages')
        .set({ devices: joinDevices([...devices, ...added]) })
        .where('id', '=', stored.id)
        .execute();
    return 0;
  }

  async search(query: SearchQuery): Promise<ArchivedMessage[]> {
    await this.migrate();
    const rows = await buildSearch(this.db, this.kind, query, undefined, await this.identities(query), await this.textPlan(query)).execute();
    return rows.reverse().map((r) => fromRow(r as unknown as Record<string, unknown>));
  }

  /** Every match, oldest first, a page at a time: an export of millions of rows in bounded memory. */
  async *iterate(query: Omit<SearchQuery, 'limit'>, pageSize = 2000): AsyncGenerator<ArchivedMessage[]> {
    await this.migrate();
    const identities = await this.identities(query);
    const plan = await this.textPlan(query);
    let after: PageCursor | undefined;
    for (;;) {
      const rows = (await buildSearch(this.db, this.kind, query, { ...(after ? { after } : {}), size: pageSize }, identities, plan).execute()) as unknown as Array<
        Record<string, unknown>
      >;
      if (rows.length === 0) return;
      yield rows.map(fromRow);
      const last = rows.at(-1)!;
      after = { atMs: Number(last['at_ms']), id: Number(last['id']) };
      if (rows.length < pageSize) return;
    }
  }

  async page(query: Omit<SearchQuery, 'limit'>, options: SearchPageOptions): Promise<SearchPage> {
    await this.migrate();
    const size = Math.max(1, Math.floor(options.size));
    // One row more than asked for tells whether there is a next page.
    const rows = (await buildSearch(
      this.db,
      this.kind,
      query,
      { ...(options.after ? { after: options.after } : {}), size: size + 1, newestFirst: options.newestFirst === true },
      await this.identities(query),
      await this.textPlan(query),
    ).execute()) as unknown as Array<Record<string, unknown>>;
    const shown = rows.slice(0, size);
    const last = shown.at(-1);
    return { messages: shown.map(fromRow), ...(rows.length > size && last ? { next: { atMs: Number(last['at_ms']), id: Number(last['id']) } } : {}) };
  }

  async activity(sinceMs: number, bucketMs: number): Promise<ActivityBucket[]> {
    await this.migrate();
    const bucket = sql<number>`(at_ms - ${sinceMs}) / ${bucketMs}`;
    const rows = await this.db
      .selectFrom('messages')
      // SQLite binds JavaScript numbers as REAL: the division is made whole explicitly on every backend.
      .select([
        (this.kind === 'sqlite' ? sql<number>`cast(${bucket} as integer)` : sql<number>`floor(${bucket})`).as('b'),
        sql<number>`count(*)`.as('n'),
        sql<number>`sum(filtered)`.as('blocked'),
      ])
      .where('at_ms', '>=', sinceMs)
      .where('type', '=', EVENT_TYPE_CODES.message)
      .groupBy('b')
      .execute();
    return rows
      .map((r) => ({ startMs: sinceMs + Math.floor(Number(r.b)) * bucketMs, messages: Number(r.n), blocked: Number(r.blocked ?? 0) }))
      .sort((a, b) => a.startMs - b.startMs);
  }

  async localUsers(options: { prefix?: string; limit: number }): Promise<LocalUserSummary[]> {
    await this.migrate();
    // Grouped on the (local_id, at_ms) index alone, which the database can read without the rows.
    let q = this.db.selectFrom('messages').select(['local_id', sql<number>`max(at_ms)`.as('last'), sql<number>`count(*)`.as('n')]);
    if (options.prefix) q = q.where('local_id', '>=', options.prefix).where('local_id', '<', `${options.prefix}\u{10ffff}`);
    const rows = await q
      .groupBy('local_id')
      .orderBy('last', 'desc')
      .limit(Math.max(1, Math.floor(options.limit)))
      .execute();
    return rows.map((r) => ({ localId: String(r.local_id), lastMs: Number(r.last), events: Number(r.n) }));
  }

  async userDetail(localId: string, options: { limit: number }): Promise<UserDetail> {
    await this.migrate();
    const limit = Math.max(1, Math.floor(options.limit));
    const peer = sql<string>`coalesce(conversation, remote_id)`;
    const conversations = await this.db
      .selectFrom('messages')
      .select(['protocol', 'network', peer.as('peer'), sql<number>`count(*)`.as('n'), sql<number>`max(at_ms)`.as('last')])
      .where('local_id', '=', localId)
      .where('type', 'in', [EVENT_TYPE_CODES.message, EVENT_TYPE_CODES.file])
      .groupBy(['protocol', 'network', peer])
      .orderBy('last', 'desc')
      .limit(limit)
      .execute();
    const contactRows = await this.db
      .selectFrom('messages')
      .select(['protocol', 'network', 'remote_id', 'subtype', 'data', 'at_ms'])
      .where('local_id', '=', localId)
      .where('type', '=', EVENT_TYPE_CODES.contact)
      // Presence is the contact's state, not a change to the list: read on its own below.
      .where((eb) => eb.or([eb('subtype', 'is', null), eb('subtype', '<>', 'status')]))
      .orderBy('at_ms', 'desc')
      .orderBy('id', 'desc')
      .limit(limit * 10)
      .execute();
    // Presence rows, newest first: enough to find each contact's latest status and since when it holds.
    const presenceRows = await this.db
      .selectFrom('messages')
      .select(['protocol', 'network', 'remote_id', 'type', 'data', 'at_ms'])
      .where('local_id', '=', localId)
      .where('type', 'in', [EVENT_TYPE_CODES.contact, EVENT_TYPE_CODES.other])
      .where('subtype', '=', 'status')
      .orderBy('at_ms', 'desc')
      .orderBy('id', 'desc')
      .limit(limit * 20)
      .execute();
    const presence = latestPresence(presenceRows);
    const seen = new Set<string>();
    const contacts: UserDetail['contacts'] = [];
    for (const r of contactRows) {
      const key = `${r.protocol}\u0000${r.network ?? ''}\u0000${r.remote_id}`;
      if (seen.has(key) || contacts.length >= limit) continue;
      seen.add(key);
      contacts.push({
        protocol: String(r.protocol),
        network: r.network ?? null,
        remoteId: String(r.remote_id),
        subtype: r.subtype ?? null,
        ...contactColumns(r.data),
        // Shown as text (`key=value` items, as in the CSV column), whether the row holds JSON or an older string.
        data: contactData(r.data),
        atMs: Number(r.at_ms),
        presence: presence.contacts.get(key) ?? null,
      });
    }
    // Contacts known only from their presence (MSN's ILN at sign-in, an XMPP roster never fetched here).
    for (const [key, state] of presence.contacts) {
      if (seen.has(key) || contacts.length >= limit) continue;
      seen.add(key);
      const [protocol, network, remoteId] = key.split('\u0000') as [string, string, string];
      contacts.push({ protocol, network: network === '' ? null : network, remoteId, subtype: null, group: null, status: null, data: null, atMs: state.atMs, presence: state });
    }
    return {
      conversations: conversations.map((r) => ({ protocol: String(r.protocol), network: r.network ?? null, peer: String(r.peer), messages: Number(r.n), lastMs: Number(r.last) })),
      contacts,
      presence: presence.own,
    };
  }

  async appendAudit(entry: AuditEntry): Promise<void> {
    await this.migrate();
    await this.db.insertInto('console_audit').values(auditRow(entry)).execute();
  }

  async listAudit(options: { beforeId?: number; size: number }): Promise<StoredAuditEntry[]> {
    await this.migrate();
    let q = this.db.selectFrom('console_audit').selectAll();
    if (options.beforeId !== undefined) q = q.where('id', '<', options.beforeId);
    const rows = await q
      .orderBy('id', 'desc')
      .limit(Math.max(1, Math.floor(options.size)))
      .execute();
    return rows.map((r) => fromAuditRow(r as unknown as Record<string, unknown>));
  }

  async count(): Promise<number> {
    await this.migrate();
    const row = await this.db.selectFrom('messages').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async close(): Promise<void> {
    this.stopIndexing();
    try {
      // The index complete before closing, within reason (what is left is indexed after the next start's first batch).
      const until = Date.now() + CLOSE_INDEXING_MS;
      while (this.batchInsert !== undefined && Date.now() < until && this.batchInsert.indexStep() > 0);
    } catch {
      // Caught up by the next process that stores a batch.
    }
    await this.db.destroy();
  }
}

/** The keys of a contact-list event's data that say where the contact stands, first found wins. */
const CONTACT_STATUS_KEYS = ['subscription', 'list', 'kind', 'status'] as const;

/**
 * Each contact's and the user's own latest presence from rows newest first: the status of the newest row, the
 * newest row's code and text, and since when (the oldest row of the newest run with that status).
 */
function latestPresence(rows: ReadonlyArray<{ protocol: unknown; network: unknown; remote_id: unknown; type: unknown; data: unknown; at_ms: unknown }>): {
  contacts: Map<string, PresenceState>;
  own: PresenceState | null;
} {
  const contacts = new Map<string, PresenceState>();
  /** Keys whose run of equal statuses has ended (an older row said something else). */
  const settled = new Set<string>();
  let own: PresenceState | null = null;
  let ownSettled = false;
  for (const r of rows) {
    const data = storedData(r.data);
    const status = data?.['status'];
    if (status === undefined || status === '') continue;
    const atMs = Number(r.at_ms);
    const isOwn = Number(r.type) === EVENT_TYPE_CODES.other;
    const key = `${r.protocol}\u0000${(r.network as string | null) ?? ''}\u0000${r.remote_id}`;
    const current = isOwn ? own : contacts.get(key);
    if (current === null || current === undefined) {
      const description = data?.['description'];
      const code = data?.['protocol-status'];
      const state: PresenceState = {
        protocol: String(r.protocol),
        status: String(status),
        protocolStatus: code === undefined || code === '' ? null : String(code),
        description: description === undefined || description === '' ? null : String(description),
        sinceMs: atMs,
        atMs,
      };
      if (isOwn) own = state;
      else contacts.set(key, state);
      continue;
    }
    if (isOwn ? ownSettled : settled.has(key)) continue;
    if (String(status) === current.status) current.sinceMs = atMs;
    else if (isOwn) ownSettled = true;
    else settled.add(key);
  }
  return { contacts, own };
}

function contactColumns(column: unknown): { group: string | null; status: string | null } {
  const data = storedData(column);
  const group = data?.['group'];
  const status = CONTACT_STATUS_KEYS.map((k) => data?.[k]).find((v) => v !== undefined && v !== '');
  return { group: group === undefined || group === '' ? null : String(group), status: status === undefined ? null : String(status) };
}

function contactData(column: unknown): string | null {
  const data = storedData(column);
  return data === null ? null : formatDataString(data);
}
