/**
 * The console's front end: a few pages behind a hash router, built from DOM nodes. Everything that comes from
 * the network (ids, message text, file names) is put in with text nodes only, never as markup, and control and
 * bidirectional-override characters are shown as visible markers, so no id or message can run code, pose as
 * another, or reorder the page around it.
 */

type Role = 'admin' | 'auditor';
interface Me {
  user: string;
  role: Role;
  csrfToken: string;
}

interface Message {
  eventId: string;
  at: string;
  protocol: string;
  direction: string;
  type: string;
  subtype: string | null;
  localId: string;
  remoteId: string;
  conversation: string | null;
  text: string | null;
  deliveredText: string | null;
  fileName: string | null;
  fileSize: number | null;
  client: string;
  filtered: boolean;
  categories: string[];
  network: string | null;
  /** Characters of the text before the server cut it for the page (the export has it whole). */
  textChars?: number;
  deliveredTextChars?: number;
}

interface LiveItem {
  id: string;
  at: string;
  protocol: string;
  direction: string;
  type: string;
  subtype?: string;
  localId: string;
  remoteId: string;
  network?: string;
  conversation?: string;
  text?: string;
  deliveredText?: string;
  textChars?: number;
  file?: { name: string; size?: number };
  client: string;
  filtered: boolean;
  categories: string[];
}

let me: Me | undefined;
const root = document.getElementById('main')!;
/**
 * The page being shown: a fresh element per navigation. A page captures it before its first await, so a slow
 * page (a dashboard waiting for the archive) that answers after the user moved on fills a detached element
 * instead of replacing the page now shown.
 */
let view: HTMLElement = root;
const nav = document.getElementById('nav')!;
const who = document.getElementById('who')!;
/** Closed when the page changes (the live view's stream). */
let cleanup: (() => void) | undefined;

// Markup ---------------------------------------------------------------------------------------------------

type Child = Node | string | number | null | undefined | false;

function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Record<string, string | boolean | ((e: Event) => void)> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (typeof value === 'function') el.addEventListener(key.replace(/^on/, ''), value);
    else if (value === true) el.setAttribute(key, '');
    else if (value !== false) el.setAttribute(key, value);
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) el.append(typeof child === 'object' ? child : document.createTextNode(String(child)));
  return el;
}

/** Controls, bidi overrides and isolates, zero-width and line/paragraph separators, shown as ⟨U+XXXX⟩. */
const INVISIBLE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

export function visible(text: string): string {
  return text.replace(INVISIBLE, (c) => `⟨U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}⟩`);
}

/** An id: isolated from the text around it, invisible characters made visible. */
function id(text: string | null | undefined): HTMLElement {
  return h('bdi', { class: 'id' }, visible(text ?? ''));
}

/** A message text: isolated, in a box that scrolls rather than stretching the page. */
function textBox(text: string | null | undefined, note?: string): HTMLElement {
  return h('div', { class: 'text', dir: 'auto' }, visible(text ?? ''), note ? h('span', { class: 'note' }, note) : null);
}

