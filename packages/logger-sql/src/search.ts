/**
 * Archive search: exact filters on the indexed columns, and words in the message text. Each word must
 * appear (case-insensitive); words the backend's full-text index can answer go through it (FTS5 trigram,
 * PostgreSQL tsvector prefix match, InnoDB FULLTEXT prefix match), the others (too short for the index, CJK for
 * PostgreSQL and MySQL, punctuation, MySQL stopwords) through an escaped LIKE.
 */
import { sql, type Expression, type Kysely, type SqlBool } from 'kysely';
import type { SqlKind } from './options.js';
import { EVENT_TYPE_CODES } from '@imspect/sdk/event';
import type { Database } from './schema.js';
import { MAX_IDENTITIES_PER_NAME, words, type PresenceFilter } from './query.js';

export { MAX_IDENTITIES_PER_NAME, PRESENCE_FILTERS, parseTime, words, type PresenceFilter } from './query.js';

export interface SearchQuery {
  /**
   * The protected user: the local id, or a name an identity took (an IRC nick change: the `other`/`nick` event
   * whose remote id is that name links it to its local id on its network).
   */
  user?: string;
  /** Where the ids are valid (IRC: the server host), compared lower-cased. */
  network?: string;
  /** The other party, or the channel / conversation. */
  with?: string;
  /** Words that must all appear in the text. */
  text?: string;
  protocol?: string;
  /** Milliseconds since the epoch, inclusive. */
  sinceMs?: number;
  /** Milliseconds since the epoch, exclusive. */
  untilMs?: number;
  /** Most results; the newest ones, returned oldest first. Default 100; 0 = no limit. */
  limit?: number;
  /** Only what policy blocked (`filtered`). */
  blocked?: boolean;
  /** Only these event types (`message`, `file`, `join`, ...). */
  types?: readonly string[];
  /**
   * Presence changes (`contact`/`status`, `other`/`status`): left out by default (`exclude`), so a search reads
   * conversations, not hundreds of sign-ins and away states; `include` adds them, `only` gives nothing else.
   */
  presence?: PresenceFilter;
}

/** The event type codes a presence event may have (with subtype `status`). */
const PRESENCE_TYPE_CODES = [EVENT_TYPE_CODES.contact, EVENT_TYPE_CODES.other];

const WORD = /^[\p{L}\p{N}]+$/u;
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
/** InnoDB's default full-text stopwords: a boolean-mode term among them matches nothing. */
const INNODB_STOPWORDS = new Set('a about an are as at be by com de en for from how i in is it la of on or that the this to was what when where who will with und www'.split(' '));

function likePattern(word: string): string {
  return `%${word.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export function indexable(kind: SqlKind, word: string): boolean {
  const chars = [...word].length;
  switch (kind) {
    case 'sqlite':
      return chars >= 3; // trigram: any script, three characters or more
    case 'postgres':
      return WORD.test(word) && !CJK.test(word);
    case 'mysql':
      return WORD.test(word) && !CJK.test(word) && chars >= 3 && !INNODB_STOPWORDS.has(word.toLowerCase());
  }
}

function likeCondition(kind: SqlKind, word: string): Expression<SqlBool> {
  const pattern = likePattern(word);
  switch (kind) {
    case 'postgres':
      return sql<SqlBool>`text ILIKE ${pattern} ESCAPE '\\'`;
    case 'mysql':
      return sql<SqlBool>`text LIKE ${pattern}`; // backslash is MySQL's default escape; the collation ignores case
    case 'sqlite':
      // SQLite's LIKE folds ASCII only: compare lower-cased text for the rest.
      return sql<SqlBool>`(text LIKE ${pattern} ESCAPE '\\' OR lower(text) LIKE lower(${pattern}) ESCAPE '\\')`;
  }
}

/** The FTS5 query for words (each a quoted trigram phrase, all required). */
export function ftsMatch(list: readonly string[]): string {
  return list.map((w) => `"${w.replaceAll('"', '""')}"`).join(' AND ');
}

