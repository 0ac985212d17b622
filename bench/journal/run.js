// The durable journal: what it costs to journal accepted events, and what a database outage costs the chats.
//
//   pnpm build && node bench/journal/run.js                   # both parts
//   node bench/journal/run.js --part append --events 200000   # journal appends only
//   node bench/journal/run.js --part latency --seconds 10 --rate 200
//   node bench/journal/run.js --part readback --events 200000 --behind 2 --batch 200  # loggers behind the memory window
//
// Part "append": Journal.append() + commit() of --events events, one event per call (a chunk holding one
// frame) and 20 per call (a chunk of 20 lines), into a temp folder, with the background fdatasync on;
// events/s and the longest single call.
//
// Part "latency": imspect as in production (`imspect start`, forward listener, CSV and SQL loggers) between a
// client and an echo IRC server on 127.0.0.1. The client sends --rate PRIVMSGs per second for --seconds; each
// is echoed back by the server (an incoming event), and the round trip is timed. Three cases: the SQL logger on
// PostgreSQL (reached through a TCP relay in the bench) that works; the same with the relay cut for the whole
// run (every write fails and is retried; the journal grows); and the embedded SQLite archive. PostgreSQL is
// IMSPECT_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test); a database is created for the
// run and dropped at the end. Plain JS on purpose: no build step of its own.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    part: { type: 'string', default: 'all' },
    events: { type: 'string', default: '200000' },
    seconds: { type: 'string', default: '10' },
    rate: { type: 'string', default: '200' },
    behind: { type: 'string', default: '2' },
    batch: { type: 'string', default: '200' },
  },
});
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const noop = () => undefined;
const logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, child: () => logger };

function sampleEvent(i) {
  return {
    id: `0190${String(i).padStart(8, '0')}-0000-7000-8000-000000000000`,
    at: new Date().toISOString(),
    protocol: 'irc',
    direction: 'outgoing',
    type: 'message',
    localId: `user${i % 100}`,
    remoteId: '#general',
    text: 'a typical chat line of some sixty characters, héllo ✓ 😀',
    client: { ip: '10.1.2.3', port: 40000 },
    server: { host: 'irc.example.org', port: 6667 },
    filtered: false,
    categories: [],
  };
}

async function appendPart() {
  const { Journal } = await import(join(ROOT, 'packages/core/dist/runtime/index.js'));
  const N = Number(args.events);
  console.log(`journal append: ${N} events`);
  console.log('call size | events/s | longest call ms');
  for (const per of [1, 20]) {
    const dir = await mkdtemp(join(tmpdir(), 'imspect-bench-journal-'));
    const journal = await Journal.open(
      { dir, maxBytes: 8 * 1024 ** 3, segmentBytes: 16 * 1024 ** 2, fsyncIntervalMs: 100, onFull: 'forward', memoryEvents: 50_000 },
      ['a'],
      logger,
    );
    const events = Array.from({ length: N }, (_, i) => sampleEvent(i));
    let longest = 0;
    const started = performance.now();
    for (let i = 0; i < N; i += per) {
      const t = performance.now();
      journal.append(events.slice(i, i + per));
      journal.commit(); // what core does before forwarding the chunk the events came from
      longest = Math.max(longest, performance.now() - t);
      if (i % 5000 === 0) journal.ack('a', journal.head); // delivered as it goes, so segments are deleted
    }
    const seconds = (performance.now() - started) / 1000;
    await journal.close();
    await rm(dir, { recursive: true, force: true });
    console.log(`${String(per).padStart(9)} | ${String(Math.round(N / seconds)).padStart(8)} | ${longest.toFixed(2).padStart(15)}`);
  }
}