function time(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** Column widths by header (the tables lay out fixed, from their header row): narrow columns for short values. */
const COLUMN_CLASS: Record<string, string> = { Time: 'col-time', When: 'col-time', Protocol: 'col-short', Role: 'col-short', '': 'col-arrow', Open: 'col-link', From: 'col-short' };

function headerRow(headers: string[]): HTMLElement {
  return h('thead', {}, h('tr', {}, ...headers.map((t) => h('th', { class: COLUMN_CLASS[t] ?? '' }, t))));
}

function table(headers: string[], rows: HTMLElement[]): HTMLElement {
  return h('div', { class: 'table-wrap' }, h('table', {}, headerRow(headers), h('tbody', {}, ...rows)));
}

function errorBox(message: string): HTMLElement {
  return h('p', { class: 'error', role: 'alert' }, message);
}

// Server ---------------------------------------------------------------------------------------------------

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = {};
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  if (init.method && init.method !== 'GET' && me) headers['x-csrf-token'] = me.csrfToken;
  const res = await fetch(path, {
    method: init.method ?? 'GET',
    headers,
    credentials: 'same-origin',
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (res.status === 401 && path !== '/api/login') {
    me = undefined;
    renderNav();
    location.hash = '#/login';
  }
  if (!res.ok) throw new HttpError(res.status, String(body['error'] ?? res.statusText), body);
  return body as T;
}

function params(values: Record<string, string | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v !== undefined && v !== '') p.set(k, v);
  return p.toString();
}

// Navigation -----------------------------------------------------------------------------------------------

const PAGES: Array<{ path: string; title: string; admin?: boolean }> = [
  { path: 'dashboard', title: 'Dashboard' },
  { path: 'live', title: 'Live' },
  { path: 'search', title: 'Conversations' },
  { path: 'users', title: 'Users' },
  { path: 'policy', title: 'Policy' },
  { path: 'system', title: 'System' },
  { path: 'audit', title: 'Audit trail', admin: true },
];

function renderNav(): void {
  nav.replaceChildren(...(me ? PAGES.filter((p) => !p.admin || me!.role === 'admin').map((p) => h('a', { href: `#/${p.path}`, id: `nav-${p.path}` }, p.title)) : []));
  who.replaceChildren(
    ...(me
      ? [
          h('span', { id: 'whoami' }, `${me.user} (${me.role})`),
          ' ',
          h(
            'button',
            {
              id: 'logout',
              onclick: async () => {
                await api('/api/logout', { method: 'POST', body: {} }).catch(() => undefined);
                me = undefined;
                renderNav();
                location.hash = '#/login';
              },
            },
            'Log out',
          ),
        ]
      : []),
  );
}

async function route(): Promise<void> {
  cleanup?.();
  cleanup = undefined;
  view = document.createElement('div');
  root.replaceChildren(view);
  const main = view;
  const [path, query] = location.hash.replace(/^#\/?/, '').split('?');
  const q = new URLSearchParams(query ?? '');
  if (!me) {
    try {
      me = await api<Me>('/api/session');
    } catch {
      me = undefined;
    }
    renderNav();
  }
  // Another navigation started meanwhile: it shows its own page.
  if (main !== view) return;
  if (!me) return loginPage();
  for (const a of nav.querySelectorAll('a')) a.classList.toggle('active', a.getAttribute('href') === `#/${path}`);
  try {
    switch (path) {
      case 'live':
        return livePage();
      case 'search':
        return await searchPage(q);
      case 'transcript':
        return await transcriptPage(q);
      case 'audit':
        return await auditPage();
      case 'policy':
        return await policyPage(q);
      case 'system':
        return await systemPage();
      case 'users':
        return await (q.get('id') ? userPage(q.get('id')!) : usersPage(q));
      default:
        return await dashboardPage();
    }
  } catch (error) {
    main.replaceChildren(errorBox((error as Error).message));
  }
}

// Pages ----------------------------------------------------------------------------------------------------

function loginPage(): void {
  const main = view;
  const name = h('input', { id: 'login-name', name: 'name', autocomplete: 'username', required: true });
  const password = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const problem = h('p', { class: 'error', id: 'login-error', role: 'alert' });
  const form = h(
    'form',
    { id: 'login', class: 'login' },
    h('h1', {}, 'imspect console'),
    h('label', {}, 'Name', name),
    h('label', {}, 'Password', password),
    h('button', { type: 'submit' }, 'Log in'),
    problem,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    problem.textContent = '';
    try {
      me = await api<Me>('/api/login', { method: 'POST', body: { name: name.value, password: password.value } });
      renderNav();
      location.hash = '#/dashboard';
      if (location.hash === '#/dashboard') void route();
    } catch (error) {
      problem.textContent = (error as Error).message;
    }
  });
  main.replaceChildren(form);
  name.focus();
}

interface Dashboard {
  now: number;
  online: Array<{ protocol: string; localId: string; client: { ip: string; port: number }; since: number; clientVersion?: string; intercepted?: boolean; encrypted?: string }>;
  connections: number;
  perProtocol: Record<string, number>;
  loggers: Array<{ name: string; pending: number; delivered: number; failures: number; lost: number; lastError?: string; lastErrorAt?: string }>;
  journal: { bytes: number; maxBytes: number; full: boolean; dropped: number; writeError?: string } | null;
  tls: { intercepting: boolean; summary: string };
  listeners: string[];
  archive: string | null;
  activity: {
    day: Array<{ startMs: number; messages: number; blocked: number }>;
    week: Array<{ startMs: number; messages: number; blocked: number }>;
    dayStart: number;
    weekStart: number;
  } | null;
}

function chart(title: string, buckets: Array<{ startMs: number; messages: number; blocked: number }>, start: number, step: number, count: number): HTMLElement {
  const byStart = new Map(buckets.map((b) => [b.startMs, b]));
  const all = Array.from({ length: count }, (_, i) => byStart.get(start + i * step) ?? { startMs: start + i * step, messages: 0, blocked: 0 });
  const max = Math.max(1, ...all.map((b) => b.messages));
  const bars = all.map((b) => {
    const bar = h('div', { class: 'bar', title: `${new Date(b.startMs).toLocaleString()}: ${b.messages} messages, ${b.blocked} blocked` });
    bar.style.height = `${Math.round((b.messages / max) * 100)}%`;
    const blocked = h('div', { class: 'bar-blocked' });
    blocked.style.height = b.messages > 0 ? `${Math.round((b.blocked / b.messages) * 100)}%` : '0';
    bar.append(blocked);
    return h('div', { class: 'bar-slot' }, bar);
  });
  const total = all.reduce((n, b) => n + b.messages, 0);
  const blocked = all.reduce((n, b) => n + b.blocked, 0);
  return h('section', { class: 'card' }, h('h2', {}, title), h('div', { class: 'chart' }, ...bars), h('p', { class: 'muted' }, `${total} messages, ${blocked} blocked`));
}

async function dashboardPage(): Promise<void> {
  const main = view;
  const d = await api<Dashboard>('/api/dashboard');
  const online = d.online.map((s) =>
    h(
      'tr',
      {},
      h('td', {}, s.protocol),
      h('td', {}, id(s.localId)),
      h('td', {}, `${s.client.ip}:${s.client.port}`),
      h('td', {}, time(new Date(s.since).toISOString())),
      h('td', {}, id(s.clientVersion ?? '')),
      h('td', {}, s.intercepted ? 'decrypted' : s.encrypted ? 'encrypted' : 'plain'),
    ),
  );
  const protocols = Object.entries(d.perProtocol).map(([p, n]) => h('li', {}, `${p}: ${n}`));
  const loggers = d.loggers.map((l) =>
    h(
      'tr',
      {},
      h('td', {}, l.name),
      h('td', {}, String(l.pending)),
      h('td', {}, String(l.delivered)),
      h('td', {}, String(l.lost)),
      h('td', {}, l.lastError ? `${l.lastError} (${l.lastErrorAt ?? ''})` : '—'),
    ),
  );
  const hour = 3_600_000;
  main.replaceChildren(
    h('h1', {}, 'Dashboard'),
    h(
      'section',
      { class: 'card' },
      h('h2', {}, `Online now (${d.online.length})`),
      d.online.length > 0 ? table(['Protocol', 'User', 'Client', 'Since', 'Client version', 'TLS'], online) : h('p', { class: 'muted', id: 'nobody-online' }, 'Nobody is online.'),
    ),
    h(
      'div',
      { class: 'grid' },
      h('section', { class: 'card' }, h('h2', {}, `Connections (${d.connections})`), h('ul', { id: 'per-protocol' }, ...protocols)),
      h(
        'section',
        { class: 'card' },
        h('h2', {}, 'Journal'),
        d.journal
          ? h(
              'p',
              {},
              `${(d.journal.bytes / 1048576).toFixed(1)} MiB of ${(d.journal.maxBytes / 1048576).toFixed(0)} MiB`,
              d.journal.full ? ' — FULL' : '',
              d.journal.dropped > 0 ? ` — ${d.journal.dropped} events dropped` : '',
              d.journal.writeError ? ` — disk error ${d.journal.writeError}` : '',
            )
          : h('p', { class: 'muted' }, 'in memory'),
      ),
      h('section', { class: 'card' }, h('h2', {}, 'TLS interception'), h('p', {}, d.tls.summary)),
      h('section', { class: 'card' }, h('h2', {}, 'Listeners'), h('ul', {}, ...d.listeners.map((l) => h('li', {}, l)))),
    ),
    h('section', { class: 'card' }, h('h2', {}, 'Loggers'), table(['Logger', 'Backlog', 'Stored', 'Lost', 'Last error'], loggers)),
    d.activity ? chart('Messages per hour, last 24 hours', d.activity.day, d.activity.dayStart, hour, 24) : h('p', { class: 'muted' }, 'No SQL archive: no message history.'),
    ...(d.activity ? [chart('Messages per 6 hours, last 7 days', d.activity.week, d.activity.weekStart, 6 * hour, 28)] : []),
  );
}

/** Most rows the live view keeps; older ones are dropped from the page. */
const LIVE_ROWS = 500;

function liveRow(e: LiveItem): HTMLElement {
  const what =
    e.type === 'message'
      ? textBox(e.text, e.textChars ? ` … (${e.textChars} characters; the whole text is in the archive)` : undefined)
      : h('div', { class: 'text' }, `[${e.type}${e.subtype ? ` ${e.subtype}` : ''}]`, e.file ? ' ' : '', e.file ? id(e.file.name) : null, e.text ? textBox(e.text) : null);
  return h(
    'tr',
    { class: e.filtered ? 'blocked' : '' },
    h('td', { class: 'nowrap' }, time(e.at)),
    h('td', {}, e.protocol),
    h('td', {}, id(e.localId)),
    h('td', {}, e.direction === 'outgoing' ? '→' : '←'),
    h('td', {}, id(e.remoteId)),
    h('td', { class: 'what' }, what, e.filtered ? h('div', { class: 'why' }, `blocked: ${e.categories.join(', ')}`) : null),
  );
}

function livePage(): void {
  const main = view;
  const protocol = h('input', { id: 'live-protocol', placeholder: 'protocol' });
  const user = h('input', { id: 'live-user', placeholder: 'user or peer contains' });
  const type = h('input', { id: 'live-type', placeholder: 'type (message, join, ...)' });
  const pause = h('button', { id: 'live-pause', type: 'button' }, 'Pause');
  const status = h('span', { id: 'live-status', class: 'muted' }, 'connecting…');
  const body = h('tbody', { id: 'live-rows' });
  let paused = false;
  /** Events received while paused: bounded too; past it they are only counted. */
  let held: LiveItem[] = [];
  let missed = 0;
  let source: EventSource | undefined;

  const add = (items: LiveItem[]) => {
    const rows = items.map(liveRow);
    body.prepend(...rows.reverse());
    while (body.childElementCount > LIVE_ROWS) body.lastElementChild!.remove();
  };
  const connect = () => {
    source?.close();
    source = new EventSource(`/api/live?${params({ protocol: protocol.value.trim(), user: user.value.trim(), type: type.value.trim() })}`);
    source.addEventListener('open', () => (status.textContent = paused ? 'paused' : 'live'));
    source.addEventListener('error', () => (status.textContent = 'reconnecting…'));
    source.addEventListener('im', (e) => {
      const item = JSON.parse((e as MessageEvent<string>).data) as LiveItem;
      if (!paused) return add([item]);
      if (held.length < LIVE_ROWS) held.push(item);
      else missed++;
      status.textContent = `paused (${held.length + missed} new)`;
    });
    source.addEventListener('skipped', (e) => {
      const { count } = JSON.parse((e as MessageEvent<string>).data) as { count: number };
      status.textContent = `${count} events skipped (the page could not keep up)`;
    });
  };
  pause.addEventListener('click', () => {
    paused = !paused;
    pause.textContent = paused ? 'Resume' : 'Pause';
    if (!paused) {
      add(held);
      if (missed > 0) status.textContent = `live (${missed} events not shown while paused)`;
      else status.textContent = 'live';
      held = [];
      missed = 0;
    } else status.textContent = 'paused';
  });
  const form = h('form', { class: 'filters', id: 'live-filter' }, protocol, user, type, h('button', { type: 'submit' }, 'Filter'), pause, status);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    body.replaceChildren();
    connect();
  });
  main.replaceChildren(h('h1', {}, 'Live'), form, table(['Time', 'Protocol', 'User', '', 'Peer', 'What'], []));
  main.querySelector('tbody')!.replaceWith(body);
  connect();
  cleanup = () => source?.close();
}