/**
 * How SQLite answers words it can index (chosen by the archive from a bounded count of the index's matches,
 * {@link SQLITE_DENSE_MATCHES}): `lookup` reads the matching rows by id and sorts them, cheap when there are
 * few; `walk` reads the time index in the query's order and checks each row's text (`imspect_contains`, drivers.ts), stopping at the
 * page's end, cheap when matches are dense. Either way the result is the same.
 */
export type SqliteTextPlan = 'lookup' | 'walk';

/**
 * From this many index matches on, words count as dense and are walked. Measured on 1,000,000 messages: a
 * lookup of 2,000 rows and their sort cost about 10 ms; a walk for the newest 50 of words matching 2,000 rows
 * reads about 25,000 rows (about 25 ms). A word in 30 % of the messages is found in 170 rows by a walk, where
 * handing over every match first took 0.5 s; a word in no message is answered by the index at once, where a
 * walk would read every row.
 */
export const SQLITE_DENSE_MATCHES = 2000;

function fullTextCondition(kind: SqlKind, list: string[]): Expression<SqlBool> {
  switch (kind) {
    case 'sqlite':
      // Matching rows read by id (the `lookup` plan); the archive walks instead when there are many. The rows
      // stored after the index's position (migration 0006: the index follows the table) are checked one by one,
      // the way the trigram index matches (case folded, contains).
      // One IN list (an OR beside it would turn the lookup into a walk of the whole table).
      return sql<SqlBool>`id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ${ftsMatch(list)} UNION ALL SELECT id FROM messages WHERE id > (SELECT id FROM messages_fts_position) AND ${sql.join(
        list.map((w) => sql`imspect_contains(text, ${w}) = 1`),
        sql` AND `,
      )})`;
    case 'postgres': {
      const query = list.map((w) => `${w.toLowerCase()}:*`).join(' & ');
      return sql<SqlBool>`to_tsvector('simple', coalesce(text, '')) @@ to_tsquery('simple', ${query})`;
    }
    case 'mysql': {
      const query = list.map((w) => `+${w}*`).join(' ');
      return sql<SqlBool>`MATCH(text) AGAINST (${query} IN BOOLEAN MODE)`;
    }
  }
}

/** Where a page of an oldest-first walk ended: the next page starts after this row. */
export interface PageCursor {
  atMs: number;
  id: number;
}

/**
 * The search as SQL. By default the newest `limit` rows, newest first (the caller reverses them); with
 * `page`, oldest first from after `page.after`, `page.size` rows (keyset pagination: every page costs the same).
 */
