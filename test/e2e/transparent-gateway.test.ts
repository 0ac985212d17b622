/**
 * imspect on a Linux gateway, as in docs/gateway.md: three network namespaces this test creates (client,
 * gateway, server), `imspect firewall --apply` installing real REDIRECT rules on the gateway, ngircd on the
 * server, irc-framework clients on both sides. The client never configured a proxy; its conversation must be
 * logged with its real address, over IPv4 and IPv6, with iptables and with nftables rules. Connections that
 * were not redirected are refused (loop guard); failed upstream connects close the client promptly.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readCsvLogs, type CsvLogRow } from '../support/csv-logs.js';
import { describeWithService, findExecutable } from '../support/e2e.js';
import { CLI, REPO_ROOT } from '../support/imspect-process.js';
import { createGatewayTopology, netnsMissing, nsRun, nsStart, stopProcess, waitForProcess, type GatewayTopology, type NsProcess } from '../support/netns.js';

const ngircd = findExecutable('ngircd');
const CHAT = path.join(REPO_ROOT, 'test/support/irc-chat.cjs');
const TRANSPARENT_PORT = 16667;

const missing = netnsMissing(['iptables', 'ip6tables', 'nft']) ?? (ngircd ? undefined : 'ngircd not found');

async function exitOf(proc: NsProcess, ms = 25_000): Promise<number | null> {
  if (proc.child.exitCode !== null) return proc.child.exitCode;
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`process did not finish\nstdout:\n${proc.out()}\nstderr:\n${proc.err()}`)), ms);
    proc.child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

// Once as one relay, once with two relay threads (`workers: 2`): each thread reads the original destination itself.
for (const workers of [1, 2])
  describeWithService(`transparent interception on a gateway (network namespaces, REDIRECT, ngircd; workers: ${workers})`, missing, () => {
    let topo: GatewayTopology;
    let dir: string;
    let server: NsProcess | undefined;
    let proxy: NsProcess | undefined;

    beforeAll(async () => {
      topo = createGatewayTopology(`t${workers}`);
      dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-gw-'));
      await chmod(dir, 0o755);
      const { server4, server6 } = topo.addr;
      await writeFile(
        path.join(dir, 'ngircd.conf'),
        [
          '[Global]',
          'Name = irc.gateway.test',
          'Info = imspect gateway test',
          'AdminInfo1 = imspect tests',
          'AdminInfo2 = namespaces',
          'AdminEMail = tests@imspect.invalid',
          `Listen = ${server4},${server6}`,
          'Ports = 6667',
          'MotdPhrase = imspect gateway test',
          `PidFile = ${path.join(dir, 'ngircd.pid')}`,
          '[Limits]',
          'MaxConnectionsIP = 0',
          '[Options]',
          'PAM = no',
          'Ident = no',
          'DNS = no',
          '',
        ].join('\n'),
      );
      server = nsStart(topo.server, ngircd!, ['-n', '-f', path.join(dir, 'ngircd.conf')]);
      await waitForProcess('ngircd to listen', () => nsRun(topo.server, 'ss', ['-Htln']).includes(':6667'), server);

      const config = {
        dataDir: path.join(dir, 'data'),
        listeners: [{ type: 'transparent', host: '::', port: TRANSPARENT_PORT }],
        plugins: { 'logger-csv': { options: { dir: 'logs' } } },
        connections: { connectTimeoutMs: 3000 },
        log: { format: 'json' },
        workers,
      };
      await writeFile(path.join(dir, 'imspect.config.json'), JSON.stringify(config));
      proxy = nsStart(topo.gateway, process.execPath, [CLI, 'start', '-c', path.join(dir, 'imspect.config.json'), '--allow-root']);
      await waitForProcess('imspect to start', () => proxy!.out().includes('Press Ctrl-C to stop.'), proxy);
      expect(proxy.out()).toContain(`transparent://[::]:${TRANSPARENT_PORT}`);
      const applied = nsRun(topo.gateway, process.execPath, [CLI, 'firewall', '-c', path.join(dir, 'imspect.config.json'), '--apply', '--backend', 'iptables', '-i', 'lan0']);
      expect(applied).toContain('ip6tables: chain IMSPECT');
    });

    afterAll(async () => {
      await stopProcess(proxy);
      await stopProcess(server);
      topo?.destroy();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    async function converse(label: string, serverAddress: string): Promise<void> {
      const bob = nsStart(topo.server, process.execPath, [CHAT, JSON.stringify({ role: 'bob', host: serverAddress, port: 6667, label })]);
      await waitForProcess('bob to join', () => bob.out().includes('ready'), bob);
      // alice, in the client namespace, connects to the server's real address: the gateway redirects her.
      const alice = nsStart(topo.client, process.execPath, [CHAT, JSON.stringify({ role: 'alice', host: serverAddress, port: 6667, label })]);
      expect(await exitOf(alice), `alice:\n${alice.out()}\n${alice.err()}`).toBe(0);
      expect(alice.out()).toContain('done');
      expect(await exitOf(bob), `bob:\n${bob.out()}\n${bob.err()}`).toBe(0);
    }

    async function logged(label: string, expected: number, ms = 10_000): Promise<CsvLogRow[]> {
      const deadline = Date.now() + ms;
      for (;;) {
        const rows = (await readCsvLogs(path.join(dir, 'data', 'logs')).catch(() => [])).filter((r) => r.text.endsWith(label));
        if (rows.length >= expected || Date.now() > deadline) return rows;
        await new Promise((r) => setTimeout(r, 100));
      }
    }

    function checkConversation(rows: CsvLogRow[], label: string, client: RegExp, serverEndpoint: string): void {
      expect(rows.map((r) => `${r.outgoing ? 'out' : 'in'} ${r.localDir}->${r.remoteDir}: ${r.text}`).sort()).toEqual(
        [`in alice->bob: reply ${label}`, `out alice->#gateway: hello ${label}`, `out alice->bob: private ${label}`].sort(),
      );
      for (const row of rows) {
        expect(row.protocol).toBe('irc');
        expect(row.client).toMatch(client);
        expect(row.server).toBe(serverEndpoint);
      }
    }

    it('logs a client’s IRC conversation over IPv4 with the client’s real address', async () => {
      await converse('over ipv4', topo.addr.server4);
      const rows = await logged('over ipv4', 3);
      checkConversation(rows, 'over ipv4', /^198\.18\.1\.2:\d+$/, '198.18.2.2:6667');
    });

    it('logs a client’s IRC conversation over IPv6 with the client’s real address', async () => {
      await converse('over ipv6', topo.addr.server6);
      const rows = await logged('over ipv6', 3);
      checkConversation(rows, 'over ipv6', /^\[2001:2:0:1::2\]:\d+$/, '[2001:2:0:2::2]:6667');
    });

    it('refuses connections that were not redirected (the loop guard), with a logged reason', async () => {
      const before = proxy!.err().length;
      // From the client straight to the listener (port 16667 is not redirected), and from the gateway itself.
      for (const [ns, host] of [
        [topo.client, topo.addr.gatewayLan4],
        [topo.client, topo.addr.gatewayLan6],
        [topo.gateway, '127.0.0.1'],
      ] as const) {
        const result = nsRun(ns, process.execPath, ['-e', probeScript(host, TRANSPARENT_PORT, 'NICK loop\r\nUSER loop 0 * :loop\r\n')]);
        expect(result.trim(), `${ns} -> ${host}`).toBe('closed 0 bytes');
      }
      const refusals = () =>
        proxy!
          .err()
          .slice(before)
          .match(/is imspect itself \(no redirect happened, or a loop\)/g)?.length ?? 0;
      await waitForProcess('three refusals in the log', () => refusals() >= 3, proxy!, 5000).catch(() => undefined);
      const log = proxy!.err().slice(before);
      expect(refusals(), log).toBe(3);
      expect(log).toContain(`its original destination ${topo.addr.gatewayLan4}:${TRANSPARENT_PORT} is imspect itself`);
      expect(log).toContain(`its original destination ${topo.addr.gatewayLan6}:${TRANSPARENT_PORT} is imspect itself`);
    });

    it('refuses imspect’s own upstream connection sent back to it by an OUTPUT rule (no relaying in a circle)', async () => {
      const rule = ['-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-d', topo.addr.server4, '--dport', '6667', '-j', 'REDIRECT', '--to-ports', String(TRANSPARENT_PORT)];
      nsRun(topo.gateway, 'iptables', rule);
      const before = proxy!.err().length;
      try {
        const result = nsRun(topo.client, process.execPath, ['-e', probeScript(topo.addr.server4, 6667, 'NICK circle\r\nUSER circle 0 * :circle\r\n')]);
        expect(result.trim()).toBe('closed 0 bytes');
        const loops = () =>
          proxy!
            .err()
            .slice(before)
            .match(/it is imspect's own upstream connection sent back to imspect \(a loop\)/g)?.length ?? 0;
        await waitForProcess('the loop refusal in the log', () => loops() >= 1, proxy!, 5000).catch(() => undefined);
        expect(loops(), proxy!.err().slice(before)).toBe(1);
        // One relayed connection (the client's) and one refused (its echo): nothing more was opened.
        expect(
          proxy!
            .err()
            .slice(before)
            .match(/transparent connection from/g),
        ).toHaveLength(1);
      } finally {
        nsRun(topo.gateway, 'iptables', ['-t', 'nat', '-D', ...rule.slice(3)]);
      }
    });

    it('closes the client promptly with a logged reason when the upstream refuses or is unreachable', async () => {
      const before = proxy!.err().length;
      // Nothing listens on 6668 on the server: refused. The gateway has no route to 198.19.99.1: unreachable.
      for (const host of [`${topo.addr.server4}:6668`, '198.19.99.1:6667']) {
        const [address, port] = host.split(':') as [string, string];
        const started = Date.now();
        const result = nsRun(topo.client, process.execPath, ['-e', probeScript(address, Number(port), 'NICK x\r\n')]);
        expect(result.trim(), host).toBe('closed 0 bytes');
        // Well inside the 3 s connect timeout: a refusal or missing route is reported at once.
        expect(Date.now() - started, host).toBeLessThan(2500);
      }
      await waitForProcess(
        'both failures in the log',
        () =>
          (proxy!
            .err()
            .slice(before)
            .match(/upstream connect failed/g)?.length ?? 0) >= 2,
        proxy!,
        5000,
      ).catch(() => undefined);
      const log = proxy!.err().slice(before);
      expect(log).toMatch(/"server":"198\.18\.2\.2:6668".*upstream connect failed.*ECONNREFUSED|upstream connect failed.*ECONNREFUSED.*198\.18\.2\.2:6668/);
      expect(log).toMatch(/198\.19\.99\.1:6667[^\n]*(ENETUNREACH|EHOSTUNREACH)|(ENETUNREACH|EHOSTUNREACH)[^\n]*198\.19\.99\.1:6667/);
    });

    it("refuses a redirected connection to the gateway's own address by the destination policy, with a logged reason", async () => {
      const before = proxy!.err().length;
      // 198.18.2.1 is the gateway's WAN address: the LAN client's IRC connection to it is redirected like any other,
      // and must not reach a service on the gateway.
      const result = nsRun(topo.client, process.execPath, ['-e', probeScript('198.18.2.1', 6667, 'NICK x\r\n')]);
      expect(result.trim()).toBe('closed 0 bytes');
      await waitForProcess('the refusal in the log', () => proxy!.err().slice(before).includes('refused by rule gateway'), proxy!, 5000).catch(() => undefined);
      expect(proxy!.err().slice(before)).toMatch(
        /"client":"198\.18\.1\.2:\d+".*"server":"198\.18\.2\.1:6667".*"rule":"gateway".*destination 198\.18\.2\.1:6667 refused by rule gateway/,
      );
    });

    it('relays many concurrent redirected connections', async () => {
      const count = 400;
      const echo = nsStart(topo.server, process.execPath, ['-e', ECHO_SERVER, topo.addr.server4, '7000']);
      try {
        await waitForProcess('the echo server', () => echo.out().includes('listening'), echo);
        const result = nsRun(topo.client, process.execPath, ['-e', MANY_CLIENTS, topo.addr.server4, '7000', String(count)]);
        expect(JSON.parse(result)).toEqual({ ok: count, failed: 0 });
      } finally {
        await stopProcess(echo);
      }
    });

    it('works the same with nftables rules (IPv4 and IPv6)', async () => {
      nsRun(topo.gateway, process.execPath, [CLI, 'firewall', '--remove', '--backend', 'iptables']);
      const applied = nsRun(topo.gateway, process.execPath, [CLI, 'firewall', '-c', path.join(dir, 'imspect.config.json'), '--apply', '--backend', 'nftables', '-i', 'lan0']);
      expect(applied).toContain('table inet imspect');
      await converse('nft ipv4', topo.addr.server4);
      checkConversation(await logged('nft ipv4', 3), 'nft ipv4', /^198\.18\.1\.2:\d+$/, '198.18.2.2:6667');
      await converse('nft ipv6', topo.addr.server6);
      checkConversation(await logged('nft ipv6', 3), 'nft ipv6', /^\[2001:2:0:1::2\]:\d+$/, '[2001:2:0:2::2]:6667');
    });

    it('stops cleanly and has logged nothing twice', async () => {
      await stopProcess(proxy);
      expect(proxy!.child.exitCode).toBe(0);
      const rows = await readCsvLogs(path.join(dir, 'data', 'logs'));
      const ids = rows.map((r) => r.eventId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(rows.filter((r) => r.type === 1)).toHaveLength(12);
    });
  });

/** An echo server on argv host and port. */
const ECHO_SERVER = `
const net = require('node:net');
const [host, port] = process.argv.slice(1);
net.createServer((s) => { s.on('error', () => {}); s.pipe(s); }).listen({ host, port: Number(port), backlog: 1024 }, () => console.log('listening'));
`;