function searchFields(q: URLSearchParams) {
  const field = (name: string, placeholder: string) => h('input', { id: `search-${name}`, name, placeholder, value: q.get(name) ?? '' });
  return {
    text: field('text', 'words in the text'),
    user: field('user', 'user (local id)'),
    with: field('with', 'peer or channel'),
    protocol: field('protocol', 'protocol'),
    since: field('since', 'since (2h, 7d, 2026-12-01)'),
    until: field('until', 'until'),
    blocked: h('input', { id: 'search-blocked', name: 'blocked', type: 'checkbox', ...(q.get('blocked') === '1' ? { checked: true } : {}) }),
  };
}

function messageRow(m: Message, withLink: boolean): HTMLElement {
  const link = h(
    'a',
    { class: 'transcript-link', href: `#/transcript?${params({ protocol: m.protocol, user: m.localId, with: m.conversation ?? m.remoteId, network: m.network ?? undefined })}` },
    'transcript',
  );
  const cutNote = (chars: number | undefined) => (chars ? ` … (${chars} characters; the export has the whole text)` : undefined);
  const what =
    m.type === 'message'
      ? textBox(m.text, cutNote(m.textChars))
      : h('div', { class: 'text' }, `[${m.type}${m.subtype ? ` ${m.subtype}` : ''}] `, m.fileName ? id(m.fileName) : null, m.text ? textBox(m.text, cutNote(m.textChars)) : null);
  return h(
    'tr',
    { class: m.filtered ? 'blocked' : '' },
    h('td', { class: 'nowrap' }, time(m.at)),
    h('td', {}, m.protocol),
    h('td', {}, id(m.localId)),
    h('td', {}, m.direction === 'outgoing' ? '→' : '←'),
    h('td', {}, id(m.remoteId)),
    h(
      'td',
      { class: 'what' },
      what,
      m.filtered ? h('div', { class: 'why' }, `blocked: ${m.categories.join(', ')}`) : null,
      m.deliveredText !== null && m.deliveredText !== m.text ? h('div', { class: 'why' }, 'delivered as: ', textBox(m.deliveredText, cutNote(m.deliveredTextChars))) : null,
    ),
    withLink ? h('td', {}, link) : null,
  );
}

