/**
 * Every API route, walked: without a session only the public ones answer; an auditor is refused every admin
 * route; a state change needs the session's own CSRF token and the same origin. Through Fastify's inject (no
 * browser): the browser tests do the same through chromium for the main paths.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlArchive } from '@imspect/logger-sql/archive';
import { buildConsoleServer, ConsoleUsers, SESSION_COOKIE } from '../dist/index.js';

const quiet = { info() {}, warn() {}, error() {} };

describe('console access control', () => {
  let dir: string;
  let archive: SqlArchive;
  let app: Awaited<ReturnType<typeof buildConsoleServer>>;

  async function login(name: string, password: string): Promise<{ cookie: string; csrfToken: string }> {
    const res = await app.inject({ method: 'POST', url: '/api/login', payload: { name, password } });
    expect(res.statusCode).toBe(200);
    const cookie = res.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    return { cookie, csrfToken: (res.json() as { csrfToken: string }).csrfToken };
  }

  const concrete = (url: string) => url.replace(':id', 'badwords');

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-console-access-'));
    archive = new SqlArchive({ kind: 'sqlite', file: path.join(dir, 'a.sqlite'), synchronous: 'normal' });
    const users = new ConsoleUsers(dir);
    await users.add('ada', 'admin', 'admin password 1');
    await users.add('otto', 'auditor', 'auditor password 1');
    const live = {
      sessions: () => [],
      loggers: () => [],
      journal: () => undefined,
      tls: () => ({ intercepting: false, summary: 'off' }),
      listeners: () => [],
      onEvents: () => () => undefined,
    };
    const policy = {
      files: [
        { id: 'badwords', title: 'Bad words', file: path.join(dir, 'words.txt'), check: () => [] },
        // Texts kept in a configuration imspect does not rewrite, and in one it cannot write.
        {
          id: 'blocked-reply',
          title: 'Blocked reply',
          file: 'imspect.config.js → responses.blocked.text',
          check: () => [],
          read: async () => 'Blocked: {what}',
          write: async () => undefined,
          refusal: 'the configuration imspect.config.js is a program, which imspect does not rewrite',
        },
        {
          id: 'notice-text',
          title: 'Monitoring notice',
          file: 'imspect.config.yaml → responses.notice.text',
          check: () => [],
          read: async () => 'Logged',
          write: async () => Promise.reject(new Error('cannot write imspect.config.yaml (permission denied to the user imspect runs as)')),
        },
      ],
      reload: async () => ({ ok: true, problems: [] }),
    };
    app = await buildConsoleServer({ dataDir: dir, live, archive, policy, log: quiet, secure: false, sessionIdleMs: 600_000, sessionMaxMs: 3_600_000 });
    await app.ready();
  });

  afterAll(async () => {
    await app?.close();
    await archive?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('declares a role on every API route, and only logging in and the session probe are public', () => {
    expect(app.apiRoutes.length).toBeGreaterThanOrEqual(15);
    expect(app.apiRoutes.filter((r) => r.access === 'public').map((r) => `${r.method} ${r.url}`)).toEqual(['POST /api/login', 'GET /api/session']);
    expect(app.apiRoutes.filter((r) => r.access === 'admin').map((r) => `${r.method} ${r.url}`)).toEqual(expect.arrayContaining(['GET /api/audit', 'PUT /api/policy/:id']));
  });

  it('answers no route but the public ones without a session, or with a forged or foreign cookie', async () => {
    for (const route of app.apiRoutes.filter((r) => r.access !== 'public')) {
      for (const cookie of [undefined, `${SESSION_COOKIE}=forged`, `${SESSION_COOKIE}=${'A'.repeat(43)}.signature`]) {
        const res = await app.inject({
          method: route.method as 'GET',
          url: concrete(route.url),
          ...(cookie ? { headers: { cookie } } : {}),
          ...(route.method === 'GET' ? {} : { payload: {} }),
        });
        expect(res.statusCode, `${route.method} ${route.url} with ${cookie ?? 'no cookie'}`).toBe(401);
      }
    }
  });

  it("refuses an auditor every admin route, even with the auditor's own CSRF token", async () => {
    const { cookie, csrfToken } = await login('otto', 'auditor password 1');
    for (const route of app.apiRoutes.filter((r) => r.access === 'admin')) {
      const res = await app.inject({
        method: route.method as 'GET',
        url: concrete(route.url),
        headers: { cookie, 'x-csrf-token': csrfToken },
        ...(route.method === 'GET' ? {} : { payload: { text: 'x\n' } }),
      });
      expect(res.statusCode, `${route.method} ${route.url}`).toBe(403);
    }
    for (const route of app.apiRoutes.filter((r) => r.access === 'auditor' && r.method === 'GET' && r.url !== '/api/live' && r.url !== '/api/ca.crt')) {
      const res = await app.inject({ method: 'GET', url: `${concrete(route.url)}?protocol=irc&user=a&with=b&id=a`, headers: { cookie } });
      expect(res.statusCode, `${route.method} ${route.url}`).toBe(200);
    }
  });

  it("needs the session's own CSRF token, a JSON body and the same origin for a change", async () => {
    const admin = await login('ada', 'admin password 1');
    const other = await login('otto', 'auditor password 1');
    const put = (headers: Record<string, string>, payload: unknown = { text: 'darn\n' }) =>
      app.inject({ method: 'PUT', url: '/api/policy/badwords', headers: { cookie: admin.cookie, ...headers }, payload: payload as object });
    expect((await put({})).statusCode).toBe(403);
    expect((await put({ 'x-csrf-token': 'forged' })).statusCode).toBe(403);
    expect((await put({ 'x-csrf-token': other.csrfToken })).statusCode).toBe(403);
    expect((await put({ 'x-csrf-token': admin.csrfToken, origin: 'http://evil.example' })).statusCode).toBe(403);
    const form = await app.inject({
      method: 'PUT',
      url: '/api/policy/badwords',
      headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrfToken, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'text=darn',
    });
    expect(form.statusCode).toBe(415);
    expect((await put({ 'x-csrf-token': admin.csrfToken })).statusCode).toBe(200);
  });

  it('refuses to change a configuration text it may not or cannot write, saying why, and audits the refusal', async () => {
    const admin = await login('ada', 'admin password 1');
    const headers = { cookie: admin.cookie, 'x-csrf-token': admin.csrfToken };
    const shown = await app.inject({ method: 'GET', url: '/api/policy/blocked-reply', headers: { cookie: admin.cookie } });
    expect(shown.json()).toMatchObject({ text: 'Blocked: {what}', refusal: expect.stringMatching(/is a program/) });
    const refused = await app.inject({ method: 'PUT', url: '/api/policy/blocked-reply', headers, payload: { text: 'Stopped' } });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error).toMatch(/does not rewrite/);
    const unwritable = await app.inject({ method: 'PUT', url: '/api/policy/notice-text', headers, payload: { text: 'New notice' } });
    expect(unwritable.statusCode).toBe(409);
    expect(unwritable.json().error).toMatch(/permission denied/);
    const audit = (await archive.listAudit({ size: 20 })).find((e) => e.action === 'refused' && e.detail['policy'] === 'blocked-reply');
    expect(audit?.actor).toBe('ada');
  });

  it('sends the security headers with every answer', async () => {
    for (const url of ['/', '/api/session', '/api/dashboard']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.headers['content-security-policy'], url).toMatch(/script-src 'self'/);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('DENY');
    }
  });
});
