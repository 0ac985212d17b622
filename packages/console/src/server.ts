/**
 * The console's HTTP side (Fastify): the built front end as static files, and a JSON API under /api that
 * checks a session and a role on every call. Cookies are HttpOnly and SameSite=Strict (Secure under HTTPS);
 * every state-changing call needs the session's CSRF token and a JSON body; logins are rate-limited per address
 * and failed ones slowed per name; every login, search, transcript, export and change is written to the audit
 * trail in the archive.
 */
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import { rename, writeFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseTime, type ArchivedMessage, type PageCursor, type SearchQuery } from '@imspect/logger-sql';
import { ActivityCounts } from './activity.js';
import { csvHeader, csvRow, jsonlRow } from './export.js';
import { LiveHub, type LiveFilter } from './live.js';
import { LoginThrottle } from './login-throttle.js';
import { SessionStore, type ConsoleSession } from './sessions.js';
import type { ArchiveAccess, ConsoleLogger, LiveSource, PolicyAccess } from './source.js';
import { ConsoleUsers } from './users.js';

export const SESSION_COOKIE = 'imspect_console';

export interface ConsoleServerOptions {
  dataDir: string;
  live: LiveSource;
  /** The SQL archive; without it the archive pages say so and the audit trail goes to the operational log only. */
  archive?: ArchiveAccess | undefined;
  policy?: PolicyAccess | undefined;
  log: ConsoleLogger;
  /** Served over HTTPS: cookies get Secure. */
  secure: boolean;
  sessionIdleMs: number;
  sessionMaxMs: number;
  /** HTTPS material for Fastify, when `secure`. */
  https?: { cert: string; key: string } | undefined;
  /** The front end's files (default: the package's web-dist). */
  webRoot?: string;
  /** How often live-view streams are kept alive and their sessions checked (default 15 s). */
  liveHeartbeatMs?: number;
  /** Login attempts per address per minute (default 20). */
  loginsPerMinute?: number;
}

type Access = 'public' | 'auditor' | 'admin';

declare module 'fastify' {
  interface FastifyInstance {
    /** The live view's streams (tests and the bench read its stats). */
    liveHub: LiveHub;
    /** Every API route with the role it declared. */
    apiRoutes: ReadonlyArray<{ method: string; url: string; access: 'public' | 'auditor' | 'admin' }>;
  }
  interface FastifyRequest {
    consoleSession?: ConsoleSession;
  }
  interface FastifyContextConfig {
    access?: Access;
  }
}

const DEFAULT_WEB_ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'web-dist');
const PAGE_SIZE = 50;
/**
 * Most characters of a text the pages get: a browser lays out one unbroken 100,000-character word in seconds, a
 * megabyte in minutes. The exports have every text whole.
 */
export const TEXT_PREVIEW_CHARS = 4000;
const MAX_PAGE_SIZE = 500;
const EXPORT_PAGE = 1000;

/** The front end loads only its own files and talks only to this server: injected markup could run nothing. */
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

function encodeCursor(cursor: PageCursor | undefined): string | undefined {
  return cursor ? Buffer.from(`${cursor.atMs}.${cursor.id}`).toString('base64url') : undefined;
}

function decodeCursor(text: unknown): PageCursor | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > 64) return undefined;
  const match = /^(\d{1,16})\.(\d{1,16})$/.exec(Buffer.from(text, 'base64url').toString('latin1'));
  return match ? { atMs: Number(match[1]), id: Number(match[2]) } : undefined;
}

function stringParam(query: unknown, key: string, max = 1000): string | undefined {
  const value = (query as Record<string, unknown>)[key];
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  return text.length === 0 ? undefined : text.slice(0, max);
}

