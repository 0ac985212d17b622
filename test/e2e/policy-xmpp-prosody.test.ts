/**
 * Policy end to end on XMPP: a real prosody that requires encryption, real @xmpp/client clients, `imspect start`
 * intercepting STARTTLS with its own CA and the first-party bad-word, ACL and policy filters configured, with
 * the blocked reply and the monitoring notice on. alice goes through imspect; bob and carol connect directly.
 * The receiving client never sees a blocked message and sees bad words masked (both ways); alice gets the
 * reply and the notice (once, not again after reconnecting) as messages from her server's domain; file offers
 * are blocked; a denied room never sees her join; a client version the policy denies is told and disconnected;
 * the CSV rows say what was filtered and why.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readCsvLogs, type CsvLogRow } from '../support/csv-logs.js';
import { describeWithService, findExecutable } from '../support/e2e.js';
import { REPO_ROOT, startImspect, type RunningImspect } from '../support/imspect-process.js';
import { startProsody, type RunningProsody } from '../support/prosody.js';
import { makeServerCerts } from '../support/tls-certs.js';
import { decodeSegment, initImspectCa, messageWithBody, restoreTls, trustCas, xml, xmppLogin, type XmlElement, type XmppSession } from '../support/xmpp-client.js';

const prosodyPath = findExecutable('prosody');
const prosodyctlPath = findExecutable('prosodyctl');
const missing = !prosodyPath || !prosodyctlPath ? 'prosody is not installed (apt-get install prosody lua-sec)' : undefined;
const PASSWORD = 'secret-pass';
const DOMAIN = 'localhost';
const ALICE = `alice@${DOMAIN}`;
const BOB = `bob@${DOMAIN}`;
const CAROL = `carol@${DOMAIN}`;
const NOTICE = 'Your activities are being logged';
const LEGAL = 'Conversations are archived under the acceptable use policy, section 4.2.';
/** The default blocked reply: the filters' categories and what was stopped. */
const BLOCKED = (category: string, what: string) => `Blocked (${category}): ${what}`;
const SI = 'http://jabber.org/protocol/si';
const MUC = 'http://jabber.org/protocol/muc';
const VERSION = 'jabber:iq:version';
const OLD_CLIENT = 'OldChat before 2.0 is not allowed here';

/** A message imspect itself sent alice: from her server's domain, to her full JID. */
const fromImspect = (text: string) => (s: XmlElement) => s.is('message') && s.attrs['from'] === DOMAIN && s.getChildText('body') === text;
/** A blocked reply in the conversation it is about: from the peer alice wrote to, as a chat message. */
const replyFrom = (peer: string, text: string | RegExp) => (s: XmlElement) =>
  s.is('message') &&
  s.attrs['from'] === peer &&
  s.attrs['type'] === 'chat' &&
  (typeof text === 'string' ? s.getChildText('body') === text : text.test(s.getChildText('body') ?? ''));