async function searchPage(q: URLSearchParams): Promise<void> {
  const main = view;
  const f = searchFields(q);
  const form = h(
    'form',
    { class: 'filters', id: 'search-form' },
    f.text,
    f.user,
    f.with,
    f.protocol,
    f.since,
    f.until,
    h('label', { class: 'check' }, f.blocked, 'blocked only'),
    h('button', { type: 'submit' }, 'Search'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = `#/search?${params({
      text: f.text.value,
      user: f.user.value,
      with: f.with.value,
      protocol: f.protocol.value,
      since: f.since.value,
      until: f.until.value,
      blocked: f.blocked.checked ? '1' : undefined,
      run: '1',
    })}`;
  });
  main.replaceChildren(h('h1', {}, 'Conversations'), form);
  if (q.get('run') !== '1') return;
  const query: Record<string, string | undefined> = {};
  for (const key of ['text', 'user', 'with', 'protocol', 'since', 'until', 'blocked']) query[key] = q.get(key) ?? undefined;
  const body = h('tbody', { id: 'search-rows' });
  const more = h('button', { id: 'search-more', type: 'button' }, 'More results');
  const exportQuery = params(query);
  main.append(
    h(
      'p',
      { class: 'exports' },
      'Export these results: ',
      h('a', { id: 'export-csv', href: `/api/export?${params({ ...query, format: 'csv' })}`, download: '' }, 'CSV'),
      ' · ',
      h('a', { id: 'export-jsonl', href: `/api/export?${exportQuery ? `${exportQuery}&` : ''}format=jsonl`, download: '' }, 'JSONL'),
    ),
    h('div', { class: 'table-wrap' }, h('table', {}, headerRow(['Time', 'Protocol', 'User', '', 'Peer', 'What', 'Open']), body)),
    more,
  );
  let cursor: string | null = null;
  const load = async () => {
    const page = await api<{ messages: Message[]; next: string | null }>(`/api/search?${params({ ...query, cursor: cursor ?? undefined })}`);
    body.append(...page.messages.map((m) => messageRow(m, true)));
    if (page.messages.length === 0 && body.childElementCount === 0) body.append(h('tr', {}, h('td', { colspan: '7', class: 'muted', id: 'search-none' }, 'No matching events.')));
    cursor = page.next;
    more.hidden = cursor === null;
  };
  more.addEventListener('click', () => void load().catch((e: Error) => main.append(errorBox(e.message))));
  await load();
}