/** A message as the pages show it: long texts cut, with their length. */
export function preview(m: ArchivedMessage): ArchivedMessage & { textChars?: number; deliveredTextChars?: number } {
  const cut = (text: string | null) => (text !== null && text.length > TEXT_PREVIEW_CHARS ? text.slice(0, TEXT_PREVIEW_CHARS) : text);
  return {
    ...m,
    text: cut(m.text),
    deliveredText: cut(m.deliveredText),
    fileName: cut(m.fileName),
    ...(m.text !== null && m.text.length > TEXT_PREVIEW_CHARS ? { textChars: m.text.length } : {}),
    ...(m.deliveredText !== null && m.deliveredText.length > TEXT_PREVIEW_CHARS ? { deliveredTextChars: m.deliveredText.length } : {}),
  };
}

class BadRequest extends Error {
  readonly statusCode = 400;
}

/** The archive query from the search form's fields; a bad time is a 400 naming it. */
export function searchQuery(params: unknown): Omit<SearchQuery, 'limit'> {
  const q: Omit<SearchQuery, 'limit'> = {};
  const text = stringParam(params, 'text');
  const user = stringParam(params, 'user');
  const other = stringParam(params, 'with');
  const protocol = stringParam(params, 'protocol', 64);
  const network = stringParam(params, 'network');
  if (text) q.text = text;
  if (user) q.user = user;
  if (other) q.with = other;
  if (protocol) q.protocol = protocol;
  if (network) q.network = network;
  for (const [key, field] of [
    ['since', 'sinceMs'],
    ['until', 'untilMs'],
  ] as const) {
    const value = stringParam(params, key, 64);
    if (value === undefined) continue;
    try {
      q[field] = parseTime(value);
    } catch (error) {
      throw new BadRequest(`${key}: ${(error as Error).message}`);
    }
  }
  if (stringParam(params, 'blocked', 8) === '1') q.blocked = true;
  const type = stringParam(params, 'type', 32);
  if (type) q.types = [type];
  return q;
}

