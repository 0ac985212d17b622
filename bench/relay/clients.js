/**
 * Bench clients: N IRC sessions to one address (the bench server directly, or imspect in front of it).
 * Each session connects, registers (NICK/USER, waits for 001), then either receives a bulk stream or
 * exchanges timed PRIVMSGs with the echo server.
 */
import net from 'node:net';
import { HOST } from './irc-server.js';

const NS_PER_MS = 1_000_000n;

/** Connects `count` sessions, at most `parallel` handshakes at a time; all registered, or throws. */
export async function openSessions({ port, count, mode, bulkBytes = 0, parallel = 100, timeoutMs = 30_000, track, dial, realname, nickPrefix = 'u' }) {
  const sessions = new Array(count);
  let next = 0;
  const deadline = Date.now() + timeoutMs;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      if (Date.now() > deadline) throw new Error(`timed out opening ${count} sessions (${i} started)`);
      sessions[i] = await openSession({ port, index: i, mode, bulkBytes, timeoutMs: Math.max(1000, deadline - Date.now()), track, dial, realname, nickPrefix });
    }
  };
  const workers = [];
  for (let w = 0; w < Math.min(parallel, count); w++) workers.push(worker());
  const results = await Promise.allSettled(workers);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) {
    for (const s of sessions) s?.socket.destroy();
    throw failed.reason;
  }
  return sessions;
}

/**
 * `dial(index)`, when given, opens the connection instead (e.g. through SOCKS5, or TLS) and resolves with a
 * socket ready for the registration; `realname` replaces the one `mode` picks.
 */
