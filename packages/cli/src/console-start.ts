/**
 * `imspect start`'s side of the web console: the narrow view of the engine it gets (live state, events), the
 * archive it reads (the logger-sql plugin's, in a worker thread for SQLite), the policy files it may edit (the
 * word list and the ACL the filters read, applied through the same reload as SIGHUP), and its HTTPS material.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import type { Engine, LoadedConfig } from '@imspect/core/runtime';
import { configText } from './console-config-text.js';
import type { LiveSource, PolicyAccess, PolicyFile, RunningConsole, UserPolicyAccess, UserPolicyEntry, BlockedContactsAccess } from '@imspect/console';

type ConsoleTls = { cert: string; key: string };

/** Certificate files named by `console.tls`, read before the engine drops root (they are often root's). */
export async function readConsoleCertificateFiles(loaded: LoadedConfig): Promise<ConsoleTls | undefined> {
  const tls = loaded.config.console.tls;
  if (!loaded.config.console.enabled || !tls?.cert || !tls.key) return undefined;
  const read = async (file: string, what: string) => {
    const full = path.resolve(loaded.baseDir, file);
    try {
      return await readFile(full, 'utf8');
    } catch (error) {
      throw Object.assign(new Error(`console.tls.${what}: cannot read ${full}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`), {
        code: 'CONFIG_CONSOLE_TLS',
      });
    }
  };
  return { cert: await read(tls.cert, 'cert'), key: await read(tls.key, 'key') };
}

/** `console.tls` without files: a certificate minted from imspect's CA for `name` (default: the console's host). */
async function mintedCertificate(engine: Engine, loaded: LoadedConfig): Promise<ConsoleTls> {
  const { certificateName } = await import('@imspect/core/runtime');
  const section = loaded.config.console;
  const authority = engine.tls?.authority;
  if (!authority) {
    throw Object.assign(new Error("console.tls: without cert and key the console's certificate is minted from imspect's CA, and there is none (imspect ca init)"), {
      code: 'CONFIG_CONSOLE_TLS',
    });
  }
  const wanted = section.tls?.name ?? (section.host === '0.0.0.0' || section.host === '::' ? hostname() : section.host);
  const name = certificateName(wanted);
  if (!name) throw Object.assign(new Error(`console.tls.name: "${wanted}" is not a host name or address to mint a certificate for`), { code: 'CONFIG_CONSOLE_TLS' });
  const leaf = await authority.leafFor(name);
  return { cert: `${leaf.certPem.trim()}\n${authority.certPem.trim()}\n`, key: leaf.keyPem };
}

/** Failures of the console's event listener logged at most this often (the count of the others is kept). */
const LISTENER_ERROR_LOG_MS = 10_000;

/**
 * The console's event listener, guarded: it runs in the relay loop, so whatever it throws is caught here,
 * logged as the console's (at most once per {@link LISTENER_ERROR_LOG_MS}, with the number of failures), and
 * the events go on to the journal and the loggers as always.
 */
type EventListener = Parameters<LiveSource['onEvents']>[0];

export function guardedListener(listener: EventListener, log: Engine['log']): EventListener {
  let failures = 0;
  let loggedAt = Number.NEGATIVE_INFINITY;
  return (events) => {
    try {
      listener(events);
    } catch (error) {
      failures++;
      if (Date.now() - loggedAt < LISTENER_ERROR_LOG_MS) return;
      loggedAt = Date.now();
      log.error(
        { err: { message: (error as Error)?.message ?? String(error), stack: (error as Error)?.stack }, failures },
        'console: its live view failed on the events it was given; the live view misses them, relaying and archiving go on',
      );
    }
  };
}

function liveSource(engine: Engine, tlsSummary: () => string, log: Engine['log']): LiveSource {
  return {
    sessions: () => engine.sessions(),
    loggers: () => engine.status().loggers,
    journal: () => {
      // With relay worker threads, their journals too (summed).
      const s = engine.sink?.journalState();
      if (!s) return undefined;
      return { bytes: s.bytes, maxBytes: s.maxBytes, full: s.full, dropped: s.dropped, ...(s.writeError ? { writeError: s.writeError.code } : {}) };
    },
    tls: () => ({ intercepting: engine.tls?.authority !== undefined, summary: tlsSummary() }),
    listeners: () => engine.listeners.map((l) => l.url),
    plugins: () =>
      engine.plugins.map((p) => ({
        name: p.name,
        kind: p.kind ?? '?',
        version: p.version,
        status: p.status,
        ...(p.error ? { error: p.error.message } : {}),
      })),
    caCertificate: () => engine.tls?.authority?.certPem,
    onEvents: (listener) => engine.onEvents(guardedListener(listener, log)),
  };
}

/**
 * Where a parser's error points: `line 3: ...` (word list, ACL), `... at line 3, column 5` (YAML), or a key path
 * (`users.dave.protocols: ...`, the policy schema), found as the first line that names its last key.
 */
