/**
 * IRC over TLS (a TLS port, as 6697) through imspect to a real ngircd with TLS: interception with the local CA,
 * a client that does not trust it, the real server's certificate checks (valid, self-signed, wrong name) in each
 * mode, and the passthrough and block rules.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readCsvLogs } from '../support/csv-logs.js';
import { describeWithService, findExecutable } from '../support/e2e.js';
import { CLI, startImspect, type RunningImspect } from '../support/imspect-process.js';
import { startNgircd, type RunningNgircd } from '../support/ngircd.js';
import { makeServerCerts, type ServerCerts } from '../support/tls-certs.js';
import { lineClient, socksConnect, startTls, type LineClient } from '../support/tls-client.js';

const ngircdPath = findExecutable('ngircd');
const NAME = 'localhost';

describeWithService('IRC over TLS through imspect (ngircd with TLS)', ngircdPath ? undefined : 'ngircd is not installed (apt-get install ngircd)', () => {
  let work: string;
  let certs: ServerCerts;
  let valid: RunningNgircd;
  let selfSigned: RunningNgircd;
  let wrongName: RunningNgircd;
  let proxy: RunningImspect | undefined;
  let socks: { host: string; port: number };
  let imspectCa: string;
  let upstreamCa: string;

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'imspect-e2e-irc-tls-'));
    certs = await makeServerCerts(path.join(work, 'certs'), NAME);
    upstreamCa = await readFile(certs.caFile, 'utf8');
    // valid: [intercept, passthrough, block]; self-signed and wrong name: [verify, relaxed]
    valid = await startNgircd(ngircdPath!, { tls: { certFile: certs.valid.certFile, keyFile: certs.valid.keyFile, ports: 3 } });
    selfSigned = await startNgircd(ngircdPath!, { tls: { certFile: certs.selfSigned.certFile, keyFile: certs.selfSigned.keyFile, ports: 2 } });
    wrongName = await startNgircd(ngircdPath!, { tls: { certFile: certs.wrongName.certFile, keyFile: certs.wrongName.keyFile, ports: 2 } });
    const dir = path.join(work, 'imspect');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dir);
    const tlsPorts = [...valid.tlsPorts, ...selfSigned.tlsPorts, ...wrongName.tlsPorts];
    await writeFile(
      path.join(dir, 'imspect.config.json'),
      JSON.stringify({
        dataDir: 'data',
        listeners: [{ type: 'socks5', host: '127.0.0.1', port: 0 }],
        plugins: { irc: { options: { tlsPorts } } },
        tls: {
          upstreamCa: certs.caFile,
          rules: [
            { port: valid.tlsPorts[1], action: 'passthrough' },
            { port: valid.tlsPorts[2], action: 'block' },
            { port: selfSigned.tlsPorts[1], action: 'intercept', upstreamVerify: 'allow-self-signed' },
            { port: wrongName.tlsPorts[1], action: 'intercept', upstreamVerify: 'off' },
          ],
        },
        log: { level: 'info', format: 'json' },
      }),
    );
    execFileSync(process.execPath, [CLI, 'ca', 'init'], { cwd: dir, stdio: 'pipe' });
    imspectCa = await readFile(path.join(dir, 'data/ca/imspect-ca.crt'), 'utf8');
    proxy = await startImspect([], { cwd: dir });
    expect(proxy.stdout()).toMatch(/tls: +default intercept, CA /);
    const url = new URL(/listening: (\S+)/.exec(proxy.stdout())![1]!);
    socks = { host: url.hostname, port: Number(url.port) };
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    await Promise.all([valid?.stop(), selfSigned?.stop(), wrongName?.stop()]);
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function register(port: number, nick: string, trust: string[]): Promise<LineClient> {
    const socket = await socksConnect(socks, NAME, port);
    const secure = await startTls(socket, NAME, trust);
    const client = lineClient(secure);
    client.send(`NICK ${nick}`);
    client.send(`USER ${nick} 0 * :${nick}`);
    await client.waitFor(/^:\S+ 001 /, `${nick} to register`);
    return client;
  }

  async function plainClient(port: number, nick: string): Promise<LineClient> {
    const net = await import('node:net');
    const socket = net.connect({ host: '127.0.0.1', port });
    const client = lineClient(socket);
    client.send(`NICK ${nick}`);
    client.send(`USER ${nick} 0 * :${nick}`);
    await client.waitFor(/^:\S+ 001 /, `${nick} to register`);
    return client;
  }

  const stderrSoon = async (pattern: RegExp) => {
    for (let i = 0; i < 100 && !pattern.test(proxy!.stderr()); i++) await new Promise((r) => setTimeout(r, 50));
    return proxy!.stderr();
  };

  it('intercepts a client that trusts the imspect CA and logs both directions', async () => {
    const bob = await plainClient(valid.port, 'bob');
    const alice = await register(valid.tlsPorts[0]!, 'alice', [imspectCa]);
    expect((alice.socket as import('node:tls').TLSSocket).getPeerCertificate().issuer.O).toBe('imspect');
    alice.send('PRIVMSG bob :hello over tls ✓');
    await bob.waitFor(/PRIVMSG bob :hello over tls ✓/, 'bob to get the message');
    bob.send('PRIVMSG alice :reply in the clear, read inside tls');
    await alice.waitFor(/PRIVMSG alice :reply in the clear/, 'alice to get the reply');
    alice.send('QUIT :bye');
    bob.send('QUIT :bye');
    await new Promise((r) => setTimeout(r, 300));
    alice.close();
    bob.close();
  });

  it('refuses the connection when the client does not trust the imspect CA, and says why', async () => {
    const socket = await socksConnect(socks, NAME, valid.tlsPorts[0]!);
    await expect(startTls(socket, NAME, [upstreamCa])).rejects.toThrow(/certificate/i);
    expect(await stderrSoon(/does not trust the imspect CA/)).toMatch(/does not trust the imspect CA/);
  });

  it('passes through with an encrypted event when the rule says passthrough (the client sees the real certificate)', async () => {
    const alice = await register(valid.tlsPorts[1]!, 'carol', [upstreamCa]);
    expect((alice.socket as import('node:tls').TLSSocket).getPeerCertificate().issuer.CN).toBe('imspect tests upstream CA');
    alice.send('QUIT :bye');
    await new Promise((r) => setTimeout(r, 200));
    alice.close();
  });

  it('refuses the connection when the rule says block', async () => {
    const socket = await socksConnect(socks, NAME, valid.tlsPorts[2]!);
    await expect(startTls(socket, NAME, [imspectCa])).rejects.toThrow();
    expect(await stderrSoon(/tls rules say block/)).toMatch(new RegExp(`tls rules say block for localhost:${valid.tlsPorts[2]}`));
  });

  it('refuses a self-signed server under verify and accepts it under allow-self-signed', async () => {
    const socket = await socksConnect(socks, NAME, selfSigned.tlsPorts[0]!);
    await expect(startTls(socket, NAME, [imspectCa])).rejects.toThrow();
    expect(await stderrSoon(/DEPTH_ZERO_SELF_SIGNED_CERT/)).toMatch(/not trusted: DEPTH_ZERO_SELF_SIGNED_CERT/);
    const dave = await register(selfSigned.tlsPorts[1]!, 'dave', [imspectCa]);
    dave.close();
  });

  it('refuses a server whose certificate names another host under verify, and accepts it when checks are off', async () => {
    const socket = await socksConnect(socks, NAME, wrongName.tlsPorts[0]!);
    await expect(startTls(socket, NAME, [imspectCa])).rejects.toThrow();
    expect(await stderrSoon(/does not match localhost/)).toMatch(/does not match localhost/);
    const erin = await register(wrongName.tlsPorts[1]!, 'erin', [imspectCa]);
    erin.close();
  });

  it('wrote the intercepted conversation and the encrypted event to the log', async () => {
    const code = await proxy!.stop();
    expect(code, proxy!.stderr()).toBe(0);
    const rows = await readCsvLogs(path.join(work, 'imspect', 'data', 'logs'));
    const messages = rows.filter((r) => r.type === 1);
    expect(
      messages.find((r) => r.localDir === 'alice' && r.remoteDir === 'bob' && r.outgoing && r.text === 'hello over tls ✓'),
      JSON.stringify(rows),
    ).toBeDefined();
    expect(messages.find((r) => r.localDir === 'alice' && r.remoteDir === 'bob' && !r.outgoing && r.text === 'reply in the clear, read inside tls')).toBeDefined();
    expect(messages.every((r) => r.server === `localhost:${valid.tlsPorts[0]}`)).toBe(true);
    const encrypted = rows.filter((r) => r.type === 10);
    expect(encrypted.map((r) => r.server)).toEqual([`localhost:${valid.tlsPorts[1]}`]);
    expect(rows.filter((r) => r.localDir === 'dave' || r.localDir === 'erin').length).toBeGreaterThan(0);
  });
});
