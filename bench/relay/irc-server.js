/**
 * A tiny IRC-like server for the relay benchmark, on 127.0.0.1 only. Run as its own process (so it has its
 * own event loop, like a real server): `node bench/relay/irc-server.js` prints `listening <port>`.
 *
 * A client registers with NICK and USER; the USER real name picks the mode:
 *   `USER b 0 * :bulk <bytes>`  after `JOIN #bench`, the server streams exactly <bytes> bytes of channel
 *                               traffic (the JOIN reply included), complete CRLF lines, then waits.
 *   `USER b 0 * :echo`          each `PRIVMSG bench :<text>` is answered at once with
 *                               `:bench!bench@bench.local PRIVMSG <nick> :<text>`.
 *   `USER b 0 * :sink <tag>`    each `PRIVMSG <target> :<send time> <text>` is counted, not answered; <send
 *                               time> is the sender's process.hrtime.bigint() in ns (one clock for every
 *                               process on Linux), so the server records the one-way latency. Counts and
 *                               latencies add up per <tag> over all connections.
 *   `USER b 0 * :control`       `STATS <tag>` is answered with `:bench.local NOTICE <nick> :STATS {json}` (messages,
 *                               first and last receive time in ns, latency p50/p99/max in ms); `RESET <tag>`
 *                               forgets the tag.
 * Registration is answered with `:bench.local 001 <nick> :Welcome ...`. PING gets PONG, QUIT closes.
 * With BENCH_SERVER_TLS_CERT and BENCH_SERVER_TLS_KEY (PEM files) it also listens with TLS on a second port
 * (printed first, `tls-listening <port>`), same behaviour.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { pathToFileURL } from 'node:url';
import { buildPool, streamPieces } from './traffic.js';

export const HOST = '127.0.0.1';
/** Longest line the server buffers from a client before dropping the connection. */
const MAX_LINE = 8192;

/** Sink figures per tag: message count, first/last receive time (ns), latencies (ms) in a growing array. */
const sinks = new Map();

function sinkFor(tag) {
  let sink = sinks.get(tag);
  if (!sink) {
    sink = { count: 0, first: 0n, last: 0n, latencies: new Float64Array(1 << 16), bad: 0 };
    sinks.set(tag, sink);
  }
  return sink;
}

function sinkStats(tag) {
  const sink = sinks.get(tag);
  if (!sink) return { count: 0 };
  const sorted = sink.latencies.slice(0, sink.count).sort();
  const at = (p) => (sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]);
  return { count: sink.count, bad: sink.bad, first: String(sink.first), last: String(sink.last), p50: at(50), p99: at(99), max: at(100) };
}