async function transcriptPage(q: URLSearchParams): Promise<void> {
  const main = view;
  const query = { protocol: q.get('protocol') ?? '', user: q.get('user') ?? '', with: q.get('with') ?? '', network: q.get('network') ?? undefined };
  const body = h('tbody', { id: 'transcript-rows' });
  const more = h('button', { id: 'transcript-more', type: 'button' }, 'Later messages');
  main.replaceChildren(
    h('h1', {}, 'Transcript: ', id(query.user), ' with ', id(query.with), ` (${query.protocol})`),
    h(
      'p',
      { class: 'exports' },
      h('button', { type: 'button', id: 'print', onclick: () => window.print() }, 'Print'),
      ' ',
      h('a', { href: `/api/export?${params({ protocol: query.protocol, user: query.user, with: query.with, network: query.network, format: 'csv' })}`, download: '' }, 'CSV'),
      ' · ',
      h('a', { href: `/api/export?${params({ protocol: query.protocol, user: query.user, with: query.with, network: query.network, format: 'jsonl' })}`, download: '' }, 'JSONL'),
    ),
    h('div', { class: 'table-wrap' }, h('table', { class: 'transcript' }, headerRow(['Time', 'Protocol', 'User', '', 'Peer', 'What']), body)),
    more,
  );
  let cursor: string | null = null;
  const load = async () => {
    const page = await api<{ messages: Message[]; next: string | null }>(`/api/transcript?${params({ ...query, cursor: cursor ?? undefined })}`);
    body.append(...page.messages.map((m) => messageRow(m, false)));
    cursor = page.next;
    more.hidden = cursor === null;
  };
  more.addEventListener('click', () => void load().catch((e: Error) => main.append(errorBox(e.message))));
  await load();
}

interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  role: string;
  action: string;
  detail: Record<string, unknown>;
  source: string;
}

async function auditPage(): Promise<void> {
  const main = view;
  const body = h('tbody', { id: 'audit-rows' });
  const more = h('button', { type: 'button' }, 'Older entries');
  main.replaceChildren(
    h('h1', {}, 'Audit trail'),
    h('p', { class: 'muted' }, 'Every login (and failed attempt), search, transcript view, export and change. It cannot be edited or deleted from here.'),
    h('div', { class: 'table-wrap' }, h('table', {}, headerRow(['When', 'Who', 'Role', 'What', 'Details', 'From']), body)),
    more,
  );
  let before: number | null = null;
  const load = async () => {
    const page = await api<{ entries: AuditEntry[]; next: number | null }>(`/api/audit?${params({ before: before === null ? undefined : String(before) })}`);
    body.append(
      ...page.entries.map((e) =>
        h(
          'tr',
          {},
          h('td', { class: 'nowrap' }, time(e.at)),
          h('td', {}, id(e.actor)),
          h('td', {}, e.role),
          h('td', {}, e.action),
          h('td', {}, textBox(JSON.stringify(e.detail))),
          h('td', {}, e.source),
        ),
      ),
    );
    before = page.next;
    more.hidden = before === null;
  };
  more.addEventListener('click', () => void load().catch((e: Error) => main.append(errorBox(e.message))));
  await load();
}

