/**
 * When did imspect's archive catch up? Polls every 20 ms, from before the first message is sent:
 *  - the total size of the CSV files under <dataDir>/logs (a row is on disk when the file has grown by it),
 *  - the last row id of the SQLite archive (<dataDir>/archive.sqlite, opened read-only with node:sqlite),
 *  - <dataDir>/journal/state.json (and journal/relay-<i>/state.json, one per relay thread, summed): every
 *    logger's `position` against the journal's `head`.
 * The state file says when everything is stored, but imspect rewrites it at most every ~100 ms; so it only
 * decides that the archive is complete, and the time reported per logger is the first poll that saw that
 * logger's final size / row count (resolution: the 20 ms poll).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { eachCsvFile } from '../relay/facts.js';

const POLL_MS = 20;

/**
 * `files: false` (`--archive-poll state`) reads only the state file: nothing of the archive's files is touched
 * while imspect writes them, at the state file's resolution.
 */
export async function watchArchive(dataDir, { files = true } = {}) {
  const { DatabaseSync } = await import('node:sqlite');
  const sqliteFile = join(dataDir, 'archive.sqlite');
  const stateFile = join(dataDir, 'journal', 'state.json');
  let db;
  let stmt;
  const metrics = { csv: { value: -1, since: 0n }, sqlite: { value: -1, since: 0n } };
  let state;
  let stateSeenAt = 0n;
  const states = []; // [hrtime, positions by logger, head] each time the state file changed

  const csvBytes = () => {
    let bytes = 0;
    try {
      eachCsvFile(join(dataDir, 'logs'), (p) => {
        bytes += statSync(p).size;
      });
    } catch {
      /* a file rotated away between the listing and the stat: the next poll counts it */
    }
    return bytes;
  };
  const sqliteRows = () => {
    try {
      if (!stmt) {
        if (!existsSync(sqliteFile)) return 0;
        db = new DatabaseSync(sqliteFile, { readOnly: true });
        stmt = db.prepare('SELECT max(rowid) AS n FROM messages');
      }
      return Number(stmt.get()?.n ?? 0);
    } catch {
      return metrics.sqlite.value < 0 ? 0 : metrics.sqlite.value; // busy or not created yet: no news
    }
  };
  const readOne = (file) => {
    try {
      const mtimeMs = statSync(file).mtimeMs;
      return { ...JSON.parse(readFileSync(file, 'utf8')), mtimeMs };
    } catch {
      return undefined; // mid-rename or not written yet
    }
  };
  // With relay threads (`workers`), each thread's journal is in journal/relay-<i>: heads and positions add up.
  const readState = () => {
    const journalDir = join(dataDir, 'journal');
    let relays = [];
    try {
      relays = readdirSync(journalDir).filter((name) => /^relay-\d+$/.test(name));
    } catch {
      /* not created yet */
    }
    const parts = [readOne(stateFile), ...relays.map((name) => readOne(join(journalDir, name, 'state.json')))].filter(Boolean);
    if (parts.length === 0) return undefined;
    const consumers = {};
    for (const part of parts) for (const [name, c] of Object.entries(part.consumers ?? {})) consumers[name] = { position: (consumers[name]?.position ?? 0) + c.position };
    return {
      head: parts.reduce((n, p) => n + p.head, 0),
      consumers,
      mtimeMs: Math.max(...parts.map((p) => p.mtimeMs)),
    };
  };
  const sample = () => {
    const now = process.hrtime.bigint();
    const set = (m, value) => {
      if (value !== m.value) {
        m.value = value;
        m.since = now;
      }
    };
    if (files) {
      set(metrics.csv, csvBytes());
      set(metrics.sqlite, sqliteRows());
    }
    const s = readState();
    if (s) {
      if (s.mtimeMs !== state?.mtimeMs) {
        const positions = Object.fromEntries(Object.entries(s.consumers ?? {}).map(([k, c]) => [k, c.position]));
        states.push({ at: now, positions, head: s.head });
      }
      state = s;
      stateSeenAt = now;
    }
  };
  sample();
  const timer = setInterval(sample, POLL_MS);

  const caughtUp = (afterWallMs) => {
    if (!state || state.mtimeMs <= afterWallMs) return false;
    const consumers = Object.entries(state.consumers ?? {});
    return consumers.length > 0 && consumers.every(([, c]) => c.position >= state.head);
  };

  return {
    /**
     * Resolves once the state file, written after `afterWallMs` (Date.now() scale), shows every logger at the
     * head; then the time (hrtime ns) each of CSV and SQLite reached its final value, the state, and whether
     * the wait timed out.
     */
    async complete({ afterWallMs, timeoutMs }) {
      const deadline = Date.now() + timeoutMs;
      while (!caughtUp(afterWallMs) && Date.now() < deadline) await new Promise((r) => setTimeout(r, POLL_MS));
      const timedOut = !caughtUp(afterWallMs);
      // One more poll: the state file may be a little ahead of our last look at the files.
      await new Promise((r) => setTimeout(r, POLL_MS * 2));
      sample();
      // By the state file alone: the first save that showed the logger at the final head.
      const byState = (name) => {
        const at = states.find((x) => (x.positions[name] ?? -1) >= state?.head)?.at;
        return at === undefined ? undefined : { at };
      };
      return {
        timedOut,
        csv: files ? (metrics.csv.value > 0 ? { at: metrics.csv.since, bytes: metrics.csv.value } : undefined) : byState('logger-csv'),
        sqlite: files ? (metrics.sqlite.value > 0 ? { at: metrics.sqlite.since, rows: metrics.sqlite.value } : undefined) : byState('logger-sql'),
        state,
        stateSeenAt,
      };
    },
    /** Rows of the SQLite archive (count(*)), or NaN. */
    sqliteCount() {
      try {
        if (!db && existsSync(sqliteFile)) db = new DatabaseSync(sqliteFile, { readOnly: true });
        return Number(db?.prepare('SELECT count(*) AS n FROM messages').get()?.n ?? Number.NaN);
      } catch {
        return Number.NaN;
      }
    },
    stop() {
      clearInterval(timer);
      try {
        db?.close();
      } catch {
        /* already closed */
      }
    },
  };
}