/** Opens argv count connections at once, each sends a line and waits for its echo; prints the tally as JSON. */
const MANY_CLIENTS = `
const net = require('node:net');
const [host, port, count] = process.argv.slice(1);
let ok = 0, failed = 0;
const one = (n) => new Promise((resolve) => {
  const line = 'PING :conn' + n + '\\r\\n';
  let got = '';
  const s = net.connect({ host, port: Number(port) });
  const done = (good) => { good ? ok++ : failed++; s.destroy(); resolve(); };
  const timer = setTimeout(() => done(false), 15000);
  s.on('connect', () => s.write(line));
  s.on('data', (d) => { got += d; if (got === line) { clearTimeout(timer); done(true); } });
  s.on('error', () => { clearTimeout(timer); done(false); });
});
Promise.all(Array.from({ length: Number(count) }, (_, n) => one(n))).then(() => console.log(JSON.stringify({ ok, failed })));
`;

/** A tiny client run inside a namespace: connects, sends `payload`, prints how the connection ended. */
function probeScript(host: string, port: number, payload: string): string {
  return `
const net = require('node:net');
let bytes = 0;
const s = net.connect({ host: ${JSON.stringify(host)}, port: ${port} });
s.on('connect', () => s.write(${JSON.stringify(payload)}));
s.on('data', (d) => (bytes += d.length));
s.on('error', () => {});
s.on('close', () => { console.log('closed ' + bytes + ' bytes'); process.exit(0); });
setTimeout(() => { console.log('still open after 5 s'); process.exit(0); }, 5000);
`;
}