// Part "readback": --behind consumers (default 2, as the CSV and SQL loggers) far behind the memory window
// (memoryEvents 1,000) read --events events back from the segment files, each in batches of --batch (default
// 200, a logger's batchSize; 5000 is its maxBatchSize), taking turns and acknowledging each batch, while another
// consumer keeps up; appended 20 per commit first. Prints events/s per consumer, the CPU time of the read-back
// (this process, all threads) and the longest read.
async function readbackPart() {
  const { Journal } = await import(join(ROOT, 'packages/core/dist/runtime/index.js'));
  const N = Number(args.events);
  const behind = Array.from({ length: Number(args.behind) }, (_, i) => `slow${i + 1}`);
  const batchSize = Number(args.batch);
  const dir = await mkdtemp(join(tmpdir(), 'imspect-bench-journal-'));
  const journal = await Journal.open(
    { dir, maxBytes: 8 * 1024 ** 3, segmentBytes: 16 * 1024 ** 2, fsyncIntervalMs: 100, onFull: 'forward', memoryEvents: 1_000 },
    [...behind, 'fast'],
    logger,
  );
  const events = Array.from({ length: N }, (_, i) => sampleEvent(i));
  for (let i = 0; i < N; i += 20) {
    journal.append(events.slice(i, i + 20));
    journal.commit();
    journal.ack('fast', journal.head);
  }
  let longest = 0;
  const positions = new Map(behind.map((name) => [name, 0]));
  const cpu = process.cpuUsage();
  const started = performance.now();
  while ([...positions.values()].some((p) => p < N)) {
    for (const name of behind) {
      const position = positions.get(name);
      if (position >= N) continue;
      const t = performance.now();
      const batch = await journal.read(position, batchSize);
      longest = Math.max(longest, performance.now() - t);
      positions.set(name, batch.first + batch.events.length);
      journal.ack(name, batch.first + batch.events.length, batch.first);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  await journal.close();
  await rm(dir, { recursive: true, force: true });
  console.log(
    `journal read-back: ${behind.length} consumer(s) each ${N} events behind the memory window, batches of ${batchSize}: ` +
      `${Math.round(N / seconds)} events/s each, CPU ${((used.user + used.system) / 1000).toFixed(0)} ms, longest read ${longest.toFixed(2)} ms`,
  );
}

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

async function echoServer() {
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', noop);
    let buffer = '';
    let nick = '*';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      buffer += chunk;
      let end;
      let out = '';
      while ((end = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, end).replace(/\r$/, '');
        buffer = buffer.slice(end + 1);
        if (line.startsWith('NICK ')) nick = line.slice(5);
        else if (line.startsWith('USER ')) out += `:bench.local 001 ${nick} :Welcome\r\n`;
        else if (line.startsWith('PRIVMSG ')) out += `:echo!echo@bench.local PRIVMSG ${nick} :${line.slice(line.indexOf(' :') + 2)}\r\n`;
      }
      if (out) socket.write(out);
    });
  });
  const port = await listen(server);
  return {
    port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(r));
    },
  };
}

