/**
 * For the tests of who can read imspect's data folder: a set-up that makes every kind of file exist (journal,
 * CSV logs, SQLite archive with its -wal/-shm, TLS leaf cache, monitoring-notice state), a conversation that
 * fills them (plain IRC and IRC over TLS intercepted with imspect's CA, through SOCKS5), and a walk of the folder.
 */
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { waitUntil } from './cli-run.js';
import { lineClient, socksConnect, startTls, type LineClient } from './tls-client.js';

export interface DataEntry {
  /** Relative to the folder walked ('.' for the folder itself). */
  path: string;
  kind: 'file' | 'folder';
  mode: number;
  uid: number;
  gid: number;
}

/** Every file and folder under `dir` (and `dir` itself); links are not followed. */
export async function walkDataDir(dir: string): Promise<DataEntry[]> {
  const entries: DataEntry[] = [];
  // imspect is running: a temporary state file or a delivered segment may go between readdir and lstat.
  const gone = (error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
    return undefined;
  };
  const visit = async (target: string): Promise<void> => {
    const info = await lstat(target).catch(gone);
    if (!info || info.isSymbolicLink()) return;
    entries.push({ path: path.relative(dir, target) || '.', kind: info.isDirectory() ? 'folder' : 'file', mode: info.mode & 0o7777, uid: info.uid, gid: info.gid });
    if (info.isDirectory()) for (const name of (await readdir(target).catch(gone)) ?? []) await visit(path.join(target, name));
  };
  await visit(dir);
  return entries;
}

/** The entries others (not owner, not group) may read, write or enter, as `path mode` lines; empty when none. */
export function openToOthers(entries: readonly DataEntry[]): string[] {
  return entries.filter((e) => (e.mode & 0o007) !== 0).map((e) => `${e.path} ${e.mode.toString(8).padStart(4, '0')}`);
}

/** The kinds of file the walk must have seen, so that a walk of a half-empty folder proves nothing. */
export const EXPECTED_KINDS: ReadonlyArray<[string, RegExp]> = [
  ['journal segment', /^journal\/\d+\.seg$/],
  ['journal state', /^journal\/state\.json$/],
  ['CSV day file', /^logs\/irc\/[^/]+\/[^/]+\/[^/]+\/\d{4}-\d{2}-\d{2}\.csv$/], // irc/{network}/{localId}/{remoteId}
  ['SQLite archive', /^archive\.sqlite$/],
  ['SQLite write-ahead log', /^archive\.sqlite-wal$/],
  ['SQLite shared memory', /^archive\.sqlite-shm$/],
  ['TLS leaf', /^tls-cache\/[0-9a-f]+\/localhost\.pem$/],
  ['monitoring-notice state', /^state\/monitoring-notice\.json$/],
  ['CA key', /^ca\/imspect-ca\.key$/],
];

export function missingKinds(entries: readonly DataEntry[]): string[] {
  return EXPECTED_KINDS.filter(([, pattern]) => !entries.some((e) => pattern.test(e.path))).map(([name]) => name);
}

/** imspect's configuration for these tests: SOCKS5 in, CSV and SQLite out, notices on, TLS intercepted. */
export function privateDataConfig(options: { tlsPort: number; upstreamCa: string; extra?: Record<string, unknown> }): Record<string, unknown> {
  return {
    dataDir: 'data',
    listeners: [{ type: 'socks5', host: '127.0.0.1', port: 0 }],
    plugins: {
      irc: { options: { tlsPorts: [options.tlsPort] } },
      'logger-csv': { options: { dir: 'logs' } },
      'logger-sql': { options: {} },
    },
    responses: { notice: { enabled: true, text: 'this conversation is logged' } },
    tls: { upstreamCa: options.upstreamCa },
    log: { level: 'info', format: 'json' },
    ...options.extra,
  };
}

/** The SOCKS5 address imspect printed. */
export function socksAddress(stdout: string): { host: string; port: number } {
  const url = new URL(/listening: (socks5:\/\/\S+)/.exec(stdout)![1]!);
  return { host: url.hostname, port: Number(url.port) };
}

/**
 * bob (plain IRC) and alice (IRC over TLS, intercepted: she trusts imspect's CA) talk through imspect; returns once
 * both got the other's message, then waits until every store has it on disk.
 */
export async function chatThroughImspect(socks: { host: string; port: number }, ports: { plain: number; tls: number }, imspectCa: string, dataDir: string): Promise<void> {
  const register = async (client: LineClient, nick: string) => {
    client.send(`NICK ${nick}`);
    client.send(`USER ${nick} 0 * :${nick}`);
    await client.waitFor(/^:\S+ 001 /, `${nick} to register`);
  };
  const bob = lineClient(await socksConnect(socks, 'localhost', ports.plain));
  await register(bob, 'bob');
  const alice = lineClient(await startTls(await socksConnect(socks, 'localhost', ports.tls), 'localhost', [imspectCa]));
  await register(alice, 'alice');
  alice.send('PRIVMSG bob :a private word over tls');
  await bob.waitFor(/PRIVMSG bob :a private word over tls/, 'bob to get the message');
  bob.send('PRIVMSG alice :a private word in the clear');
  await alice.waitFor(/PRIVMSG alice :a private word in the clear/, 'alice to get the reply');
  let missing: string[] = [];
  await waitUntil(async () => (missing = missingKinds(await walkDataDir(dataDir))).length === 0, 10_000, 'every kind of file in the data folder').catch((error: Error) => {
    throw new Error(`${error.message}; missing: ${missing.join(', ')}`);
  });
  alice.send('QUIT :bye');
  bob.send('QUIT :bye');
  await Promise.all([alice.waitFor(/ERROR/, 'alice to be let go'), bob.waitFor(/ERROR/, 'bob to be let go')]).catch(() => undefined);
  alice.close();
  bob.close();
}
