// Screenshots of the console's main pages for docs/console.md, over a scripted live source and a small
// SQLite archive: `pnpm --filter @imspect/console screenshots` (needs chromium, as the browser tests do).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqlArchive } from '@imspect/logger-sql';
import { chromium } from 'playwright-core';
import { ConsoleUsers, startConsole } from '../dist/index.js';

const out = fileURLToPath(new URL('../../../docs/console/', import.meta.url));
const dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-console-shots-'));
const now = Date.now();
let n = 0;
const event = (minutesAgo, over) => ({
  id: `01900000-0000-7000-8000-${String(++n).padStart(12, '0')}`,
  at: new Date(now - minutesAgo * 60_000).toISOString(),
  protocol: 'irc',
  direction: 'outgoing',
  type: 'message',
  localId: 'alice',
  remoteId: '#support',
  network: 'irc.example.org',
  client: { ip: '192.168.10.23', port: 50211 },
  server: { host: 'irc.example.org', port: 6667 },
  filtered: false,
  categories: [],
  ...over,
});
const lines = [
  ['alice', '#support', 'the invoice for order 4411 is overdue'],
  ['bob', '#support', 'I will call the customer this afternoon'],
  ['carol@example.org', 'dave@example.org', 'can you send me the Q3 figures?'],
  ['alice', '#support', 'thanks, closing the ticket'],
];
const events = [];
for (let h = 0; h < 24 * 7; h += 1) {
  for (let i = 0; i < ((h * 7) % 5) + 1; i++) {
    const [localId, remoteId, text] = lines[(h + i) % lines.length];
    events.push(
      event(h * 60 + i * 7, {
        localId,
        remoteId,
        text,
        protocol: localId.includes('@') ? 'xmpp' : 'irc',
        ...(h % 9 === 0 && i === 0 ? { filtered: true, categories: ['badwords'] } : {}),
      }),
    );
  }
}
const archive = new SqlArchive({ kind: 'sqlite', file: path.join(dir, 'archive.sqlite'), synchronous: 'normal' });
await archive.insert(events);
await new ConsoleUsers(dir).add('ada', 'admin', 'screenshot password');
const listeners = new Set();
const live = {
  sessions: () => [
    { id: '1', protocol: 'irc', localId: 'alice', client: { ip: '192.168.10.23', port: 50211 }, server: { host: 'irc.example.org', port: 6667 }, since: now - 3_600_000 },
    {
      id: '2',
      protocol: 'xmpp',
      localId: 'carol@example.org/laptop',
      client: { ip: '192.168.10.41', port: 40112 },
      server: { host: 'example.org', port: 5222 },
      since: now - 600_000,
      clientVersion: 'Gajim 1.9',
      intercepted: true,
    },
  ],
  loggers: () => [
    { name: 'logger-csv', pending: 0, delivered: 1520, failures: 0, lost: 0 },
    { name: 'logger-sql', pending: 3, delivered: 1517, failures: 0, lost: 0 },
  ],
  journal: () => ({ bytes: 3_400_000, maxBytes: 1 << 30, full: false, dropped: 0 }),
  tls: () => ({ intercepting: true, summary: 'default intercept, CA /srv/imspect-data/ca/imspect-ca.crt' }),
  listeners: () => ['socks5://0.0.0.0:1080', 'transparent://[::]:16667'],
  onEvents: (l) => (listeners.add(l), () => listeners.delete(l)),
};
const running = await startConsole({ host: '127.0.0.1', port: 0, dataDir: dir, live, archive, log: console, secure: false, sessionIdleMs: 600_000, sessionMaxMs: 3_600_000 });
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  await page.goto(running.url);
  await page.fill('#login-name', 'ada');
  await page.fill('#login-password', 'screenshot password');
  await page.click('#login button[type=submit]');
  await page.waitForSelector('.chart');
  await page.screenshot({ path: path.join(out, 'dashboard.png'), fullPage: true });
  await page.goto(`${running.url}#/live`);
  await page.waitForFunction(() => document.querySelector('#live-status')?.textContent === 'live');
  for (const [i, [localId, remoteId, text]] of lines.entries()) {
    for (const l of listeners) l([event(0, { localId, remoteId, text, ...(i === 2 ? { filtered: true, categories: ['acl'], protocol: 'xmpp' } : {}) })]);
    await new Promise((r) => setTimeout(r, 100));
  }
  await page.waitForFunction(() => document.querySelectorAll('#live-rows tr').length === 4);
  await page.screenshot({ path: path.join(out, 'live.png') });
  await page.goto(`${running.url}#/search?text=invoice&run=1`);
  await page.waitForSelector('#search-rows tr');
  await page.screenshot({ path: path.join(out, 'search.png') });
} finally {
  await browser.close();
  await running.close();
  await archive.close();
  await rm(dir, { recursive: true, force: true });
}
