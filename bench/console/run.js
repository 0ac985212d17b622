// The web console under load: the dashboard and archive searches over a large SQLite archive (1,000,000
// messages by default, spread over the last 7 days), answered through the console's HTTP API with the archive in
// its worker thread as `imspect start` opens it; then the live view fed 5,000 events per second for 10 seconds
// with three browsers reading and one that does not read, with the server's memory before and after.
//
//   pnpm build && node bench/console/run.js
//   node bench/console/run.js --messages 200000 --rate 5000 --seconds 10 --keep /tmp/archive.sqlite
//
// Texts draw three words of ten, so a one-word search matches about 30 % of the archive (a worst case: the
// full-text index hands over every match before the newest are picked); `zanzibar` is in 1 message of 97.
// The archive is built once per run in a temp folder (or reused with --keep FILE when that file exists).
// Plain JS on purpose: no build step of its own. Prints figures, asserts nothing.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '1000000' },
    rate: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '10' },
    runs: { type: 'string', default: '10' },
    keep: { type: 'string' },
  },
});
const N = Number(args.messages);
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const RUNS = Number(args.runs);

const sql = await import('../../packages/logger-sql/dist/index.js');
const { buildConsoleServer, ConsoleUsers } = await import('../../packages/console/dist/index.js');

const DAY = 86_400_000;
const now = Date.now();
const WORDS = ['invoice', 'meeting', 'lunch', 'report', 'deadline', 'customer', 'budget', 'review', 'release', 'ticket'];
let nextId = 0;
function event(i, at, over = {}) {
  nextId++;
  return {
    id: `0190${String(nextId).padStart(8, '0')}-0000-7000-8000-${String(nextId).padStart(12, '0')}`,
    at: new Date(at).toISOString(),
    protocol: ['irc', 'xmpp', 'msn', 'yahoo'][i % 4],
    direction: i % 2 ? 'incoming' : 'outgoing',
    type: 'message',
    localId: `user${i % 500}`,
    remoteId: i % 3 ? `#team${i % 20}` : `peer${i % 977}`,
    text: `${WORDS[i % 10]} ${WORDS[(i * 7) % 10]} number ${i} about the ${WORDS[(i * 3) % 10]} ${i % 97 === 0 ? 'zanzibar' : ''}`,
    client: { ip: `10.0.${(i >> 8) & 255}.${i & 255}`, port: 40000 + (i % 1000) },
    server: { host: 'chat.example.org', port: 6667 },
    filtered: i % 50 === 0,
    categories: i % 50 === 0 ? ['badwords'] : [],
    ...over,
  };
}