export function createBenchServer({ pool = buildPool(), tlsOptions } = {}) {
  const sockets = new Set();
  const onSocket = (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    handle(socket, pool);
  };
  const server = tlsOptions ? tls.createServer({ ...tlsOptions, noDelay: true }, onSocket) : net.createServer({ noDelay: true }, onSocket);
  server.maxConnections = 20000;
  return {
    server,
    listen(port = 0) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: HOST, port, backlog: 4096 }, () => {
          server.off('error', reject);
          resolve(server.address().port);
        });
      });
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function handle(socket, pool) {
  let nick;
  let mode;
  let bulkBytes = 0;
  let registered = false;
  let pending = '';
  let streaming = false;
  let sink;
  let now = 0n;

  const send = (line) => socket.write(line);

  const onLine = (line) => {
    const sp = line.indexOf(' ');
    const command = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
    const rest = sp < 0 ? '' : line.slice(sp + 1);
    switch (command) {
      case 'NICK':
        nick = rest.replace(/^:/, '').trim() || nick;
        break;
      case 'USER': {
        const colon = rest.indexOf(':');
        const realname = colon < 0 ? '' : rest.slice(colon + 1).trim();
        const [m, n] = realname.split(/\s+/);
        mode = m === 'bulk' || m === 'sink' || m === 'control' ? m : 'echo';
        if (mode === 'sink') sink = sinkFor(n ?? '');
        bulkBytes = Math.max(0, Math.floor(Number(n) || 0));
        break;
      }
      case 'PING':
        send(`:bench.local PONG bench.local ${rest}\r\n`);
        return;
      case 'PONG':
        return;
      case 'QUIT':
        socket.end(`ERROR :Closing link: ${nick ?? '*'} (Quit)\r\n`);
        return;
      case 'JOIN':
        if (mode === 'bulk' && registered && !streaming) {
          streaming = true;
          stream(socket, pool, nick, bulkBytes);
        }
        return;
      case 'STATS':
      case 'RESET':
        if (mode === 'control' && registered) {
          const tag = rest.trim();
          if (command === 'RESET') sinks.delete(tag);
          else send(`:bench.local NOTICE ${nick} :STATS ${JSON.stringify(sinkStats(tag))}\r\n`);
        }
        return;
      case 'PRIVMSG':
        if (mode === 'sink' && registered) {
          const colon = rest.indexOf(' :');
          const space = colon < 0 ? -1 : rest.indexOf(' ', colon + 2);
          let sent;
          try {
            sent = BigInt(rest.slice(colon + 2, space < 0 ? undefined : space));
          } catch {
            sink.bad++;
            return;
          }
          if (sink.count === sink.latencies.length) {
            const grown = new Float64Array(sink.latencies.length * 2);
            grown.set(sink.latencies);
            sink.latencies = grown;
          }
          if (sink.count === 0) sink.first = now;
          sink.latencies[sink.count++] = Number(now - sent) / 1e6;
          sink.last = now;
        } else if (mode === 'echo' && registered) {
          // `PRIVMSG bench :<text>` -> the same text back to the sender, from "bench".
          const colon = rest.indexOf(' :');
          const body = colon < 0 ? '' : rest.slice(colon + 2);
          send(`:bench!bench@bench.local PRIVMSG ${nick} :${body}\r\n`);
        }
        return;
    }
    if (!registered && nick && mode) {
      registered = true;
      send(`:bench.local 001 ${nick} :Welcome to the bench network ${nick}\r\n`);
    }
  };

  socket.setEncoding('latin1');
  socket.on('data', (data) => {
    // One clock reading per read: the lines of a read arrived together.
    now = process.hrtime.bigint();
    pending += data;
    let start = 0;
    for (let lf = pending.indexOf('\n'); lf >= 0; lf = pending.indexOf('\n', start)) {
      let end = lf;
      if (end > start && pending.charCodeAt(end - 1) === 13) end--;
      if (end > start) onLine(pending.slice(start, end));
      start = lf + 1;
    }
    pending = start === 0 ? pending : pending.slice(start);
    if (pending.length > MAX_LINE) socket.destroy();
  });
}

/** JOIN reply + channel traffic: exactly `total` bytes (at least the JOIN reply plus 64). */
function stream(socket, pool, nick, total) {
  const head = Buffer.from(
    `:${nick}!~${nick}@127.0.0.1 JOIN #bench\r\n` +
      `:bench.local 332 ${nick} #bench :Relay benchmark channel\r\n` +
      `:bench.local 353 ${nick} = #bench :${nick} @alice bob carol +dave\r\n` +
      `:bench.local 366 ${nick} #bench :End of /NAMES list.\r\n`,
    'latin1',
  );
  const pieces = streamPieces(pool, Math.max(64, total - head.length));
  socket.write(head);
  const pump = () => {
    for (;;) {
      const next = pieces.next();
      if (next.done) return;
      if (socket.destroyed) return;
      if (!socket.write(next.value)) {
        socket.once('drain', pump);
        return;
      }
    }
  };
  pump();
}

// Entry point when run as a process.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const pool = buildPool();
  const bench = createBenchServer({ pool });
  const servers = [bench];
  const { BENCH_SERVER_TLS_CERT: certFile, BENCH_SERVER_TLS_KEY: keyFile } = process.env;
  if (certFile && keyFile) {
    const secure = createBenchServer({ pool, tlsOptions: { cert: readFileSync(certFile), key: readFileSync(keyFile) } });
    servers.push(secure);
    process.stdout.write(`tls-listening ${await secure.listen(0)}\n`);
  }
  const port = await bench.listen(Number(process.env.BENCH_SERVER_PORT ?? 0));
  process.stdout.write(`listening ${port}\n`);
  const stop = () => Promise.all(servers.map((s) => s.close())).then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
