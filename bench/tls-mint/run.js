// What a new name costs when imspect intercepts TLS: minting an ECDSA P-256 leaf (key + signature) with an
// ECDSA and with an RSA CA, reading a cached leaf back from disk, and a lookup in memory. Run by hand:
//   pnpm build && node bench/tls-mint/run.js [names]
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { CertificateAuthority, createCa, loadCa } from '../../packages/core/dist/runtime/index.js';

const count = Number(process.argv[2] ?? 200);
const dir = mkdtempSync(path.join(os.tmpdir(), 'imspect-bench-tls-'));

function stats(label, samples) {
  samples.sort((a, b) => a - b);
  const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  console.log(`${label.padEnd(34)} n=${String(samples.length).padStart(4)}  mean ${mean.toFixed(2)} ms  p50 ${at(0.5).toFixed(2)} ms  p99 ${at(0.99).toFixed(2)} ms`);
}

async function run(label, ca) {
  const cacheDir = path.join(dir, `cache-${label}`);
  const authority = new CertificateAuthority(ca, cacheDir);
  const mint = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await authority.leafFor(`host${i}.example.org`);
    mint.push(performance.now() - t);
  }
  stats(`${label}: new name (minted)`, mint);
  await authority.flush();
  const memory = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await authority.leafFor(`host${i}.example.org`);
    memory.push(performance.now() - t);
  }
  stats(`${label}: cached in memory`, memory);
  const fresh = new CertificateAuthority(ca, cacheDir);
  const disk = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await fresh.leafFor(`host${i}.example.org`);
    disk.push(performance.now() - t);
  }
  stats(`${label}: cached on disk (next run)`, disk);
}

try {
  const ec = await createCa({ files: { cert: path.join(dir, 'ec.crt'), key: path.join(dir, 'ec.key') } });
  await run('ECDSA P-256 CA', ec);
  const key = path.join(dir, 'rsa.key');
  const cert = path.join(dir, 'rsa.crt');
  execFileSync('openssl', ['genrsa', '-out', key, '2048'], { stdio: 'ignore' });
  chmodSync(key, 0o600);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-new',
      '-key',
      key,
      '-out',
      cert,
      '-days',
      '30',
      '-subj',
      '/CN=bench RSA CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign',
    ],
    { stdio: 'ignore' },
  );
  await run('RSA 2048 CA', await loadCa({ cert, key }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