export async function buildConsoleServer(options: ConsoleServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    bodyLimit: 2 * 1024 * 1024,
    ...(options.https ? { https: { cert: options.https.cert, key: options.https.key, minVersion: 'TLSv1.2' as const } } : {}),
  }) as unknown as FastifyInstance;
  const users = new ConsoleUsers(options.dataDir);
  const sessions = new SessionStore(options.sessionIdleMs, options.sessionMaxMs);
  const throttle = new LoginThrottle();
  const hub = new LiveHub(options.live, options.liveHeartbeatMs, (error) =>
    log.error({ err: { message: (error as Error)?.message ?? String(error) } }, 'console: a live-view stream failed and was closed; relaying and archiving go on'),
  );
  const { archive, log } = options;
  const activityCounts = archive ? new ActivityCounts(archive) : undefined;
  // Counted once in the background at start, so the first dashboard does not wait for a week of the archive.
  if (activityCounts) {
    const at = Date.now();
    activityCounts
      .buckets(at, 3_600_000, 24)
      .then(() => activityCounts.buckets(at, 6 * 3_600_000, 28))
      .catch(() => undefined);
  }
  const cookieBase = { path: '/', httpOnly: true, sameSite: 'strict' as const, secure: options.secure };
  // Every API route and the role it declared (tests walk them all).
  const apiRoutes: Array<{ method: string; url: string; access: Access }> = [];
  app.decorate('apiRoutes', apiRoutes);
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/api/')) return;
    for (const method of [route.method].flat()) if (method !== 'HEAD') apiRoutes.push({ method, url: route.url, access: route.config?.access ?? 'admin' });
  });

  await app.register(fastifyCookie, { secret: randomBytes(32) });
  await app.register(fastifyCsrf, {
    cookieKey: 'imspect_csrf',
    cookieOpts: { ...cookieBase, signed: true },
    // The token is bound to the session: one taken from another session (or before login) is refused.
    getUserInfo: (req: FastifyRequest) => req.consoleSession?.id ?? '',
    csrfOpts: { hmacKey: randomBytes(32) },
  });
  await app.register(fastifyRateLimit, { global: false });

  app.addHook('onSend', async (_request, reply, payload) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) reply.header(name, value);
    if (options.secure) reply.header('strict-transport-security', 'max-age=31536000');
    return payload;
  });

  /** The session behind the cookie, checked against the users file: a removed user or a changed password or role ends it. */
  async function resolveSession(request: FastifyRequest): Promise<ConsoleSession | undefined> {
    const raw = request.cookies[SESSION_COOKIE];
    const unsigned = raw ? request.unsignCookie(raw) : undefined;
    return validSession(unsigned?.valid ? (unsigned.value ?? undefined) : undefined);
  }

  async function validSession(id: string | undefined): Promise<ConsoleSession | undefined> {
    const session = sessions.touch(id);
    if (!session) return undefined;
    const user = await users.find(session.user).catch(() => undefined);
    if (!user || user.role !== session.role || user.changed !== session.userChanged) {
      sessions.end(session.id);
      return undefined;
    }
    return session;
  }

  // Every API route says who may call it (`config.access`); a route that does not is for admins only.
  app.addHook('onRequest', async (request, reply) => {
    // Decided by the route matched, not by the URL's spelling: every API route is under /api/.
    const route = request.routeOptions.url;
    if (route === undefined || !route.startsWith('/api/')) {
      if (request.url.startsWith('/api/')) return reply.code(404).send({ error: 'no such API' });
      return;
    }
    const access: Access = request.routeOptions.config?.access ?? 'admin';
    const session = await resolveSession(request);
    if (session) request.consoleSession = session;
    if (access === 'public') return;
    if (!session) return reply.code(401).send({ error: 'not logged in' });
    if (access === 'admin' && session.role !== 'admin') {
      void audit(request, 'refused', { method: request.method, url: request.url.slice(0, 200) });
      return reply.code(403).send({ error: 'this needs the admin role' });
    }
  });

  // State changes: same origin only, JSON only, and (but for logging in) the session's CSRF token.
  app.addHook('preHandler', (request, reply, done) => {
    if (request.method === 'GET' || request.method === 'HEAD') return done();
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== `${options.secure ? 'https' : 'http'}://${request.headers.host}`) {
      reply.code(403).send({ error: 'cross-origin request refused' });
      return;
    }
    if (request.routeOptions.config?.access === 'public') return done();
    app.csrfProtection(request, reply, done);
  });

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) log.error({ err: { message: error.message, code: error.code }, url: request.url.slice(0, 200) }, 'console request failed');
    const message =
      error.code === 'FST_CSRF_INVALID_TOKEN' || error.code === 'FST_CSRF_MISSING_SECRET' ? 'missing or invalid CSRF token' : status >= 500 ? 'internal error' : error.message;
    void reply.code(status).send({ error: message });
  });

  /** Writes one audit entry; false when it could not be stored (the caller then refuses to show the data). */
  async function audit(request: FastifyRequest, action: string, detail: Record<string, unknown>, actor?: string): Promise<boolean> {
    const session = request.consoleSession;
    const entry = { atMs: Date.now(), actor: actor ?? session?.user ?? '', role: session?.role ?? '', action, detail, source: request.ip };
    if (!archive) {
      log.info({ audit: entry }, `console audit: ${action}`);
      return true;
    }
    try {
      await archive.appendAudit(entry);
      return true;
    } catch (error) {
      log.error({ err: { message: (error as Error).message }, action }, 'console: the audit trail could not be written');
      return false;
    }
  }

  function needArchive(reply: FastifyReply): ArchiveAccess | undefined {
    if (!archive) void reply.code(503).send({ error: 'no SQL archive: enable the logger-sql plugin to search conversations' });
    return archive;
  }

  // Session ------------------------------------------------------------------------------------------------

  app.post(
    '/api/login',
    {
      config: { access: 'public', rateLimit: { max: options.loginsPerMinute ?? 20, timeWindow: 60_000 } },
      schema: {
        body: {
          type: 'object',
          required: ['name', 'password'],
          additionalProperties: false,
          properties: { name: { type: 'string', maxLength: 256 }, password: { type: 'string', maxLength: 1024 } },
        },
      },
    },
    async (request, reply) => {
      const { name, password } = request.body as { name: string; password: string };
      const wait = throttle.retryAfter(name, request.ip);
      if (wait > 0) {
        await audit(request, 'login-throttled', { name }, name);
        return reply
          .code(429)
          .header('retry-after', String(Math.ceil(wait / 1000)))
          .send({ error: `too many failed logins: try again in ${Math.ceil(wait / 1000)} s` });
      }
      const user = await users.verify(name, password);
      if (!user) {
        throttle.failed(name, request.ip);
        await audit(request, 'login-failed', { name }, name);
        return reply.code(401).send({ error: 'wrong name or password' });
      }
      throttle.succeeded(name, request.ip);
      const previous = request.consoleSession;
      if (previous) sessions.end(previous.id);
      const session = sessions.create(user.name, user.role, user.changed, request.ip);
      request.consoleSession = session;
      await audit(request, 'login', {});
      reply.setCookie(SESSION_COOKIE, session.id, { ...cookieBase, signed: true, maxAge: sessions.cookieMaxAgeSeconds });
      return { user: user.name, role: user.role, csrfToken: reply.generateCsrf({ userInfo: session.id }) };
    },
  );

  app.post('/api/logout', { config: { access: 'auditor' } }, async (request, reply) => {
    await audit(request, 'logout', {});
    sessions.end(request.consoleSession!.id);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return { ok: true };
  });

  app.get('/api/session', { config: { access: 'public' } }, async (request, reply) => {
    const session = request.consoleSession;
    if (!session) return reply.code(401).send({ error: 'not logged in' });
    return { user: session.user, role: session.role, csrfToken: reply.generateCsrf({ userInfo: session.id }) };
  });

  // Live state ---------------------------------------------------------------------------------------------

  app.get('/api/dashboard', { config: { access: 'auditor' } }, async () => {
    const online = await options.live.sessions();
    const perProtocol: Record<string, number> = {};
    for (const s of online) perProtocol[s.protocol] = (perProtocol[s.protocol] ?? 0) + 1;
    const now = Date.now();
    const hour = 3_600_000;
    let activity;
    if (archive) {
      try {
        const day = await activityCounts!.buckets(now, hour, 24);
        const week = await activityCounts!.buckets(now, 6 * hour, 28);
        activity = { day: day.buckets, week: week.buckets, dayStart: day.start, weekStart: week.start };
      } catch (error) {
        log.warn({ err: { message: (error as Error).message } }, 'console: activity query failed');
      }
    }
    return {
      now,
      online: online.filter((s) => s.localId !== undefined).sort((a, b) => a.since - b.since),
      connections: online.length,
      perProtocol,
      loggers: options.live.loggers(),
      journal: options.live.journal() ?? null,
      tls: options.live.tls(),
      listeners: options.live.listeners(),
      archive: archive ? archive.kind : null,
      activity: activity ?? null,
    };
  });

  app.get('/api/live', { config: { access: 'auditor' } }, async (request, reply) => {
    const filter: LiveFilter = {};
    const protocol = stringParam(request.query, 'protocol', 64);
    const user = stringParam(request.query, 'user', 256);
    const type = stringParam(request.query, 'type', 32);
    if (protocol) filter.protocol = protocol;
    if (user) filter.user = user;
    if (type) filter.types = [type];
    const session = request.consoleSession!;
    reply.hijack();
    const headers = { ...SECURITY_HEADERS };
    const opened = hub.open(reply.raw, filter, async () => (await validSession(session.id)) !== undefined, headers);
    if (!opened) {
      reply.raw.writeHead(503, { 'content-type': 'application/json', ...headers });
      reply.raw.end(JSON.stringify({ error: 'too many live views open' }));
    }
  });

  app.get('/api/system', { config: { access: 'auditor' } }, async () => ({
    plugins: options.live.plugins?.() ?? [],
    listeners: options.live.listeners(),
    tls: options.live.tls(),
    ca: options.live.caCertificate?.() !== undefined,
    loggers: options.live.loggers(),
    journal: options.live.journal() ?? null,
    archive: archive ? archive.kind : null,
  }));

  app.get('/api/ca.crt', { config: { access: 'auditor' } }, async (_request, reply) => {
    const pem = options.live.caCertificate?.();
    if (pem === undefined) return reply.code(404).send({ error: 'no CA: imspect ca init creates one' });
    return reply.header('content-type', 'application/x-pem-file').header('content-disposition', 'attachment; filename="imspect-ca.crt"').send(pem);
  });

  // Archive ------------------------------------------------------------------------------------------------

  app.get('/api/search', { config: { access: 'auditor' } }, async (request, reply) => {
    const store = needArchive(reply);
    if (!store) return reply;
    const query = searchQuery(request.query);
    const size = Math.min(MAX_PAGE_SIZE, Math.max(1, Number(stringParam(request.query, 'size', 8) ?? PAGE_SIZE) || PAGE_SIZE));
    const after = decodeCursor(stringParam(request.query, 'cursor', 64));
    if (!(await audit(request, 'search', { query, page: after ? 'next' : 'first' }))) return reply.code(503).send({ error: 'the audit trail cannot be written' });
    const page = await store.page(query, { ...(after ? { after } : {}), size, newestFirst: true });
    return { messages: page.messages.map(preview), next: encodeCursor(page.next) ?? null };
  });

  app.get('/api/transcript', { config: { access: 'auditor' } }, async (request, reply) => {
    const store = needArchive(reply);
    if (!store) return reply;
    const protocol = stringParam(request.query, 'protocol', 64);
    const user = stringParam(request.query, 'user');
    const other = stringParam(request.query, 'with');
    if (!protocol || !user || !other) return reply.code(400).send({ error: 'a transcript needs protocol, user and with' });
    const network = stringParam(request.query, 'network');
    const query: Omit<SearchQuery, 'limit'> = { protocol, user, with: other, ...(network ? { network } : {}) };
    const after = decodeCursor(stringParam(request.query, 'cursor', 64));
    if (!(await audit(request, 'transcript', { protocol, user, with: other, ...(network ? { network } : {}) }))) {
      return reply.code(503).send({ error: 'the audit trail cannot be written' });
    }
    const page = await store.page(query, { ...(after ? { after } : {}), size: 200 });
    return { messages: page.messages.map(preview), next: encodeCursor(page.next) ?? null };
  });

  app.get('/api/export', { config: { access: 'auditor' } }, async (request, reply) => {
    const store = needArchive(reply);
    if (!store) return reply;
    const format = stringParam(request.query, 'format', 8) ?? 'csv';
    if (format !== 'csv' && format !== 'jsonl') return reply.code(400).send({ error: 'format: csv or jsonl' });
    const query = searchQuery(request.query);
    if (!(await audit(request, 'export', { format, query }))) return reply.code(503).send({ error: 'the audit trail cannot be written' });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    reply
      .header('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
      .header('content-disposition', `attachment; filename="imspect-export-${stamp}.${format}"`)
      .header('cache-control', 'no-store');
    const row = format === 'csv' ? csvRow : jsonlRow;
    // Page by page, oldest first: an export of the whole archive in bounded memory.
    async function* rows(): AsyncGenerator<string> {
      if (format === 'csv') yield csvHeader();
      let after: PageCursor | undefined;
      for (;;) {
        const page: { messages: ArchivedMessage[]; next?: PageCursor } = await store!.page(query, { ...(after ? { after } : {}), size: EXPORT_PAGE });
        if (page.messages.length > 0) yield page.messages.map(row).join('');
        if (!page.next) return;
        after = page.next;
      }
    }
    return reply.send(Readable.from(rows()));
  });

  app.get('/api/users', { config: { access: 'auditor' } }, async (request, reply) => {
    const store = needArchive(reply);
    if (!store) return reply;
    const prefix = stringParam(request.query, 'prefix', 256);
    if (!(await audit(request, 'users', prefix ? { prefix } : {}))) return reply.code(503).send({ error: 'the audit trail cannot be written' });
    return { users: await store.localUsers({ ...(prefix ? { prefix } : {}), limit: 200 }) };
  });

  app.get('/api/user', { config: { access: 'auditor' } }, async (request, reply) => {
    const store = needArchive(reply);
    if (!store) return reply;
    const localId = stringParam(request.query, 'id');
    if (!localId) return reply.code(400).send({ error: 'which user: id' });
    if (!(await audit(request, 'user-view', { localId }))) return reply.code(503).send({ error: 'the audit trail cannot be written' });
    const detail = await store.userDetail(localId, { limit: 500 });
    const online = (await options.live.sessions()).filter((s) => s.localId === localId);
    return { localId, online, ...detail };
  });

  app.get('/api/audit', { config: { access: 'admin' } }, async (request, reply) => {
    const store = needArchive(reply);
    if (!store) return reply;
    const before = Number(stringParam(request.query, 'before', 20));
    const entries = await store.listAudit({ ...(Number.isSafeInteger(before) && before > 0 ? { beforeId: before } : {}), size: 100 });
    return { entries, next: entries.length === 100 ? entries.at(-1)!.id : null };
  });

  // Policy -------------------------------------------------------------------------------------------------

  app.get('/api/policy', { config: { access: 'auditor' } }, async () => {
    const files = options.policy?.files ?? [];
    return { files: await Promise.all(files.map(async (f) => ({ id: f.id, title: f.title, file: f.file, exists: f.read ? true : existsSync(f.file) }))) };
  });

  app.get('/api/policy/:id', { config: { access: 'auditor' } }, async (request, reply) => {
    const file = options.policy?.files.find((f) => f.id === (request.params as { id: string }).id);
    if (!file) return reply.code(404).send({ error: 'no such policy file' });
    const text = file.read ? await file.read() : await readFile(file.file, 'utf8').catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? '' : Promise.reject(error)));
    return { id: file.id, title: file.title, file: file.file, text, problems: file.check(text), ...(file.refusal ? { refusal: file.refusal } : {}) };
  });

  app.put(
    '/api/policy/:id',
    {
      config: { access: 'admin' },
      schema: { body: { type: 'object', required: ['text'], additionalProperties: false, properties: { text: { type: 'string', maxLength: 1024 * 1024 } } } },
    },
    async (request, reply) => {
      const policy = options.policy;
      const file = policy?.files.find((f) => f.id === (request.params as { id: string }).id);
      if (!policy || !file) return reply.code(404).send({ error: 'no such policy file' });
      const { text } = request.body as { text: string };
      if (file.refusal) {
        await audit(request, 'refused', { policy: file.id, file: file.file, why: file.refusal });
        return reply.code(409).send({ error: file.refusal });
      }
      const problems = file.check(text);
      if (problems.length > 0) return reply.code(422).send({ error: 'the file does not parse', problems });
      if (file.write) {
        const before = await file.read!().catch(() => '');
        try {
          await file.write(text);
        } catch (error) {
          return reply.code(409).send({ error: (error as Error).message });
        }
        const reloaded = await policy.reload();
        await audit(request, 'change', { policy: file.id, file: file.file, ...lineChanges(before, text), reloaded: reloaded.ok });
        return { ok: reloaded.ok, problems: reloaded.problems };
      }
      const before = await readFile(file.file, 'utf8').catch(() => '');
      // Written whole, then renamed into place: the filter's watcher never reads half a file.
      const temp = `${file.file}.console-${process.pid}.tmp`;
      await writeFile(temp, text.endsWith('\n') || text.length === 0 ? text : `${text}\n`, { mode: 0o640 });
      await rename(temp, file.file);
      const reloaded = await policy.reload();
      await audit(request, 'change', { policy: file.id, file: file.file, ...lineChanges(before, text), reloaded: reloaded.ok });
      return { ok: reloaded.ok, problems: reloaded.problems };
    },
  );

  app.get('/api/user-policy', { config: { access: 'auditor' } }, async (request, reply) => {
    const access = options.policy?.userPolicy;
    const localId = stringParam(request.query, 'id');
    if (!localId) return reply.code(400).send({ error: 'which user: id' });
    const contacts = options.policy?.blockedContacts;
    return {
      available: access !== undefined,
      protocols: access?.protocols ?? [],
      blockable: access?.blockable ?? [],
      entry: access ? await access.get(localId) : null,
      acl: contacts !== undefined,
      blockedContacts: contacts ? await contacts.get(localId) : [],
    };
  });

  app.put(
    '/api/user-policy',
    {
      config: { access: 'admin' },
      schema: {
        body: {
          type: 'object',
          required: ['id'],
          additionalProperties: false,
          properties: {
            id: { type: 'string', minLength: 1, maxLength: 1000 },
            // One id per contact: no white space, not a comment or a section header of the ACL.
            blockedContacts: { type: 'array', maxItems: 1000, items: { type: 'string', minLength: 1, maxLength: 1000, pattern: '^[^\\s#\\[]\\S*$' } },
            entry: {
              anyOf: [
                { type: 'null' },
                {
                  type: 'object',
                  additionalProperties: false,
                  properties: {
                    protocols: { type: 'array', maxItems: 64, items: { type: 'string', minLength: 1, maxLength: 64 } },
                    block: { type: 'object', maxProperties: 32, additionalProperties: { type: 'boolean' } },
                  },
                },
              ],
            },
          },
        },
      },
    },
    async (request, reply) => {
      const policy = options.policy;
      const body = request.body as { id: string; entry?: { protocols?: string[]; block?: Record<string, boolean> } | null; blockedContacts?: string[] };
      const localId = body.id;
      const access = policy?.userPolicy;
      const contacts = policy?.blockedContacts;
      if (!policy || (body.entry !== undefined && !access) || (body.blockedContacts !== undefined && !contacts)) {
        return reply.code(404).send({ error: 'no policy file (plugins.filter-policy.options.file) or ACL (plugins.filter-acl.options.file) is configured for that' });
      }
      if (body.blockedContacts !== undefined && /\s/.test(localId)) return reply.code(400).send({ error: 'an id with white space cannot be written in the ACL' });
      const change: Record<string, unknown> = { policy: 'user', localId };
      try {
        if (body.entry !== undefined) {
          change['before'] = await access!.get(localId);
          await access!.set(localId, body.entry);
          change['after'] = body.entry;
        }
        if (body.blockedContacts !== undefined) {
          change['blockedBefore'] = await contacts!.get(localId);
          await contacts!.set(localId, body.blockedContacts);
          change['blockedAfter'] = body.blockedContacts;
        }
      } catch (error) {
        return reply.code(422).send({ error: (error as Error).message });
      }
      const reloaded = await policy.reload();
      await audit(request, 'change', { ...change, reloaded: reloaded.ok });
      return { ok: reloaded.ok, problems: reloaded.problems };
    },
  );

  // Front end ----------------------------------------------------------------------------------------------

  const webRoot = options.webRoot ?? DEFAULT_WEB_ROOT;
  if (existsSync(path.join(webRoot, 'index.html'))) {
    await app.register(fastifyStatic, { root: webRoot, index: 'index.html', cacheControl: false, setHeaders: (res) => res.header('cache-control', 'no-cache') });
  } else {
    app.get('/', { config: { access: 'public' } }, async (_request, reply) =>
      reply.code(503).type('text/plain').send('The console front end is not built: run pnpm build (or pnpm install) in the imspect folder.'),
    );
  }

  app.addHook('onClose', async () => hub.closeAll());
  app.decorate('liveHub', hub);
  return app;
}

/** Lines added and removed (at most 50 each), for the audit trail's record of what changed. */
function lineChanges(before: string, after: string): { added: string[]; removed: string[] } {
  const old = new Set(before.split('\n').map((l) => l.trim()));
  const now = new Set(after.split('\n').map((l) => l.trim()));
  const added = [...now].filter((l) => l.length > 0 && !old.has(l)).slice(0, 50);
  const removed = [...old].filter((l) => l.length > 0 && !now.has(l)).slice(0, 50);
  return { added, removed };
}
