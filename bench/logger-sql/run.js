// Sustained write rate of the SQL archive into each backend: events stored per second, as core delivers them
// (batches of --batch, one awaited write after the other), and how late the main event loop ran meanwhile
// (SQLite writes run in a worker thread, so the loop that would relay traffic should stay free).
//
//   pnpm build && node bench/logger-sql/run.js
//   node bench/logger-sql/run.js --events 100000 --batch 200 --backends sqlite,postgres,mysql
//   node bench/logger-sql/run.js --synchronous normal          # SQLite without a sync per batch
//   node bench/logger-sql/run.js --backends sqlite,sqlite-whole-key,sqlite,sqlite-whole-key
//       # SQLite beside SQLite with the copies index over every row, as before migration 0007 (alternated)
//
// SQLite: a file in a temp folder. PostgreSQL / MariaDB: a database created for the run (CREATE DATABASE
// imspect_bench_<random>) on IMSPECT_TEST_POSTGRES_URL / IMSPECT_TEST_MYSQL_URL (defaults: the local servers,
// postgres://postgres@127.0.0.1:5432/test and mysql://root@127.0.0.1:3306/test), dropped at the end. A backend
// that cannot be reached is reported and skipped. Plain JS on purpose: no build step of its own.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { DatabaseSync } from 'node:sqlite';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '100000' },
    batch: { type: 'string', default: '200' },
    backends: { type: 'string', default: 'sqlite,postgres,mysql' },
    synchronous: { type: 'string', default: 'full' },
  },
});
const N = Number(args.events);
const BATCH = Number(args.batch);

const sql = await import('../../packages/logger-sql/dist/index.js');
const require = createRequire(new URL('../../packages/logger-sql/package.json', import.meta.url));
const pg = require('pg');
const mysql = require('mysql2/promise');
const PG_ADMIN = process.env.IMSPECT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const MY_ADMIN = process.env.IMSPECT_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

const TEXTS = ['hello there', 'see you at 5?', 'héllo wörld ✓', 'emoji 😀👍🏽', 'CJK 你好世界', 'the quick brown fox jumps over the lazy dog '.repeat(3)];
function events(from, count) {
  const out = [];
  for (let i = from; i < from + count; i++) {
    out.push({
      id: `0190${String(i).padStart(8, '0')}-0000-7000-8000-${randomBytes(6).toString('hex')}`,
      at: new Date(1_780_000_000_000 + i).toISOString(),
      protocol: 'irc',
      direction: i % 2 ? 'incoming' : 'outgoing',
      type: 'message',
      localId: `user${i % 100}`,
      remoteId: i % 3 ? '#general' : `peer${i % 7}`,
      text: TEXTS[i % TEXTS.length],
      client: { ip: '10.1.2.3', port: 40000 + (i % 1000) },
      server: { host: 'irc.example.org', port: 6667 },
      filtered: false,
      categories: [],
    });
  }
  return out;
}

async function backend(name) {
  const db = `imspect_bench_${randomBytes(4).toString('hex')}`;
  if (name === 'sqlite' || name === 'sqlite-whole-key') {
    const dir = await mkdtemp(join(tmpdir(), 'imspect-bench-sql-'));
    return { url: '', dir, drop: () => rm(dir, { recursive: true, force: true }) };
  }
  if (name === 'postgres') {
    const admin = new pg.Client({ connectionString: PG_ADMIN, connectionTimeoutMillis: 3000 });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${db}`);
    await admin.end();
    const url = new URL(PG_ADMIN);
    url.pathname = `/${db}`;
    return {
      url: url.toString(),
      dir: tmpdir(),
      drop: async () => {
        const c = new pg.Client({ connectionString: PG_ADMIN });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
        await c.end();
      },
    };
  }
  const admin = await mysql.createConnection({ uri: MY_ADMIN, connectTimeout: 3000 });
  await admin.query(`CREATE DATABASE ${db} CHARACTER SET utf8mb4`);
  await admin.end();
  const url = new URL(MY_ADMIN);
  url.pathname = `/${db}`;
  return {
    url: url.toString(),
    dir: tmpdir(),
    drop: async () => {
      const c = await mysql.createConnection({ uri: MY_ADMIN });
      await c.query(`DROP DATABASE IF EXISTS ${db}`);
      await c.end();
    },
  };
}

/** The copies index as migration 0003 made it, over every row (0007 made it partial: keyed rows only). */
function wholeCopiesIndex(file) {
  const db = new DatabaseSync(file);
  try {
    db.exec('DROP INDEX messages_local_message_key');
    db.exec('CREATE UNIQUE INDEX messages_local_message_key ON messages (local_id, message_key)');
  } finally {
    db.close();
  }
}

console.log(`${N} events in batches of ${BATCH}, one write at a time (as core delivers to one logger)`);
console.log('backend          | events/s | ms per batch p50/p99 | main loop delay p99/max ms | CPU µs/event (all threads) | rows');
for (const name of args.backends.split(',')) {
  let b;
  try {
    b = await backend(name);
  } catch (error) {
    console.log(`${name.padEnd(16)} | skipped: ${error.message}`);
    continue;
  }
  const target = sql.resolveTarget({ url: b.url, synchronous: args.synchronous }, b.dir);
  const archive = sql.openArchive(target, { inWorker: true });
  let closed = false;
  try {
    await archive.migrate();
    if (name === 'sqlite-whole-key') wholeCopiesIndex(target.file);
    const all = events(0, N);
    const times = [];
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < N; i += BATCH) {
      const t = performance.now();
      await archive.insert(all.slice(i, i + BATCH));
      times.push(performance.now() - t);
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    loop.disable();
    times.sort((x, y) => x - y);
    const pct = (p) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))].toFixed(1);
    const rows = await archive.count();
    const perEvent = ((cpu.user + cpu.system) / N).toFixed(1);
    console.log(
      `${name.padEnd(16)} | ${String(Math.round(N / seconds)).padStart(8)} | ${`${pct(50)} / ${pct(99)}`.padStart(20)} | ${`${(loop.percentile(99) / 1e6).toFixed(1)} / ${(loop.max / 1e6).toFixed(1)}`.padStart(26)} | ${perEvent.padStart(26)} | ${rows}`,
    );
    // SQLite: close() first completes the full-text index, which follows the table (up to 5 s).
    const closing = performance.now();
    await archive.close();
    closed = true;
    console.log(`${''.padEnd(16)}   close (full-text index caught up): ${((performance.now() - closing) / 1000).toFixed(2)} s`);
  } catch (error) {
    console.log(`${name.padEnd(16)} | failed: ${error.message}`);
  } finally {
    if (!closed) await archive.close();
    await b.drop();
  }
}
