/**
 * The set-up of the SQL fault tests: a database created for the run, reached through a TCP relay the test
 * controls (to cut or reset it), a scripted IRC server for the chats, and a direct connection to the archive to
 * check what was stored. The returned object is filled in `beforeAll` and emptied in `afterAll`; a test that
 * starts imspect keeps it in `imspect`, so it is stopped even when the test fails.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { openArchive, resolveTarget, type ArchiveStore } from '../../packages/logger-sql/dist/index.js';
import type { TestDatabase } from './databases.js';
import type { RunningImspect } from './imspect-process.js';
import { startScriptedIrcServer, type ScriptedIrcServer } from './scripted-irc.js';
import { startTcpRelay, type TcpRelay } from './tcp-relay.js';

export interface SqlBehindRelay {
  dir: string;
  db: TestDatabase;
  relay: TcpRelay;
  server: ScriptedIrcServer;
  /** The archive reached directly, not through the relay. */
  direct: ArchiveStore;
  imspect: RunningImspect | undefined;
}

export function useSqlBehindRelay(tempPrefix: string, createDatabase: () => Promise<TestDatabase>, options: { migrate?: boolean } = {}): SqlBehindRelay {
  const env = { imspect: undefined } as SqlBehindRelay;
  beforeAll(async () => {
    env.dir = await mkdtemp(path.join(os.tmpdir(), tempPrefix));
    env.db = await createDatabase();
    env.relay = await startTcpRelay({ host: env.db.host, port: env.db.port });
    env.server = await startScriptedIrcServer();
    env.direct = openArchive(resolveTarget({ url: env.db.url }, env.dir));
    if (options.migrate) await env.direct.migrate();
  });
  afterAll(async () => {
    await env.imspect?.stop();
    await env.direct?.close();
    await env.relay?.close();
    await env.server?.close();
    await env.db?.drop();
    if (env.dir) await rm(env.dir, { recursive: true, force: true });
  });
  return env;
}
