/**
 * Policy on MSN end to end: the scripted MSN service (dispatch, notification and switchboard servers, MSNP8), MSNP
 * clients over real sockets, `imspect start` with the real first-party filters (filter-badwords with a word list,
 * filter-acl denying alice -> carol, filter-policy blocking file transfers and denying MSN clients older than
 * 7.0), the blocked reply and the monitoring notice. alice goes through imspect (SOCKS5); bob and carol connect
 * directly. bob never sees a blocked message, sees bad words masked with a correct payload length; alice gets the
 * replies as switchboard MSGs and the notice once; an old client is disconnected at its CVR; every blocked event
 * is in the CSV log with `filtered` and its categories.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCsvLogs, type CsvLogRow } from '../support/csv-logs.js';
import { startImspect, type RunningImspect } from '../support/imspect-process.js';
import { fileInvite, TEXT_HEAD } from '../support/msn-messages.js';
import { addressOf, connectMsn, startMsnService, type MsnConnection, type MsnService } from '../support/msn-servers.js';

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const CAROL = 'carol@example.com';
const DAVE = 'dave@example.com';
const NOTICE = 'Your activities are being logged';
/** The default blocked reply: the filters' categories and what was stopped, inside the conversation. */
const BLOCKED = (category: string, what: string) => `Blocked (${category}): ${what}`;

type Endpoint = { host: string; port: number };
type Route = (host: string, port: number) => Promise<MsnConnection>;

/** Dispatch, then the notification server; `version` is what the client says in CVR. */
async function login(email: string, version: string, connect: Route, dispatch: Endpoint) {
  const first = await connect(dispatch.host, dispatch.port);
  first.send('VER', 'MSNP8 CVR0');
  await first.command('VER');
  first.send('CVR', `0x0409 winnt 5.1 i386 MSNMSGR ${version} MSMSGS ${email}`);
  await first.command('CVR');
  first.send('USR', `TWN I ${email}`);
  const xfr = await first.command('XFR');
  first.end();
  const nsAddress = addressOf(xfr.words[3]!);
  const ns = await connect(nsAddress.host, nsAddress.port);
  ns.send('VER', 'MSNP8 CVR0');
  await ns.command('VER');
  ns.send('CVR', `0x0409 winnt 5.1 i386 MSNMSGR ${version} MSMSGS ${email}`);
  await ns.command('CVR');
  ns.send('USR', `TWN I ${email}`);
  await ns.command('USR');
  ns.send('USR', 'TWN S t=ticket&p=profile');
  expect((await ns.command('USR')).words.slice(2, 4)).toEqual(['OK', email]);
  ns.send('CHG', 'NLN 0');
  await ns.command('CHG');
  return ns;
}

interface Message {
  sender: string;
  name: string;
  /** The length on the MSG line, and the bytes that followed it. */
  length: number;
  bytes: number;
  body: string;
}

function asMessage(r: { words: string[]; payload?: Buffer }): Message {
  const raw = r.payload!.toString('utf8');
  return { sender: r.words[1]!, name: r.words[2]!, length: Number(r.words[3]), bytes: r.payload!.length, body: raw.slice(raw.indexOf('\r\n\r\n') + 4) };
}

async function message(connection: MsnConnection, match: (body: string) => boolean, what: string): Promise<Message> {
  const r = await connection.next((x) => x.words[0] === 'MSG' && x.payload !== undefined && match(asMessage(x).body), what);
  return asMessage(r);
}

/** Every MSG body a connection has received and not yet taken. */
const bodies = (c: MsnConnection) => c.inbox.filter((r) => r.words[0] === 'MSG' && r.payload).map((r) => asMessage(r).body);