async function openSession({ port, index, mode, bulkBytes, timeoutMs, track, dial, realname, nickPrefix = 'u' }) {
  const nick = `${nickPrefix}${String(index).padStart(4, '0')}`;
  const started = process.hrtime.bigint();
  let dialed;
  if (dial) {
    let timer;
    const late = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`session ${nick}: not connected within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      dialed = await Promise.race([dial(index), late]);
    } finally {
      clearTimeout(timer);
    }
  }
  return new Promise((resolve, reject) => {
    const socket = dialed ?? net.connect({ host: HOST, port, noDelay: true });
    track?.(socket);
    let buffered = '';
    const timer = setTimeout(() => fail(new Error(`session ${nick}: no 001 within ${timeoutMs} ms`)), timeoutMs);
    const fail = (error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    const onData = (chunk) => {
      buffered += chunk.toString('latin1');
      const lf = buffered.indexOf('\n');
      if (lf < 0) {
        if (buffered.length > 4096) fail(new Error(`session ${nick}: no line feed in the registration reply`));
        return;
      }
      if (!/^:\S+ 001 /.test(buffered)) return fail(new Error(`session ${nick}: unexpected reply ${JSON.stringify(buffered.slice(0, 80))}`));
      if (lf !== buffered.length - 1) return fail(new Error(`session ${nick}: data after 001 before JOIN`));
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', fail);
      socket.off('close', onClose);
      resolve({ socket, nick, index, registerMs: Number(process.hrtime.bigint() - started) / 1e6 });
    };
    const onClose = () => fail(new Error(`session ${nick}: closed during registration (${buffered.length} bytes read)`));
    socket.on('data', onData);
    socket.on('error', fail);
    socket.on('close', onClose);
    const register = () => {
      const name = realname ?? (mode === 'bulk' ? `bulk ${bulkBytes}` : 'echo');
      socket.write(`NICK ${nick}\r\nUSER ${nick} 0 * :${name}\r\n`);
    };
    if (dialed) register();
    else socket.on('connect', register);
  });
}

export function closeSessions(sessions) {
  for (const s of sessions) {
    if (!s) continue;
    s.socket.removeAllListeners('data');
    s.socket.on('error', () => undefined);
    s.socket.destroy();
  }
}

/**
 * Bulk: every session sends JOIN at the same moment, then counts bytes until it has `bytesPerSession`.
 * Returns wall time from the first JOIN to the last byte, and the bytes received.
 */
export function runBulk(sessions, { bytesPerSession, timeoutMs }) {
  return new Promise((resolve) => {
    let done = 0;
    let failed = 0;
    let bytes = 0;
    let firstError;
    const t0 = process.hrtime.bigint();
    let resolved = false;
    const finish = (timedOut) => {
      if (resolved) return;
      resolved = true;
      clearTimeout(timer);
      const ns = process.hrtime.bigint() - t0;
      for (const s of sessions) s.socket.removeAllListeners('data');
      resolve({ seconds: Number(ns) / 1e9, bytes, completed: done, failed, timedOut, error: firstError?.message });
    };
    const timer = setTimeout(() => finish(true), timeoutMs);
    for (const s of sessions) {
      let got = 0;
      let finished = false;
      const end = (error) => {
        if (finished) return;
        finished = true;
        if (error) {
          failed++;
          firstError ??= error;
        } else done++;
        if (done + failed === sessions.length) finish(false);
      };
      s.socket.on('data', (chunk) => {
        got += chunk.length;
        bytes += chunk.length;
        if (got >= bytesPerSession) end(got > bytesPerSession ? new Error(`session ${s.nick}: ${got - bytesPerSession} bytes too many`) : undefined);
      });
      s.socket.once('close', () => end(got < bytesPerSession ? new Error(`session ${s.nick}: closed after ${got} of ${bytesPerSession} bytes`) : undefined));
      s.socket.on('error', () => undefined);
    }
    for (const s of sessions) s.socket.write('JOIN #bench\r\n');
  });
}

/**
 * Echo: each session sends `PRIVMSG bench :<seq> <hrtime ns>` every 1000/rate ms (phases spread evenly over
 * the first period), for `warmupMs` (not recorded) then `measureMs` (recorded). The round trip of a message is
 * the time from its send timestamp (carried in the text) to its reply's arrival.
 */
export function runEcho(sessions, { rate, warmupMs, measureMs, drainMs = 3000, onMeasureStart, onMeasureEnd }) {
  return new Promise((resolve) => {
    const periodMs = 1000 / rate;
    const start = process.hrtime.bigint();
    const measureFrom = start + BigInt(Math.round(warmupMs)) * NS_PER_MS;
    const measureTo = measureFrom + BigInt(Math.round(measureMs)) * NS_PER_MS;
    const expectedPerSession = Math.ceil(((warmupMs + measureMs) / 1000) * rate) + 2;
    const samples = new Float64Array(sessions.length * expectedPerSession);
    let count = 0;
    let sent = 0;
    let sentMeasured = 0;
    let received = 0;
    let errors = 0;
    let stopped = false;
    const timers = [];

    for (const s of sessions) {
      let seq = 0;
      let buffered = '';
      const sendOne = () => {
        if (stopped || s.socket.destroyed) return;
        const now = process.hrtime.bigint();
        if (now >= measureTo) return;
        seq++;
        sent++;
        if (now >= measureFrom) sentMeasured++;
        s.socket.write(`PRIVMSG bench :${seq} ${now}\r\n`);
      };
      s.socket.on('data', (chunk) => {
        const arrived = process.hrtime.bigint();
        buffered += chunk.toString('latin1');
        let startAt = 0;
        for (let lf = buffered.indexOf('\n'); lf >= 0; lf = buffered.indexOf('\n', startAt)) {
          const line = buffered.slice(startAt, lf);
          startAt = lf + 1;
          const colon = line.indexOf(' :');
          if (colon < 0 || !line.includes(' PRIVMSG ')) continue;
          const [, stamp] = line
            .slice(colon + 2)
            .trim()
            .split(' ');
          let sentAt;
          try {
            sentAt = BigInt(stamp);
          } catch {
            errors++;
            continue;
          }
          received++;
          if (sentAt >= measureFrom && sentAt < measureTo && count < samples.length) {
            samples[count++] = Number(arrived - sentAt) / 1e6;
          }
        }
        buffered = startAt === 0 ? buffered : buffered.slice(startAt);
        if (buffered.length > 65536) buffered = '';
      });
      s.socket.on('error', () => {
        errors++;
      });
      const phase = (periodMs * s.index) / sessions.length;
      timers.push(
        setTimeout(() => {
          sendOne();
          timers.push(setInterval(sendOne, periodMs));
        }, phase),
      );
    }

    if (onMeasureStart) timers.push(setTimeout(onMeasureStart, warmupMs));
    if (onMeasureEnd) timers.push(setTimeout(onMeasureEnd, warmupMs + measureMs));
    const sendEndsIn = warmupMs + measureMs + periodMs;
    const stopTimer = setTimeout(() => {
      for (const t of timers) if (t !== stopTimer) clearTimeout(t);
      // Wait for the replies in flight, bounded.
      const waitUntil = Date.now() + drainMs;
      const check = setInterval(() => {
        if (received >= sent || Date.now() >= waitUntil) {
          clearInterval(check);
          stopped = true;
          for (const s of sessions) s.socket.removeAllListeners('data');
          resolve({ samples: samples.subarray(0, count), sent, sentMeasured, received, lost: sent - received, errors });
        }
      }, 10);
    }, sendEndsIn);
    timers.push(stopTimer);
  });
}
