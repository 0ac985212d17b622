/**
 * `imspect ca init` and `imspect ca export` as a user runs them, and what `imspect start` does with the CA:
 * passthrough with a banner that says so when there is none, interception when there is, and a refusal to
 * start when the key can be read by others.
 */
import { X509Certificate } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
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

  it('start refuses a CA key that others can read, and says how to fix it', async () => {
    await chmod(key(), 0o644);
    // As root, imspect must be told to keep root with this configuration file (see the privilege tests).
    const asRoot = process.getuid?.() === 0 ? ['--allow-root'] : [];
    const result = await imspect(['start', ...asRoot], dir);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain('can be read by other users');
    expect(result.stderr).toContain(`chmod 600 ${key()}`);
    await chmod(key(), 0o600);
  });
});