async function relayTo(port) {
  const open = new Set();
  let down = false;
  const server = net.createServer((client) => {
    if (down) return client.destroy();
    const upstream = net.connect(port, '127.0.0.1');
    open.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  const relayPort = await listen(server);
  return {
    port: relayPort,
    cut() {
      down = true;
      for (const s of open) s.destroy();
    },
    close() {
      down = true;
      for (const s of open) s.destroy();
      return new Promise((r) => server.close(r));
    },
  };
}

async function startImspect(dir, config) {
  await writeFile(join(dir, 'imspect.config.json'), JSON.stringify(config));
  const child = spawn(process.execPath, [join(ROOT, 'packages/cli/bin/run.js'), 'start', '--config', join(dir, 'imspect.config.json')], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', noop);
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`imspect did not start:\n${out}`)), 20_000);
    child.stdout.on('data', () => out.includes('Press Ctrl-C') && (clearTimeout(timer), resolve()));
    child.once('exit', (code) => reject(new Error(`imspect exited ${code}`)));
  });
  return {
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function measure(port, seconds, rate) {
  const socket = net.connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  const samples = [];
  let buffer = '';
  let welcomed;
  const welcome = new Promise((r) => (welcomed = r));
  socket.on('data', (chunk) => {
    buffer += chunk;
    let end;
    while ((end = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
      if (line.includes(' 001 ')) welcomed();
      const m = / :t(\d+)$/.exec(line.trim());
      if (m) samples.push(Number(process.hrtime.bigint() - BigInt(m[1])) / 1e6);
    }
  });
  socket.write('NICK benchuser\r\nUSER benchuser 0 * :bench\r\n');
  await welcome;
  const total = seconds * rate;
  for (let i = 0; i < total; i++) {
    socket.write(`PRIVMSG echo :message ${i} :t${process.hrtime.bigint()}\r\n`);
    await new Promise((r) => setTimeout(r, 1000 / rate));
  }
  await new Promise((r) => setTimeout(r, 500));
  socket.destroy();
  samples.sort((a, b) => a - b);
  const pct = (p) => (samples.length ? samples[Math.min(samples.length - 1, Math.floor((p / 100) * samples.length))].toFixed(2) : '-');
  return { sent: total, answered: samples.length, p50: pct(50), p99: pct(99), max: samples.length ? samples.at(-1).toFixed(2) : '-' };
}

async function latencyPart() {
  const require = createRequire(join(ROOT, 'packages/logger-sql/package.json'));
  const pg = require('pg');
  const admin = process.env.IMSPECT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const db = `imspect_bench_${randomBytes(4).toString('hex')}`;
  const seconds = Number(args.seconds);
  const rate = Number(args.rate);
  let pgOk = true;
  try {
    const c = new pg.Client({ connectionString: admin, connectionTimeoutMillis: 3000 });
    await c.connect();
    await c.query(`CREATE DATABASE ${db}`);
    await c.end();
  } catch (error) {
    pgOk = false;
    console.log(`PostgreSQL cases skipped: ${error.message}`);
  }
  const adminUrl = new URL(admin);
  const echo = await echoServer();
  console.log(`\nround trip through imspect, ${rate} messages/s for ${seconds} s (each message and its echo are logged)`);
  console.log('case                          | answered/sent | p50 ms | p99 ms | max ms');
  const cases = [
    ['SQLite archive (worker thread)', null],
    ...(pgOk
      ? [
          ['PostgreSQL up', 'up'],
          ['PostgreSQL down (relay cut)', 'down'],
        ]
      : []),
  ];
  for (const [name, pgState] of cases) {
    const dir = await mkdtemp(join(tmpdir(), 'imspect-bench-latency-'));
    const probe = net.createServer();
    const listenPort = await listen(probe);
    await new Promise((r) => probe.close(r)); // a free port for imspect's listener
    const relay = pgState ? await relayTo(Number(adminUrl.port || 5432)) : undefined;
    if (pgState === 'down') relay.cut();
    const url = pgState ? Object.assign(new URL(admin), { pathname: `/${db}`, port: String(relay.port) }).toString() : '';
    const imspect = await startImspect(dir, {
      listeners: [{ type: 'forward', port: listenPort, upstream: { host: '127.0.0.1', port: echo.port }, protocol: 'irc' }],
      plugins: { 'logger-sql': { options: { url, connectTimeoutMs: 1000 } } },
      loggers: { retryMaxDelayMs: 1000 },
      log: { level: 'fatal' },
    });
    const result = await measure(listenPort, seconds, rate);
    await imspect.stop();
    await relay?.close();
    await rm(dir, { recursive: true, force: true });
    console.log(`${name.padEnd(29)} | ${`${result.answered}/${result.sent}`.padStart(13)} | ${result.p50.padStart(6)} | ${result.p99.padStart(6)} | ${result.max.padStart(6)}`);
  }
  await echo.close();
  if (pgOk) {
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await c.end();
  }
}

if (args.part === 'all' || args.part === 'append') await appendPart();
if (args.part === 'all' || args.part === 'readback') await readbackPart();
if (args.part === 'all' || args.part === 'latency') await latencyPart();
