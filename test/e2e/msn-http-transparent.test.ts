/**
 * MSN over HTTP on imspect's transparent path, as on a real gateway: three network namespaces this test creates
 * (client, gateway, server; 198.18.0.0/15), the scripted MSN service and HTTP gateway (port 80) in the server
 * namespace, `imspect start` with `ports: { 80: msn }` and `imspect firewall --apply` in the gateway namespace,
 * alice in the client namespace talking to the gateway's real address on port 80 (redirected to imspect without
 * her knowing) and bob over TCP (routed, not redirected). Masking, blocking with a reply inside the next response,
 * the file offer blocked, the notice, and the CSV rows with alice's real address.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readCsvLogs, type CsvLogRow } from '../support/csv-logs.js';
import { describeWithService } from '../support/e2e.js';
import { CLI, REPO_ROOT } from '../support/imspect-process.js';
import { BLOCKED, NOTICE, type ConversationResult } from '../support/msn-conversation.js';
import { createGatewayTopology, netnsMissing, nsStart, nsRun, stopProcess, waitForProcess, type GatewayTopology, type NsProcess } from '../support/netns.js';

const TRANSPARENT_PORT = 16667;
const PEERS = path.join(REPO_ROOT, 'test/support/msn-http-peers.ts');
const HOOK = path.join(REPO_ROOT, 'test/support/ts-run.mjs');
const TS = ['--experimental-transform-types', '--disable-warning=ExperimentalWarning', '--import', HOOK, PEERS];
const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';

const missing = netnsMissing(['iptables']);

describeWithService("MSN's HTTP gateway on the transparent path (network namespaces, REDIRECT of port 80)", missing, () => {
  let topo: GatewayTopology;
  let dir: string;
  let server: NsProcess | undefined;
  let proxy: NsProcess | undefined;
  let client: NsProcess | undefined;
  let result: ConversationResult;
  let rows: CsvLogRow[] = [];
  const requests: Array<{ url: string; headers: Record<string, string>; body: string }> = [];

  beforeAll(async () => {
    topo = createGatewayTopology('h');
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-msn-http-gw-'));
    await chmod(dir, 0o755);
    server = nsStart(topo.server, process.execPath, [...TS, 'server', topo.addr.server4]);
    await waitForProcess('the MSN service and gateway', () => server!.out().includes('ready '), server);
    const dispatchPort = /ready (\d+)/.exec(server.out())![1]!;
    await writeFile(path.join(dir, 'words.txt'), 'darn\nheck\n');
    const config = {
      dataDir: path.join(dir, 'data'),
      listeners: [{ type: 'transparent', host: '::', port: TRANSPARENT_PORT }],
      // Port 80 is MSN's here: every HTTP connection is read by the MSN plugin, which passes other HTTP through.
      ports: { '80': 'msn' },
      plugins: {
        'filter-badwords': { options: { file: path.join(dir, 'words.txt'), blockCount: 2 } },
        'filter-policy': { options: { block: { file: true } } },
      },
      responses: { blocked: { rateLimitSeconds: 0 }, notice: { enabled: true, everyDays: 7, text: NOTICE } },
      connections: { connectTimeoutMs: 3000 },
      loggers: { flushIntervalMs: 10 },
      log: { format: 'json' },
    };
    await writeFile(path.join(dir, 'imspect.config.json'), JSON.stringify(config));
    proxy = nsStart(topo.gateway, process.execPath, [CLI, 'start', '-c', path.join(dir, 'imspect.config.json'), '--allow-root']);
    await waitForProcess('imspect to start', () => proxy!.out().includes('Press Ctrl-C to stop.'), proxy);
    const applied = nsRun(topo.gateway, process.execPath, [CLI, 'firewall', '-c', path.join(dir, 'imspect.config.json'), '--apply', '--backend', 'iptables', '-i', 'lan0']);
    expect(applied).toMatch(/redirects tcp ports [\d,]*\b80\b/);
    client = nsStart(topo.client, process.execPath, [...TS, 'client', topo.addr.server4, dispatchPort]);
    await waitForProcess('the conversation', () => /^(result|error) /m.test(client!.out()), client, 60_000);
    const line = client
      .out()
      .split('\n')
      .find((l) => l.startsWith('result ') || l.startsWith('error '))!;
    if (line.startsWith('error ')) throw new Error(`the conversation failed: ${line}\nimspect:\n${proxy.err()}`);
    result = JSON.parse(line.slice('result '.length)) as ConversationResult;
    await new Promise((r) => setTimeout(r, 200));
    for (const l of server.out().split('\n')) if (l.startsWith('request ')) requests.push(JSON.parse(l.slice('request '.length)));
    await stopProcess(proxy);
    rows = (await readCsvLogs(path.join(dir, 'data', 'logs'))).map((r) => ({ ...r, localDir: decodeURIComponent(r.localDir), remoteDir: decodeURIComponent(r.remoteDir) }));
  }, 120_000);

  afterAll(async () => {
    await stopProcess(client);
    await stopProcess(proxy);
    await stopProcess(server);
    topo?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('alice’s messages are masked and blocked with the reply in a response, her file offer blocked, the notice shown once', () => {
    expect(result.notice).toMatchObject({ sender: BOB, name: 'imspect', body: NOTICE });
    expect(result.masked).toMatchObject({ body: 'oh **** it' });
    expect(result.masked.length).toBe(result.masked.bytes);
    expect(result.reply.body).toBe(BLOCKED('2 badwords', `message "darn and heck" to ${BOB}`));
    expect(result.reply.length).toBe(result.reply.bytes);
    expect(result.fileReply.body).toBe(BLOCKED('policy file', `file "budget.xls" to ${BOB}`));
    expect(result.fromBob.body).toBe('hi there, caf\u00e9?');
    expect(result.atBob.join('\n')).not.toMatch(/darn|heck|INVITE MSNMSGR/i);
  });

  it('the gateway got every request well-formed, in origin form, without the blocked commands', () => {
    expect(requests.length).toBeGreaterThan(15);
    for (const request of requests) {
      expect(request.url).toMatch(/^\/gateway\/gateway\.dll\?/);
      expect(Number(request.headers['content-length'] ?? 0)).toBe(Buffer.byteLength(request.body, 'latin1'));
    }
    const sent = requests.map((r) => r.body).join('');
    expect(sent).not.toMatch(/darn|heck|INVITE MSNMSGR/i);
    expect(sent).toContain('oh **** it');
  });

  it('logs alice’s HTTP conversation with her real address and the gateway as the server', () => {
    const mine = rows.filter((r) => r.localDir === ALICE);
    expect(mine.every((r) => r.protocol === 'msn' && /^198\.18\.1\.2:\d+$/.test(r.client) && r.server === `${topo.addr.server4}:80`)).toBe(true);
    const one = (want: Partial<CsvLogRow>) => mine.filter((r) => Object.entries(want).every(([k, v]) => r[k as keyof CsvLogRow] === v));
    expect(one({ type: 5 })).toHaveLength(1);
    // Each HTTP connection that carried MSN says so once (IM over HTTP).
    const viaHttp = mine.filter((r) => r.type === 11 && r.subtype === 'circumvention');
    expect(viaHttp.length).toBeGreaterThanOrEqual(1);
    expect(viaHttp.every((r) => r.data.startsWith('protocol=msn how=http '))).toBe(true);
    expect(one({ type: 11, subtype: 'client' })).toHaveLength(2);
    // Her CHG: her own status, online.
    expect(one({ type: 11, subtype: 'status' }).map((r) => r.data)).toEqual(['status=online protocol-status=NLN']);
    expect(one({ type: 7 })).toEqual([expect.objectContaining({ remoteDir: BOB })]);
    expect(one({ type: 3 })).toHaveLength(1);
    expect(one({ type: 1, text: 'hello there' })[0]).toMatchObject({ filtered: false, outgoing: true });
    expect(one({ type: 1, text: 'oh DARN it' })[0]).toMatchObject({ filtered: false, deliveredText: 'oh **** it', categories: '1 badwords' });
    expect(one({ type: 1, text: 'darn and heck' })[0]).toMatchObject({ filtered: true, categories: '2 badwords' });
    expect(one({ type: 2 })[0]).toMatchObject({ filtered: true, categories: 'policy file', eventData: 'budget.xls 4321' });
    expect(one({ type: 1, text: 'hi there, caf\u00e9?' })[0]).toMatchObject({ outgoing: false, remoteDir: BOB });
    expect(one({ type: 8 }).length).toBeGreaterThanOrEqual(1);
    expect(one({ type: 6 })).toHaveLength(1);
    // bob was routed, not redirected: imspect never saw him.
    expect(rows.filter((r) => r.localDir === BOB)).toEqual([]);
  });
});
