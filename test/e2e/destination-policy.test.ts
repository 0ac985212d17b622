/**
 * The destination policy with a real LAN client: three network namespaces this test creates (client, gateway,
 * server; see support/netns.ts). imspect runs on the gateway with SOCKS5, HTTP CONNECT and an MSN forward
 * listener open to the LAN; a service listens on the gateway (port 5432 on every address, like a database on
 * loopback). Whatever spelling the client uses for the gateway (127.0.0.1, localhost, 2130706433, 0x7f.1, ::1,
 * ::ffff:127.0.0.1, 0.0.0.0, its LAN and WAN addresses), SOCKS5 answers 0x02 and HTTP CONNECT 403, the service
 * sees no connection and each refusal is logged with client, destination, address and rule. A scripted MSN
 * dispatch server whose XFR names the gateway's loopback cannot send the client's next connection there.
 * The same listeners still reach the server namespace (the control).
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithService } from '../support/e2e.js';
import { CLI } from '../support/imspect-process.js';
import { createGatewayTopology, netnsMissing, nsStart, stopProcess, waitForProcess, type GatewayTopology, type NsProcess } from '../support/netns.js';

const missing = netnsMissing();
const SERVICE_PORT = 5432;

/** The gateway's own service: every address, port 5432; prints each connection it gets. */
const SERVICE = `
const net = require('node:net');
net.createServer((s) => { console.log('accepted ' + s.remoteAddress); s.on('error', () => {}); s.end('R\\n'); })
  .listen({ host: '::', port: ${SERVICE_PORT} }, () => console.log('listening'));
`;

/** In the server namespace: an echo server on the IRC port (the control) and a hostile MSN dispatch server. */
const SERVERS = (server4: string, xfrTarget: string) => `
const net = require('node:net');
let up = 0;
const ready = () => { if (++up === 2) console.log('listening'); };
net.createServer((s) => { s.on('error', () => {}); s.pipe(s); }).listen({ host: '${server4}', port: 6667 }, ready);
net.createServer((s) => {
  s.on('error', () => {});
  let buffered = '';
  s.on('data', (chunk) => {
    buffered += chunk.toString('latin1');
    let end;
    while ((end = buffered.indexOf('\\r\\n')) >= 0) {
      const [command, trid] = buffered.slice(0, end).split(' ');
      buffered = buffered.slice(end + 2);
      if (command === 'VER') s.write('VER ' + trid + ' MSNP8\\r\\n');
      else if (command === 'CVR') s.write('CVR ' + trid + ' 6.2.0208 6.2.0208 6.2.0208 http://example.invalid http://example.invalid\\r\\n');
      // The server chooses where the client goes next: here, the gateway's own loopback service.
      else if (command === 'USR') s.write('XFR ' + trid + ' NS ${xfrTarget} 0 ${server4}:1863\\r\\n');
    }
  });
}).listen({ host: '${server4}', port: 1863 }, ready);
`;

