/**
 * XMPP through imspect with TLS interception, end to end: a real prosody that requires encryption, real
 * @xmpp/client clients, imspect started as a user starts it after `imspect ca init`. STARTTLS (as 5222) and
 * direct TLS (as 5223) are intercepted and the conversation logged; a client that does not trust the CA is
 * refused visibly; the real server's certificate is checked; passthrough and block rules apply per domain.
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
import { decodeSegment, initImspectCa, messageWithBody as body, restoreTls, trustCas, xml, xmppLogin, type XmppSession as Session } from '../support/xmpp-client.js';

const prosodyPath = findExecutable('prosody');
const prosodyctlPath = findExecutable('prosodyctl');
const missing = !prosodyPath || !prosodyctlPath ? 'prosody is not installed (apt-get install prosody lua-sec)' : undefined;
const PASSWORD = 'secret-pass';

const login = (service: string, domain: string, username: string, resource: string) => xmppLogin(service, domain, username, PASSWORD, resource);

describeWithService('XMPP with TLS interception through imspect (prosody + @xmpp/client)', missing, () => {
  let work: string;
  let prosody: RunningProsody;
  let proxy: RunningImspect | undefined;
  let imspectCa: string;
  let upstreamCas: string[];
  let starttlsService: string;
  let directService: string;

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'imspect-e2e-xmpp-'));
    const local = await makeServerCerts(path.join(work, 'certs/localhost'), 'localhost');
    const self = await makeServerCerts(path.join(work, 'certs/self'), 'self.test');
    const wrong = await makeServerCerts(path.join(work, 'certs/wrong'), 'wrong.test');
    const pass = await makeServerCerts(path.join(work, 'certs/pass'), 'pass.test');
    const selfOk = await makeServerCerts(path.join(work, 'certs/self-ok'), 'self-ok.test');
    const wrongOk = await makeServerCerts(path.join(work, 'certs/wrong-ok'), 'wrong-ok.test');
    const user = (username: string) => ({ username, password: PASSWORD });
    prosody = await startProsody(prosodyPath!, prosodyctlPath!, [
      { domain: 'localhost', certFile: local.valid.certFile, keyFile: local.valid.keyFile, users: [user('alice'), user('bob'), user('carol')] },
      { domain: 'self.test', certFile: self.selfSigned.certFile, keyFile: self.selfSigned.keyFile, users: [user('alice')] },
      { domain: 'wrong.test', certFile: wrong.wrongName.certFile, keyFile: wrong.wrongName.keyFile, users: [user('alice')] },
      { domain: 'pass.test', certFile: pass.valid.certFile, keyFile: pass.valid.keyFile, users: [user('alice')] },
      { domain: 'block.test', certFile: local.valid.certFile, keyFile: local.valid.keyFile, users: [user('alice')] },
      { domain: 'self-ok.test', certFile: selfOk.selfSigned.certFile, keyFile: selfOk.selfSigned.keyFile, users: [user('alice')] },
      { domain: 'wrong-ok.test', certFile: wrongOk.wrongName.certFile, keyFile: wrongOk.wrongName.keyFile, users: [user('alice')] },
    ]);
    upstreamCas = await Promise.all([local, wrong, pass].map((c) => readFile(c.caFile, 'utf8')));
    await writeFile(path.join(work, 'upstream-cas.pem'), upstreamCas.join(''));

    const dir = path.join(work, 'imspect');
    await mkdir(dir);
    await writeFile(
      path.join(dir, 'imspect.config.json'),
      JSON.stringify({
        dataDir: 'data',
        listeners: [
          { type: 'forward', host: '127.0.0.1', port: 0, upstream: { host: '127.0.0.1', port: prosody.port } },
          // A client without SNI is shown a certificate for the destination host: here, the name it connects to.
          { type: 'forward', host: '127.0.0.1', port: 0, upstream: { host: 'localhost', port: prosody.tlsPort } },
        ],
        ports: { [String(prosody.port)]: 'xmpp' },
        pluginFolders: [path.join(REPO_ROOT, 'packages/plugin-jabber')],
        plugins: { xmpp: { options: { tlsPorts: [prosody.tlsPort] } } },
        tls: {
          upstreamCa: path.join(work, 'upstream-cas.pem'),
          rules: [
            { host: 'pass.test', action: 'passthrough' },
            { host: 'block.test', action: 'block' },
            { host: 'self-ok.test', action: 'intercept', upstreamVerify: 'allow-self-signed' },
            { host: 'wrong-ok.test', action: 'intercept', upstreamVerify: 'off' },
          ],
        },
        log: { level: 'info', format: 'json' },
      }),
    );
    imspectCa = await initImspectCa(dir);
    proxy = await startImspect([], { cwd: dir });
    const urls = [...proxy.stdout().matchAll(/listening: (\S+)/g)].map((m) => new URL(m[1]!));
    starttlsService = `xmpp://localhost:${urls[0]!.port}`;
    directService = `xmpps://localhost:${urls[1]!.port}`;
  }, 90_000);

  afterAll(async () => {
    restoreTls();
    await proxy?.stop();
    await prosody?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const stderrSoon = async (pattern: RegExp) => {
    for (let i = 0; i < 100 && !pattern.test(proxy!.stderr()); i++) await new Promise((r) => setTimeout(r, 50));
    return proxy!.stderr();
  };
  const direct = `xmpp://127.0.0.1:`;

  it('intercepts STARTTLS for a client that trusts the imspect CA: chat, typing, file offers and group chat cross', async () => {
    trustCas([imspectCa, ...upstreamCas]);
    const bob = await login(`${direct}${prosody.port}`, 'localhost', 'bob', 'bobres');
    const alice = await login(starttlsService, 'localhost', 'alice', 'aliceres');
    try {
      await alice.xmpp.send(
        xml(
          'message',
          { type: 'chat', to: 'bob@localhost', id: 'm1' },
          xml('body', {}, 'hello bob, through TLS ✓'),
          xml('active', { xmlns: 'http://jabber.org/protocol/chatstates' }),
        ),
      );
      await bob.waitFor(body('hello bob, through TLS ✓'), 'bob to get the message');
      await alice.xmpp.send(xml('message', { type: 'chat', to: 'bob@localhost', id: 'm2' }, xml('composing', { xmlns: 'http://jabber.org/protocol/chatstates' })));
      await bob.waitFor((s) => s.is('message') && s.getChild('composing', 'http://jabber.org/protocol/chatstates') !== undefined, 'bob to see alice typing');
      await bob.xmpp.send(xml('message', { type: 'chat', to: 'alice@localhost', id: 'm3' }, xml('body', {}, 'hi alice, read inside TLS')));
      await alice.waitFor(body('hi alice, read inside TLS'), 'alice to get the reply');
      const url = 'https://files.example.org/annual-report.pdf';
      await alice.xmpp.send(xml('message', { type: 'chat', to: 'bob@localhost', id: 'm4' }, xml('body', {}, url), xml('x', { xmlns: 'jabber:x:oob' }, xml('url', {}, url))));
      await bob.waitFor(body(url), 'bob to get the file link');
      await alice.xmpp.send(
        xml(
          'iq',
          { type: 'set', to: 'bob@localhost/bobres', id: 'si1' },
          xml(
            'si',
            { xmlns: 'http://jabber.org/protocol/si', id: 's5b1', profile: 'http://jabber.org/protocol/si/profile/file-transfer' },
            xml('file', { xmlns: 'http://jabber.org/protocol/si/profile/file-transfer', name: 'holiday.jpg', size: '34567' }),
          ),
        ),
      );
      await bob.waitFor((s) => s.is('iq') && s.getChild('si', 'http://jabber.org/protocol/si') !== undefined, 'bob to get the file offer');

      const room = `lounge@${prosody.mucDomain}`;
      const joined = (who: Session, nick: string) => who.waitFor((s) => s.is('presence') && s.attrs['from'] === `${room}/${nick}`, `${nick} in the room`);
      let seen = joined(bob, 'bob');
      await bob.xmpp.send(xml('presence', { to: `${room}/bob` }, xml('x', { xmlns: 'http://jabber.org/protocol/muc' })));
      await seen;
      seen = joined(alice, 'alice');
      await alice.xmpp.send(xml('presence', { to: `${room}/alice` }, xml('x', { xmlns: 'http://jabber.org/protocol/muc' })));
      await seen;
      await alice.xmpp.send(xml('message', { type: 'groupchat', to: room, id: 'g1' }, xml('body', {}, 'hello room')));
      await bob.waitFor(body('hello room'), 'bob to get the room message');
      await bob.xmpp.send(xml('message', { type: 'groupchat', to: room, id: 'g2' }, xml('body', {}, 'bob in the room')));
      await alice.waitFor(body('bob in the room'), 'alice to get the room message');
    } finally {
      await alice.stop();
      await bob.stop();
    }
    expect(proxy!.stderr()).toMatch(/"name":"localhost".*"msg":"STARTTLS intercepted"/);
  }, 60_000);

  it('intercepts direct TLS (as port 5223)', async () => {
    trustCas([imspectCa, ...upstreamCas]);
    const bob = await login(`${direct}${prosody.port}`, 'localhost', 'bob', 'bobres2');
    const carol = await login(directService, 'localhost', 'carol', 'carolres');
    try {
      await carol.xmpp.send(xml('message', { type: 'chat', to: 'bob@localhost', id: 'd1' }, xml('body', {}, 'direct TLS hello')));
      await bob.waitFor(body('direct TLS hello'), 'bob to get carol’s message');
    } finally {
      await carol.stop();
      await bob.stop();
    }
  }, 30_000);

  it('refuses a client that does not trust the imspect CA, and says why', async () => {
    trustCas(upstreamCas);
    await expect(login(starttlsService, 'localhost', 'alice', 'untrusting')).rejects.toThrow();
    expect(await stderrSoon(/does not trust the imspect CA/)).toMatch(/does not trust the imspect CA/);
  }, 30_000);

  it('checks the real server: a self-signed or misnamed certificate is refused with the reason logged', async () => {
    trustCas([imspectCa, ...upstreamCas]);
    await expect(login(starttlsService, 'self.test', 'alice', 'r1')).rejects.toThrow();
    expect(await stderrSoon(/DEPTH_ZERO_SELF_SIGNED_CERT/)).toMatch(/not trusted: DEPTH_ZERO_SELF_SIGNED_CERT/);
    await expect(login(starttlsService, 'wrong.test', 'alice', 'r2')).rejects.toThrow();
    expect(await stderrSoon(/does not match wrong\.test/)).toMatch(/does not match wrong\.test/);
  }, 40_000);

  it('accepts a self-signed server under allow-self-signed and a misnamed one with checks off, as configured per domain', async () => {
    trustCas([imspectCa, ...upstreamCas]);
    const selfOk = await login(starttlsService, 'self-ok.test', 'alice', 'r5');
    await selfOk.stop();
    const wrongOk = await login(starttlsService, 'wrong-ok.test', 'alice', 'r6');
    await wrongOk.stop();
    expect(proxy!.stderr()).toMatch(/"name":"self-ok\.test".*"msg":"STARTTLS intercepted"/);
    expect(proxy!.stderr()).toMatch(/"name":"wrong-ok\.test".*"msg":"STARTTLS intercepted"/);
  }, 30_000);

  it('passes a passthrough domain through unread, and blocks a blocked one', async () => {
    trustCas([imspectCa, ...upstreamCas]);
    const pass = await login(starttlsService, 'pass.test', 'alice', 'r3');
    await pass.stop();
    await expect(login(starttlsService, 'block.test', 'alice', 'r4')).rejects.toThrow();
    expect(await stderrSoon(/STARTTLS refused: tls rules say block/)).toMatch(/STARTTLS refused: tls rules say block/);
  }, 30_000);

  it('logged every message, typing notification, file offer and group-chat message, and the encrypted conversation', async () => {
    const code = await proxy!.stop();
    expect(code, proxy!.stderr()).toBe(0);
    const rows = (await readCsvLogs(path.join(work, 'imspect', 'data', 'logs'))).map((r) => ({ ...r, localDir: decodeSegment(r.localDir), remoteDir: decodeSegment(r.remoteDir) }));
    const dump = JSON.stringify(rows.map((r) => [r.type, r.subtype, r.outgoing, r.localDir, r.remoteDir, r.text, r.eventData]));
    const one = (label: string, match: (r: CsvLogRow) => boolean) => expect(rows.filter(match), `${label}\n${dump}`).toHaveLength(1);
    const alice = (r: CsvLogRow) => r.protocol === 'xmpp' && r.localDir === 'alice@localhost';
    one('chat out', (r) => alice(r) && r.type === 1 && r.outgoing && r.remoteDir === 'bob@localhost' && r.text === 'hello bob, through TLS ✓');
    one('chat in', (r) => alice(r) && r.type === 1 && !r.outgoing && r.remoteDir === 'bob@localhost' && r.text === 'hi alice, read inside TLS');
    one('typing', (r) => alice(r) && r.type === 3 && r.outgoing && r.subtype === 'composing');
    expect(rows.filter((r) => alice(r) && r.type === 2 && r.outgoing).length, `file offers\n${dump}`).toBeGreaterThanOrEqual(2);
    expect(
      rows.some((r) => alice(r) && r.type === 2 && r.eventData.includes('holiday.jpg')),
      `SI offer\n${dump}`,
    ).toBe(true);
    one('group chat out', (r) => alice(r) && r.type === 1 && r.outgoing && r.remoteDir === `lounge@${prosody.mucDomain}` && r.text === 'hello room');
    one('group chat in', (r) => alice(r) && r.type === 1 && !r.outgoing && r.text === 'bob in the room');
    one('direct TLS', (r) => r.protocol === 'xmpp' && r.localDir === 'carol@localhost' && r.type === 1 && r.text === 'direct TLS hello');
    // The passthrough domain: an encrypted event, nothing read.
    const encrypted = rows.filter((r) => r.type === 10 && r.subtype === 'starttls');
    expect(encrypted.length, dump).toBe(1);
    expect(encrypted[0]!.remoteDir, dump).toBe('pass.test');
    expect(
      rows.some((r) => r.localDir.endsWith('@pass.test') && r.type !== 10 && r.type !== 5),
      dump,
    ).toBe(false);
  });
});
