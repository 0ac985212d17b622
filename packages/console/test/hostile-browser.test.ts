/**
 * Hostile ids and message text in a real browser (chromium): HTML, script, bidirectional overrides, a 1 MB
 * message. The console is built over a scripted live source and a real SQLite archive, so ids no IRC server
 * would accept reach the page. Everything must show as text, run nothing, and not widen the page. Also: the
 * live view's server side does not buffer for a reader that does not read.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ImEvent } from '@imspect/sdk';
import { testEvent } from '@imspect/sdk/testing';
import { SqlArchive } from '@imspect/logger-sql/archive';
import { ConsoleUsers, startConsole, type LiveSource, type RunningConsole } from '../dist/index.js';
import { chromiumMissing, launchBrowser } from '../../../test/support/browser.js';
import { describeWithService } from '../../../test/support/e2e.js';

/** The page's globals, as the functions evaluated in the browser use them (the tests compile without the DOM library). */
declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): { length: number };
  documentElement: { scrollWidth: number };
};
declare const window: { innerWidth: number };

const quiet = { info() {}, warn() {}, error() {} };
const SCRIPT_ID = '<img src=x onerror="window.__pwned=1">';
const BIDI_ID = 'evil\u202Egnp.exe';
const SCRIPT_TEXT = '<script>window.__pwned=2</script><b>bold?</b> &amp; done';
const HUGE = `${'A'.repeat(1024 * 1024 - 5)} tail`;

let seq = 0;
function hostile(over: Partial<ImEvent>): ImEvent {
  seq++;
  return testEvent({
    id: `01900000-0000-7000-8000-${String(seq).padStart(12, '0')}`,
    at: new Date(Date.now() - 60_000 + seq).toISOString(),
    protocol: 'irc',
    localId: SCRIPT_ID,
    remoteId: BIDI_ID,
    ...over,
  });
}

