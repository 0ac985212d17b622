/**
 * MSN over HTTP end to end: the scripted MSN service behind a scripted HTTP gateway that follows the
 * documentation (test/support/msn-http.ts), `imspect start` with the real filters (filter-badwords masking and
 * blocking, filter-policy blocking file offers), the CSV and SQL loggers, the blocked reply and the monitoring
 * notice. The same conversation runs three times: alice-tcp over TCP through the SOCKS5 listener, alice-proxy
 * over the HTTP gateway through the http-connect listener as a plain proxy (absolute URIs; her first request names
 * the gateway as `localhost`, the next ones the address GW-IP gives, so the proxy changes server), alice-tunnel over
 * the gateway inside an HTTP CONNECT tunnel. bob is on TCP, not through imspect. Over HTTP, what imspect logs must be
 * what it logs over TCP, row for row; the gateway must get well-formed requests (Content-Length right after
 * masking and blocking, nothing of the proxy's own); other HTTP through the proxy passes untouched.
 */
import http from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli-run.js';
import { readCsvLogs, type CsvLogRow } from '../support/csv-logs.js';
import { startImspect, type RunningImspect } from '../support/imspect-process.js';
import { BLOCKED, converse, httpTransport, login, NOTICE, tcpTransport, type ConversationResult, type MsnClient, type MsnTransport } from '../support/msn-conversation.js';
import { startMsnHttpGateway, type MsnHttpGateway } from '../support/msn-http.js';
import { startMsnService, type MsnService } from '../support/msn-servers.js';

const BOB = 'bob@example.com';
const USERS = { tcp: 'alice-tcp@example.com', proxy: 'alice-proxy@example.com', tunnel: 'alice-tunnel@example.com', forward: 'alice-forward@example.com' } as const;
const ROUTES = ['tcp', 'proxy', 'tunnel', 'forward'] as const;
/** The address the gateway's responses send the next request to (GW-IP); it listens on 127.0.0.1 too. */
const GW_IP = '127.0.0.2';
type Route = keyof typeof USERS;

