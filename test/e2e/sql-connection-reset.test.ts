/**
 * Database connections reset while the SQL logger writes: imspect logs into PostgreSQL / MariaDB through a TCP
 * relay that aborts every relayed connection with a TCP RST while a burst is being archived, many times over.
 * A reset connection must never take imspect down (a driver emitting 'error' on a connection nobody listens
 * on used to kill the process, and with it every user's chat): the write fails, is retried, chats go on, and
 * at the end every accepted event is in the archive exactly once.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import { waitUntil } from '../support/cli-run.js';
import { createMysqlDatabase, createPostgresDatabase, mysqlMissing, postgresMissing, type TestDatabase } from '../support/databases.js';
import { describeWithService } from '../support/e2e.js';
import { startImspect } from '../support/imspect-process.js';
import { freePort } from '../support/ngircd.js';
import { connectScriptedClient } from '../support/scripted-irc.js';
import { useSqlBehindRelay } from '../support/sql-behind-relay.js';

/** Resets that actually aborted at least one connection in the middle of archiving a burst. */
const RESETS = 40;
const BURST = 60;

function resetSuite(createDatabase: () => Promise<TestDatabase>) {
  const env = useSqlBehindRelay('imspect-sql-reset-', createDatabase);

  it(`survives ${RESETS} connection resets in the middle of archiving, keeps chats flowing, stores every event once`, async () => {
    const port = await freePort();
    await writeFile(
      path.join(env.dir, 'imspect.config.yaml'),
      [
        'listeners:',
        `  - { type: forward, port: ${port}, upstream: { host: 127.0.0.1, port: ${env.server.port} }, protocol: irc }`,
        'plugins:',
        `  logger-sql: { options: { url: "${env.db.urlVia('127.0.0.1', env.relay.port)}", connectTimeoutMs: 2000, poolSize: 4 } }`,
        'loggers: { flushIntervalMs: 2, batchSize: 15, retryMaxDelayMs: 100, writeTimeoutMs: 5000 }',
        'log: { format: json }',
        '',
      ].join('\n'),
    );
    const running = await startImspect([], { cwd: env.dir });
    env.imspect = running;
    const alive = (when: string) => {
      if (running.child.exitCode !== null || running.child.signalCode !== null) {
        throw new Error(`imspect died ${when} (exit ${running.child.exitCode ?? running.child.signalCode})\nstderr:\n${running.stderr().slice(-4000)}`);
      }
    };
    const alice = await connectScriptedClient(port, 'alice');
    alice.say('#chan', 'warm-up');
    // login + the warm-up message
    await waitUntil(async () => (await env.direct.count().catch(() => 0)) === 2, 20_000, 'the warm-up in the database');

    let sent = 1;
    let resets = 0;
    for (let round = 0; resets < RESETS; round++) {
      if (round > RESETS * 5) throw new Error(`only ${resets} resets hit a write in ${round} rounds`);
      const before = env.relay.bytesUp;
      for (let i = 0; i < BURST; i++) alice.say(i % 3 ? '#chan' : 'bob', `r${round} m${i} 😀`);
      sent += BURST;
      // Reset while the burst is being written: once bytes of it travel to the database, after a varying delay
      // so that the resets fall on different points of the transaction (BEGIN, INSERT, COMMIT, in between).
      await waitUntil(() => env.relay.bytesUp > before || running.child.exitCode !== null, 10_000, 'the burst to be written');
      alive('before a reset');
      await new Promise((r) => setTimeout(r, round % 4));
      if (env.relay.reset() > 0) resets++;
      // Give the driver the RST (and a crash, if any, the time to happen) before the next round.
      await new Promise((r) => setTimeout(r, 15));
      alive(`after reset ${resets}`);
    }

    // Chats still flow after the resets.
    for (let i = 0; i < 20; i++) alice.say('bob', `after ${i}`);
    sent += 20;
    await waitUntil(() => env.server.received.length === sent || running.child.exitCode !== null, 20_000, 'the env.server to receive every message');
    alive('after the resets');
    expect(env.server.received).toHaveLength(sent);

    await waitUntil(async () => (await env.direct.count()) >= 1 + sent || running.child.exitCode !== null, 60_000, 'every event in the database');
    alive('while the backlog was stored');
    const stored = await env.direct.search({ user: 'alice', limit: 0 });
    expect(stored).toHaveLength(1 + sent);
    expect(new Set(stored.map((m) => m.eventId)).size).toBe(stored.length);
    expect(stored.filter((m) => m.type === 'message').map((m) => m.text)).toEqual(env.server.received);
    // The resets were seen and survived, not dodged; and handled where they happen, by the logger's own
    // connection listeners, not by the process-wide last resort for stray errors.
    expect(running.stderr()).toMatch(/logger \\"logger-sql\\" failed to write|database connection lost/);
    expect(running.stderr()).not.toMatch(/"kind":"(uncaught exception|unhandled rejection)"/);

    alice.close();
    expect(await running.stop()).toBe(0);
    env.imspect = undefined;
    expect(await env.direct.count()).toBe(1 + sent);
  }, 300_000);
}

describeWithService('PostgreSQL connections reset while archiving', await postgresMissing(), () => resetSuite(createPostgresDatabase));
describeWithService('MariaDB connections reset while archiving', await mysqlMissing(), () => resetSuite(createMysqlDatabase));