async function policyPage(q: URLSearchParams): Promise<void> {
  const main = view;
  const { files } = await api<{ files: Array<{ id: string; title: string; file: string; exists: boolean }> }>('/api/policy');
  const list = h('ul', { class: 'tabs' }, ...files.map((f) => h('li', {}, h('a', { href: `#/policy?file=${encodeURIComponent(f.id)}`, id: `policy-${f.id}` }, f.title))));
  main.replaceChildren(h('h1', {}, 'Policy'), files.length > 0 ? list : h('p', { class: 'muted' }, 'No policy file is configured (filter-badwords file, filter-acl file).'));
  const chosen = files.find((f) => f.id === q.get('file')) ?? files[0];
  if (!chosen) return;
  const doc = await api<{ text: string; file: string; problems: Array<{ line: number; message: string }>; refusal?: string }>(`/api/policy/${encodeURIComponent(chosen.id)}`);
  const admin = me?.role === 'admin' && doc.refusal === undefined;
  const area = h('textarea', { id: 'policy-text', spellcheck: 'false', rows: '20', ...(admin ? {} : { readonly: true }) });
  area.value = doc.text;
  const problems = h('ul', { id: 'policy-problems', class: 'error' });
  const result = h('p', { id: 'policy-result', role: 'status' });
  const showProblems = (list: Array<{ line: number; message: string }>) => {
    problems.replaceChildren(...list.map((p) => h('li', {}, `line ${p.line}: ${p.message}`)));
    const first = list[0];
    if (first) {
      // Put the cursor at the start of the first bad line.
      const lines = area.value.split('\n');
      const offset = lines.slice(0, first.line - 1).reduce((n, l) => n + l.length + 1, 0);
      area.focus();
      area.setSelectionRange(offset, offset + (lines[first.line - 1]?.length ?? 0));
    }
  };
  const save = h(
    'button',
    {
      id: 'policy-save',
      type: 'button',
      onclick: async () => {
        result.textContent = '';
        problems.replaceChildren();
        try {
          const answer = await api<{ ok: boolean; problems: string[] }>(`/api/policy/${encodeURIComponent(chosen.id)}`, { method: 'PUT', body: { text: area.value } });
          result.textContent = answer.ok ? 'Saved and applied: the next message is judged by it.' : `Saved, but the reload reported: ${answer.problems.join('; ')}`;
        } catch (error) {
          const e = error as HttpError;
          if (Array.isArray(e.body?.['problems'])) showProblems(e.body['problems'] as Array<{ line: number; message: string }>);
          result.textContent = `Not saved: ${e.message}`;
        }
      },
    },
    'Save and apply',
  );
  main.append(
    h('h2', { id: 'policy-title' }, chosen.title, ' ', h('span', { class: 'muted' }, chosen.file)),
    area,
    admin
      ? save
      : doc.refusal !== undefined
        ? h('p', { class: 'error', id: 'policy-refusal' }, `Read only here: ${doc.refusal}`)
        : h('p', { class: 'muted', id: 'policy-readonly' }, 'Read only: changing policy needs the admin role.'),
    result,
    problems,
  );
  if (doc.problems.length > 0) showProblems(doc.problems);
}

async function usersPage(q: URLSearchParams): Promise<void> {
  const main = view;
  const prefix = h('input', { id: 'users-prefix', placeholder: 'local id starts with', value: q.get('prefix') ?? '' });
  const form = h('form', { class: 'filters', id: 'users-form' }, prefix, h('button', { type: 'submit' }, 'Find'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = `#/users?${params({ prefix: prefix.value.trim() })}`;
  });
  main.replaceChildren(h('h1', {}, 'Users'), h('p', { class: 'muted' }, 'Every protected user (local id) in the archive, most recently seen first.'), form);
  const { users } = await api<{ users: Array<{ localId: string; lastMs: number; events: number }> }>(`/api/users?${params({ prefix: q.get('prefix') ?? undefined })}`);
  main.append(
    table(
      ['User', 'Last seen', 'Events'],
      users.map((u) =>
        h(
          'tr',
          {},
          h('td', {}, h('a', { class: 'user-link', href: `#/users?${params({ id: u.localId })}` }, id(u.localId))),
          h('td', {}, time(new Date(u.lastMs).toISOString())),
          h('td', {}, String(u.events)),
        ),
      ),
    ),
  );
}

