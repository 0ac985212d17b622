/**
 * The journal reaches its disk limit while the database is cut off (a TCP relay the test controls, in front of
 * a PostgreSQL database created for the run). `onFull: block` pauses relaying until the database is back, then
 * everything flows and is stored once; `onFull: forward` keeps the chat going, gives up the oldest events of
 * the logger that is behind (says so loudly, counts them as its `lost` in `imspect status`), and stores the rest
 * once.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import { runCli, waitUntil } from '../support/cli-run.js';
import { createPostgresDatabase, postgresMissing } from '../support/databases.js';
import { describeWithService } from '../support/e2e.js';
import { startImspect } from '../support/imspect-process.js';
import { freePort } from '../support/ngircd.js';
import { connectScriptedClient } from '../support/scripted-irc.js';
import { useSqlBehindRelay } from '../support/sql-behind-relay.js';

const MESSAGES = 120;

interface Status {
  full: boolean;
  dropped: number;
  loggers: Array<{ name: string; pending: number; lost: number }>;
}

describeWithService('journal full while the database is down', await postgresMissing(), () => {
  const env = useSqlBehindRelay('imspect-journal-full-', createPostgresDatabase, { migrate: true });

  async function run(onFull: 'block' | 'forward', nick: string) {
    const port = await freePort();
    const data = path.join(env.dir, onFull);
    await writeFile(
      path.join(env.dir, `${onFull}.yaml`),
      [
        `dataDir: ${data}`,
        'listeners:',
        `  - { type: forward, port: ${port}, upstream: { host: 127.0.0.1, port: ${env.server.port} }, protocol: irc }`,
        'plugins:',
        `  logger-sql: { options: { url: "${env.db.urlVia('127.0.0.1', env.relay.port)}", connectTimeoutMs: 500 } }`,
        `loggers: { flushIntervalMs: 10, retryMaxDelayMs: 200, writeTimeoutMs: 2000, journal: { maxBytes: 16384, onFull: ${onFull} } }`,
        'log: { format: json }',
        '',
      ].join('\n'),
    );
    const config = ['--config', path.join(env.dir, `${onFull}.yaml`)];
    const received = env.server.received.length;
    env.relay.cut();
    env.imspect = await startImspect(config, { cwd: env.dir });
    const client = await connectScriptedClient(port, nick);
    // One message at a time, as people type (a chunk already read is relayed whole; blocking stops the next read).
    void (async () => {
      for (let i = 0; i < MESSAGES && !client.socket.destroyed; i++) {
        client.say('#chan', `${onFull} ${i} ${'x'.repeat(100)}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const status = async () => JSON.parse((await runCli(['status', '--json', ...config], env.dir)).stdout) as Status;
    return { client, received, config, status, arrived: () => env.server.received.length - received };
  }

  it('onFull: block pauses relaying until the database is back; then every message flows and is stored once', async () => {
    const { client, status, arrived } = await run('block', 'blockuser');
    await waitUntil(async () => (await status()).full, 15_000, 'the journal to be full');
    await new Promise((r) => setTimeout(r, 1000));
    const during = arrived();
    expect(during).toBeLessThan(MESSAGES);
    expect(env.imspect!.stderr()).toMatch(/journal FULL: relaying is paused/);

    env.relay.restore();
    await waitUntil(() => arrived() === MESSAGES, 20_000, 'relaying to resume');
    await waitUntil(async () => (await env.direct.search({ user: 'blockuser', limit: 0 })).length === 1 + MESSAGES, 20_000, 'every event stored');
    const stored = await env.direct.search({ user: 'blockuser', limit: 0 });
    expect(new Set(stored.map((m) => m.eventId)).size).toBe(1 + MESSAGES);
    expect(env.imspect!.stderr()).toMatch(/journal has room again/);
    client.close();
    expect(await env.imspect!.stop()).toBe(0);
    env.imspect = undefined;
  }, 120_000);

  it('onFull: forward keeps the chat going, gives up and reports the oldest events of the logger behind, and stores the rest once', async () => {
    const { client, status, arrived } = await run('forward', 'fwduser');
    await waitUntil(() => arrived() === MESSAGES, 15_000, 'the chat to go on while the journal is full');
    let s: Status | undefined;
    // Status is rewritten within a second: it has caught up once it accounts for every event.
    const sql = (st: Status) => st.loggers.find((l) => l.name === 'logger-sql')!;
    await waitUntil(async () => ((s = await status()), sql(s).lost > 0 && sql(s).lost + sql(s).pending === 1 + MESSAGES), 15_000, 'status to show the events given up');
    expect(s!.dropped).toBe(0);
    expect(env.imspect!.stderr()).toMatch(/logger \\"logger-sql\\" is behind: its \d+ oldest events were given up for it/);

    env.relay.restore();
    const expected = 1 + MESSAGES - sql(s!).lost;
    await waitUntil(async () => (await env.direct.search({ user: 'fwduser', limit: 0 })).length === expected, 20_000, `${expected} events stored`);
    await new Promise((r) => setTimeout(r, 300));
    const stored = await env.direct.search({ user: 'fwduser', limit: 0 });
    expect(stored).toHaveLength(expected);
    expect(new Set(stored.map((m) => m.eventId)).size).toBe(expected);
    client.close();
    expect(await env.imspect!.stop()).toBe(0);
    env.imspect = undefined;
    expect(sql(await status()).lost).toBe(sql(s!).lost);
  }, 120_000);
});