export function problemsOf(parse: (text: string) => unknown, text: string): Array<{ line: number; message: string }> {
  try {
    parse(text);
    return [];
  } catch (error) {
    const message = (error as Error).message;
    const numbered = /^line (\d+): (.*)$/s.exec(message);
    if (numbered) return [{ line: Number(numbered[1]), message: numbered[2]! }];
    const yaml = /at line (\d+), column \d+/.exec(message);
    if (yaml) return [{ line: Number(yaml[1]), message: message.split('\n')[0]! }];
    const keyPath = /^([\w.-]+): /.exec(message)?.[1];
    const key = keyPath
      ?.split('.')
      .filter((k) => !/^\d+$/.test(k))
      .at(-1);
    const lines = text.split(/\r?\n/);
    const at = key ? lines.findIndex((l) => new RegExp(`^\\s*["']?${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}["']?\\s*:`).test(l)) : -1;
    return [{ line: at >= 0 ? at + 1 : 1, message }];
  }
}

/**
 * One user's entry of the policy file (`users.<local id>`), edited in place: the YAML document is changed at that
 * key only (comments and the other entries kept), checked with the filter's parser, then written whole and renamed.
 */
function userPolicyAccess(file: string, parse: (text: string) => { users?: Record<string, UserPolicyEntry> }, blockable: readonly string[], protocols: string[]): UserPolicyAccess {
  const read = () => readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? '' : Promise.reject(error)));
  return {
    protocols,
    blockable,
    get: async (localId) => parse(await read()).users?.[localId] ?? null,
    set: async (localId, entry) => {
      const { parseDocument } = await import('yaml');
      const doc = parseDocument(await read());
      const empty = !entry || ((entry.protocols === undefined || entry.protocols.length === 0) && Object.keys(entry.block ?? {}).length === 0);
      if (empty) {
        if (doc.hasIn(['users', localId])) doc.deleteIn(['users', localId]);
      } else {
        if (doc.contents === null) doc.contents = doc.createNode({}) as unknown as typeof doc.contents;
        const value: UserPolicyEntry = {};
        if (entry!.protocols && entry!.protocols.length > 0) value.protocols = entry!.protocols;
        if (entry!.block && Object.keys(entry!.block).length > 0) value.block = entry!.block;
        doc.setIn(['users', localId], doc.createNode(value));
      }
      const text = doc.toString({ flowCollectionPadding: false });
      parse(text); // throws with the filter's own message
      const temp = `${file}.console-${process.pid}.tmp`;
      await writeFile(temp, text, { mode: 0o640 });
      await rename(temp, file);
    },
  };
}

/** A line `deny USER CONTACT` of the [all] scope: how the console writes a user's blocked contact. */
function isOwnDenyLine(line: string, localId: string): boolean {
  const words = line.trim().split(/\s+/);
  return words.length === 3 && words[0] === 'deny' && words[1]!.toLowerCase() === localId.toLowerCase();
}

/**
 * A user's blocked contacts in the ACL: read from every `deny` rule naming the user outside [protocol] sections;
 * written as one `deny USER CONTACT` line each at the top of the file (first match wins, so before any `allow`),
 * replacing the user's one-contact `deny` lines there; everything else in the file stays as written.
 */
function blockedContactsAccess(
  file: string,
  parse: (text: string) => Array<{ action: string; local: string | undefined; remotes: string[]; protocol: string | undefined }>,
): BlockedContactsAccess {
  const read = () => readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? '' : Promise.reject(error)));
  return {
    get: async (localId) => {
      const id = localId.toLowerCase();
      const rules = parse(await read()).filter((r) => r.action === 'deny' && r.local === id && r.protocol === undefined);
      return [...new Set(rules.flatMap((r) => r.remotes))];
    },
    set: async (localId, contacts) => {
      const lines = (await read()).split('\n');
      const firstSection = lines.findIndex((l) => /^\s*\[[A-Za-z0-9_.-]+\]\s*$/.test(l));
      const end = firstSection < 0 ? lines.length : firstSection;
      const kept = lines.filter((line, i) => !(i < end && isOwnDenyLine(line, localId)));
      const text = [...[...new Set(contacts)].map((c) => `deny ${localId} ${c}`), ...kept].join('\n');
      parse(text); // throws with the filter's own message
      const temp = `${file}.console-${process.pid}.tmp`;
      await writeFile(temp, text.endsWith('\n') || text.length === 0 ? text : `${text}\n`, { mode: 0o640 });
      await rename(temp, file);
    },
  };
}