/** In the client namespace: every probe, one JSON line of results. */
const PROBES = `
const net = require('node:net');
const [gateway, server4, servicePort] = JSON.parse(process.argv[1]);
function exchange(port, send, until, ms = 5000) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: gateway, port });
    let got = Buffer.alloc(0);
    const done = (how) => { clearTimeout(timer); socket.destroy(); resolve({ how, bytes: got }); };
    const timer = setTimeout(() => done('timeout'), ms);
    socket.on('error', () => done('error'));
    socket.on('close', () => done('closed'));
    socket.on('connect', () => send(socket));
    socket.on('data', (chunk) => { got = Buffer.concat([got, chunk]); if (until(got, socket)) done('answered'); });
  });
}
function socksRequest(type, host, port) {
  let address;
  if (type === 1) address = host.split('.').map(Number);
  else if (type === 3) address = [host.length, ...Buffer.from(host)];
  else address = [...host];
  return Buffer.from([5, 1, 0, 5, 1, 0, type, ...address, port >> 8, port & 255]);
}
const V6_LOOPBACK = [0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1];
const V6_MAPPED_LOOPBACK = [0,0,0,0,0,0,0,0,0,0,0xff,0xff,127,0,0,1];
async function socks(label, type, host, port) {
  const { bytes } = await exchange(1080, (s) => s.write(socksRequest(type, host, port)), (got) => got.length >= 12);
  let echoed;
  if (bytes.length >= 12 && bytes[3] === 0) {
    const more = await exchange(1080, (s) => s.write(socksRequest(type, host, port)), (got, s) => {
      if (got.length === 12) s.write('ping\\n');
      return got.length >= 17;
    });
    echoed = more.bytes.subarray(12).toString();
  }
  return { label, reply: bytes.length >= 4 ? bytes[3] : null, echoed };
}
async function connect(label, authority) {
  const { bytes } = await exchange(8080, (s) => s.write('CONNECT ' + authority + ' HTTP/1.1\\r\\nHost: ' + authority + '\\r\\n\\r\\n'), (got) => got.includes('\\r\\n\\r\\n'));
  return { label, status: /^HTTP\\/1\\.1 (\\d+)/.exec(bytes.toString())?.[1] ?? null };
}
async function msn() {
  const line = (text) => (got) => got.toString().includes(text);
  let xfr = '';
  await exchange(1863, (s) => {
    s.write('VER 1 MSNP8 CVR0\\r\\nCVR 2 0x0409 winnt 5.1 i386 MSNMSGR 6.2.0208 MSMSGS alice@example.com\\r\\nUSR 3 TWN I alice@example.com\\r\\n');
  }, (got) => { const m = /XFR 3 NS (\\S+)/.exec(got.toString()); if (m) xfr = m[1]; return !!m; });
  const [host, port] = xfr.split(':');
  const next = await new Promise((resolve) => {
    const socket = net.connect({ host, port: Number(port) });
    let got = '';
    const timer = setTimeout(() => { socket.destroy(); resolve({ how: 'timeout', got }); }, 5000);
    socket.on('error', () => {});
    socket.on('connect', () => socket.write('VER 4 MSNP8 CVR0\\r\\n'));
    socket.on('data', (d) => (got += d.toString()));
    socket.on('close', () => { clearTimeout(timer); resolve({ how: 'closed', got }); });
  });
  return { xfr, next };
}
(async () => {
  const port = Number(servicePort);
  const results = { socks: [], connect: [] };
  for (const [label, type, host] of [
    ['ipv4 127.0.0.1', 1, '127.0.0.1'],
    ['ipv4 0.0.0.0', 1, '0.0.0.0'],
    ['ipv4 gateway lan', 1, gateway],
    ['ipv4 gateway wan', 1, '198.18.2.1'],
    ['domain localhost', 3, 'localhost'],
    ['domain 2130706433', 3, '2130706433'],
    ['domain 0x7f.1', 3, '0x7f.1'],
    ['domain 127.1', 3, '127.1'],
    ['ipv6 ::1', 4, V6_LOOPBACK],
    ['ipv6 ::ffff:127.0.0.1', 4, V6_MAPPED_LOOPBACK],
  ]) results.socks.push(await socks(label, type, host, port));
  results.socks.push(await socks('control', 1, server4, 6667));
  for (const authority of ['127.0.0.1:' + port, '[::1]:' + port, '[::ffff:127.0.0.1]:' + port, 'localhost:' + port, '2130706433:' + port, '0x7f.1:' + port, gateway + ':' + port]) {
    results.connect.push(await connect(authority, authority));
  }
  results.connect.push(await connect('control', server4 + ':6667'));
  results.msn = await msn();
  console.log(JSON.stringify(results));
})();
`;

