/**
 * The database goes away while users chat: imspect logs into PostgreSQL / MariaDB through a TCP relay the test
 * cuts mid-burst and restores later (the real servers are never stopped; each run has its own database).
 * Chats must keep flowing, the CSV logger must go on, `imspect status` must show the SQL logger's backlog and
 * its last error, and after the database is back every accepted event must be in it exactly once.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import { readCsvLogs } from '../support/csv-logs.js';
import { runCli, waitUntil } from '../support/cli-run.js';
import { createMysqlDatabase, createPostgresDatabase, mysqlMissing, postgresMissing, type TestDatabase } from '../support/databases.js';
import { describeWithService } from '../support/e2e.js';
import { startImspect } from '../support/imspect-process.js';
import { freePort } from '../support/ngircd.js';
import { connectScriptedClient } from '../support/scripted-irc.js';
import { useSqlBehindRelay } from '../support/sql-behind-relay.js';

const BEFORE = 50;
const DURING = 300;

interface Status {
  loggers: Array<{ name: string; pending: number; failures: number; lastError: string | null }>;
}

function outageSuite(createDatabase: () => Promise<TestDatabase>) {
  const env = useSqlBehindRelay('imspect-sql-outage-', createDatabase);

  it('keeps chats flowing, shows the backlog, and stores every event exactly once when the database is back', async () => {
    const port = await freePort();
    await writeFile(
      path.join(env.dir, 'imspect.config.yaml'),
      [
        'listeners:',
        `  - { type: forward, port: ${port}, upstream: { host: 127.0.0.1, port: ${env.server.port} }, protocol: irc }`,
        'plugins:',
        `  logger-sql: { options: { url: "${env.db.urlVia('127.0.0.1', env.relay.port)}", connectTimeoutMs: 1000 } }`,
        'loggers: { flushIntervalMs: 20, batchSize: 50, retryMaxDelayMs: 400, writeTimeoutMs: 3000 }',
        'log: { format: json }',
        '',
      ].join('\n'),
    );
    env.imspect = await startImspect([], { cwd: env.dir });
    const alice = await connectScriptedClient(port, 'alice');
    for (let i = 0; i < BEFORE; i++) alice.say('#chan', `before ${i} 😀`);
    // login + messages
    await waitUntil(async () => (await env.direct.count().catch(() => 0)) === BEFORE + 1, 20_000, 'the first messages in the database');

    env.relay.cut();
    const sent: string[] = [];
    for (let i = 0; i < DURING; i++) {
      const text = `during ${i} 你好`;
      sent.push(text);
      alice.say(i % 2 ? '#chan' : 'bob', text);
      if (i % 50 === 49) await new Promise((r) => setTimeout(r, 10));
    }
    // The chat is not held up by the dead database.
    await waitUntil(() => env.server.received.length === BEFORE + DURING, 10_000, 'the env.server to receive the burst');
    // The CSV logger goes on meanwhile.
    await waitUntil(async () => (await readCsvLogs(path.join(env.dir, 'imspect-data/logs')).catch(() => [])).length === 1 + BEFORE + DURING, 10_000, 'the CSV logger');

    let status: Status | undefined;
    await waitUntil(
      async () => {
        const result = await runCli(['status', '--json'], env.dir);
        status = JSON.parse(result.stdout) as Status;
        const sql = status.loggers.find((l) => l.name === 'logger-sql');
        return sql !== undefined && sql.pending > 0 && sql.lastError !== null;
      },
      20_000,
      'status to show the SQL backlog and its error',
    );
    const sqlStatus = status!.loggers.find((l) => l.name === 'logger-sql')!;
    expect(sqlStatus.failures).toBeGreaterThan(0);
    expect(sqlStatus.lastError).toMatch(/plugin "logger-sql"/);
    expect(status!.loggers.find((l) => l.name === 'logger-csv')!.pending).toBe(0);
    expect(env.imspect.stderr()).toMatch(/logger \\"logger-sql\\" failed to write/);
    expect(await env.direct.count()).toBeLessThan(1 + BEFORE + DURING);

    env.relay.restore();
    await waitUntil(async () => (await env.direct.count()) === 1 + BEFORE + DURING, 30_000, 'the backlog to reach the database');
    const stored = await env.direct.search({ user: 'alice', limit: 0 });
    const texts = stored.filter((m) => m.type === 'message').map((m) => m.text);
    expect(texts).toEqual(env.server.received);
    expect(new Set(stored.map((m) => m.eventId)).size).toBe(stored.length);
    expect(stored.filter((m) => m.text?.startsWith('during')).map((m) => m.text)).toEqual(sent);
    expect(env.imspect.stderr()).toMatch(/logger \\"logger-sql\\" recovered/);

    alice.close();
    expect(await env.imspect.stop()).toBe(0);
    env.imspect = undefined;
    expect(await env.direct.count()).toBe(1 + BEFORE + DURING);
  }, 150_000);
}

describeWithService('PostgreSQL outage during a burst', await postgresMissing(), () => outageSuite(createPostgresDatabase));
describeWithService('MariaDB outage during a burst', await mysqlMissing(), () => outageSuite(createMysqlDatabase));
