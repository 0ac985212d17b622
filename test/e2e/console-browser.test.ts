/**
 * The web console end to end, in a real browser (Debian's chromium through playwright-core): `imspect start`
 * with the console on, a real ngircd, alice (irc-framework) through imspect's SOCKS5 listener, bob directly.
 * An admin logs in and sees alice online, her message in the live view, finds it in a search, opens the
 * transcript, downloads an export, adds a bad word that masks alice's next message, and reads the audit trail.
 * An auditor reads but cannot change anything, in the page or through the API; wrong passwords are slowed
 * down; requests without a session or without the session's CSRF token are refused.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chromiumMissing, launchBrowser } from '../support/browser.js';
import { describeWithService, findExecutable } from '../support/e2e.js';
import { CLI, startImspect, type RunningImspect } from '../support/imspect-process.js';
import { IRC, waitFor, type IrcClient } from '../support/irc-client.js';
import { startNgircd, type RunningNgircd } from '../support/ngircd.js';

/** The page's globals, as the functions evaluated in the browser use them (the tests compile without the DOM library). */
declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): { length: number };
  documentElement: { scrollWidth: number };
};
declare const window: { innerWidth: number };

const ngircdPath = findExecutable('ngircd');
const missing = !ngircdPath ? 'ngircd is not installed (apt-get install ngircd)' : chromiumMissing;
const ADMIN = { name: 'ada', password: 'admin password 1' };
const AUDITOR = { name: 'otto', password: 'auditor password 1' };

async function connectIrc(nick: string, options: Record<string, unknown>): Promise<IrcClient> {
  const client = new IRC.Client();
  const registered = waitFor(client, 'registered', () => true, `${nick} to register`);
  client.connect({ nick, username: nick, gecos: `${nick} test`, auto_reconnect: false, ping_interval: 0, ...options });
  await registered;
  return client;
}

/** `imspect console user add NAME --role ROLE --password-stdin`, as an administrator would run it. */
function addUser(cwd: string, user: { name: string; password: string }, role: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [CLI, 'console', 'user', 'add', user.name, '--role', role, '--password-stdin'], { cwd }, (error, stdout, stderr) =>
      error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
    );
    child.stdin!.end(`${user.password}\n`);
  });
}

async function login(page: Page, base: string, user: { name: string; password: string }): Promise<void> {
  await page.goto(base);
  await page.fill('#login-name', user.name);
  await page.fill('#login-password', user.password);
  await page.click('#login button[type=submit]');
  await page.waitForSelector('#whoami');
}

