// Connection set-up time under TLS interception: a TLS client connects, completes its handshake, sends one IRC
// line and waits for the answer; directly to a local TLS server, and through imspect (forward listener, the
// server's port declared as an IRC TLS port, interception on). Names: one repeated (cached leaf) and a new one per
// connection (minted on the way). Everything on 127.0.0.1. Run by hand:
//   pnpm build && node bench/tls-handshake/run.js [connections]
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { CertificateAuthority, createCa } from '../../packages/core/dist/runtime/index.js';

const count = Number(process.argv[2] ?? 200);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'imspect-bench-tls-hs-'));

function stats(label, samples) {
  samples.sort((a, b) => a - b);
  const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  console.log(`${label.padEnd(44)} n=${String(samples.length).padStart(4)}  mean ${mean.toFixed(2)} ms  p50 ${at(0.5).toFixed(2)} ms  p99 ${at(0.99).toFixed(2)} ms`);
}

// The real server: accepts any name (wildcard-free: one certificate per name, minted by a test CA, chosen by SNI).
const upstreamCa = await createCa({ files: { cert: path.join(dir, 'up.crt'), key: path.join(dir, 'up.key') }, commonName: 'bench upstream CA' });
const upstreamLeaves = new CertificateAuthority(upstreamCa, path.join(dir, 'up-cache'));
const fallback = await upstreamLeaves.leafFor('localhost');
const server = tls.createServer(
  { key: fallback.keyPem, cert: fallback.certPem, SNICallback: (name, cb) => upstreamLeaves.leafFor(name).then((l) => cb(null, l.context), cb) },
  (socket) => {
    socket.on('error', () => undefined);
    socket.on('data', (d) => socket.write(`:bench 001 me :${d.length}\r\n`));
  },
);
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const serverPort = server.address().port;

const work = path.join(dir, 'imspect');
writeFileSync(path.join(dir, 'upstream-ca.pem'), upstreamCa.certPem);
mkdirSync(work, { recursive: true });
writeFileSync(
  path.join(work, 'imspect.config.json'),
  JSON.stringify({
    dataDir: 'data',
    listeners: [{ type: 'forward', host: '127.0.0.1', port: 0, upstream: { host: 'localhost', port: serverPort } }],
    plugins: { irc: { options: { tlsPorts: [serverPort] } }, 'logger-csv': { enabled: false } },
    tls: { upstreamCa: path.join(dir, 'upstream-ca.pem') },
    log: { level: 'warn', format: 'json' },
  }),
);
const cli = path.join(root, 'packages/cli/bin/run.js');
execFileSync(process.execPath, [cli, 'ca', 'init'], { cwd: work, stdio: 'ignore' });
const imspectCa = readFileSync(path.join(work, 'data/ca/imspect-ca.crt'), 'utf8');
const child = spawn(process.execPath, [cli, 'start'], { cwd: work, stdio: ['ignore', 'pipe', 'inherit'] });
let out = '';
child.stdout.on('data', (d) => (out += d));
while (!out.includes('Press Ctrl-C')) await new Promise((r) => setTimeout(r, 50));
const proxyPort = Number(/listening: forward:\/\/127\.0\.0\.1:(\d+)/.exec(out)[1]);

function once(port, servername, ca) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const socket = tls.connect({ host: '127.0.0.1', port, servername, ca });
    socket.once('error', reject);
    socket.once('secureConnect', () => socket.write('NICK me\r\n'));
    socket.once('data', () => {
      resolve(performance.now() - start);
      socket.destroy();
    });
  });
}

async function series(label, port, ca, name) {
  const samples = [];
  for (let i = 0; i < count; i++) samples.push(await once(port, name(i), ca));
  stats(label, samples);
}

try {
  const trustUpstream = [upstreamCa.certPem];
  await once(serverPort, 'localhost', trustUpstream); // warm up
  await series('direct, one name', serverPort, trustUpstream, () => 'localhost');
  await series('through imspect, one name (cached leaf)', proxyPort, [imspectCa], () => 'localhost');
  await series('direct, a new name each time', serverPort, trustUpstream, (i) => `direct${i}.bench.test`);
  await series('through imspect, a new name each time', proxyPort, [imspectCa], (i) => `new${i}.bench.test`);
} finally {
  child.kill('SIGTERM');
  server.close();
  await new Promise((r) => child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