describeWithService('destination policy for LAN clients (network namespaces: SOCKS5, HTTP CONNECT, MSN forward)', missing, () => {
  let topo: GatewayTopology;
  let dir: string;
  let service: NsProcess | undefined;
  let servers: NsProcess | undefined;
  let proxy: NsProcess | undefined;

  beforeAll(async () => {
    topo = createGatewayTopology('d');
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-dest-'));
    await chmod(dir, 0o755);
    service = nsStart(topo.gateway, process.execPath, ['-e', SERVICE]);
    await waitForProcess('the gateway service to listen', () => service!.out().includes('listening'), service);
    servers = nsStart(topo.server, process.execPath, ['-e', SERVERS(topo.addr.server4, `127.0.0.1:${SERVICE_PORT}`)]);
    await waitForProcess('the servers to listen', () => servers!.out().includes('listening'), servers);
    const lan = topo.addr.gatewayLan4;
    const config = {
      dataDir: path.join(dir, 'data'),
      listeners: [
        { type: 'socks5', host: lan, port: 1080, allow: ['198.18.0.0/15'] },
        { type: 'http-connect', host: lan, port: 8080, allow: ['198.18.0.0/15'] },
        { type: 'forward', host: lan, port: 1863, upstream: { host: topo.addr.server4, port: 1863 }, protocol: 'msn' },
      ],
      // The service's port is allowed: what refuses these connections is the address.
      destinations: { extraPorts: [SERVICE_PORT] },
      plugins: { 'logger-csv': { options: { dir: 'logs' } } },
      connections: { connectTimeoutMs: 3000 },
      log: { format: 'json' },
    };
    await writeFile(path.join(dir, 'imspect.config.json'), JSON.stringify(config));
    proxy = nsStart(topo.gateway, process.execPath, [CLI, 'start', '-c', path.join(dir, 'imspect.config.json'), '--allow-root']);
    await waitForProcess('imspect to start', () => proxy!.out().includes('Press Ctrl-C to stop.'), proxy);
  }, 60_000);

  afterAll(async () => {
    await stopProcess(proxy);
    await stopProcess(servers);
    await stopProcess(service);
    topo?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("refuses every spelling of the gateway's own addresses (0x02, 403), lets the server namespace through, and logs why", async () => {
    // Asynchronously, so that imspect's log pipe keeps being read while the probes run.
    const probes = nsStart(topo.client, process.execPath, ['-e', PROBES, JSON.stringify([topo.addr.gatewayLan4, topo.addr.server4, String(SERVICE_PORT)])]);
    const code = await new Promise<number | null>((resolve) => (probes.child.exitCode !== null ? resolve(probes.child.exitCode) : probes.child.once('exit', resolve)));
    expect(code, probes.err()).toBe(0);
    const results = JSON.parse(probes.out()) as {
      socks: Array<{ label: string; reply: number | null; echoed?: string }>;
      connect: Array<{ label: string; status: string | null }>;
      msn: { xfr: string; next: { how: string; got: string } };
    };
    for (const probe of results.socks) {
      if (probe.label === 'control') expect(probe, 'SOCKS5 to the server namespace').toEqual({ label: 'control', reply: 0, echoed: 'ping\n' });
      else expect(probe, `SOCKS5 ${probe.label}`).toEqual({ label: probe.label, reply: 2 });
    }
    for (const probe of results.connect) expect(probe, `CONNECT ${probe.label}`).toEqual({ label: probe.label, status: probe.label === 'control' ? '200' : '403' });

    // MSN: the XFR was rewritten to imspect, and the connection it announced was refused, not sent to loopback.
    expect(results.msn.xfr).toBe(`${topo.addr.gatewayLan4}:1863`);
    expect(results.msn.next).toEqual({ how: 'closed', got: '' });

    // The gateway's service never saw a connection.
    expect(service!.out()).not.toContain('accepted');

    const refusals = () =>
      proxy!
        .err()
        .split('\n')
        .filter((line) => line.includes('"DESTINATION_REFUSED"'))
        .map((line) => JSON.parse(line) as { client: string; server: string; resolved?: string; rule: string; msg: string });
    const expected = results.socks.length - 1 + results.connect.length - 1 + 1;
    await waitForProcess('every refusal logged', () => refusals().length >= expected, proxy!, 5_000).catch(() => undefined);
    const logged = refusals();
    expect(logged, proxy!.err()).toHaveLength(expected);
    for (const entry of logged) expect(entry.client).toMatch(/^198\.18\.1\.2:\d+$/);
    const byServer = (server: string) => logged.filter((entry) => entry.server === server);
    expect(byServer(`localhost:${SERVICE_PORT}`)[0]).toMatchObject({ rule: 'loopback', resolved: expect.stringMatching(/^(127\.0\.0\.1|::1)$/) });
    expect(byServer(`2130706433:${SERVICE_PORT}`)[0]).toMatchObject({ rule: 'loopback', resolved: '127.0.0.1' });
    expect(byServer(`0x7f.1:${SERVICE_PORT}`)[0]).toMatchObject({ rule: 'loopback', resolved: '127.0.0.1' });
    expect(byServer(`::ffff:127.0.0.1:${SERVICE_PORT}`)[0]).toMatchObject({ rule: 'loopback', resolved: '127.0.0.1' });
    expect(byServer(`0.0.0.0:${SERVICE_PORT}`)[0]).toMatchObject({ rule: 'unspecified' });
    expect(byServer(`${topo.addr.gatewayLan4}:${SERVICE_PORT}`)[0]).toMatchObject({ rule: 'gateway', resolved: topo.addr.gatewayLan4 });
    expect(byServer(`198.18.2.1:${SERVICE_PORT}`)[0]).toMatchObject({ rule: 'gateway' });
    // The MSN refusal: the server the dispatch server named.
    expect(byServer(`127.0.0.1:${SERVICE_PORT}`).map((entry) => entry.rule)).toEqual(['loopback', 'loopback', 'loopback']);
    expect(logged.find((entry) => entry.msg.includes('refused by rule'))).toBeDefined();
  }, 60_000);
});
