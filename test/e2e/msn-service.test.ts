/**
 * End to end: a scripted MSN service (dispatch, notification and switchboard servers on three ports, following
 * the documented MSNP8 flow) and two MSNP clients over real sockets, imspect started as a user starts it.
 * alice goes through imspect (a forward listener in one run, SOCKS5 in the other); bob connects directly.
 *
 * In forward mode the dispatch server's `XFR ... NS`, the notification server's `XFR ... SB` and `RNG` must be
 * rewritten to imspect's address, and the connections that follow must reach the right real server. Policy:
 * a filter blocks messages with "forbidden" (the sender gets a notice in the conversation), a content plugin
 * masks "damn" (bob receives the masked text with a correct length).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCsvLogs, type CsvLogRow } from '../support/csv-logs.js';
import { writeLocalPlugin } from '../support/local-plugin.js';
import { startImspect, type RunningImspect } from '../support/imspect-process.js';
import { fileInvite, TEXT_HEAD } from '../support/msn-messages.js';
import { addressOf, connectMsn, startMsnService, type MsnConnection, type MsnService } from '../support/msn-servers.js';

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const UNICODE = 'h\u00e9llo w\u00f6rld \u2713 \u4f60\u597d';
const typing = (who: string) => `MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: ${who}\r\n\r\n\r\n`;

const FILTER = `
export default {
  [Symbol.for('imspect.plugin')]: true,
  name: 'no-forbidden',
  kind: 'filter',
  setup: () => ({
    check: (event) => event.type === 'message' && /forbidden/.test(event.text ?? '')
      ? { action: 'block', categories: ['test-policy'], respond: 'Blocked by policy: forbidden word' }
      : { action: 'pass' },
  }),
};
`;
const MASK = `
export default {
  [Symbol.for('imspect.plugin')]: true,
  name: 'mask-damn',
  kind: 'content',
  setup: () => ({ transform: (event) => (event.text && event.text.includes('damn') ? event.text.replaceAll('damn', '****') : undefined) }),
};
`;

type Route = (host: string, port: number) => Promise<MsnConnection>;

/** Dispatch, then the notification server it names; returns the NS connection and the XFR address seen. */
async function login(email: string, connect: Route, dispatch: { host: string; port: number }) {
  const first = await connect(dispatch.host, dispatch.port);
  first.send('VER', 'MSNP8 CVR0');
  await first.command('VER');
  first.send('CVR', `0x0409 winnt 5.1 i386 MSNMSGR 6.2.0208 MSMSGS ${email}`);
  await first.command('CVR');
  first.send('USR', `TWN I ${email}`);
  const xfr = await first.command('XFR');
  first.end();
  const nsAddress = addressOf(xfr.words[3]!);
  const ns = await connect(nsAddress.host, nsAddress.port);
  ns.send('VER', 'MSNP8 CVR0');
  await ns.command('VER');
  ns.send('CVR', `0x0409 winnt 5.1 i386 MSNMSGR 6.2.0208 MSMSGS ${email}`);
  await ns.command('CVR');
  ns.send('USR', `TWN I ${email}`);
  await ns.command('USR');
  ns.send('USR', 'TWN S t=ticket&p=profile');
  const ok = await ns.command('USR');
  expect(ok.words.slice(2, 4)).toEqual(['OK', email]);
  ns.send('CHG', 'NLN 0');
  await ns.command('CHG');
  return { ns, nsAddress };
}

/** Reads one MSG and returns its sender and body text. */
async function message(connection: MsnConnection, match: (text: string) => boolean, what: string) {
  const msg = await connection.next((r) => r.words[0] === 'MSG' && r.payload !== undefined && match(r.payload.toString('utf8')), what);
  const raw = msg.payload!.toString('utf8');
  return { sender: msg.words[1], name: msg.words[2], length: Number(msg.words[3]), bytes: msg.payload!.length, body: raw.slice(raw.indexOf('\r\n\r\n') + 4), raw };
}

interface Observed {
  xfrNs: { host: string; port: number };
  xfrSb: { host: string; port: number };
  rng: { host: string; port: number };
}

