/**
 * Policy and audit truth on XMPP: a real prosody (TLS required), real @xmpp/client clients, `imspect start`
 * intercepting STARTTLS. bob and carol both go through imspect; the ACL says carol may not talk with bob. bob's
 * message to carol is stopped at bob's side: carol never gets it, bob gets the reply in his chat with carol (a
 * message from carol's JID naming the message and the category, its XML specials escaped), and the archive
 * holds one row about it, filtered.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readCsvLogs } from '../support/csv-logs.js';
import { describeWithService, findExecutable } from '../support/e2e.js';
import { REPO_ROOT, startImspect, type RunningImspect } from '../support/imspect-process.js';
import { startProsody, type RunningProsody } from '../support/prosody.js';
import { makeServerCerts } from '../support/tls-certs.js';
import { decodeSegment, initImspectCa, messageWithBody, restoreTls, trustCas, xml, xmppLogin, type XmppSession } from '../support/xmpp-client.js';

const prosodyPath = findExecutable('prosody');
const prosodyctlPath = findExecutable('prosodyctl');
const missing = !prosodyPath || !prosodyctlPath ? 'prosody is not installed (apt-get install prosody lua-sec)' : undefined;
const PASSWORD = 'secret-pass';
const DOMAIN = 'localhost';
const BOB = `bob@${DOMAIN}`;
const CAROL = `carol@${DOMAIN}`;
const DAVE = `dave@${DOMAIN}`;
/** Hostile for XML: what bob typed is quoted back to him inside a stanza imspect builds. */
const TO_CAROL = `<b>lunch</b> & "dessert"? ]]> it's on me, at noon by the river`;

describeWithService('policy and audit truth on XMPP: two users behind imspect (prosody + @xmpp/client)', missing, () => {
  let work: string;
  let dir: string;
  let prosody: RunningProsody;
  let proxy: RunningImspect | undefined;
  let bob: XmppSession | undefined;
  let carol: XmppSession | undefined;
  let dave: XmppSession;

  const chat = (to: string, text: string, id: string) => xml('message', { type: 'chat', to, id }, xml('body', {}, text));

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'imspect-e2e-audit-xmpp-'));
    const certs = await makeServerCerts(path.join(work, 'certs'), DOMAIN);
    const user = (username: string) => ({ username, password: PASSWORD });
    prosody = await startProsody(prosodyPath!, prosodyctlPath!, [
      { domain: DOMAIN, certFile: certs.valid.certFile, keyFile: certs.valid.keyFile, users: [user('bob'), user('carol'), user('dave')] },
    ]);
    await writeFile(path.join(work, 'upstream-ca.pem'), await readFile(certs.caFile, 'utf8'));
    dir = path.join(work, 'imspect');
    await mkdir(dir);
    await writeFile(path.join(dir, 'acl.txt'), `[xmpp]\ndeny ${CAROL} ${BOB}\nallow all\n`);
    await writeFile(
      path.join(dir, 'imspect.config.json'),
      JSON.stringify({
        dataDir: 'data',
        listeners: [{ type: 'forward', host: '127.0.0.1', port: 0, upstream: { host: '127.0.0.1', port: prosody.port } }],
        ports: { [String(prosody.port)]: 'xmpp' },
        pluginFolders: [path.join(REPO_ROOT, 'packages/plugin-jabber')],
        plugins: { 'filter-acl': { options: { file: 'acl.txt' } } },
        responses: { blocked: { rateLimitSeconds: 0 } },
        tls: { upstreamCa: path.join(work, 'upstream-ca.pem') },
        log: { level: 'info', format: 'json' },
      }),
    );
    trustCas([await initImspectCa(dir), await readFile(certs.caFile, 'utf8')]);
    proxy = await startImspect([], { cwd: dir });
    const service = `xmpp://localhost:${new URL(/listening: (\S+)/.exec(proxy.stdout())![1]!).port}`;
    bob = await xmppLogin(service, DOMAIN, 'bob', PASSWORD, 'laptop');
    carol = await xmppLogin(service, DOMAIN, 'carol', PASSWORD, 'phone');
    dave = await xmppLogin(`xmpp://127.0.0.1:${prosody.port}`, DOMAIN, 'dave', PASSWORD, 'desk');
  }, 90_000);

  afterAll(async () => {
    await bob?.stop();
    await carol?.stop();
    await dave?.stop();
    await proxy?.stop();
    await prosody?.stop();
    restoreTls();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('bob’s message to carol is stopped at bob, who is told in his chat with carol; carol never gets it', async () => {
    const reply = bob!.waitFor((s) => s.is('message') && s.attrs['from'] === CAROL && (s.getChildText('body') ?? '').startsWith('Blocked'), 'the blocked reply to bob');
    await bob!.xmpp.send(chat(CAROL, TO_CAROL, 'c1'));
    const stanza = await reply;
    expect([stanza.attrs['type'], stanza.attrs['to'], stanza.getChildText('body')]).toEqual([
      'chat',
      `${BOB}/laptop`,
      `Blocked (acl): message "${TO_CAROL.slice(0, 40)}…" to ${CAROL}`,
    ]);
    // Everything bob sent before reached prosody first; dave then writes carol, who gets only that.
    let arrived = dave.waitFor(messageWithBody('bob to dave'), 'bob to dave');
    await bob!.xmpp.send(chat(DAVE, 'bob to dave', 'c2'));
    await arrived;
    arrived = carol!.waitFor(messageWithBody('dave to carol'), 'dave to carol');
    await dave.xmpp.send(chat(`${CAROL}/phone`, 'dave to carol', 'c3'));
    await arrived;
    expect(carol!.all.filter((s) => s.is('message') && s.getChildText('body') !== null).map((s) => s.getChildText('body'))).toEqual(['dave to carol']);
  }, 30_000);

  it('the archive has one row about it, bob’s, filtered', async () => {
    await bob!.stop();
    await carol!.stop();
    bob = carol = undefined;
    expect(await proxy!.stop()).toBe(0);
    proxy = undefined;
    const rows = (await readCsvLogs(path.join(dir, 'data', 'logs'))).filter((r) => r.type === 1 && r.text === TO_CAROL);
    expect(rows.map((r) => [decodeSegment(r.localDir), decodeSegment(r.remoteDir), r.outgoing, r.filtered, r.categories])).toEqual([[BOB, CAROL, true, true, 'acl']]);
  });
});