async function policyAccess(engine: Engine, loaded: LoadedConfig): Promise<PolicyAccess> {
  const files: PolicyFile[] = [];
  const loadedFilter = (name: string) => engine.plugins.some((p) => p.name === name && p.status === 'loaded');
  const fileOption = (name: string) => {
    const file = (loaded.config.plugins[name]?.options as { file?: unknown } | undefined)?.file;
    return typeof file === 'string' && loadedFilter(name) ? path.resolve(loaded.baseDir, file) : undefined;
  };
  const words = fileOption('filter-badwords');
  if (words) {
    const { parseWordList } = await import('@imspect/filter-badwords');
    files.push({ id: 'badwords', title: 'Bad words', file: words, check: (text) => problemsOf(parseWordList, text) });
  }
  const acl = fileOption('filter-acl');
  let blockedContacts: BlockedContactsAccess | undefined;
  if (acl) {
    const { parseAcl } = await import('@imspect/filter-acl');
    files.push({ id: 'acl', title: 'ACL', file: acl, check: (text) => problemsOf(parseAcl, text) });
    blockedContacts = blockedContactsAccess(acl, parseAcl);
  }
  const policyFile = fileOption('filter-policy');
  let userPolicy: UserPolicyAccess | undefined;
  if (policyFile) {
    const { BLOCKABLE } = await import('@imspect/filter-policy');
    const { parsePolicyFile } = await import('@imspect/filter-policy/file');
    files.push({ id: 'policy', title: 'Per-user policy', file: policyFile, check: (text) => problemsOf(parsePolicyFile, text) });
    userPolicy = userPolicyAccess(policyFile, parsePolicyFile, BLOCKABLE, engine.registry?.all.map((p) => p.name) ?? []);
  }
  // The monitoring notice, when it is kept in a file (responses.notice.file): one message per line.
  const notice = loaded.config.responses.notice.file;
  if (notice) {
    files.push({
      id: 'notice',
      title: 'Monitoring notice',
      file: notice,
      check: (text) => (text.trim().length === 0 ? [{ line: 1, message: 'the notice is empty: write the text users are shown, one message per line' }] : []),
    });
  }
  // The blocked reply and a notice written inline: keys of the configuration file (console-config-text.ts).
  const blocked = configText(loaded, ['responses', 'blocked', 'text'], () => loaded.config.responses.blocked.text);
  files.push({
    id: 'blocked-reply',
    title: 'Blocked reply',
    file: blocked.where,
    read: blocked.read,
    write: blocked.write,
    refusal: blocked.refusal,
    check: (text) =>
      text.trim().length === 0 ? [{ line: 1, message: 'the reply is empty: write what a blocked sender is told (or set responses.blocked.enabled to false)' }] : [],
  });
  if (!notice) {
    const inline = configText(loaded, ['responses', 'notice', 'text'], () => loaded.config.responses.notice.text);
    files.push({
      id: 'notice-text',
      title: 'Monitoring notice',
      file: inline.where,
      read: inline.read,
      write: inline.write,
      refusal: inline.refusal,
      check: (text) => (text.trim().length === 0 ? [{ line: 1, message: 'the notice is empty: write the text users are shown, one message per line' }] : []),
    });
  }
  return {
    files,
    userPolicy,
    blockedContacts,
    reload: async () => {
      const result = await engine.reload();
      return { ok: result.ok, problems: result.problems };
    },
  };
}

/**
 * Starts the console when `console.enabled`: after the engine, so it reads live state from the start. A port
 * it cannot bind throws (start-up error); later failures stay inside the console (Fastify answers 500, stray
 * errors are contained), and relaying goes on.
 */
export async function startConsoleFor(
  engine: Engine,
  loaded: LoadedConfig,
  certificateFiles: ConsoleTls | undefined,
  tlsSummary: () => string,
): Promise<RunningConsole | undefined> {
  const section = loaded.config.console;
  if (!section.enabled) return undefined;
  const { startConsole } = await import('@imspect/console');
  const https = section.tls ? (certificateFiles ?? (await mintedCertificate(engine, loaded))) : undefined;
  let archive: import('@imspect/logger-sql').ArchiveStore | undefined;
  const sqlLoaded = engine.plugins.some((p) => p.name === 'logger-sql' && p.status === 'loaded');
  if (sqlLoaded) {
    const sql = await import('@imspect/logger-sql');
    archive = sql.openArchive(sql.resolveTarget(loaded.config.plugins['logger-sql']?.options as Record<string, unknown> | undefined, loaded.dataDir), { inWorker: true });
  }
  const log = engine.log.child({ part: 'console' });
  const running = await startConsole({
    host: section.host,
    port: section.port,
    dataDir: loaded.dataDir,
    live: liveSource(engine, tlsSummary, log),
    archive,
    policy: await policyAccess(engine, loaded),
    log,
    secure: https !== undefined,
    https,
    sessionIdleMs: section.sessionIdleMinutes * 60_000,
    sessionMaxMs: section.sessionMaxHours * 3_600_000,
  }).catch(async (error: unknown) => {
    await archive?.close().catch(() => undefined);
    throw error;
  });
  return {
    ...running,
    close: async () => {
      await running.close();
      await archive?.close();
    },
  };
}
