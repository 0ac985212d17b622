// Throughput of the CSV logger alone (no proxy, no network): rows written per second.
//
//   pnpm build && node bench/logger-csv/run.js
//   node bench/logger-csv/run.js --events 500000 --batch 200 --users 100 --peers 3 --max-open-files 64 --runs 3
//   node bench/logger-csv/run.js --digest      # also print a SHA-256 of every file written (name + bytes),
//                                              # to check that a change to the logger writes the same thing
//   node bench/logger-csv/run.js --dist DIR    # another build of the plugin (DIR/index.js), e.g. the previous
//                                              # version compiled elsewhere, to compare under the same load
//   node bench/logger-csv/run.js --fresh       # events dated after the logger started (steady operation);
//                                              # by default they are dated 2024, i.e. before the start, as a
//                                              # backlog delivered after a restart is: each file's end is
//                                              # read back the first time one of them goes to it
//   node bench/logger-csv/run.js --redeliver   # times a second logger (a restart) writing the same events
//                                              # again into the files the first one wrote (untimed): all are
//                                              # skipped; checks that the files are unchanged
//
// It loads packages/logger-csv/dist (build first), calls the plugin's setup() with a minimal context, writes
// --events deterministic events in batches of --batch, spread round-robin-ish over --users x --peers
// (local, remote) pairs (one file each: all events fall on one UTC day), awaits every write, then close().
// The figure is events / wall time from the first write to the end of close(). Files go to a temp folder,
// removed at the end. Plain JS on purpose: no build step of its own.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '500000' },
    batch: { type: 'string', default: '200' },
    users: { type: 'string', default: '100' },
    peers: { type: 'string', default: '3' },
    'max-open-files': { type: 'string' },
    fsync: { type: 'boolean', default: false },
    runs: { type: 'string', default: '3' },
    digest: { type: 'boolean', default: false },
    dist: { type: 'string' },
    fresh: { type: 'boolean', default: false },
    redeliver: { type: 'boolean', default: false },
  },
});
const N = Number(args.events);
const BATCH = Number(args.batch);
const USERS = Number(args.users);
const PEERS = Number(args.peers);
const RUNS = Number(args.runs);

const dist = args.dist ? join(resolve(args.dist), 'index.js') : fileURLToPath(new URL('../../packages/logger-csv/dist/index.js', import.meta.url));
const { default: plugin } = await import(pathToFileURL(dist).href);

const noop = () => undefined;
const logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, child: () => logger };

const TEXTS = [
  'hello there',
  'are you coming to the meeting at 3?',
  'sure, see you then',
  'he said "no way" and left',
  'ok',
  'Ελληνικά και 中文 and émojis 😀',
  'a somewhat longer line of chat that goes on for a while, with a comma or two, like people type',
  'multi\nline',
];

/** Deterministic events: same input every run, so --digest can compare two builds. */
function makeEvents() {
  const events = new Array(N);
  // --fresh: an hour ahead, so that every event is dated after the logger's start.
  const base = args.fresh ? Date.now() + 3_600_000 : Date.UTC(2024, 2, 5, 8, 0, 0);
  for (let i = 0; i < N; i++) {
    // A pseudo-random pair (LCG), so that a batch touches many files, as on a busy gateway.
    const pair = (Math.imul(i, 2654435761) >>> 0) % (USERS * PEERS);
    const user = Math.floor(pair / PEERS);
    const peer = pair % PEERS;
    const outgoing = i % 2 === 0;
    events[i] = {
      id: `0190f0c8-0000-7000-8000-${String(i).padStart(12, '0')}`,
      at: new Date(base + i * 10).toISOString(),
      protocol: 'irc',
      direction: outgoing ? 'outgoing' : 'incoming',
      type: i % 50 === 0 ? 'join' : 'message',
      subtype: peer === 0 ? 'groupchat' : undefined,
      localId: `user${user}`,
      remoteId: peer === 0 ? '#general' : `peer${user}-${peer}`,
      conversation: peer === 0 ? '#general' : undefined,
      text: TEXTS[i % TEXTS.length],
      client: { ip: `10.0.${user >> 8}.${user & 255}`, port: 40000 + user },
      server: { host: 'irc.example.net', port: 6667 },
      filtered: i % 97 === 0,
      categories: i % 97 === 0 ? ['badwords'] : [],
    };
  }
  return events;
}

async function digestOf(dir) {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
  const hash = createHash('sha256');
  for (const file of files)
    hash
      .update(relative(dir, file))
      .update('\0')
      .update(await readFile(file))
      .update('\0');
  return { files: files.length, sha256: hash.digest('hex') };
}

async function runOnce(events) {
  const dataDir = await mkdtemp(join(tmpdir(), 'imspect-bench-logger-csv-'));
  try {
    const options = { dir: 'logs', timezone: 'utc', fsync: args.fsync };
    if (args['max-open-files'] !== undefined) options.maxOpenFiles = Number(args['max-open-files']);
    const context = { name: 'logger-csv', logger, options, hostVersion: '0.1.0', dataDir, configDir: dataDir };
    let hooks = await plugin.setup(context);
    let before;
    if (args.redeliver) {
      for (let i = 0; i < events.length; i += BATCH) await hooks.write(events.slice(i, i + BATCH));
      await hooks.close();
      before = await digestOf(join(dataDir, 'logs'));
      hooks = await plugin.setup(context);
    }
    const start = process.hrtime.bigint();
    for (let i = 0; i < events.length; i += BATCH) await hooks.write(events.slice(i, i + BATCH));
    await hooks.close();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const digest = args.digest || args.redeliver ? await digestOf(join(dataDir, 'logs')) : undefined;
    if (before && digest.sha256 !== before.sha256) console.log('  the files changed: events delivered again were written again');
    return { seconds, digest };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

const events = makeEvents();
console.log(
  `logger-csv: ${N} events, batches of ${BATCH}, ${USERS} users x ${PEERS} peers = ${USERS * PEERS} files, ` +
    `maxOpenFiles ${args['max-open-files'] ?? 'default'}, fsync ${args.fsync}, node ${process.version}` +
    `, events dated ${args.fresh ? 'after' : 'before'} the start${args.redeliver ? ', delivered again after a restart' : ''}` +
    (args.dist ? `, dist ${args.dist}` : ''),
);
const rates = [];
for (let run = 1; run <= RUNS; run++) {
  const { seconds, digest } = await runOnce(events);
  const rate = N / seconds;
  rates.push(rate);
  console.log(`run ${run}: ${seconds.toFixed(2)} s, ${Math.round(rate).toLocaleString('en-US')} rows/s` + (digest ? `, ${digest.files} files, sha256 ${digest.sha256}` : ''));
}
rates.sort((a, b) => a - b);
console.log(`median: ${Math.round(rates[Math.floor(rates.length / 2)]).toLocaleString('en-US')} rows/s`);