interface UserInfo {
  localId: string;
  online: Dashboard['online'];
  conversations: Array<{ protocol: string; network: string | null; peer: string; messages: number; lastMs: number }>;
  contacts: Array<{
    protocol: string;
    network: string | null;
    remoteId: string;
    subtype: string | null;
    group: string | null;
    status: string | null;
    data: string | null;
    atMs: number;
    presence: PresenceState | null;
  }>;
  presence: PresenceState | null;
}

/** A last known presence, as the archive keeps it (see logger-sql's PresenceState). */
interface PresenceState {
  protocol: string;
  status: string;
  protocolStatus: string | null;
  description: string | null;
  sinceMs: number;
  atMs: number;
}

/** `away (AWY) since 10:02` and the status text below it: all shown as text, invisible characters made visible. */
function presenceCell(p: PresenceState | null): HTMLElement {
  if (p === null) return h('span', { class: 'muted' }, 'unknown');
  const code = p.protocolStatus !== null && p.protocolStatus !== p.status ? ` (${p.protocolStatus})` : '';
  return h(
    'div',
    { class: 'presence' },
    h('span', { class: `presence-status presence-${/^[a-z-]+$/.test(p.status) ? p.status : 'unknown'}` }, visible(p.status + code)),
    ` since ${time(new Date(p.sinceMs).toISOString())}`,
    p.description !== null ? textBox(p.description) : null,
  );
}

interface UserPolicy {
  available: boolean;
  protocols: string[];
  blockable: string[];
  entry: { protocols?: string[]; block?: Record<string, boolean> } | null;
  acl: boolean;
  blockedContacts: string[];
}

/** The user's entry of the per-user policy file, as a form (admins save it; auditors see it). */
function userPolicyCard(localId: string, p: UserPolicy): HTMLElement {
  if (!p.available && !p.acl)
    return h(
      'section',
      { class: 'card', id: 'user-policy' },
      h('h2', {}, 'Policy'),
      h('p', { class: 'muted' }, 'No policy file or ACL is configured (filter-policy, filter-acl).'),
    );
  const admin = me?.role === 'admin';
  const allowed = new Set(p.entry?.protocols ?? []);
  const protocolBoxes = p.protocols.map((name) => {
    const box = h('input', {
      type: 'checkbox',
      name: 'protocol',
      value: name,
      id: `user-protocol-${name}`,
      ...(allowed.has(name) ? { checked: true } : {}),
      ...(admin ? {} : { disabled: true }),
    });
    return h('label', { class: 'check' }, box, name);
  });
  const selects = p.blockable.map((kind) => {
    const current = p.entry?.block?.[kind];
    const select = h(
      'select',
      { id: `user-block-${kind}`, name: kind, ...(admin ? {} : { disabled: true }) },
      h('option', { value: '' }, 'as for everyone'),
      h('option', { value: 'block', ...(current === true ? { selected: true } : {}) }, 'blocked'),
      h('option', { value: 'allow', ...(current === false ? { selected: true } : {}) }, 'allowed'),
    );
    return h('label', { class: 'policy-kind' }, `${kind}: `, select);
  });
  const contacts = h('textarea', { id: 'user-blocked-contacts', rows: '4', spellcheck: 'false', ...(admin ? {} : { readonly: true }) });
  contacts.value = p.blockedContacts.join('\n');
  const result = h('p', { id: 'user-policy-result', role: 'status' });
  const save = h(
    'button',
    {
      id: 'user-policy-save',
      type: 'button',
      onclick: async () => {
        result.textContent = '';
        const protocols = protocolBoxes
          .map((l) => l.querySelector('input')!)
          .filter((b) => b.checked)
          .map((b) => b.value);
        const block: Record<string, boolean> = {};
        for (const l of selects) {
          const select = l.querySelector('select')!;
          if (select.value !== '') block[select.name] = select.value === 'block';
        }
        try {
          const blockedContacts = contacts.value
            .split('\n')
            .map((c) => c.trim())
            .filter((c) => c.length > 0);
          const body = { id: localId, ...(p.available ? { entry: { protocols, block } } : {}), ...(p.acl ? { blockedContacts } : {}) };
          const answer = await api<{ ok: boolean; problems: string[] }>('/api/user-policy', { method: 'PUT', body });
          result.textContent = answer.ok ? 'Saved and applied: the next message is judged by it.' : `Saved, but the reload reported: ${answer.problems.join('; ')}`;
        } catch (error) {
          result.textContent = `Not saved: ${(error as Error).message}`;
        }
      },
    },
    'Save and apply',
  );
  return h(
    'section',
    { class: 'card', id: 'user-policy' },
    h('h2', {}, 'Policy'),
    p.available ? h('p', {}, 'Protocols this user may use (none ticked: every protocol): ', ...protocolBoxes) : null,
    p.available ? h('p', {}, ...selects) : null,
    p.acl ? h('label', { class: 'block-label' }, 'Blocked contacts, one per line (ACL deny rules):', contacts) : null,
    admin ? save : h('p', { class: 'muted' }, 'Read only: changing policy needs the admin role.'),
    result,
  );
}