async function conversation(service: MsnService, aliceRoute: Route, aliceDispatch: { host: string; port: number }): Promise<Observed> {
  const direct: Route = (host, port) => connectMsn(host, port);
  const bob = await login(BOB, direct, { host: '127.0.0.1', port: service.dispatchPort });
  const alice = await login(ALICE, aliceRoute, aliceDispatch);

  // alice starts a conversation: XFR ... SB, USR with the cookie, CAL bob; bob answers the RNG directly.
  alice.ns.send('XFR', 'SB');
  const xfr = await alice.ns.command('XFR');
  const xfrSb = addressOf(xfr.words[3]!);
  const sb = await aliceRoute(xfrSb.host, xfrSb.port);
  sb.send('USR', `${ALICE} ${xfr.words[5]}`);
  expect((await sb.command('USR')).words[2]).toBe('OK');
  sb.send('CAL', BOB);
  const ringing = await sb.command('CAL');
  const rngBob = await bob.ns.command('RNG');
  const bobSb = await direct('127.0.0.1', addressOf(rngBob.words[2]!).port);
  bobSb.send('ANS', `${BOB} ${rngBob.words[4]} ${rngBob.words[1]}`);
  await bobSb.command('ANS');
  await sb.command('JOI');
  expect(ringing.words[3]).toBe(rngBob.words[1]);

  sb.sendMessage('U', typing(ALICE));
  await message(bobSb, (t) => t.includes('TypingUser'), 'typing at bob');
  sb.sendMessage('N', `${TEXT_HEAD}${UNICODE}`);
  expect((await message(bobSb, (t) => t.includes(UNICODE), 'unicode at bob')).body).toBe(UNICODE);
  bobSb.sendMessage('N', `${TEXT_HEAD}hi alice, bob here`);
  expect((await message(sb, (t) => t.includes('bob here'), 'reply at alice')).sender).toBe(BOB);

  // Masked: bob gets the new text, with a payload length that matches it.
  sb.sendMessage('N', `${TEXT_HEAD}this is damn good`);
  const masked = await message(bobSb, (t) => t.includes('good'), 'masked text at bob');
  expect(masked.body).toBe('this is **** good');
  expect(masked.bytes).toBe(Buffer.byteLength(`${TEXT_HEAD}this is **** good`));

  // Blocked: bob never sees it; alice gets a notice from the switchboard in the conversation.
  sb.sendMessage('A', `${TEXT_HEAD}the forbidden plan`);
  const notice = await message(sb, (t) => t.includes('Blocked by policy'), 'the policy notice at alice');
  expect(notice.body).toBe('Blocked by policy: forbidden word');
  expect(notice.sender).toBe(BOB);
  sb.sendMessage('D', fileInvite(BOB, ALICE, 'quarterly r\u00e9sum\u00e9.pdf'));
  await message(bobSb, (t) => t.includes('INVITE MSNMSGR'), 'the file invite at bob');
  expect(bobSb.inbox.some((r) => r.payload?.toString('utf8').includes('forbidden'))).toBe(false);

  // bob starts the second conversation: alice is rung through her notification server.
  bob.ns.send('XFR', 'SB');
  const bobXfr = await bob.ns.command('XFR');
  const bobSb2 = await direct('127.0.0.1', addressOf(bobXfr.words[3]!).port);
  bobSb2.send('USR', `${BOB} ${bobXfr.words[5]}`);
  await bobSb2.command('USR');
  bobSb2.send('CAL', ALICE);
  await bobSb2.command('CAL');
  const rng = await alice.ns.command('RNG');
  const rngAddress = addressOf(rng.words[2]!);
  const aliceSb2 = await aliceRoute(rngAddress.host, rngAddress.port);
  aliceSb2.send('ANS', `${ALICE} ${rng.words[4]} ${rng.words[1]}`);
  const iro = await aliceSb2.command('IRO');
  expect(iro.words[4]).toBe(BOB);
  await aliceSb2.command('ANS');
  await bobSb2.command('JOI');
  bobSb2.sendMessage('N', `${TEXT_HEAD}ring ring`);
  await message(aliceSb2, (t) => t.includes('ring ring'), 'bob at alice, second conversation');
  aliceSb2.sendMessage('N', `${TEXT_HEAD}answered`);
  await message(bobSb2, (t) => t.includes('answered'), 'alice at bob, second conversation');

  // Leaving: alice leaves the second conversation, bob the first.
  aliceSb2.sendRaw('OUT\r\n');
  await bobSb2.command('BYE');
  bobSb.sendRaw('OUT\r\n');
  await sb.command('BYE');
  for (const c of [sb, aliceSb2]) c.end();
  for (const c of [bobSb, bobSb2]) c.end();
  alice.ns.sendRaw('OUT\r\n');
  bob.ns.sendRaw('OUT\r\n');
  await Promise.all([alice.ns.closed, bob.ns.closed]);
  return { xfrNs: alice.nsAddress, xfrSb, rng: rngAddress };
}