describe('policy on MSN end to end through imspect (real filters, scripted MSN service)', () => {
  let service: MsnService;
  let dir: string;
  let proxy: RunningImspect | undefined;
  let socks: Endpoint;
  let rows: CsvLogRow[] = [];
  const direct: Route = (host, port) => connectMsn(host, port);
  let aliceRoute: Route;
  let dispatch: Endpoint;
  let bobNs: MsnConnection;
  let carolNs: MsnConnection;
  let aliceNs: MsnConnection;
  /** What alice's switchboards received: the notice must be in exactly one of them, once. */
  const aliceBoards: MsnConnection[] = [];

  beforeAll(async () => {
    service = await startMsnService();
    dispatch = { host: '127.0.0.1', port: service.dispatchPort };
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-e2e-policy-msn-'));
    await writeFile(path.join(dir, 'words.txt'), '# bad words\ndarn\nheck\n');
    await writeFile(path.join(dir, 'acl.txt'), `deny ${ALICE} ${CAROL}\nallow all\n`);
    const ports = Object.fromEntries([service.dispatchPort, service.notificationPort, service.switchboardPort].map((p) => [String(p), 'msn']));
    await writeFile(
      path.join(dir, 'imspect.config.json'),
      JSON.stringify({
        dataDir: 'data',
        listeners: [{ type: 'socks5', host: '127.0.0.1', port: 0 }],
        ports,
        plugins: {
          'filter-badwords': { options: { file: 'words.txt', blockCount: 2 } },
          'filter-acl': { options: { file: 'acl.txt' } },
          'filter-policy': { options: { block: { file: true }, clients: [{ protocol: 'msn', client: 'MSNMSGR', minVersion: '7.0' }] } },
        },
        responses: { blocked: { rateLimitSeconds: 0 }, notice: { enabled: true, everyDays: 7, text: NOTICE } },
        loggers: { flushIntervalMs: 10 },
        log: { level: 'info', format: 'json' },
      }),
    );
    proxy = await startImspect([], { cwd: dir });
    const url = new URL(/listening: (\S+)/.exec(proxy.stdout())![1]!);
    socks = { host: url.hostname, port: Number(url.port) };
    aliceRoute = (host, port) => connectMsn(host, port, socks);
    bobNs = await login(BOB, '8.5.1302', direct, dispatch);
    carolNs = await login(CAROL, '8.5.1302', direct, dispatch);
    aliceNs = await login(ALICE, '8.5.1302', aliceRoute, dispatch);
  }, 60_000);

  afterAll(async () => {
    for (const c of [aliceNs, bobNs, carolNs, ...aliceBoards]) c?.socket.destroy();
    await proxy?.stop();
    await service?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** alice opens a switchboard and invites `peer`, who answers directly. */
  async function converse(peer: string, peerNs: MsnConnection) {
    aliceNs.send('XFR', 'SB');
    const xfr = await aliceNs.command('XFR');
    const address = addressOf(xfr.words[3]!);
    const sb = await aliceRoute(address.host, address.port);
    aliceBoards.push(sb);
    sb.send('USR', `${ALICE} ${xfr.words[5]}`);
    expect((await sb.command('USR')).words[2]).toBe('OK');
    sb.send('CAL', peer);
    await sb.command('CAL');
    const rng = await peerNs.command('RNG');
    const peerSb = await direct('127.0.0.1', addressOf(rng.words[2]!).port);
    peerSb.send('ANS', `${peer} ${rng.words[4]} ${rng.words[1]}`);
    await peerSb.command('ANS');
    return { sb, peerSb };
  }

  it('alice gets the monitoring notice once, in her first conversation, as an MSG from the switchboard', async () => {
    const { sb, peerSb } = await converse(BOB, bobNs);
    await sb.command('JOI');
    const notice = await message(sb, (b) => b === NOTICE, 'the monitoring notice');
    expect(notice.sender).toBe(BOB);
    expect(notice.name).toBe('imspect');
    expect(notice.length).toBe(notice.bytes);

    // Masked: bob gets the masked text with a payload length that matches it.
    sb.sendMessage('N', `${TEXT_HEAD}oh DARN it`);
    const masked = await message(peerSb, (b) => b.includes(' it'), 'the masked message at bob');
    expect(masked.body).toBe('oh **** it');
    expect(masked.length).toBe(masked.bytes);
    expect(masked.bytes).toBe(Buffer.byteLength(`${TEXT_HEAD}oh **** it`));

    // Blocked (two bad words): bob never sees it; alice gets the reply as a well-formed MSG.
    sb.sendMessage('A', `${TEXT_HEAD}darn and heck`);
    const reply = await message(sb, (b) => b === BLOCKED('2 badwords', `message "darn and heck" to ${BOB}`), 'the blocked reply');
    expect(reply).toMatchObject({ sender: BOB, name: 'imspect' });
    expect(reply.length).toBe(reply.bytes);

    // The file offer: blocked by filter-policy, alice told, bob never sees the INVITE.
    sb.sendMessage('D', fileInvite(BOB, ALICE, 'budget.xls'));
    await message(sb, (b) => b === BLOCKED('policy file', `file "budget.xls" to ${BOB}`), 'the file reply');
    sb.sendMessage('N', `${TEXT_HEAD}after the offer`);
    await message(peerSb, (b) => b === 'after the offer', 'the sentinel at bob');
    const atBob = peerSb.inbox.map((r) => r.payload?.toString('latin1') ?? '').join('\n');
    expect(atBob).not.toMatch(/darn|heck|INVITE MSNMSGR/i);
    peerSb.socket.destroy();
  });

  it('the ACL keeps alice from talking to carol; bob and carol still talk; no second notice', async () => {
    const { sb, peerSb } = await converse(CAROL, carolNs);
    sb.sendMessage('N', `${TEXT_HEAD}hello carol`);
    const reply = await message(sb, (b) => b === BLOCKED('acl', `message "hello carol" to ${CAROL}`), 'the ACL reply');
    expect(reply.sender).toBe(CAROL);
    expect(reply.length).toBe(reply.bytes);
    sb.sendMessage('N', `${TEXT_HEAD}still there?`);
    await message(sb, (b) => b === BLOCKED('acl', `message "still there?" to ${CAROL}`), 'the second ACL reply');
    // Nothing alice said reached carol (carol's side saw no MSG at all).
    await new Promise((r) => setTimeout(r, 200));
    expect(bodies(peerSb)).toEqual([]);
    // The notice went out once, in the first conversation.
    for (const board of aliceBoards) expect(bodies(board)).not.toContain(NOTICE);
    peerSb.socket.destroy();
  });

  it('an MSN client older than the policy allows is disconnected at its CVR (the server never sees it)', async () => {
    const dave = await connectMsn(dispatch.host, dispatch.port, socks);
    dave.send('VER', 'MSNP8 CVR0');
    await dave.command('VER');
    dave.send('CVR', `0x0409 winnt 5.1 i386 MSNMSGR 6.2.0208 MSMSGS ${DAVE}`);
    await dave.closed;
    // Before the login an MSN server has no way to show text: the client gets nothing more, just the close.
    expect(dave.inbox).toEqual([]);
    expect(service.received.some((l) => l.includes('CVR') && l.includes(DAVE))).toBe(false);
    expect(proxy!.stderr()).toContain('client MSNMSGR 6.2.0208 on msn denied: version 7.0 or newer is required');
  });

  it('logs every blocked event with filtered and its categories, and the client report on CVR', async () => {
    // Everyone leaves, so imspect stops with nothing in flight.
    for (const board of aliceBoards) board.sendRaw('OUT\r\n');
    await Promise.all(aliceBoards.map((b) => b.closed));
    for (const ns of [aliceNs, bobNs, carolNs]) ns.sendRaw('OUT\r\n');
    await Promise.all([aliceNs, bobNs, carolNs].map((c) => c.closed));
    await new Promise((r) => setTimeout(r, 200));
    expect(await proxy!.stop(), proxy!.stderr()).toBe(0);
    proxy = undefined;
    rows = (await readCsvLogs(path.join(dir, 'data', 'logs'))).map((r) => ({ ...r, localDir: decodeURIComponent(r.localDir), remoteDir: decodeURIComponent(r.remoteDir) }));
    const one = (want: Partial<CsvLogRow>, label: string): CsvLogRow => {
      const found = rows.filter((r) => Object.entries(want).every(([k, v]) => r[k as keyof CsvLogRow] === v));
      expect(found, `${label}: ${JSON.stringify(rows, null, 1)}`).toHaveLength(1);
      return found[0]!;
    };
    expect(one({ localDir: ALICE, type: 1, text: 'oh DARN it' }, 'masked')).toMatchObject({
      filtered: false,
      categories: '1 badwords',
      deliveredText: 'oh **** it',
      remoteDir: BOB,
    });
    expect(one({ localDir: ALICE, type: 1, text: 'darn and heck' }, 'blocked')).toMatchObject({ filtered: true, categories: '2 badwords', deliveredText: '' });
    expect(one({ localDir: ALICE, type: 2 }, 'file offer')).toMatchObject({ filtered: true, categories: 'policy file', remoteDir: BOB, eventData: 'budget.xls 4321' });
    expect(one({ localDir: ALICE, type: 1, text: 'hello carol' }, 'ACL')).toMatchObject({ filtered: true, categories: 'acl', remoteDir: CAROL });
    expect(one({ localDir: ALICE, type: 1, text: 'after the offer' }, 'passed')).toMatchObject({ filtered: false, categories: '' });
    const client = one({ localDir: DAVE, type: 11 }, 'the denied client');
    expect(client).toMatchObject({ filtered: true, categories: 'policy client', subtype: 'client', outgoing: true });
    expect(client.data).toBe('client=MSNMSGR version=6.2.0208 protocol-version=MSNP8');
    expect(rows.filter((r) => r.localDir === DAVE)).toHaveLength(1);
    const login = one({ localDir: ALICE, type: 5 }, 'alice login');
    expect(login.data).toBe('client=MSNMSGR version=8.5.1302 protocol-version=MSNP8');
    // alice's own client reports (dispatch and notification server) passed.
    expect(rows.filter((r) => r.localDir === ALICE && r.type === 11 && r.subtype === 'client').map((r) => [r.filtered, r.data])).toEqual([
      [false, 'client=MSNMSGR version=8.5.1302 protocol-version=MSNP8'],
      [false, 'client=MSNMSGR version=8.5.1302 protocol-version=MSNP8'],
    ]);
    // Her own status (CHG) passed the filters: presence is no message, no contact addition.
    expect(rows.filter((r) => r.localDir === ALICE && r.subtype === 'status').map((r) => [r.filtered, r.data])).toEqual([[false, 'status=online protocol-status=NLN']]);
  });
});
