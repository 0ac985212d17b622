/**
 * What the archive says happened on XMPP is what happened, with a real prosody, real @xmpp/client clients and
 * `imspect start` intercepting STARTTLS:
 * - alice has two devices (resources `laptop` and `phone`) online through imspect, both with carbons (XEP-0280):
 *   every message is one archived message for her (SQL archive and CSV), listing both devices, with what was
 *   typed as `text` and what was delivered (masked) as `deliveredText`, and `imspect logs search` counts messages;
 * - `/me` (XEP-0245) is logged as an action, as on IRC;
 * - HTTP upload (XEP-0363, prosody's mod_http_file_share): with files blocked (alice), the slot request is refused
 *   at once with an iq error and a bare upload link is blocked; with files allowed (dave), the server gives the
 *   slot and the link (its get URL alone in a body) is delivered and logged as the uploaded file.
 * bob connects directly.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../support/cli-run.js';
import { readCsvLogs } from '../support/csv-logs.js';
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
const DAVE = `dave@${DOMAIN}`;
const UPLOAD = `upload.${DOMAIN}`;
const CARBONS = 'urn:xmpp:carbons:2';
const HTTP_UPLOAD = 'urn:xmpp:http:upload:0';
const STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

interface Archived {
  type: string;
  subtype: string | null;
  direction: string;
  localId: string;
  remoteId: string;
  text: string | null;
  deliveredText: string | null;
  fileName: string | null;
  fileSize: number | null;
  filtered: boolean;
  categories: string[];
  devices: string[];
}

describeWithService('one archived message per participant and device set, /me and HTTP upload on XMPP (prosody + @xmpp/client)', missing, () => {
  let work: string;
  let dir: string;
  let prosody: RunningProsody;
  let proxy: RunningImspect | undefined;
  let service: string;
  let laptop: XmppSession;
  let phone: XmppSession;
  let dave: XmppSession;
  let bob: XmppSession;
  /** The get URL of dave's upload slot. */
  let getUrl = '';

  const chat = (to: string, text: string, id: string) => xml('message', { type: 'chat', to, id }, xml('body', {}, text));
  // The reply about a blocked file names the file and the category; it comes from the peer of a chat, else (an iq to
  // a service) from the user's server.
  const blockedFile = (from: string, name: string) => (s: XmlElement) =>
    s.is('message') &&
    (s.attrs['from'] ?? '').split('/')[0] === from &&
    (s.getChildText('body') ?? '').startsWith('Blocked (') &&
    (s.getChildText('body') ?? '').includes(`file "${name}"`);
  const carbon = (kind: 'sent' | 'received', text: string) => (s: XmlElement) =>
    s.is('message') && s.getChild(kind, CARBONS)?.getChild('forwarded', 'urn:xmpp:forward:0')?.getChild('message')?.getChildText('body') === text;

  async function enableCarbons(session: XmppSession, id: string): Promise<void> {
    const done = session.waitFor((s) => s.is('iq') && s.attrs['id'] === id && s.attrs['type'] === 'result', `carbons enabled (${id})`);
    await session.xmpp.send(xml('iq', { type: 'set', id }, xml('enable', { xmlns: CARBONS })));
    await done;
  }

  const slotRequest = (id: string, filename: string) =>
    xml('iq', { type: 'get', to: UPLOAD, id }, xml('request', { xmlns: HTTP_UPLOAD, filename, size: '2048', 'content-type': 'application/pdf' }));

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'imspect-e2e-xmpp-devices-'));
    const certs = await makeServerCerts(path.join(work, 'certs'), DOMAIN);
    const user = (username: string) => ({ username, password: PASSWORD });
    prosody = await startProsody(
      prosodyPath!,
      prosodyctlPath!,
      [{ domain: DOMAIN, certFile: certs.valid.certFile, keyFile: certs.valid.keyFile, users: [user('alice'), user('bob'), user('dave')] }],
      { httpUpload: true },
    );
    expect(prosody.uploadDomain).toBe(UPLOAD);
    await writeFile(path.join(work, 'upstream-ca.pem'), await readFile(certs.caFile, 'utf8'));
    dir = path.join(work, 'imspect');
    await mkdir(dir);
    await writeFile(path.join(dir, 'words.txt'), 'darn\nheck\n');
    // Files are blocked for alice only: dave shows what an allowed upload looks like.
    await writeFile(path.join(dir, 'policy.yaml'), ['users:', `  ${ALICE}: { block: { file: true } }`, ''].join('\n'));
    await writeFile(
      path.join(dir, 'imspect.config.json'),
      JSON.stringify({
        dataDir: 'data',
        listeners: [{ type: 'forward', host: '127.0.0.1', port: 0, upstream: { host: '127.0.0.1', port: prosody.port } }],
        ports: { [String(prosody.port)]: 'xmpp' },
        pluginFolders: [path.join(REPO_ROOT, 'packages/plugin-jabber')],
        plugins: {
          'filter-badwords': { options: { file: 'words.txt', blockCount: 3 } },
          'filter-policy': { options: { file: 'policy.yaml' } },
        },
        responses: { blocked: { enabled: true, rateLimitSeconds: 0 }, notice: { enabled: false } },
        loggers: { flushIntervalMs: 20 },
        tls: { upstreamCa: path.join(work, 'upstream-ca.pem') },
        log: { level: 'info', format: 'json' },
      }),
    );
    trustCas([await initImspectCa(dir), await readFile(certs.caFile, 'utf8')]);
    proxy = await startImspect([], { cwd: dir });
    service = `xmpp://localhost:${new URL(/listening: (\S+)/.exec(proxy.stdout())![1]!).port}`;
    bob = await xmppLogin(`xmpp://127.0.0.1:${prosody.port}`, DOMAIN, 'bob', PASSWORD, 'bobres');
    laptop = await xmppLogin(service, DOMAIN, 'alice', PASSWORD, 'laptop');
    phone = await xmppLogin(service, DOMAIN, 'alice', PASSWORD, 'phone');
    dave = await xmppLogin(service, DOMAIN, 'dave', PASSWORD, 'desk');
    await enableCarbons(laptop, 'c1');
    await enableCarbons(phone, 'c2');
  }, 90_000);

  afterAll(async () => {
    await laptop?.stop();
    await phone?.stop();
    await dave?.stop();
    await bob?.stop();
    await proxy?.stop();
    await prosody?.stop();
    restoreTls();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("alice's two devices each see each message: the original or the carbon, masked the same", async () => {
    // Sent from the laptop: bob gets it masked, the phone gets the (masked) carbon.
    let atBob = bob.waitFor(messageWithBody('oh **** it'), 'the masked message at bob');
    let atPhone = phone.waitFor(carbon('sent', 'oh **** it'), 'the sent carbon on the phone');
    await laptop.xmpp.send(chat(BOB, 'oh darn it', 'd1'));
    await Promise.all([atBob, atPhone]);
    // To her bare JID: both devices get it, masked.
    let atLaptop = laptop.waitFor(messageWithBody('**** yes'), 'the masked message on the laptop');
    atPhone = phone.waitFor(messageWithBody('**** yes'), 'the masked message on the phone');
    await bob.xmpp.send(chat(ALICE, 'heck yes', 'd2'));
    await Promise.all([atLaptop, atPhone]);
    // To the laptop only: the phone gets the received carbon, masked too.
    atLaptop = laptop.waitFor(messageWithBody('see you, **** it'), 'the message on the laptop');
    atPhone = phone.waitFor(carbon('received', 'see you, **** it'), 'the received carbon on the phone');
    await bob.xmpp.send(chat(`${ALICE}/laptop`, 'see you, heck it', 'd3'));
    await Promise.all([atLaptop, atPhone]);
    // A /me action from the phone, masked and still an action.
    atBob = bob.waitFor(messageWithBody('/me waves ****'), 'the masked action at bob');
    await phone.xmpp.send(chat(BOB, '/me waves darn', 'd4'));
    await atBob;
    expect(bob.all.filter((s) => /darn|heck/.test(s.getChildText('body') ?? ''))).toEqual([]);
  }, 30_000);

  it('with files blocked, the upload slot request is refused at once and a bare upload link never reaches bob', async () => {
    const refused = laptop.waitFor((s) => s.is('iq') && s.attrs['id'] === 'slot1' && s.attrs['type'] === 'error', 'the refusal of the slot request');
    const reply = laptop.waitFor(blockedFile(DOMAIN, 'plans.pdf'), 'the blocked reply for the slot request');
    await laptop.xmpp.send(slotRequest('slot1', 'plans.pdf'));
    const error = await refused;
    await reply;
    expect(error.attrs['from']).toBe(UPLOAD);
    expect(error.getChild('error')?.getChild('not-allowed', STANZAS)).toBeDefined();
    expect(error.getChild('error')?.getChildText('text', STANZAS)).toBe('blocked by policy');

    const link = `https://${UPLOAD}/files/abc123/q3%20plans.pdf`;
    const linkReply = laptop.waitFor(blockedFile(BOB, 'q3 plans.pdf'), 'the blocked reply for the link');
    const sentinel = bob.waitFor(messageWithBody('after the link'), 'the sentinel at bob');
    await laptop.xmpp.send(chat(BOB, link, 'u1'));
    await laptop.xmpp.send(chat(BOB, 'after the link', 'u2'));
    await Promise.all([linkReply, sentinel]);
    expect(bob.all.filter((s) => s.getChildText('body') === link)).toEqual([]);
  }, 30_000);

  it('with files allowed, the upload service gives the slot and the link is delivered', async () => {
    const answered = dave.waitFor((s) => s.is('iq') && s.attrs['id'] === 'slot2', "the upload service's answer to the slot request");
    await dave.xmpp.send(slotRequest('slot2', 'minutes.pdf'));
    const answer = await answered;
    expect(answer.attrs['type'], String(answer)).toBe('result');
    const link = answer.getChild('slot', HTTP_UPLOAD)?.getChild('get', HTTP_UPLOAD)?.attrs['url'];
    expect(link).toMatch(/^https?:\/\/.*\/minutes\.pdf$/);
    getUrl = link!;
    const atBob = bob.waitFor(messageWithBody(link!), 'the link at bob');
    await dave.xmpp.send(chat(BOB, link!, 'u3'));
    await atBob;
  }, 30_000);

  it('the archive has one message per participant, listing the devices it reached, and search counts messages', async () => {
    await laptop.stop();
    await phone.stop();
    await dave.stop();
    expect(await proxy!.stop()).toBe(0);
    proxy = undefined;

    const search = await runCli(['logs', 'search', '--user', ALICE, '--protocol', 'xmpp', '--json'], dir);
    expect(search.code, search.stderr).toBe(0);
    const result = JSON.parse(search.stdout) as { count: number; messages: Archived[] };
    const dump = JSON.stringify(result.messages.map((m) => [m.type, m.subtype, m.direction, m.text, m.deliveredText, m.devices, m.filtered]));
    const messages = result.messages.filter((m) => m.type === 'message');
    expect(
      messages.map((m) => [m.direction, m.subtype, m.text, m.deliveredText, [...m.devices].sort()]),
      dump,
    ).toEqual([
      ['outgoing', null, 'oh darn it', 'oh **** it', ['laptop', 'phone']],
      ['incoming', null, 'heck yes', '**** yes', ['laptop', 'phone']],
      ['incoming', null, 'see you, heck it', 'see you, **** it', ['laptop', 'phone']],
      // Sent from the phone: the laptop has the carbon.
      ['outgoing', 'action', 'waves darn', 'waves ****', ['laptop', 'phone']],
      ['outgoing', null, 'after the link', null, ['laptop', 'phone']],
    ]);
    // The device that sent a message comes first.
    expect(messages[0]!.devices[0], dump).toBe('laptop');
    expect(messages[3]!.devices[0], dump).toBe('phone');
    const files = result.messages.filter((m) => m.type === 'file');
    expect(
      files.map((m) => [m.subtype, m.remoteId, m.fileName, m.filtered, m.categories]),
      dump,
    ).toEqual([
      ['http-upload-request', UPLOAD, 'plans.pdf', true, ['policy file']],
      ['link', BOB, 'q3 plans.pdf', true, ['policy file']],
    ]);
    expect(result.count).toBe(result.messages.length);
    const text = await runCli(['logs', 'search', '--user', ALICE, '--text', 'darn', '--json'], dir);
    expect((JSON.parse(text.stdout) as { count: number }).count, text.stdout).toBe(2);
    // For people: one line per message, naming the devices; the export has them in a column of its own.
    const human = (await runCli(['logs', 'search', '--user', ALICE, '--text', 'darn'], dir)).stdout.trim().split('\n');
    expect(human, human.join('\n')).toHaveLength(2);
    expect(human[0]).toMatch(/\[devices: laptop, phone\] {2}oh darn it$/);
    const exported = (await runCli(['logs', 'export', '--format', 'csv', '--user', ALICE, '--text', 'darn'], dir)).stdout.trim().split('\r\n');
    expect(exported[0]).toMatch(/,"?devices"?$/);
    expect(exported.slice(1).map((line) => line.endsWith('"laptop;phone"'))).toEqual([true, false]);

    const daveFiles = (JSON.parse((await runCli(['logs', 'search', '--user', DAVE, '--json'], dir)).stdout) as { messages: Archived[] }).messages.filter((m) => m.type === 'file');
    // The link is the get URL of the slot dave asked for: the upload, with the size of the request.
    expect(daveFiles.map((m) => [m.subtype, m.remoteId, m.fileName, m.fileSize, m.text, m.filtered])).toEqual([
      ['http-upload-request', UPLOAD, 'minutes.pdf', 2048, null, false],
      ['http-upload', BOB, 'minutes.pdf', 2048, getUrl, false],
    ]);

    // The CSV log: one row per message for alice too (the first copy's, naming its device).
    const rows = (await readCsvLogs(path.join(dir, 'data', 'logs'))).filter((r) => r.protocol === 'xmpp' && decodeSegment(r.localDir) === ALICE && r.type === 1);
    expect(rows.map((r) => [r.text, r.deliveredText]).sort(), JSON.stringify(rows)).toEqual(
      [
        ['oh darn it', 'oh **** it'],
        ['heck yes', '**** yes'],
        ['see you, heck it', 'see you, **** it'],
        ['waves darn', 'waves ****'],
        ['after the link', ''],
      ].sort(),
    );
    expect(rows.find((r) => r.text === 'oh darn it')!.data).toBe('device=laptop');
  }, 60_000);
});