async function userPage(localId: string): Promise<void> {
  const main = view;
  const u = await api<UserInfo>(`/api/user?${params({ id: localId })}`);
  const policy = await api<UserPolicy>(`/api/user-policy?${params({ id: localId })}`);
  main.replaceChildren(
    h('h1', {}, 'User ', id(u.localId)),
    h(
      'p',
      { id: 'user-online' },
      u.online.length > 0 ? `Online now: ${u.online.map((s) => `${s.protocol} from ${s.client.ip} since ${time(new Date(s.since).toISOString())}`).join('; ')}` : 'Not online now.',
    ),
    h(
      'div',
      { id: 'user-presence' },
      'Own status (last set): ',
      ...(u.presence ? [`${u.presence.protocol} `, presenceCell(u.presence)] : [h('span', { class: 'muted' }, 'never seen')]),
    ),
    h(
      'section',
      { class: 'card' },
      h('h2', {}, `Conversations (${u.conversations.length})`),
      table(
        ['Protocol', 'With', 'Messages', 'Last'],
        u.conversations.map((c) =>
          h(
            'tr',
            {},
            h('td', {}, c.protocol),
            h(
              'td',
              {},
              h(
                'a',
                { class: 'transcript-link', href: `#/transcript?${params({ protocol: c.protocol, user: u.localId, with: c.peer, network: c.network ?? undefined })}` },
                id(c.peer),
              ),
            ),
            h('td', {}, String(c.messages)),
            h('td', {}, time(new Date(c.lastMs).toISOString())),
          ),
        ),
      ),
    ),
    h(
      'section',
      { class: 'card', id: 'user-contacts' },
      h('h2', {}, `Contacts (${u.contacts.length})`),
      u.contacts.length > 0
        ? table(
            ['Protocol', 'Contact', 'Status', 'Group', 'List / subscription', 'Last change', 'Details', 'When'],
            u.contacts.map((c) =>
              h(
                'tr',
                {},
                h('td', {}, c.protocol),
                h('td', {}, id(c.remoteId)),
                h('td', { class: 'contact-presence' }, presenceCell(c.presence)),
                h('td', { class: 'contact-group' }, id(c.group ?? '')),
                h('td', { class: 'contact-status' }, id(c.status ?? '')),
                h('td', {}, c.subtype ?? ''),
                h('td', {}, id(c.data ?? '')),
                h('td', {}, time(new Date(c.atMs).toISOString())),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'No contact-list events recorded for this user.'),
    ),
    userPolicyCard(u.localId, policy),
  );
}

interface SystemInfo {
  plugins: Array<{ name: string; kind: string; version: string; status: string; error?: string }>;
  listeners: string[];
  tls: { intercepting: boolean; summary: string };
  ca: boolean;
  loggers: Dashboard['loggers'];
  journal: Dashboard['journal'];
  archive: string | null;
}

async function systemPage(): Promise<void> {
  const main = view;
  const s = await api<SystemInfo>('/api/system');
  main.replaceChildren(
    h('h1', {}, 'System'),
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'Plugins'),
      table(
        ['Plugin', 'Kind', 'Version', 'Status', 'Problem'],
        s.plugins.map((p) =>
          h(
            'tr',
            { class: p.status === 'failed' ? 'blocked' : '' },
            h('td', {}, p.name),
            h('td', {}, p.kind),
            h('td', {}, p.version),
            h('td', {}, p.status),
            h('td', {}, p.error ?? ''),
          ),
        ),
      ),
    ),
    h('section', { class: 'card' }, h('h2', {}, 'Listeners'), h('ul', { id: 'system-listeners' }, ...s.listeners.map((l) => h('li', {}, l)))),
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'TLS interception'),
      h('p', {}, s.tls.summary),
      s.ca
        ? h('a', { id: 'ca-download', href: '/api/ca.crt', download: 'imspect-ca.crt' }, 'Download the CA certificate (install it on client machines)')
        : h('p', { class: 'muted' }, 'No CA (imspect ca init).'),
    ),
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'Delivery'),
      table(
        ['Logger', 'Backlog', 'Stored', 'Lost', 'Last error'],
        s.loggers.map((l) =>
          h('tr', {}, h('td', {}, l.name), h('td', {}, String(l.pending)), h('td', {}, String(l.delivered)), h('td', {}, String(l.lost)), h('td', {}, l.lastError ?? '—')),
        ),
      ),
      h('p', {}, `Archive: ${s.archive ?? 'none (logger-sql disabled)'}`),
    ),
  );
}

window.addEventListener('hashchange', () => void route());
void route();