// Once as one relay, once with two relay threads (`workers: 2`): a gateway session's requests may reach either.
for (const workers of [1, 2])
  describe(`MSN over HTTP through imspect: plain proxy, CONNECT and forward listener, logged as over TCP (scripted MSN service and gateway, real filters; workers: ${workers})`, () => {
    let service: MsnService;
    let gateway: MsnHttpGateway;
    let dir: string;
    let proxy: RunningImspect | undefined;
    let bobNs: MsnClient;
    const results = {} as Record<Route, ConversationResult>;
    let rows: CsvLogRow[] = [];
    let forwardPort = 0;

    beforeAll(async () => {
      service = await startMsnService();
      gateway = await startMsnHttpGateway({ host: '127.0.0.1', extraHosts: [GW_IP], gatewayIp: GW_IP });
      dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-e2e-msn-http-'));
      await writeFile(path.join(dir, 'words.txt'), '# bad words\ndarn\nheck\n');
      const ports = Object.fromEntries([service.dispatchPort, service.notificationPort, service.switchboardPort].map((p) => [String(p), 'msn']));
      await writeFile(
        path.join(dir, 'imspect.config.json'),
        JSON.stringify({
          dataDir: 'data',
          listeners: [
            { type: 'socks5', host: '127.0.0.1', port: 0 },
            { type: 'http-connect', host: '127.0.0.1', port: 0 },
            // Clients pointed at imspect as their gateway (DNS, hosts file): it rewrites GW-IP to its own address.
            { type: 'forward', host: '127.0.0.1', port: 0, upstream: { host: '127.0.0.1', port: gateway.port }, protocol: 'msn' },
          ],
          // The MSN servers' own ports are MSN's; the gateway's port is not mapped: MSN is recognised by sniffing.
          ports,
          plugins: {
            'filter-badwords': { options: { file: 'words.txt', blockCount: 2 } },
            'filter-policy': { options: { block: { file: true } } },
          },
          responses: { blocked: { rateLimitSeconds: 0 }, notice: { enabled: true, everyDays: 7, text: NOTICE } },
          connections: { sniffTimeoutMs: 300 },
          loggers: { flushIntervalMs: 10 },
          log: { level: 'info', format: 'json' },
          workers,
        }),
      );
      proxy = await startImspect([], { cwd: dir });
      const urls = [...proxy.stdout().matchAll(/listening: (\S+)/g)].map((m) => new URL(m[1]!));
      const socks = urls.find((u) => u.protocol === 'socks5:')!;
      const httpProxy = urls.find((u) => u.protocol === 'http-connect:')!;
      const forward = urls.find((u) => u.protocol === 'forward:')!;
      forwardPort = Number(forward.port);
      const dispatch = { host: '127.0.0.1', port: service.dispatchPort };
      const at = { host: httpProxy.hostname, port: Number(httpProxy.port) };
      const transports: Record<Route, MsnTransport> = {
        tcp: tcpTransport({ host: socks.hostname, port: Number(socks.port) }),
        proxy: httpTransport({ kind: 'proxy', ...at }, { host: gateway.host, port: gateway.port, name: 'localhost' }),
        tunnel: httpTransport({ kind: 'connect', ...at }, { host: gateway.host, port: gateway.port }),
        // The first request to the listener by name, then to the address its responses give (imspect's own).
        forward: httpTransport({ kind: 'direct' }, { host: '127.0.0.1', port: forwardPort, name: 'localhost' }),
      };
      const direct = tcpTransport();
      bobNs = await login(BOB, '8.5.1302', direct, dispatch);
      for (const route of ROUTES) {
        const me = USERS[route];
        const ns = await login(me, '8.5.1302', transports[route], dispatch);
        results[route] = await converse(me, ns, transports[route], BOB, bobNs, direct, 'there');
        ns.sendRaw('OUT\r\n');
        await ns.closed;
      }
      bobNs.sendRaw('OUT\r\n');
      await bobNs.closed;
    }, 120_000);

    afterAll(async () => {
      await proxy?.stop();
      await gateway?.close();
      await service?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    for (const route of ROUTES) {
      it(`${route}: masked, blocked with a reply, file offer blocked, the notice, bob's answer; bob never saw what was blocked`, () => {
        const r = results[route];
        expect(r.notice).toMatchObject({ sender: BOB, name: 'imspect', body: NOTICE });
        expect(r.notice.length).toBe(r.notice.bytes);
        expect(r.masked.body).toBe('oh **** it');
        expect(r.masked.length).toBe(r.masked.bytes);
        expect(r.reply).toMatchObject({ sender: BOB, name: 'imspect', body: BLOCKED('2 badwords', `message "darn and heck" to ${BOB}`) });
        expect(r.reply.length).toBe(r.reply.bytes);
        expect(r.fileReply.body).toBe(BLOCKED('policy file', `file "budget.xls" to ${BOB}`));
        expect(r.fromBob.body).toBe('hi there, caf\u00e9?');
        expect(r.atBob.join('\n')).not.toMatch(/darn|heck|INVITE MSNMSGR/i);
        expect(r.atBob).toContain('oh **** it');
      });
    }

    it('the gateway got well-formed requests in origin form, nothing of the proxy’s own; the proxy and the forward listener followed GW-IP', () => {
      expect(gateway.requests.length).toBeGreaterThan(20);
      for (const request of gateway.requests) {
        expect(request.url).toMatch(/^\/gateway\/gateway\.dll\?/);
        expect(request.headers['proxy-connection']).toBeUndefined();
        expect(request.headers['proxy-authorization']).toBeUndefined();
        expect(Number(request.headers['content-length'] ?? 0)).toBe(request.body.length);
      }
      const hosts = new Set(gateway.requests.map((r) => r.headers.host));
      // The plain proxy: the gateway's name first, then the address it gave.
      expect(hosts).toContain(`localhost:${gateway.port}`);
      expect(hosts).toContain(`${GW_IP}:${gateway.port}`);
      // The forward listener: the client was told imspect's address and came back there; imspect sent those
      // requests on to the address the gateway had given (they arrived on 127.0.0.2).
      const forwarded = gateway.requests.filter((r) => r.headers.host === `127.0.0.1:${forwardPort}`);
      expect(forwarded.length).toBeGreaterThan(5);
      expect(forwarded.every((r) => r.local === GW_IP)).toBe(true);
      // No request body carried a blocked command.
      const sent = Buffer.concat(gateway.requests.map((r) => r.body)).toString('latin1');
      expect(sent).not.toMatch(/darn|heck|INVITE MSNMSGR/i);
      expect(sent).toContain('oh **** it');
    });

    /** A row as the comparison sees it: the user folder, client port, time, ids, server and session id left out. */
    const comparable = (r: CsvLogRow) => JSON.stringify([r.outgoing, r.type, r.subtype, r.remoteDir, r.filtered, r.categories, r.eventData, r.text, r.deliveredText, r.data]);

    it('logs the same CSV rows for each user whatever the transport, the gateway as the server over HTTP', async () => {
      await new Promise((r) => setTimeout(r, 300));
      expect(await proxy!.stop(), proxy!.stderr()).toBe(0);
      proxy = undefined;
      // `%` is the folder of the empty id (a connection whose user was never named).
      const decode = (dir: string) => (dir === '%' ? '' : decodeURIComponent(dir));
      rows = (await readCsvLogs(path.join(dir, 'data', 'logs'))).map((r) => ({ ...r, localDir: decode(r.localDir), remoteDir: decode(r.remoteDir) }));
      // IM over HTTP, through imspect's proxy or a tunnel, on the gateway's port: each such connection says so once.
      const circumvention = (route: Route) => new Set(rows.filter((r) => r.localDir === USERS[route] && r.type === 11 && r.subtype === 'circumvention').map((r) => r.data));
      expect(circumvention('tcp')).toEqual(new Set());
      expect(circumvention('forward')).toEqual(new Set());
      expect([...circumvention('proxy')].every((d) => /how=odd-port,http,http-proxy/.test(d))).toBe(true);
      expect(circumvention('proxy').size).toBeGreaterThan(0);
      expect([...circumvention('tunnel')].every((d) => /how=odd-port,http,http-connect/.test(d))).toBe(true);
      expect(circumvention('tunnel').size).toBeGreaterThan(0);
      rows = rows.filter((r) => r.subtype !== 'circumvention');
      const of = (route: Route) =>
        rows
          .filter((r) => r.localDir === USERS[route])
          .map(comparable)
          .sort();
      const tcp = of('tcp');
      expect(tcp.length).toBeGreaterThanOrEqual(12);
      expect(of('proxy')).toEqual(tcp);
      expect(of('tunnel')).toEqual(tcp);
      expect(of('forward')).toEqual(tcp);
      // What the rows say, once: the kinds of event, filtered and masked ones.
      const mine = rows.filter((r) => r.localDir === USERS.proxy);
      const one = (want: Partial<CsvLogRow>) => mine.filter((r) => Object.entries(want).every(([k, v]) => r[k as keyof CsvLogRow] === v));
      expect(one({ type: 5 })).toHaveLength(1);
      expect(one({ type: 1, text: 'oh DARN it' })[0]).toMatchObject({ filtered: false, deliveredText: 'oh **** it', remoteDir: BOB });
      expect(one({ type: 1, text: 'darn and heck' })[0]).toMatchObject({ filtered: true, categories: '2 badwords' });
      expect(one({ type: 2 })[0]).toMatchObject({ filtered: true, categories: 'policy file', eventData: 'budget.xls 4321' });
      expect(one({ type: 3 })).toHaveLength(1);
      expect(one({ type: 7 })).toHaveLength(1);
      expect(one({ type: 8 }).length).toBeGreaterThanOrEqual(1);
      expect(one({ type: 1, text: 'hi there, caf\u00e9?' })[0]).toMatchObject({ outgoing: false });
      // Over HTTP the server a row names is the gateway (the first request's name, then its address).
      expect(new Set(mine.filter((r) => r.type === 1).map((r) => r.server))).toEqual(new Set([`localhost:${gateway.port}`]));
      expect(rows.filter((r) => r.localDir === USERS.tunnel && r.type === 1).every((r) => r.server === `127.0.0.1:${gateway.port}`)).toBe(true);
      // Through the forward listener: its upstream, or the address a response gave for the session's next request.
      const viaForward = new Set(rows.filter((r) => r.localDir === USERS.forward).map((r) => r.server));
      expect([...viaForward].every((server) => server === `127.0.0.1:${gateway.port}` || server === `${GW_IP}:${gateway.port}`)).toBe(true);
      expect(viaForward).toContain(`${GW_IP}:${gateway.port}`);
    });

    it('stores the same events in the SQL archive for each transport', async () => {
      const exported = async (route: Route) => {
        const result = await runCli(['logs', 'export', '--format', 'jsonl', '--user', USERS[route]], dir);
        expect(result.code, result.stderr).toBe(0);
        return (
          result.stdout
            .trim()
            .split('\n')
            .map(
              (line) =>
                JSON.parse(line) as {
                  type: string;
                  direction: string;
                  remoteId: string;
                  text?: string;
                  deliveredText?: string;
                  filtered: boolean;
                  categories: string[];
                  subtype?: string;
                },
            )
            // Circumvention events (compared in the CSV test) differ per route by design.
            .filter((e) => e.subtype !== 'circumvention')
            .map((e) => JSON.stringify([e.type, e.direction, e.remoteId, e.text ?? '', e.deliveredText ?? '', e.filtered, e.categories, e.subtype ?? '']))
            .sort()
        );
      };
      const tcp = await exported('tcp');
      expect(tcp.length).toBeGreaterThanOrEqual(12);
      expect(await exported('proxy')).toEqual(tcp);
      expect(await exported('tunnel')).toEqual(tcp);
      expect(await exported('forward')).toEqual(tcp);
    });
  });

describe('other HTTP through the plain proxy passes untouched', () => {
  let dir: string;
  let proxy: RunningImspect | undefined;
  let web: http.Server;
  const seen: Array<{ url: string; body: string }> = [];

  beforeAll(async () => {
    web = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('latin1');
        seen.push({ url: request.url!, body });
        response.end(`page ${request.url} ${body.length}\n${'p'.repeat(100_000)}`);
      });
    });
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-e2e-http-other-'));
    await writeFile(
      path.join(dir, 'imspect.config.json'),
      JSON.stringify({
        dataDir: 'data',
        listeners: [{ type: 'http-connect', host: '127.0.0.1', port: 0 }],
        connections: { sniffTimeoutMs: 300 },
        loggers: { flushIntervalMs: 10 },
      }),
    );
    proxy = await startImspect([], { cwd: dir });
  });

  afterAll(async () => {
    await proxy?.stop();
    await new Promise<void>((resolve) => web.close(() => resolve()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('pages and uploads go through with their bodies intact, and no conversation is logged', async () => {
    const url = new URL(/listening: (\S+)/.exec(proxy!.stdout())![1]!);
    const port = (web.address() as net.AddressInfo).port;
    const ask = (method: string, body?: string) =>
      new Promise<string>((resolve, reject) => {
        const request = http.request(
          { host: url.hostname, port: Number(url.port), method, path: `http://127.0.0.1:${port}/x?y=1`, headers: { Host: `127.0.0.1:${port}` } },
          (response) => {
            const chunks: Buffer[] = [];
            response.on('data', (c: Buffer) => chunks.push(c));
            response.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
          },
        );
        request.on('error', reject);
        request.end(body);
      });
    const page = await ask('GET');
    expect(page.split('\n')[0]).toBe('page /x?y=1 0');
    expect(page.length).toBe('page /x?y=1 0\n'.length + 100_000);
    const upload = 'u'.repeat(300_000);
    expect((await ask('POST', upload)).split('\n')[0]).toBe('page /x?y=1 300000');
    expect(seen.map((s) => [s.url, s.body.length])).toEqual([
      ['/x?y=1', 0],
      ['/x?y=1', 300_000],
    ]);
    expect(await proxy!.stop()).toBe(0);
    proxy = undefined;
    // Nothing was read as IM (an event about the connection itself, type other, would be no conversation).
    const csv = await readCsvLogs(path.join(dir, 'data', 'logs')).catch(() => []);
    expect(csv.filter((r) => r.type !== 11)).toEqual([]);
  });
});