describeWithService('web console in a browser (imspect + ngircd + irc-framework + chromium)', missing, () => {
  let ngircd: RunningNgircd;
  let dir: string;
  let proxy: RunningImspect;
  let base: string;
  let browser: Browser;
  let admin: BrowserContext;
  let page: Page;
  let alice: IrcClient;
  let bob: IrcClient;
  const bobHeard: string[] = [];

  beforeAll(async () => {
    ngircd = await startNgircd(ngircdPath!);
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-e2e-console-'));
    await writeFile(path.join(dir, 'words.txt'), '# bad words\ndarn\n');
    await writeFile(path.join(dir, 'acl.txt'), 'allow all\n');
    await writeFile(path.join(dir, 'policy.yaml'), 'users:\n  dave:\n    protocols: [xmpp]\n');
    await writeFile(
      path.join(dir, 'imspect.config.json'),
      JSON.stringify({
        dataDir: 'data',
        listeners: [{ type: 'socks5', host: '127.0.0.1', port: 0 }],
        ports: { [String(ngircd.port)]: 'irc' },
        plugins: {
          'filter-badwords': { options: { file: 'words.txt' } },
          'filter-acl': { options: { file: 'acl.txt' } },
          'filter-policy': { options: { file: 'policy.yaml' } },
        },
        loggers: { flushIntervalMs: 20 },
        console: { enabled: true, host: '127.0.0.1', port: 0 },
        log: { level: 'info', format: 'json' },
      }),
    );
    expect(await addUser(dir, ADMIN, 'admin')).toContain('console user ada added (admin)');
    await addUser(dir, AUDITOR, 'auditor');
    // The hashes are the owner's alone.
    expect((await stat(path.join(dir, 'data', 'console-users.json'))).mode & 0o777).toBe(0o600);
    expect(await readFile(path.join(dir, 'data', 'console-users.json'), 'utf8')).not.toContain(ADMIN.password);
    proxy = await startImspect([], { cwd: dir });
    base = /console: +(\S+)/.exec(proxy.stdout())![1]!;
    const socksUrl = new URL(/listening: (\S+)/.exec(proxy.stdout())![1]!);
    bob = await connectIrc('bob', { host: '127.0.0.1', port: ngircd.port });
    bob.on('privmsg', (e) => bobHeard.push(String(e['message'])));
    alice = await connectIrc('alice', { host: '127.0.0.1', port: ngircd.port, socks: { host: socksUrl.hostname, port: Number(socksUrl.port) } });
    browser = await launchBrowser();
    admin = await browser.newContext({ acceptDownloads: true });
    page = await admin.newPage();
  });

  afterAll(async () => {
    alice?.quit('bye');
    bob?.quit('bye');
    await browser?.close();
    await proxy?.stop();
    await ngircd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('prints where the console is and serves it on loopback', () => {
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it('logs an admin in and shows alice online on the dashboard', async () => {
    await login(page, base, ADMIN);
    expect(await page.textContent('#whoami')).toBe('ada (admin)');
    await page.goto(`${base}#/dashboard`);
    const row = page.locator('main table tr', { hasText: 'alice' });
    await row.first().waitFor({ timeout: 10_000 });
    const cells = await row.first().locator('td').allTextContents();
    expect(cells[0]).toBe('irc');
    expect(cells[1]).toBe('alice');
    expect(cells[2]).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(await page.textContent('#per-protocol')).toContain('irc: 1');
    // The session cookie: HttpOnly, SameSite=Strict, not Secure on plain loopback HTTP; with an expiry.
    const cookie = (await admin.cookies()).find((c) => c.name === 'imspect_console')!;
    expect(cookie.httpOnly).toBe(true);
    expect(cookie.sameSite).toBe('Strict');
    expect(cookie.expires).toBeGreaterThan(Date.now() / 1000);
  });

  it('lists plugins and listeners on the system page', async () => {
    await page.goto(`${base}#/system`);
    await page.waitForSelector('#system-listeners li');
    const irc = await page.locator('main table tr', { hasText: 'irc' }).first().locator('td').allTextContents();
    expect(irc.slice(0, 2)).toEqual(['irc', 'protocol']);
    expect(irc[3]).toBe('loaded');
    expect(await page.textContent('#system-listeners')).toMatch(/^socks5:\/\/127\.0\.0\.1:\d+$/);
    expect(await page.locator('#ca-download').count()).toBe(0);
  });

  it("shows alice's message in the live view within a second or two", async () => {
    await page.goto(`${base}#/live`);
    await page.waitForFunction(() => document.querySelector('#live-status')?.textContent === 'live');
    const sentAt = Date.now();
    alice.say('bob', 'hello bob, the quarterly numbers are in');
    await page.locator('#live-rows tr', { hasText: 'the quarterly numbers are in' }).waitFor({ timeout: 5_000 });
    expect(Date.now() - sentAt).toBeLessThan(3_000);
    // Paused: new events are held, not shown, until resumed.
    await page.click('#live-pause');
    alice.say('bob', 'said while the view is paused');
    await page.waitForFunction(() => /paused \(\d+ new\)/.test(document.querySelector('#live-status')?.textContent ?? ''));
    expect(await page.locator('#live-rows tr', { hasText: 'said while the view is paused' }).count()).toBe(0);
    await page.click('#live-pause');
    await page.locator('#live-rows tr', { hasText: 'said while the view is paused' }).waitFor({ timeout: 2_000 });
    // Filtered by a user that is not in it: alice's next message does not appear.
    await page.fill('#live-user', 'nobody-of-that-name');
    await page.click('#live-filter button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#live-status')?.textContent === 'live');
    alice.say('bob', 'filtered out of the live view');
    await new Promise((r) => setTimeout(r, 1000));
    expect(await page.locator('#live-rows tr').count()).toBe(0);
  });

  it('finds the message in a search, opens its transcript and downloads an export', async () => {
    // The archive is written shortly after the event: search until it is there.
    await expect
      .poll(
        async () => {
          await page.goto(`${base}#/search?text=quarterly&run=1`);
          await page.waitForSelector('#search-rows tr');
          return page.locator('#search-rows tr', { hasText: 'hello bob, the quarterly numbers are in' }).count();
        },
        { timeout: 15_000, interval: 500 },
      )
      .toBe(1);
    await page.click('#search-rows tr a.transcript-link');
    await page.locator('#transcript-rows tr', { hasText: 'said while the view is paused' }).waitFor({ timeout: 5_000 });
    const transcript = await page.locator('#transcript-rows').textContent();
    expect(transcript!.indexOf('the quarterly numbers')).toBeLessThan(transcript!.indexOf('said while the view is paused'));

    await page.goto(`${base}#/search?text=quarterly&run=1`);
    await page.waitForSelector('#export-csv');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
    expect(download.suggestedFilename()).toMatch(/^imspect-export-.*\.csv$/);
    const csv = await readFile((await download.path())!, 'utf8');
    const lines = csv.trim().split('\r\n');
    expect(lines[0]).toMatch(/^at,protocol,network,direction,type,/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('hello bob, the quarterly numbers are in');
    expect(lines[1]).toContain(',alice,bob,');
  });

  it('lists alice among the users, with her conversation with bob', async () => {
    await page.goto(`${base}#/users?prefix=ali`);
    await page.locator('a.user-link', { hasText: 'alice' }).click();
    await page.waitForSelector('#user-contacts');
    expect(await page.textContent('#user-online')).toMatch(/^Online now: irc from 127\.0\.0\.1/);
    const row = await page.locator('main table tr', { hasText: 'bob' }).first().locator('td').allTextContents();
    expect(row[0]).toBe('irc');
    expect(row[1]).toBe('bob');
    expect(Number(row[2])).toBeGreaterThanOrEqual(3);
  });

  it("shows alice's own status and bob's last known status, since when, with hostile status text as text", async () => {
    // Status texts that would run script, inject markup or reverse the line if they were not shown as text.
    const ownText = '<img src=x onerror="window.__pwned=1">brb';
    const bobText = '<script>window.__pwned=2</script>\u202Efdp.exe';
    const marked = waitFor(alice, 'raw', (e) => / 306 /.test(String(e['line'])), 'alice marked away');
    alice.raw(`AWAY :${ownText}`);
    await marked;
    bob.raw(`AWAY :${bobText}`);
    await new Promise((r) => setTimeout(r, 300));
    // ngircd answers a message to someone away with 301 RPL_AWAY: bob's status, seen on alice's connection.
    const told = waitFor(alice, 'raw', (e) => / 301 alice bob /.test(String(e['line'])), 'RPL_AWAY about bob');
    alice.say('bob', 'are you there?');
    await told;
    await expect
      .poll(
        async () => {
          await page.goto(`${base}#/users?id=alice&t=${Date.now()}`);
          await page.waitForSelector('#user-contacts');
          return `${await page.textContent('#user-presence')} ${await page.textContent('#user-contacts')}`;
        },
        { timeout: 15_000, interval: 500 },
      )
      .toMatch(/away \(AWAY\)[\s\S]*away \(301\)/);
    const own = await page.textContent('#user-presence');
    expect(own).toContain(`irc away (AWAY) since`);
    expect(own).toContain(ownText);
    const bobRow = await page.locator('#user-contacts tbody tr', { hasText: 'bob' }).first().textContent({ timeout: 5_000 });
    expect(bobRow).toContain('away (301) since');
    // The override is made visible, the markup is text: nothing ran, no element was made from it.
    expect(bobRow).toContain('<script>window.__pwned=2</script>⟨U+202E⟩fdp.exe');
    expect(await page.evaluate(() => (globalThis as unknown as Record<string, unknown>)['__pwned'])).toBeUndefined();
    expect(await page.evaluate(() => document.querySelectorAll('#user-presence img, #user-contacts script').length)).toBe(0);
    alice.raw('AWAY');
    bob.raw('AWAY');
  });

  it('lets an admin add a bad word: the next message arrives masked, and a broken ACL is refused at its line', async () => {
    await page.goto(`${base}#/policy?file=badwords`);
    await page.locator('#policy-title', { hasText: 'Bad words' }).waitFor();
    await page.fill('#policy-text', '# bad words\ndarn\nrutabaga\n');
    await page.click('#policy-save');
    await page.waitForFunction(() => (document.querySelector('#policy-result')?.textContent ?? '').startsWith('Saved and applied'));
    const arrived = waitFor(bob, 'privmsg', (e) => String(e['message']).includes('for lunch'), 'the masked message');
    alice.say('bob', 'rutabaga for lunch');
    expect(String((await arrived)['message'])).toBe('******** for lunch');
    expect(await readFile(path.join(dir, 'words.txt'), 'utf8')).toBe('# bad words\ndarn\nrutabaga\n');

    await page.goto(`${base}#/policy?file=acl`);
    await page.locator('#policy-title', { hasText: 'ACL' }).waitFor();
    await page.fill('#policy-text', 'allow all\n\npermit alice bob\n');
    await page.click('#policy-save');
    await page.waitForSelector('#policy-problems li');
    expect(await page.textContent('#policy-problems')).toMatch(/^line 3: .*allow or deny/);
    expect(await page.textContent('#policy-result')).toContain('Not saved');
    expect(await readFile(path.join(dir, 'acl.txt'), 'utf8')).toBe('allow all\n');

    // The per-user policy (YAML): a value of the wrong kind is shown at the line of its key.
    await page.goto(`${base}#/policy?file=policy`);
    await page.locator('#policy-title', { hasText: 'Per-user policy' }).waitFor();
    expect(await page.inputValue('#policy-text')).toBe('users:\n  dave:\n    protocols: [xmpp]\n');
    await page.fill('#policy-text', 'users:\n  dave:\n    protocols: 7\n');
    await page.click('#policy-save');
    await page.waitForSelector('#policy-problems li');
    expect(await page.textContent('#policy-problems')).toMatch(/^line 3: users\.dave\.protocols: /);
    expect(await readFile(path.join(dir, 'policy.yaml'), 'utf8')).toBe('users:\n  dave:\n    protocols: [xmpp]\n');
  });

  it('lets an admin edit the blocked reply and the inline monitoring notice: written to the configuration file, checked, applied', async () => {
    const configFile = path.join(dir, 'imspect.config.json');
    const configured = () =>
      readFile(configFile, 'utf8').then((t) => JSON.parse(t) as { responses?: { blocked?: { text?: string }; notice?: { text?: string } }; console?: unknown });
    await page.goto(`${base}#/policy?file=blocked-reply`);
    await page.locator('#policy-title', { hasText: 'Blocked reply' }).waitFor();
    expect(await page.textContent('#policy-title')).toContain(`${configFile} → responses.blocked.text`);
    expect(await page.inputValue('#policy-text')).toBe('Blocked ({category}): {what}');
    // An empty reply is refused at its line, and the file is not touched.
    await page.fill('#policy-text', '   ');
    await page.click('#policy-save');
    await page.waitForSelector('#policy-problems li');
    expect(await page.textContent('#policy-problems')).toMatch(/^line 1: the reply is empty/);
    expect((await configured()).responses).toBeUndefined();
    await page.fill('#policy-text', 'imspect stopped this ({category}): {what}');
    await page.click('#policy-save');
    await page.waitForFunction(() => (document.querySelector('#policy-result')?.textContent ?? '').startsWith('Saved and applied'));
    expect((await configured()).responses?.blocked?.text).toBe('imspect stopped this ({category}): {what}');
    expect((await configured()).console).toEqual({ enabled: true, host: '127.0.0.1', port: 0 }); // the rest stays

    await page.goto(`${base}#/policy?file=notice-text`);
    await page.locator('#policy-title', { hasText: 'Monitoring notice' }).waitFor();
    expect(await page.inputValue('#policy-text')).toBe('Your activities are being logged');
    await page.fill('#policy-text', 'Chats on this network are logged\nSee the office policy');
    await page.click('#policy-save');
    await page.waitForFunction(() => (document.querySelector('#policy-result')?.textContent ?? '').startsWith('Saved and applied'));
    expect((await configured()).responses?.notice?.text).toBe('Chats on this network are logged\nSee the office policy');
    expect((await configured()).responses?.blocked?.text).toBe('imspect stopped this ({category}): {what}');
  });

  it('lets an auditor read but not change anything, in the page and through the API', async () => {
    const context = await browser.newContext();
    try {
      const auditor = await context.newPage();
      await login(auditor, base, AUDITOR);
      expect(await auditor.textContent('#whoami')).toBe('otto (auditor)');
      expect(await auditor.locator('#nav-audit').count()).toBe(0);
      await auditor.goto(`${base}#/policy?file=badwords`);
      await auditor.waitForSelector('#policy-readonly');
      expect(await auditor.locator('#policy-save').count()).toBe(0);
      expect(await auditor.locator('#policy-text').getAttribute('readonly')).not.toBeNull();
      // Through the API, with a valid CSRF token of the auditor's own session: refused for the role.
      const answer = await auditor.evaluate(async () => {
        const session = (await (await fetch('/api/session')).json()) as { csrfToken: string };
        const put = await fetch('/api/policy/badwords', {
          method: 'PUT',
          headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken },
          body: JSON.stringify({ text: 'nothing\n' }),
        });
        const audit = await fetch('/api/audit');
        return { put: put.status, audit: audit.status, search: (await fetch('/api/search?text=quarterly')).status };
      });
      expect(answer).toEqual({ put: 403, audit: 403, search: 200 });
      expect(await readFile(path.join(dir, 'words.txt'), 'utf8')).toBe('# bad words\ndarn\nrutabaga\n');
    } finally {
      await context.close();
    }
  });

  it('refuses requests without a session or without the CSRF token', async () => {
    expect((await fetch(`${base}api/dashboard`)).status).toBe(401);
    expect((await fetch(`${base}api/search?text=quarterly`)).status).toBe(401);
    expect((await fetch(`${base}api/policy/badwords`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"text":"x\\n"}' })).status).toBe(401);
    const answer = await page.evaluate(async () => {
      const put = (headers: Record<string, string>) =>
        fetch('/api/policy/badwords', { method: 'PUT', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ text: 'gone\n' }) }).then(
          (r) => r.status,
        );
      return { none: await put({}), bad: await put({ 'x-csrf-token': 'forged-token' }) };
    });
    expect(answer).toEqual({ none: 403, bad: 403 });
    // A token from another session (the auditor's) does not fit this one.
    const other = await fetch(`${base}api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(AUDITOR) });
    const { csrfToken } = (await other.json()) as { csrfToken: string };
    const status = await page.evaluate(
      (token) =>
        fetch('/api/policy/badwords', { method: 'PUT', headers: { 'content-type': 'application/json', 'x-csrf-token': token }, body: JSON.stringify({ text: 'gone\n' }) }).then(
          (r) => r.status,
        ),
      csrfToken,
    );
    expect(status).toBe(403);
    expect(await readFile(path.join(dir, 'words.txt'), 'utf8')).toBe('# bad words\ndarn\nrutabaga\n');
  });

  it('slows down wrong passwords: after a few failures even the right one must wait', async () => {
    const context = await browser.newContext();
    try {
      const p = await context.newPage();
      await p.goto(base);
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        statuses.push(
          await p.evaluate(
            (name) =>
              fetch('/api/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password: 'wrong password' }) }).then(
                (r) => r.status,
              ),
            AUDITOR.name,
          ),
        );
      }
      expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
      expect(statuses.slice(3)).toContain(429);
      // The page says so, and the right password is refused too while the wait lasts.
      await p.fill('#login-name', AUDITOR.name);
      await p.fill('#login-password', AUDITOR.password);
      await p.click('#login button[type=submit]');
      await p.waitForFunction(() => /too many failed logins/.test(document.querySelector('#login-error')?.textContent ?? ''));
    } finally {
      await context.close();
    }
  });

  it('lets an admin block a contact for alice from her user page (an ACL line), and unblock it', async () => {
    const openAlice = async () => {
      await page.goto(`${base}#/dashboard`);
      await page.goto(`${base}#/users?${new URLSearchParams({ id: 'alice' })}`);
      await page.waitForSelector('#user-blocked-contacts');
    };
    const save = async () => {
      await page.click('#user-policy-save');
      await page.waitForFunction(() => (document.querySelector('#user-policy-result')?.textContent ?? '').startsWith('Saved and applied'));
    };
    await openAlice();
    await page.fill('#user-blocked-contacts', 'bob\n');
    await save();
    expect(await readFile(path.join(dir, 'acl.txt'), 'utf8')).toBe('deny alice bob\nallow all\n');
    const heard = bobHeard.length;
    // alice is told, in the words the admin set in the console (applied without a restart).
    const reply = waitFor(alice, 'notice', (e) => String(e['message']).includes('kept from bob'), 'the blocked reply');
    alice.say('bob', 'kept from bob');
    expect(String((await reply)['message'])).toMatch(/^imspect stopped this \(.*\): .*kept from bob/);
    // Then something bob may hear: once it is there, the blocked one would have been too.
    const sentinel = waitFor(bob, 'join', () => true, 'a join', 3_000).catch(() => undefined);
    alice.join('#console-sentinel');
    bob.join('#console-sentinel');
    await sentinel;
    await new Promise((r) => setTimeout(r, 300));
    expect(bobHeard.slice(heard)).not.toContain('kept from bob');
    await openAlice();
    expect(await page.inputValue('#user-blocked-contacts')).toBe('bob');
    await page.fill('#user-blocked-contacts', '');
    await save();
    expect(await readFile(path.join(dir, 'acl.txt'), 'utf8')).toBe('allow all\n');
    const arrived = waitFor(bob, 'privmsg', (e) => e['message'] === 'bob may hear this again', 'the unblocked message');
    alice.say('bob', 'bob may hear this again');
    await arrived;
  });

  it('lets an admin limit alice to XMPP from her user page: her next IRC message is stopped and she is disconnected', async () => {
    await page.goto(`${base}#/users?${new URLSearchParams({ id: 'alice' })}`);
    await page.waitForSelector('#user-policy-save');
    expect(await page.isChecked('#user-protocol-irc')).toBe(false);
    await page.check('#user-protocol-xmpp');
    await page.selectOption('#user-block-file', 'block');
    await page.click('#user-policy-save');
    await page.waitForFunction(() => (document.querySelector('#user-policy-result')?.textContent ?? '').startsWith('Saved and applied'));
    const file = await readFile(path.join(dir, 'policy.yaml'), 'utf8');
    expect(file).toContain('dave:\n    protocols: [xmpp]\n'); // the other entries stay as written
    expect(file).toMatch(/alice:\n {4}protocols:\n {6}- xmpp\n {4}block:\n {6}file: true\n/);
    const closed = waitFor(alice, 'close', () => true, 'alice to be disconnected').catch(() => undefined);
    const heard = bobHeard.length;
    alice.say('bob', 'this must not arrive');
    await closed;
    await new Promise((r) => setTimeout(r, 500));
    expect(bobHeard.slice(heard)).not.toContain('this must not arrive');
  });

  it('records logins, failed logins, searches, transcripts, exports and changes in the audit trail, which admins read', async () => {
    await page.goto(`${base}#/audit`);
    await page.waitForSelector('#audit-rows tr');
    const text = (await page.locator('#audit-rows').textContent())!;
    for (const action of ['login', 'login-failed', 'search', 'transcript', 'export', 'change', 'refused', 'users', 'user-view']) expect(text).toContain(action);
    expect(text).toContain('"policy":"user","localId":"alice"');
    expect(text).toContain('rutabaga'); // what changed
    expect(text).toContain('"policy":"blocked-reply"');
    expect(text).toContain('imspect stopped this');
    // Nothing in the API edits or deletes it.
    const answer = await page.evaluate(async () => {
      const session = (await (await fetch('/api/session')).json()) as { csrfToken: string };
      const headers = { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken };
      return [(await fetch('/api/audit', { method: 'DELETE', headers, body: '{}' })).status, (await fetch('/api/audit/1', { method: 'PUT', headers, body: '{}' })).status];
    });
    expect(answer).toEqual([404, 404]);
  });
});