describeWithService('hostile ids and text in the console (chromium)', chromiumMissing, () => {
  let dir: string;
  let archive: SqlArchive;
  let running: RunningConsole;
  let browser: Browser;
  let page: Page;
  let emit: (events: ImEvent[]) => void = () => undefined;
  const dialogs: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-console-hostile-'));
    archive = new SqlArchive({ kind: 'sqlite', file: path.join(dir, 'archive.sqlite'), synchronous: 'normal' });
    await archive.insert([
      hostile({ text: SCRIPT_TEXT }),
      hostile({ text: HUGE }),
      hostile({ type: 'file', file: { name: '<svg onload="window.__pwned=3">.png', size: 12 } }),
      // Contact-list events as the plugins emit them: Yahoo's group (here a hostile one), XMPP's subscription, MSN's list.
      hostile({ protocol: 'yahoo', type: 'contact', subtype: 'add', remoteId: 'yuri', text: undefined, data: { group: '<b onclick="window.__pwned=4">Work</b>' } }),
      hostile({ protocol: 'xmpp', type: 'contact', subtype: 'subscribed', remoteId: 'xena@example.org', text: undefined, data: { subscription: 'subscribed' } }),
      hostile({ protocol: 'msn', type: 'contact', subtype: 'add', remoteId: 'mia@example.com', text: undefined, data: { list: 'FL' } }),
      // Her presence, with a status text that would be markup and a bidi override if it were not shown as text.
      hostile({
        protocol: 'msn',
        type: 'contact',
        subtype: 'status',
        direction: 'incoming',
        remoteId: 'mia@example.com',
        text: undefined,
        data: { status: 'busy', 'protocol-status': 'BSY', description: '<img src=x onerror="window.__pwned=5">\u202Eevil' },
      }),
    ]);
    await new ConsoleUsers(dir).add('ada', 'admin', 'admin password 1');
    const listeners = new Set<(events: readonly ImEvent[]) => void>();
    emit = (events) => {
      for (const l of listeners) l(events);
    };
    const live: LiveSource = {
      sessions: () => [
        {
          id: '1',
          protocol: 'irc',
          localId: SCRIPT_ID,
          client: { ip: '127.0.0.1', port: 5000 },
          server: { host: '127.0.0.1', port: 6667 },
          since: Date.now(),
          clientVersion: BIDI_ID,
        },
      ],
      loggers: () => [{ name: 'logger-sql', pending: 0, delivered: 3, failures: 0, lost: 0, lastError: '<i>not markup</i>' }],
      journal: () => ({ bytes: 1024, maxBytes: 1 << 30, full: false, dropped: 0 }),
      tls: () => ({ intercepting: false, summary: 'off' }),
      listeners: () => ['socks5://127.0.0.1:1080'],
      onEvents: (listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    };
    running = await startConsole({
      host: '127.0.0.1',
      port: 0,
      dataDir: dir,
      live,
      archive,
      // A blocked reply in a configuration the console does not rewrite: shown with the reason, no save.
      policy: {
        files: [
          {
            id: 'blocked-reply',
            title: 'Blocked reply',
            file: 'imspect.config.js → responses.blocked.text',
            check: () => [],
            read: async () => 'Blocked: {what}',
            refusal: 'the configuration imspect.config.js is a program, which imspect does not rewrite; change it there',
          },
        ],
        reload: async () => ({ ok: true, problems: [] }),
      },
      log: quiet,
      secure: false,
      sessionIdleMs: 600_000,
      sessionMaxMs: 3_600_000,
      liveHeartbeatMs: 300,
    });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(running.url);
    await page.fill('#login-name', 'ada');
    await page.fill('#login-password', 'admin password 1');
    await page.click('#login button[type=submit]');
    await page.waitForSelector('#whoami');
  });

  afterAll(async () => {
    await browser?.close();
    await running?.close();
    await archive?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Nothing ran, no markup from the data became an element, and the page is no wider than the window. */
  async function expectInert(): Promise<void> {
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(dialogs).toEqual([]);
    expect(await page.locator('main img, main script, main svg, main b').count()).toBe(0);
    const widths = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, window: window.innerWidth }));
    expect(widths.page).toBeLessThanOrEqual(widths.window);
  }

  it('shows hostile ids on the dashboard as text, bidi overrides made visible', async () => {
    await page.goto(`${running.url}#/dashboard`);
    await page.waitForSelector('main table');
    const text = (await page.locator('main').textContent())!;
    expect(text).toContain(SCRIPT_ID);
    expect(text).toContain('evil⟨U+202E⟩gnp.exe');
    expect(text).not.toContain('\u202E');
    expect(text).toContain('<i>not markup</i>');
    await expectInert();
  });

  it('shows hostile events in the live view as text, the 1 MB message cut with its length', async () => {
    await page.goto(`${running.url}#/live`);
    await page.waitForFunction(() => document.querySelector('#live-status')?.textContent === 'live');
    emit([hostile({ text: SCRIPT_TEXT }), hostile({ text: HUGE })]);
    await page.waitForFunction(() => document.querySelectorAll('#live-rows tr').length === 2);
    const rows = await page.locator('#live-rows tr').allTextContents();
    expect(rows.some((r) => r.includes(SCRIPT_TEXT))).toBe(true);
    const huge = rows.find((r) => r.includes('AAAA'))!;
    expect(huge).toContain('1048576 characters');
    expect(huge.length).toBeLessThan(5000);
    await expectInert();
  });

  it('shows them in search results and in the transcript as text; the 1 MB message cut in a box no wider than its cell', async () => {
    await page.goto(`${running.url}#/search?run=1&protocol=irc`);
    await page.waitForSelector('#search-rows tr');
    const text = (await page.locator('#search-rows').textContent())!;
    expect(text).toContain(SCRIPT_TEXT);
    expect(text).toContain('<svg onload="window.__pwned=3">.png');
    expect(text).toContain('evil⟨U+202E⟩gnp.exe');
    await expectInert();
    await page.click('#search-rows tr a.transcript-link');
    await page.waitForSelector('#transcript-rows tr');
    expect(await page.locator('#transcript-rows tr').count()).toBe(3);
    const box = await page.locator('#transcript-rows .text', { hasText: 'AAAA' }).first().boundingBox();
    expect(box!.height).toBeLessThan(400);
    expect(box!.width).toBeLessThan(1200);
    // The page gets the start of the 1 MB text and its length; the export has it whole.
    expect(await page.locator('#transcript-rows').textContent()).toContain('1048576 characters; the export has the whole text');
    await expectInert();
  });

  it('shows hostile ids on the users pages as text', async () => {
    await page.goto(`${running.url}#/users`);
    await page.waitForSelector('a.user-link');
    expect(await page.locator('a.user-link').first().textContent()).toBe(SCRIPT_ID);
    await page.locator('a.user-link').first().click();
    await page.waitForSelector('#user-contacts');
    expect(await page.locator('main').textContent()).toContain('evil⟨U+202E⟩gnp.exe');
    // Group and list/subscription columns, read from the contact-list events' data, shown as text.
    const row = async (contact: string) => page.locator('#user-contacts tr', { hasText: contact }).first().locator('td').allTextContents();
    expect((await row('yuri')).slice(0, 5)).toEqual(['yahoo', 'yuri', 'unknown', '<b onclick="window.__pwned=4">Work</b>', '']);
    expect((await row('xena@example.org')).slice(0, 5)).toEqual(['xmpp', 'xena@example.org', 'unknown', '', 'subscribed']);
    const mia = await row('mia@example.com');
    expect([mia[0], mia[1], mia[3], mia[4]]).toEqual(['msn', 'mia@example.com', '', 'FL']);
    // The last known status, since when, and its text: as text, the override made visible.
    expect(mia[2]).toMatch(/^busy \(BSY\) since .+<img src=x onerror="window.__pwned=5">⟨U\+202E⟩evil$/);
    await expectInert();
  });

  it('shows a configuration text it may not rewrite read-only, with the reason, to an admin', async () => {
    await page.goto(`${running.url}#/policy?file=blocked-reply`);
    await page.waitForSelector('#policy-refusal');
    expect(await page.textContent('#policy-refusal')).toBe('Read only here: the configuration imspect.config.js is a program, which imspect does not rewrite; change it there');
    expect(await page.inputValue('#policy-text')).toBe('Blocked: {what}');
    expect(await page.locator('#policy-text').getAttribute('readonly')).not.toBeNull();
    expect(await page.locator('#policy-save').count()).toBe(0);
  });

  it('buffers nothing on the server for a live view that does not read: it skips, then says how many', async () => {
    const res = await fetch(`${running.url}api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ada', password: 'admin password 1' }),
    });
    const cookie = res.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const url = new URL(`${running.url}api/live`);
    const received: string[] = [];
    const response = await new Promise<http.IncomingMessage>((resolve) => http.get({ host: url.hostname, port: url.port, path: url.pathname, headers: { cookie } }, resolve));
    expect(response.statusCode).toBe(200);
    response.pause(); // a reader that does not read
    const streamsBefore = running.app.liveHub.stats().length;
    expect(streamsBefore).toBeGreaterThanOrEqual(1);
    const text = 'x'.repeat(1500);
    let maxBuffered = 0;
    for (let round = 0; round < 100; round++) {
      emit(Array.from({ length: 100 }, () => hostile({ text })));
      for (const s of running.app.liveHub.stats()) maxBuffered = Math.max(maxBuffered, s.buffered);
      await new Promise((r) => setImmediate(r));
    }
    // 10,000 events of 1.5 KB (15 MB) sent; the server held at most about one batch for this reader.
    expect(maxBuffered).toBeLessThan(1024 * 1024);
    expect(Math.max(...running.app.liveHub.stats().map((s) => s.skipped))).toBeGreaterThan(1000);
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => received.push(chunk));
    response.resume();
    await expect.poll(() => received.join('').includes('event: skipped'), { timeout: 10_000 }).toBe(true);
    response.destroy();
  });

  it("ends a live view's stream when its user is removed", async () => {
    const users = new ConsoleUsers(dir);
    await users.add('temp', 'auditor', 'temporary password');
    const res = await fetch(`${running.url}api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'temp', password: 'temporary password' }),
    });
    const cookie = res.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const url = new URL(`${running.url}api/live`);
    const response = await new Promise<http.IncomingMessage>((resolve) => http.get({ host: url.hostname, port: url.port, path: url.pathname, headers: { cookie } }, resolve));
    expect(response.statusCode).toBe(200);
    response.resume();
    const ended = new Promise<void>((resolve) => response.once('end', () => resolve()));
    await new Promise((r) => setTimeout(r, 700));
    expect(response.complete).toBe(false); // still open while the user exists
    await users.remove('temp');
    await ended;
    expect((await fetch(`${running.url}api/dashboard`, { headers: { cookie } })).status).toBe(401);
  });

  it('survives browsers that drop their live view mid-stream, and keeps serving', async () => {
    const res = await fetch(`${running.url}api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ada', password: 'admin password 1' }),
    });
    const cookie = res.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const url = new URL(`${running.url}api/live`);
    for (let round = 0; round < 20; round++) {
      const response = await new Promise<http.IncomingMessage>((resolve) => http.get({ host: url.hostname, port: url.port, path: url.pathname, headers: { cookie } }, resolve));
      response.socket.destroy(); // the tab is closed
      for (let i = 0; i < 5; i++) emit(Array.from({ length: 50 }, () => hostile({ text: 'after the tab closed' })));
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(running.app.liveHub.size).toBeLessThanOrEqual(1); // the streams closed; at most the browser page's own
    expect((await fetch(`${running.url}api/dashboard`, { headers: { cookie } })).status).toBe(200);
  });
});