function one(rows: CsvLogRow[], want: Partial<CsvLogRow>, label: string): CsvLogRow {
  const matches = rows.filter((row) => Object.entries(want).every(([k, v]) => row[k as keyof CsvLogRow] === v));
  expect(matches, `${label}: one row matching ${JSON.stringify(want)}\nrows: ${JSON.stringify(rows, null, 1)}`).toHaveLength(1);
  return matches[0]!;
}

function checkLog(rows: CsvLogRow[], service: MsnService): void {
  const local = (r: CsvLogRow) => decodeURIComponent(r.localDir);
  const remote = (r: CsvLogRow) => decodeURIComponent(r.remoteDir);
  const all = rows.map((r) => ({ ...r, localDir: local(r), remoteDir: remote(r) }));
  for (const row of all) {
    expect(row.protocol).toBe('msn');
    expect(row.localDir).toBe(ALICE);
    expect(row.client).toMatch(/^127\.0\.0\.1:\d+$/);
  }
  const serverOf = (port: number) => `127.0.0.1:${port}`;
  const login = one(all, { type: 5 }, 'login');
  expect(login.server).toBe(serverOf(service.notificationPort));
  expect(login.data).toBe('client=MSNMSGR version=6.2.0208 protocol-version=MSNP8');
  one(all, { type: 6, outgoing: true }, 'logout');
  const first = one(all, { type: 1, outgoing: true, text: UNICODE }, 'unicode message out');
  expect(first.remoteDir).toBe(BOB);
  expect(first.server).toBe(serverOf(service.switchboardPort));
  const conv1 = first.conversation;
  expect(conv1).toMatch(/^\d+$/);
  one(all, { type: 3, outgoing: true, remoteDir: BOB, conversation: conv1 }, 'typing out');
  one(all, { type: 1, outgoing: false, remoteDir: BOB, conversation: conv1, text: 'hi alice, bob here' }, 'message in');
  const masked = one(all, { type: 1, outgoing: true, text: 'this is damn good' }, 'masked message');
  expect(masked.deliveredText).toBe('this is **** good');
  const blocked = one(all, { type: 1, outgoing: true, text: 'the forbidden plan' }, 'blocked message');
  expect(blocked.filtered).toBe(true);
  expect(blocked.categories).toContain('test-policy');
  const file = one(all, { type: 2, outgoing: true }, 'file offer');
  expect(file.remoteDir).toBe(BOB);
  expect(file.eventData).toContain('quarterly r\u00e9sum\u00e9.pdf');
  expect(file.eventData).toContain('4321');
  one(all, { type: 7, outgoing: false, remoteDir: BOB, conversation: conv1, subtype: '' }, 'bob joins');
  one(all, { type: 8, outgoing: false, remoteDir: BOB, conversation: conv1 }, 'bob leaves');
  const rung = one(all, { type: 1, outgoing: false, text: 'ring ring' }, 'message in the RNG conversation');
  expect(rung.conversation).not.toBe(conv1);
  expect(rung.remoteDir).toBe(BOB);
  one(all, { type: 7, subtype: 'present', conversation: rung.conversation }, 'IRO in the RNG conversation');
  one(all, { type: 1, outgoing: true, text: 'answered', conversation: rung.conversation }, 'reply in the RNG conversation');
  one(all, { type: 8, outgoing: true, conversation: rung.conversation }, 'alice leaves the RNG conversation');
  expect(new Set(all.map((r) => r.eventId)).size).toBe(all.length);
}

