/**
 * `imspect ca init` and `imspect ca export` as a user runs them, and what `imspect start` does with the CA:
 * passthrough with a banner that says so when there is none, interception when there is, and a refusal to
 * start (exit code 2, from `start` and `config check`) when the key can be read by others, is damaged or missing.
 */
import { X509Certificate } from 'node:crypto';
import { chmod, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli-run.js';
import { startImspect } from '../support/imspect-process.js';

/** Latin-1, so `ca export --format der` on standard output keeps its bytes. */
const imspect = (args: string[], cwd: string) => runCli(args, cwd, 'latin1');

describe('imspect ca', () => {
  let dir: string;
  const cert = () => path.join(dir, 'data/ca/imspect-ca.crt');
  const key = () => path.join(dir, 'data/ca/imspect-ca.key');

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-cli-ca-'));
    await writeFile(path.join(dir, 'imspect.config.json'), JSON.stringify({ dataDir: 'data', listeners: [{ type: 'socks5', port: 0 }], log: { format: 'json' } }));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('export before init says what to do', async () => {
    const result = await imspect(['ca', 'export'], dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('run imspect ca init first');
  });

  it('start without a CA passes TLS through and says so in the banner', async () => {
    const proxy = await startImspect([], { cwd: dir });
    expect(proxy.stdout()).toMatch(/tls: +no CA: encrypted connections pass through unread \(run `imspect ca init`/);
    expect(await proxy.stop()).toBe(0);
  });

  it('init creates the CA with a private key, prints where, and will not overwrite it', async () => {
    const result = await imspect(['ca', 'init', '--name', 'Example IM inspection CA'], dir);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(cert());
    expect(result.stdout).toContain(key());
    expect((await stat(key())).mode & 0o777).toBe(0o600);
    const x509 = new X509Certificate(await readFile(cert()));
    expect(x509.ca).toBe(true);
    expect(x509.subject).toContain('CN=Example IM inspection CA');
    expect(result.stdout).toContain(x509.fingerprint256);
    const again = await imspect(['ca', 'init'], dir);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exists (use --force');
  });

  it('export writes the certificate (never the key) as PEM or DER', async () => {
    const pem = await imspect(['ca', 'export'], dir);
    expect(pem.code).toBe(0);
    expect(pem.stdout).toBe(new X509Certificate(await readFile(cert())).toString());
    expect(pem.stdout).not.toContain('PRIVATE KEY');
    const der = path.join(dir, 'imspect-ca.cer');
    const result = await imspect(['ca', 'export', '-o', der, '--format', 'der'], dir);
    expect(result.code).toBe(0);
    const bytes = await readFile(der);
    expect(bytes[0]).toBe(0x30); // a DER SEQUENCE, not text
    expect(new X509Certificate(bytes).fingerprint256).toBe(new X509Certificate(await readFile(cert())).fingerprint256);
  });

  it('start with the CA intercepts', async () => {
    const proxy = await startImspect([], { cwd: dir });
    expect(proxy.stdout()).toContain(`tls:       default intercept, CA ${cert()}`);
    expect(await proxy.stop()).toBe(0);
  });

  // As root, imspect must be told to keep root with this configuration file (see the privilege tests).
  const asRoot = process.getuid?.() === 0 ? ['--allow-root'] : [];

  /** `imspect start` and `imspect config check` both refuse the CA: exit code 2 and one plain line naming the file. */
  async function expectRefused(file: string, problem: string) {
    for (const command of [
      ['start', ...asRoot],
      ['config', 'check'],
    ]) {
      const result = await imspect(command, dir);
      expect(result.code, `${command[0]}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toContain(`${file}: ${problem}`);
      expect(result.stderr).not.toMatch(/at .*\.js:\d+/);
      expect(result.stdout).not.toContain('listening');
    }
  }

  it('start refuses a CA key that others can read, and says how to fix it (exit 2)', async () => {
    await chmod(key(), 0o644);
    try {
      await expectRefused(key(), 'the CA key can be read by other users (mode 0644); imspect refuses to use it: run chmod 600');
    } finally {
      await chmod(key(), 0o600);
    }
  });

  it('start refuses a damaged CA key (exit 2), naming the file', async () => {
    const good = await readFile(key());
    await writeFile(key(), '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n', { mode: 0o600 });
    try {
      await expectRefused(key(), 'not a private key in PEM form');
    } finally {
      await writeFile(key(), good);
    }
  });

  it('start refuses a CA whose key is missing (exit 2), naming the file and what to do', async () => {
    await rename(key(), `${key()}.away`);
    try {
      await expectRefused(key(), `the CA key is missing (tls.ca.key) while ${cert()} exists: restore it, or make a new CA with imspect ca init --force`);
    } finally {
      await rename(`${key()}.away`, key());
    }
  });

  it('start runs again once the CA is whole', async () => {
    const proxy = await startImspect([], { cwd: dir });
    expect(proxy.stdout()).toContain(`tls:       default intercept, CA ${cert()}`);
    expect(await proxy.stop()).toBe(0);
  });
});