export function buildSearch(
  db: Kysely<Database>,
  kind: SqlKind,
  query: SearchQuery,
  page?: { after?: PageCursor; size: number; newestFirst?: boolean },
  identities: readonly Identity[] = [],
  sqlitePlan: SqliteTextPlan = 'lookup',
) {
  let q = db.selectFrom('messages').selectAll();
  if (page?.after) {
    const { atMs, id } = page.after;
    // Newest first, `after` is the last row of the previous page: the next page is older than it.
    const op = page.newestFirst ? '<' : '>';
    q = q.where((eb) => eb.or([eb('at_ms', op, atMs), eb.and([eb('at_ms', '=', atMs), eb('id', op, id)])]));
  }
  if (query.blocked) q = q.where('filtered', '=', 1);
  const presence = query.presence ?? 'exclude';
  if (presence === 'only') q = q.where('subtype', '=', 'status').where('type', 'in', PRESENCE_TYPE_CODES);
  else if (presence === 'exclude') {
    // A null subtype is no presence (a bare `subtype <> 'status'` would drop those rows).
    q = q.where((eb) => eb.or([eb('subtype', 'is', null), eb('subtype', '<>', 'status'), eb('type', 'not in', PRESENCE_TYPE_CODES)]));
  }
  if (query.types !== undefined && query.types.length > 0) {
    const codes = query.types.map((t) => EVENT_TYPE_CODES[t as keyof typeof EVENT_TYPE_CODES]).filter((c) => c !== undefined) as number[];
    q = q.where('type', 'in', codes.length > 0 ? codes : [-1]);
  }
  if (query.user !== undefined) {
    const user = query.user;
    q = q.where((eb) =>
      eb.or([
        eb('local_id', '=', user),
        ...identities.map((i) => eb.and([eb('local_id', '=', i.localId), i.network === null ? eb('network', 'is', null) : eb('network', '=', i.network)])),
      ]),
    );
  }
  // SQLite without statistics takes any index on an equality: the protocol's (a quarter of the archive) over the
  // user's (a few hundred rows). With a user or peer given, protocol and network are only checked (`+column`).
  const narrow = kind === 'sqlite' && (query.user !== undefined || query.with !== undefined);
  if (query.network !== undefined) q = narrow ? q.where(sql<string>`+network`, '=', query.network.toLowerCase()) : q.where('network', '=', query.network.toLowerCase());
  if (query.with !== undefined) {
    const other = query.with;
    q = q.where((eb) => eb.or([eb('remote_id', '=', other), eb('conversation', '=', other)]));
  }
  if (query.protocol !== undefined) q = narrow ? q.where(sql<string>`+protocol`, '=', query.protocol) : q.where('protocol', '=', query.protocol);
  if (query.sinceMs !== undefined) q = q.where('at_ms', '>=', query.sinceMs);
  if (query.untilMs !== undefined) q = q.where('at_ms', '<', query.untilMs);
  const list = words(query.text);
  const walk = kind === 'sqlite' && sqlitePlan === 'walk';
  const indexed = walk ? [] : list.filter((w) => indexable(kind, w));
  if (indexed.length > 0) q = q.where(fullTextCondition(kind, indexed));
  for (const word of list) {
    if (kind === 'sqlite' && indexed.includes(word)) continue; // trigram matching is already substring matching
    if (walk && indexable(kind, word)) {
      // What the trigram index would say, row by row: contains, case folded for every script.
      q = q.where(sql<SqlBool>`imspect_contains(text, ${word}) = 1`);
      continue;
    }
    // Prefix matching of a word index is looser than "the text contains it": the LIKE makes every backend agree.
    q = q.where(likeCondition(kind, word));
  }
  if (page) {
    const order = page.newestFirst ? 'desc' : 'asc';
    return q.orderBy('at_ms', order).orderBy('id', order).limit(page.size);
  }
  q = q.orderBy('at_ms', 'desc').orderBy('id', 'desc');
  const limit = query.limit ?? 100;
  if (limit > 0) q = q.limit(limit);
  return q;
}

/** A local id on its network: who took a name. */
export interface Identity {
  network: string | null;
  localId: string;
}

/**
 * The identities that went by `name` other than under their own local id: the `other`/`nick` events whose
 * remote id is the name (the IRC plugin's record of a nick change), on the query's protocol and network.
 */
export function buildAliasLookup(db: Kysely<Database>, name: string, query: Pick<SearchQuery, 'protocol' | 'network'>, kind?: SqlKind) {
  let q = db
    .selectFrom('messages')
    .select(['network', 'local_id'])
    .distinct()
    .where('remote_id', '=', name)
    .where('type', '=', EVENT_TYPE_CODES.other)
    .where('subtype', '=', 'nick')
    .where('local_id', '<>', name);
  // On SQLite the remote id's index, not the protocol's or the network's (see buildSearch).
  const checkOnly = kind === 'sqlite';
  if (query.protocol !== undefined) q = checkOnly ? q.where(sql<string>`+protocol`, '=', query.protocol) : q.where('protocol', '=', query.protocol);
  if (query.network !== undefined) q = checkOnly ? q.where(sql<string>`+network`, '=', query.network.toLowerCase()) : q.where('network', '=', query.network.toLowerCase());
  return q.limit(MAX_IDENTITIES_PER_NAME + 1);
}