describe('MSN end to end through imspect (scripted dispatch, notification and switchboard servers)', () => {
  let service: MsnService;
  let work: string;

  beforeAll(async () => {
    service = await startMsnService();
    work = await mkdtemp(path.join(os.tmpdir(), 'imspect-e2e-msn-'));
  });

  afterAll(async () => {
    await service?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function run(name: string, listener: Record<string, unknown>, body: (url: URL) => Promise<void>): Promise<CsvLogRow[]> {
    const dir = path.join(work, name);
    await writeLocalPlugin(path.join(dir, 'plugins'), 'no-forbidden', 'filter', FILTER);
    await writeLocalPlugin(path.join(dir, 'plugins'), 'mask-damn', 'content', MASK);
    const ports = Object.fromEntries([service.dispatchPort, service.notificationPort, service.switchboardPort].map((p) => [String(p), 'msn']));
    await writeFile(
      path.join(dir, 'imspect.config.json'),
      JSON.stringify({ dataDir: 'data', pluginFolders: ['plugins'], listeners: [listener], ports, log: { level: 'info', format: 'json' } }, null, 2),
    );
    let proxy: RunningImspect | undefined = await startImspect([], { cwd: dir });
    try {
      const url = new URL(/listening: (\S+)/.exec(proxy.stdout())![1]!);
      await body(url);
      // Let the last frames reach the loggers before stopping.
      await new Promise((r) => setTimeout(r, 200));
      const code = await proxy.stop();
      expect(code, proxy.stderr()).toBe(0);
      proxy = undefined;
      return readCsvLogs(path.join(dir, 'data', 'logs'));
    } finally {
      await proxy?.stop();
    }
  }

  it('forward listener: XFR NS, XFR SB and RNG are rewritten to imspect and routed to the right server; everything logged', async () => {
    let observed: Observed | undefined;
    const rows = await run(
      'forward',
      { type: 'forward', host: '127.0.0.1', port: 0, upstream: { host: '127.0.0.1', port: service.dispatchPort }, protocol: 'msn' },
      async (url) => {
        const proxy = { host: url.hostname, port: Number(url.port) };
        const route: Route = (host, port) => connectMsn(host, port);
        observed = await conversation(service, route, proxy);
        // Every redirect alice saw points at imspect, never at the real servers.
        for (const address of [observed.xfrNs, observed.xfrSb, observed.rng]) expect(address).toEqual(proxy);
      },
    );
    expect(observed).toBeDefined();
    // The real servers saw alice's connections: the NS login, her USR on the switchboard, her ANS.
    expect(service.received.some((l) => l.startsWith(`${service.notificationPort}: USR`) && l.includes(`TWN I ${ALICE}`))).toBe(true);
    expect(service.received.some((l) => l.startsWith(`${service.switchboardPort}: USR`) && l.includes(ALICE))).toBe(true);
    expect(service.received.some((l) => l.startsWith(`${service.switchboardPort}: ANS`) && l.includes(ALICE))).toBe(true);
    checkLog(rows, service);
  }, 60_000);

  it('SOCKS5 listener: redirects are left as they are, every connection goes through the proxy; everything logged', async () => {
    const rows = await run('socks', { type: 'socks5', host: '127.0.0.1', port: 0 }, async (url) => {
      const socks = { host: url.hostname, port: Number(url.port) };
      const route: Route = (host, port) => connectMsn(host, port, socks);
      const observed = await conversation(service, route, { host: '127.0.0.1', port: service.dispatchPort });
      expect(observed.xfrNs).toEqual({ host: '127.0.0.1', port: service.notificationPort });
      expect(observed.xfrSb).toEqual({ host: '127.0.0.1', port: service.switchboardPort });
      expect(observed.rng).toEqual({ host: '127.0.0.1', port: service.switchboardPort });
    });
    checkLog(rows, service);
  }, 60_000);
});