function ms(t0) {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function summary(times) {
  const sorted = [...times].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return `median ${at(0.5).toFixed(1)} ms, p95 ${at(0.95).toFixed(1)} ms, max ${sorted.at(-1).toFixed(1)} ms`;
}

const dir = await mkdtemp(join(tmpdir(), 'imspect-bench-console-'));
const file = args.keep ?? join(dir, 'archive.sqlite');
const target = { kind: 'sqlite', file, synchronous: 'normal' };
try {
  if (!existsSync(file) || !args.keep) {
    const { SqlArchive } = await import('../../packages/logger-sql/dist/archive.js');
    const builder = new SqlArchive(target);
    await builder.migrate();
    const t0 = process.hrtime.bigint();
    const BATCH = 5000;
    for (let from = 0; from < N; from += BATCH) {
      const batch = [];
      for (let i = from; i < Math.min(N, from + BATCH); i++) batch.push(event(i, now - 7 * DAY + Math.floor((i / N) * 7 * DAY)));
      await builder.insert(batch);
      if ((from / BATCH) % 20 === 0) process.stdout.write(`\rbuilding the archive: ${from + batch.length} / ${N}`);
    }
    await builder.close();
    console.log(`\rarchive: ${N} messages over 7 days written in ${(ms(t0) / 1000).toFixed(1)} s (${file})`);
  } else {
    console.log(`archive: reusing ${file}`);
  }

  const archive = sql.openArchive(target, { inWorker: true });
  await archive.migrate();
  const listeners = new Set();
  const live = {
    sessions: () =>
      Array.from({ length: 200 }, (_, i) => ({
        id: String(i),
        protocol: 'irc',
        localId: `user${i}`,
        client: { ip: '10.0.0.1', port: 40000 + i },
        server: { host: 'chat.example.org', port: 6667 },
        since: now - i * 1000,
      })),
    loggers: () => [{ name: 'logger-sql', pending: 0, delivered: N, failures: 0, lost: 0 }],
    journal: () => ({ bytes: 1 << 20, maxBytes: 1 << 30, full: false, dropped: 0 }),
    tls: () => ({ intercepting: false, summary: 'off' }),
    listeners: () => ['socks5://127.0.0.1:1080'],
    onEvents: (l) => (listeners.add(l), () => listeners.delete(l)),
  };
  await new ConsoleUsers(dir).add('bench', 'admin', 'bench password');
  const app = await buildConsoleServer({ dataDir: dir, live, archive, log: { info() {}, warn() {}, error() {} }, secure: false, sessionIdleMs: DAY, sessionMaxMs: DAY });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = app.server.address().port;
  const login = await fetch(`http://127.0.0.1:${port}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench', password: 'bench password' }),
  });
  const cookie = login.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');

  async function time(what, path) {
    const times = [];
    let count = 0;
    for (let r = 0; r < RUNS + 1; r++) {
      const t0 = process.hrtime.bigint();
      const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { cookie } });
      const body = await res.json();
      if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
      if (r > 0) times.push(ms(t0)); // the first run warms the worker and the page cache
      count = body.messages?.length ?? body.users?.length ?? body.conversations?.length ?? body.online?.length ?? 0;
    }
    console.log(`${what.padEnd(44)} ${summary(times)}  (${count} rows)`);
  }

  console.log(`\nHTTP API over ${N} archived messages, ${RUNS} runs each (the first, warming, not counted):`);
  await time('dashboard (online, 24 h and 7 d activity)', '/api/dashboard');
  await time('search: one word, newest 50', '/api/search?text=invoice');
  await time('search: two words, newest 50', '/api/search?text=meeting%20review');
  await time('search: rare word (1 in 97), newest 50', '/api/search?text=zanzibar');
  await time('search: user, newest 50', '/api/search?user=user42');
  await time('search: user and peer, last 2 days', '/api/search?user=user42&with=%23team2&since=2d');
  await time('search: blocked only, newest 50', '/api/search?blocked=1');
  await time('search: nothing matches', '/api/search?text=nonexistentword');
  await time('transcript: first 200', '/api/transcript?protocol=irc&user=user40&with=%23team0');
  await time('users: all, most recent 200', '/api/users');
  await time('users: prefix', '/api/users?prefix=user4');
  await time('user: conversations and contacts', '/api/user?id=user42');

  // Live view: RATE events per second for SECONDS, three readers and one that does not read.
  const readers = [];
  for (let r = 0; r < 4; r++) {
    const res = await new Promise((resolve) => http.get({ host: '127.0.0.1', port, path: '/api/live', headers: { cookie } }, resolve));
    const reader = { events: 0, skipped: 0, res };
    if (r === 3) res.pause();
    else {
      let tail = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        const text = tail + chunk;
        const cut = text.lastIndexOf('\n\n');
        tail = cut >= 0 ? text.slice(cut + 2) : text;
        for (const block of (cut >= 0 ? text.slice(0, cut) : '').split('\n\n')) {
          if (block.startsWith('event: im')) reader.events++;
          else if (block.startsWith('event: skipped')) reader.skipped += JSON.parse(block.split('data: ')[1]).count;
        }
      });
    }
    readers.push(reader);
  }
  globalThis.gc?.();
  const before = process.memoryUsage();
  const tick = 10;
  let sent = 0;
  let peakHeap = 0;
  let i = 0;
  const t0 = process.hrtime.bigint();
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      // As many as the rate calls for by now: a late timer sends a larger batch, not fewer events.
      const due = Math.floor((ms(t0) / 1000) * RATE) - sent;
      const batch = [];
      for (let k = 0; k < due; k++) batch.push(event(i++, Date.now()));
      for (const l of listeners) l(batch);
      sent += batch.length;
      peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
      if (ms(t0) >= SECONDS * 1000) {
        clearInterval(timer);
        resolve();
      }
    }, tick);
  });
  await new Promise((r) => setTimeout(r, 500));
  const elapsed = ms(t0) / 1000;
  globalThis.gc?.();
  const after = process.memoryUsage();
  const stats = app.liveHub.stats();
  console.log(`\nlive view: ${sent} events in ${elapsed.toFixed(1)} s (${Math.round(sent / elapsed)} events/s), 3 reading streams and 1 not reading`);
  for (const [r, reader] of readers.entries()) {
    if (r === 3) console.log(`  stream ${r + 1} (not reading): ${stats[r]?.skipped ?? '?'} events skipped, ${stats[r]?.buffered ?? '?'} bytes waiting on the server`);
    else console.log(`  stream ${r + 1}: ${reader.events} events received, ${reader.skipped} skipped`);
  }
  const mb = (b) => `${(b / 1048576).toFixed(1)} MiB`;
  console.log(`  server heap ${mb(before.heapUsed)} before, peak ${mb(peakHeap)}, ${mb(after.heapUsed)} after; RSS ${mb(before.rss)} -> ${mb(after.rss)}`);
  for (const reader of readers) reader.res.destroy();
  await app.close();
  await archive.close();
} finally {
  if (!args.keep) await rm(dir, { recursive: true, force: true });
}