describeWithService('policy end to end on XMPP through imspect with TLS interception (prosody + @xmpp/client)', missing, () => {
  let work: string;
  let dir: string;
  let prosody: RunningProsody;
  let proxy: RunningImspect | undefined;
  let service: string;
  let direct: string;
  let alice: XmppSession | undefined;
  let bob: XmppSession;
  let carol: XmppSession;
  let room: string;
  let secretRoom: string;

  const chat = (to: string, text: string, id: string) => xml('message', { type: 'chat', to, id }, xml('body', {}, text));
  const loginAlice = async (resource: string) => (alice = await xmppLogin(service, DOMAIN, 'alice', PASSWORD, resource));
  const noticesTo = (session: XmppSession) => session.all.filter(fromImspect(NOTICE)).length;

  /** alice sends `stanza`, then a sentinel chat to bob; resolves once bob has the sentinel (so the stanza went first). */
  async function sendThenSentinel(stanza: XmlElement, sentinel: string): Promise<void> {
    const arrived = bob.waitFor(messageWithBody(sentinel), `"${sentinel}" at bob`);
    await alice!.xmpp.send(stanza);
    await alice!.xmpp.send(chat(BOB, sentinel, `s-${sentinel}`));
    await arrived;
  }

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'imspect-e2e-policy-xmpp-'));
    const certs = await makeServerCerts(path.join(work, 'certs'), DOMAIN);
    const user = (username: string) => ({ username, password: PASSWORD });
    prosody = await startProsody(prosodyPath!, prosodyctlPath!, [
      { domain: DOMAIN, certFile: certs.valid.certFile, keyFile: certs.valid.keyFile, users: [user('alice'), user('bob'), user('carol')] },
    ]);
    room = `lounge@${prosody.mucDomain}`;
    secretRoom = `secret@${prosody.mucDomain}`;
    await writeFile(path.join(work, 'upstream-ca.pem'), await readFile(certs.caFile, 'utf8'));

    dir = path.join(work, 'imspect');
    await mkdir(dir);
    await writeFile(path.join(dir, 'words.txt'), '# bad words\ndarn\nheck\n坏蛋\n');
    await writeFile(path.join(dir, 'acl.txt'), `[xmpp]\ndeny ${ALICE} ${CAROL} ${secretRoom}\nallow all\n`);
    await writeFile(path.join(dir, 'notice.txt'), `${NOTICE}\n${LEGAL}\n`);
    await writeFile(
      path.join(dir, 'policy.yaml'),
      ['block:', '  file: true', 'clients:', '  - { protocol: xmpp, client: OldChat, minVersion: "2.0", message: OldChat before 2.0 is not allowed here }', ''].join('\n'),
    );
    await writeFile(
      path.join(dir, 'imspect.config.json'),
      JSON.stringify({
        dataDir: 'data',
        listeners: [{ type: 'forward', host: '127.0.0.1', port: 0, upstream: { host: '127.0.0.1', port: prosody.port } }],
        ports: { [String(prosody.port)]: 'xmpp' },
        pluginFolders: [path.join(REPO_ROOT, 'packages/plugin-jabber')],
        plugins: {
          'filter-badwords': { options: { file: 'words.txt', blockCount: 2 } },
          'filter-acl': { options: { file: 'acl.txt' } },
          'filter-policy': { options: { file: 'policy.yaml' } },
        },
        responses: { blocked: { enabled: true, rateLimitSeconds: 0 }, notice: { enabled: true, everyDays: 7, file: 'notice.txt' } },
        tls: { upstreamCa: path.join(work, 'upstream-ca.pem') },
        log: { level: 'info', format: 'json' },
      }),
    );
    const imspectCa = await initImspectCa(dir);
    trustCas([imspectCa, await readFile(certs.caFile, 'utf8')]);
    proxy = await startImspect([], { cwd: dir });
    service = `xmpp://localhost:${new URL(/listening: (\S+)/.exec(proxy.stdout())![1]!).port}`;
    direct = `xmpp://127.0.0.1:${prosody.port}`;
    bob = await xmppLogin(direct, DOMAIN, 'bob', PASSWORD, 'bobres');
    carol = await xmppLogin(direct, DOMAIN, 'carol', PASSWORD, 'carolres');
    for (const where of [room, secretRoom]) {
      const joined = bob.waitFor((s) => s.is('presence') && s.attrs['from'] === `${where}/bob`, `bob in ${where}`);
      await bob.xmpp.send(xml('presence', { to: `${where}/bob` }, xml('x', { xmlns: MUC })));
      await joined;
    }
  }, 90_000);

  afterAll(async () => {
    await alice?.stop();
    await bob?.stop();
    await carol?.stop();
    await proxy?.stop();
    await prosody?.stop();
    restoreTls();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('tells alice she is monitored when she logs in, as a message from her server, inside the intercepted TLS', async () => {
    await loginAlice('laptop');
    const notice = await alice!.waitFor(fromImspect(NOTICE), 'the monitoring notice');
    await alice!.waitFor(fromImspect(LEGAL), 'the notice’s second line');
    expect(notice.attrs['to']).toBe(`${ALICE}/laptop`);
    expect(proxy!.stderr()).toMatch(/"name":"localhost".*"msg":"STARTTLS intercepted"/);
  }, 30_000);

  it('masks bad words (any script) both ways and blocks a message with two; alice gets the reply', async () => {
    let arrived = bob.waitFor(messageWithBody('oh **** it'), 'the masked message');
    await alice!.xmpp.send(chat(BOB, 'oh DARN it', 'w1'));
    await arrived;
    arrived = bob.waitFor(messageWithBody('你好** friend'), 'the masked Chinese word');
    await alice!.xmpp.send(chat(BOB, '你好坏蛋 friend', 'w2'));
    await arrived;
    // What alice receives is masked too.
    arrived = alice!.waitFor(messageWithBody('**** yes'), 'the masked incoming message');
    await bob.xmpp.send(chat(`${ALICE}/laptop`, 'heck yes', 'w3'));
    await arrived;

    const reply = alice!.waitFor(replyFrom(BOB, BLOCKED('2 badwords', `message "darn and heck" to ${BOB}`)), 'the blocked reply');
    await sendThenSentinel(chat(BOB, 'darn and heck', 'w4'), 'sentinel one');
    await reply;
    expect(bob.all.filter((s) => /darn|heck/i.test(s.getChildText('body') ?? ''))).toEqual([]);
    expect(noticesTo(alice!)).toBe(1); // once, however much alice says
  }, 30_000);

  it('the ACL keeps alice from talking to carol and out of a denied room; its members never see her join', async () => {
    let reply = alice!.waitFor(replyFrom(CAROL, BLOCKED('acl', `message "hello carol" to ${CAROL}`)), 'the ACL reply');
    await alice!.xmpp.send(chat(CAROL, 'hello carol', 'a1'));
    await reply;
    const fromBob = carol.waitFor(messageWithBody('bob to carol'), 'bob to carol');
    await bob.xmpp.send(chat(CAROL, 'bob to carol', 'a2'));
    await fromBob;
    expect(carol.all.filter((s) => s.is('message')).map((s) => s.getChildText('body'))).toEqual(['bob to carol']);

    reply = alice!.waitFor(fromImspect(BLOCKED('acl', `join ${secretRoom}`)), 'the reply to the denied join');
    await sendThenSentinel(xml('presence', { to: `${secretRoom}/alice` }, xml('x', { xmlns: MUC })), 'after the denied join');
    await reply;
    expect(bob.all.filter((s) => s.is('presence') && (s.attrs['from'] ?? '').startsWith(`${secretRoom}/alice`))).toEqual([]);
    // An allowed room: alice joins and talks, masked like anywhere else.
    const joined = bob.waitFor((s) => s.is('presence') && s.attrs['from'] === `${room}/alice`, 'alice in the allowed room');
    await alice!.xmpp.send(xml('presence', { to: `${room}/alice` }, xml('x', { xmlns: MUC })));
    await joined;
    const said = bob.waitFor((s) => messageWithBody('room **** talk')(s) && s.attrs['type'] === 'groupchat', 'the masked room message');
    await alice!.xmpp.send(xml('message', { type: 'groupchat', to: room, id: 'g1' }, xml('body', {}, 'room darn talk')));
    await said;
  }, 30_000);

  it('the file policy blocks her OOB link and her SI file offer; bob sees neither', async () => {
    const url = 'https://files.example.org/annual-report.pdf';
    let reply = alice!.waitFor(replyFrom(BOB, /^Blocked \(policy file\): file "[^"]*annual-report\.pdf" to bob@localhost$/), 'the reply to the OOB offer');
    await sendThenSentinel(xml('message', { type: 'chat', to: BOB, id: 'f1' }, xml('body', {}, url), xml('x', { xmlns: 'jabber:x:oob' }, xml('url', {}, url))), 'after the link');
    await reply;
    reply = alice!.waitFor(replyFrom(BOB, BLOCKED('policy file', `file "holiday.jpg" to ${BOB}`)), 'the reply to the SI offer');
    // Her client's request ends at once with a stanza error (Frame.refusal), not at its own timeout.
    const refused = alice!.waitFor((s) => s.is('iq') && s.attrs['type'] === 'error' && s.attrs['id'] === 'si1', 'the iq error for the SI offer');
    await sendThenSentinel(
      xml(
        'iq',
        { type: 'set', to: `${BOB}/bobres`, id: 'si1' },
        xml('si', { xmlns: SI, id: 's5b1', profile: `${SI}/profile/file-transfer` }, xml('file', { xmlns: `${SI}/profile/file-transfer`, name: 'holiday.jpg', size: '34567' })),
      ),
      'after the SI offer',
    );
    await reply;
    const error = await refused;
    expect(error.attrs['from']).toBe(`${BOB}/bobres`);
    expect(error.getChild('error')?.getChild('not-allowed', 'urn:ietf:params:xml:ns:xmpp-stanzas')).toBeDefined();
    expect(bob.all.filter((s) => s.getChildText('body') === url || (s.is('iq') && s.getChild('si', SI) !== undefined))).toEqual([]);
  }, 30_000);

  it('a client too old for the policy, told by its software version answer (XEP-0092), is told so and disconnected', async () => {
    let disconnected = false;
    alice!.xmpp.on('disconnect', () => (disconnected = true));
    const asked = alice!.waitFor((s) => s.is('iq') && s.attrs['type'] === 'get' && s.getChild('query', VERSION) !== undefined, 'the version query');
    await bob.xmpp.send(xml('iq', { type: 'get', to: `${ALICE}/laptop`, id: 'ver1' }, xml('query', { xmlns: VERSION })));
    const query = await asked;
    const told = alice!.waitFor(fromImspect(OLD_CLIENT), 'the reason');
    await alice!.xmpp.send(
      xml('iq', { type: 'result', to: query.attrs['from']!, id: 'ver1' }, xml('query', { xmlns: VERSION }, xml('name', {}, 'OldChat'), xml('version', {}, '1.5'))),
    );
    await told;
    for (let i = 0; i < 200 && !disconnected; i++) await new Promise((r) => setTimeout(r, 25));
    expect(disconnected).toBe(true);
    expect(bob.all.filter((s) => s.is('iq') && s.attrs['id'] === 'ver1')).toEqual([]);
    expect(proxy!.stderr()).toMatch(/client OldChat 1\.5 on xmpp denied: version 2\.0 or newer is required/);
  }, 30_000);

  it('tells alice’s second device (another resource) once too, and not again when it logs in again', async () => {
    await alice!.stop();
    await loginAlice('phone');
    await alice!.waitFor(fromImspect(NOTICE), 'the notice on her phone');
    await alice!.stop();
    await loginAlice('phone');
    const arrived = bob.waitFor(messageWithBody('back again'), 'alice back');
    await alice!.xmpp.send(chat(BOB, 'back again', 'r1'));
    await arrived;
    // The reply comes back on the same connection: had a notice been due, it would be there already.
    const answer = alice!.waitFor(messageWithBody('welcome back'), 'bob’s answer');
    await bob.xmpp.send(chat(`${ALICE}/phone`, 'welcome back', 'r2'));
    await answer;
    expect(noticesTo(alice!)).toBe(0);
    await alice!.stop();
    alice = undefined;
    expect(await proxy!.stop()).toBe(0);
    proxy = undefined;
    const state = JSON.parse(await readFile(path.join(dir, 'data', 'state', 'monitoring-notice.json'), 'utf8')) as { sent: Record<string, number> };
    expect(Object.keys(state.sent).sort()).toEqual([`xmpp\u0000${ALICE}\u0000id laptop`, `xmpp\u0000${ALICE}\u0000id phone`]);
  }, 30_000);

  it('logs what alice typed, what was delivered, and every blocked event with filtered set and its categories', async () => {
    const rows = (await readCsvLogs(path.join(dir, 'data', 'logs'))).map((r) => ({ ...r, localDir: decodeSegment(r.localDir), remoteDir: decodeSegment(r.remoteDir) }));
    const dump = JSON.stringify(rows.map((r) => [r.type, r.subtype, r.outgoing, r.localDir, r.remoteDir, r.text, r.filtered, r.categories, r.data]));
    const mine = rows.filter((r) => r.protocol === 'xmpp' && r.localDir === ALICE);
    const row = (text: string, outgoing = true): CsvLogRow => {
      const found = mine.filter((r) => r.text === text && r.type === 1 && r.outgoing === outgoing);
      expect(found, `one row for "${text}": ${dump}`).toHaveLength(1);
      return found[0]!;
    };
    expect(row('oh DARN it')).toMatchObject({ filtered: false, categories: '1 badwords', deliveredText: 'oh **** it', remoteDir: BOB });
    expect(row('你好坏蛋 friend')).toMatchObject({ filtered: false, categories: '1 badwords', deliveredText: '你好** friend' });
    expect(row('heck yes', false)).toMatchObject({ filtered: false, categories: '1 badwords', deliveredText: '**** yes' });
    expect(row('darn and heck')).toMatchObject({ filtered: true, categories: '2 badwords', deliveredText: '' });
    expect(row('hello carol')).toMatchObject({ filtered: true, categories: 'acl', remoteDir: CAROL });
    expect(row('room darn talk')).toMatchObject({ filtered: false, categories: '1 badwords', remoteDir: room, subtype: 'groupchat' });
    expect(row('back again')).toMatchObject({ filtered: false, categories: '' });
    const joins = mine.filter((r) => r.type === 7);
    expect(
      joins.filter((r) => r.remoteDir === secretRoom).map((r) => [r.outgoing, r.subtype, r.filtered, r.categories]),
      dump,
    ).toEqual([[true, 'request', true, 'acl']]);
    expect(
      joins.filter((r) => r.remoteDir === room).map((r) => [r.outgoing, r.subtype, r.filtered]),
      dump,
    ).toEqual([
      [true, 'request', false],
      [false, '', false],
    ]);
    const offers = mine.filter((r) => r.type === 2);
    expect(
      offers.map((r) => [r.subtype, r.filtered, r.categories, r.remoteDir]),
      dump,
    ).toEqual([
      ['oob', true, 'policy file', BOB],
      ['si', true, 'policy file', BOB],
    ]);
    expect(
      mine.filter((r) => r.type === 11 && r.subtype === 'client').map((r) => [r.outgoing, r.remoteDir, r.data, r.filtered, r.categories]),
      dump,
    ).toEqual([[true, BOB, 'client=OldChat version=1.5 source=version', true, 'policy client']]);
    // The login the notice followed, and nothing of what imspect said itself logged as a conversation.
    expect(mine.filter((r) => r.type === 5).length, dump).toBe(3);
    expect(
      mine.filter((r) => r.text === NOTICE || r.text.startsWith('Blocked (')),
      dump,
    ).toEqual([]);
  });
});
