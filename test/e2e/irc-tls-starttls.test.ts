/**
 * IRC STARTTLS (`STARTTLS` -> `670`) through imspect to a real InspIRCd: imspect holds the 670 until its own TLS
 * session with the server is up and checked, the client upgrades with imspect's certificate, and the IRC lines
 * inside TLS are parsed and logged. A client that does not trust the CA is refused with the reason logged.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type tls from 'node:tls';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readCsvLogs } from '../support/csv-logs.js';
import { describeWithService, findExecutable } from '../support/e2e.js';
import { CLI, startImspect, type RunningImspect } from '../support/imspect-process.js';
import { startInspircd, type RunningInspircd } from '../support/inspircd.js';
import { makeServerCerts } from '../support/tls-certs.js';
import { lineClient, socksConnect, startTls, type LineClient } from '../support/tls-client.js';

const inspircdPath = findExecutable('inspircd');
const NAME = 'localhost';

describeWithService('IRC STARTTLS through imspect (InspIRCd with STARTTLS)', inspircdPath ? undefined : 'inspircd is not installed (apt-get install inspircd)', () => {
  let work: string;
  let ircd: RunningInspircd;
  let proxy: RunningImspect | undefined;
  let socks: { host: string; port: number };
  let imspectCa: string;
  let upstreamCa: string;

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'imspect-e2e-irc-starttls-'));
    const certs = await makeServerCerts(path.join(work, 'certs'), NAME);
    upstreamCa = await readFile(certs.caFile, 'utf8');
    ircd = await startInspircd(inspircdPath!, certs.valid);
    const dir = path.join(work, 'imspect');
    await mkdir(dir);
    await writeFile(
      path.join(dir, 'imspect.config.json'),
      JSON.stringify({
        dataDir: 'data',
        listeners: [{ type: 'socks5', host: '127.0.0.1', port: 0 }],
        ports: { [String(ircd.port)]: 'irc' },
        tls: { upstreamCa: certs.caFile },
        log: { level: 'info', format: 'json' },
      }),
    );
    execFileSync(process.execPath, [CLI, 'ca', 'init'], { cwd: dir, stdio: 'pipe' });
    imspectCa = await readFile(path.join(dir, 'data/ca/imspect-ca.crt'), 'utf8');
    proxy = await startImspect([], { cwd: dir });
    const url = new URL(/listening: (\S+)/.exec(proxy.stdout())![1]!);
    socks = { host: url.hostname, port: Number(url.port) };
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    await ircd?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function starttls(trust: string[]): Promise<LineClient> {
    const socket = await socksConnect(socks, NAME, ircd.port);
    const client = lineClient(socket);
    client.send('STARTTLS');
    await client.waitFor(/^:\S+ 670 /, 'the 670 go-ahead');
    const secure = await startTls(socket, NAME, trust);
    client.use(secure);
    return client;
  }

  async function register(client: LineClient, nick: string): Promise<void> {
    client.send(`NICK ${nick}`);
    client.send(`USER ${nick} 0 * :${nick}`);
    await client.waitFor(/^:\S+ 001 /, `${nick} to register`);
  }

  it('upgrades with the imspect certificate and logs the conversation inside TLS', async () => {
    const bob = lineClient(net.connect({ host: '127.0.0.1', port: ircd.port }));
    await register(bob, 'bob');
    const alice = await starttls([imspectCa]);
    expect((alice.socket as tls.TLSSocket).getPeerCertificate().issuer.O).toBe('imspect');
    await register(alice, 'alice');
    alice.send('PRIVMSG bob :hello after STARTTLS');
    await bob.waitFor(/PRIVMSG bob :hello after STARTTLS/, 'bob to get the message');
    bob.send('PRIVMSG alice :seen inside TLS');
    await alice.waitFor(/PRIVMSG alice :seen inside TLS/, 'alice to get the reply');
    alice.send('QUIT :bye');
    bob.send('QUIT :bye');
    await new Promise((r) => setTimeout(r, 300));
    alice.close();
    bob.close();
    expect(proxy!.stderr()).toMatch(/"msg":"STARTTLS intercepted"/);
  });

  it('refuses a client that does not trust the imspect CA, and says why', async () => {
    await expect(starttls([upstreamCa])).rejects.toThrow(/certificate/i);
    for (let i = 0; i < 100 && !/does not trust the imspect CA/.test(proxy!.stderr()); i++) await new Promise((r) => setTimeout(r, 50));
    expect(proxy!.stderr()).toMatch(/does not trust the imspect CA/);
  });

  it('logged both directions of the intercepted conversation', async () => {
    const code = await proxy!.stop();
    expect(code, proxy!.stderr()).toBe(0);
    const rows = await readCsvLogs(path.join(work, 'imspect', 'data', 'logs'));
    const messages = rows.filter((r) => r.type === 1 && r.localDir === 'alice');
    expect(messages.map((r) => [r.outgoing, r.remoteDir, r.text]).sort(), JSON.stringify(rows)).toEqual([
      [false, 'bob', 'seen inside TLS'],
      [true, 'bob', 'hello after STARTTLS'],
    ]);
  });
});
