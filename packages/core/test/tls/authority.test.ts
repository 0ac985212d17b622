/**
 * The local CA and the certificates it mints: file modes, refusal of an exposed or mismatched key, enterprise
 * (RSA, PKCS#1) CAs, leaves that a TLS client trusting the CA accepts for exactly the name asked, the disk
 * cache, renewal, and names from untrusted input.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmod, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import type net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { CertificateAuthority, certificateName } from '../../src/tls/authority.js';
import { createCa, loadCa } from '../../src/tls/ca.js';
import { TlsInterceptor, createTlsInterceptor, hostMatches } from '../../src/tls/interceptor.js';
import { TlsSchema, type TlsConfig } from '../../src/tls/schema.js';
import { validateAgainst } from '../../src/config/validate.js';
import { recordingLogger, removeTempDirs, tempDir } from '../helpers.js';

afterAll(removeTempDirs);

async function newCa() {
  const dir = await tempDir();
  const files = { cert: path.join(dir, 'ca/ca.crt'), key: path.join(dir, 'ca/ca.key') };
  const ca = await createCa({ files, commonName: 'test CA' });
  return { dir, files, ca };
}

/** A real handshake: a TLS server with `context`, a client trusting only `caPem`, asking for `servername`. */
async function handshake(context: tls.SecureContext, caPem: string, servername: string): Promise<{ ok: boolean; error?: string; peer?: tls.PeerCertificate }> {
  const server = tls.createServer({ SNICallback: (_name, cb) => cb(null, context) }, (s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  try {
    return await new Promise((resolve) => {
      const client = tls.connect({ host: '127.0.0.1', port, servername, ca: [caPem] });
      client.once('secureConnect', () => {
        resolve({ ok: true, peer: client.getPeerCertificate() });
        client.destroy();
      });
      client.once('error', (error: NodeJS.ErrnoException) => resolve({ ok: false, error: error.code ?? error.message }));
    });
  } finally {
    server.close();
  }
}

describe('the local CA', () => {
  it('is created with a private key (0600) and a CA certificate, and refuses to be overwritten', async () => {
    const { files, ca } = await newCa();
    expect((await stat(files.key)).mode & 0o777).toBe(0o600);
    const cert = new X509Certificate(await readFile(files.cert));
    expect(cert.ca).toBe(true);
    expect(cert.subject).toContain('CN=test CA');
    expect(ca.fingerprint).toBe(cert.fingerprint256.replaceAll(':', '').toLowerCase());
    await expect(createCa({ files })).rejects.toMatchObject({ code: 'TLS_CA_EXISTS' });
    const again = await createCa({ files, force: true });
    expect(again.fingerprint).not.toBe(ca.fingerprint);
  });

  it('is refused when others can read its key, with the fix in the message', async () => {
    const { files } = await newCa();
    await chmod(files.key, 0o644);
    await expect(loadCa(files)).rejects.toMatchObject({ code: 'TLS_CA_KEY_EXPOSED', message: expect.stringContaining(`chmod 600 ${files.key}`) });
    await chmod(files.key, 0o640);
    await expect(loadCa(files)).rejects.toMatchObject({ code: 'TLS_CA_KEY_EXPOSED' });
    await chmod(files.key, 0o600);
    await expect(loadCa(files)).resolves.toBeDefined();
  });

  it('is refused when the key does not belong to the certificate, or the certificate may not sign', async () => {
    const a = await newCa();
    const b = await newCa();
    await expect(loadCa({ cert: a.files.cert, key: b.files.key })).rejects.toMatchObject({ code: 'TLS_CA_KEY_MISMATCH' });
    const dir = await tempDir();
    const key = path.join(dir, 'leaf.key');
    const cert = path.join(dir, 'leaf.crt');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '2',
        '-subj',
        '/CN=not a ca',
        '-addext',
        'basicConstraints=critical,CA:FALSE',
      ],
      { stdio: 'ignore' },
    );
    await chmod(key, 0o600);
    await expect(loadCa({ cert, key })).rejects.toMatchObject({ code: 'TLS_CA_NOT_CA' });
    await writeFile(key, 'not a key', { mode: 0o600 });
    await expect(loadCa({ cert, key })).rejects.toMatchObject({ code: 'TLS_CA_KEY_INVALID' });
  });

  it('accepts an enterprise RSA CA with a PKCS#1 key and signs leaves that chain to it', async () => {
    const dir = await tempDir();
    const key = path.join(dir, 'corp.key');
    const cert = path.join(dir, 'corp.crt');
    execFileSync('openssl', ['genrsa', '-traditional', '-out', key, '2048'], { stdio: 'ignore' });
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
        '/CN=Example Corp inspection CA',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ],
      { stdio: 'ignore' },
    );
    expect(await readFile(key, 'utf8')).toContain('BEGIN RSA PRIVATE KEY');
    await chmod(key, 0o600);
    const ca = await loadCa({ cert, key });
    const authority = new CertificateAuthority(ca, path.join(dir, 'cache'));
    const leaf = await authority.leafFor('chat.example.org');
    const result = await handshake(leaf.context, ca.certPem, 'chat.example.org');
    expect(result).toMatchObject({ ok: true });
    expect(result.peer?.issuer.CN).toBe('Example Corp inspection CA');
  });
});

describe('minted certificates', () => {
  it('are accepted by a client trusting the CA, for the name asked and no other', async () => {
    const { dir, ca } = await newCa();
    const authority = new CertificateAuthority(ca, path.join(dir, 'cache'));
    const leaf = await authority.leafFor('xmpp.example.org');
    expect(await handshake(leaf.context, ca.certPem, 'xmpp.example.org')).toMatchObject({ ok: true });
    expect(await handshake(leaf.context, ca.certPem, 'other.example.org')).toMatchObject({ ok: false, error: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    const stranger = await newCa();
    expect((await handshake(leaf.context, stranger.ca.certPem, 'xmpp.example.org')).ok).toBe(false);
    const x509 = new X509Certificate(leaf.certPem);
    expect(x509.ca).toBe(false);
    expect(x509.subjectAltName).toBe('DNS:xmpp.example.org');
    expect(x509.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    expect(new Date(x509.validTo).getTime() - Date.now()).toBeLessThanOrEqual(398 * 24 * 3600_000);
  });

  it('are minted for IP addresses with an IP subject alternative name', async () => {
    const { dir, ca } = await newCa();
    const leaf = await new CertificateAuthority(ca, path.join(dir, 'cache')).leafFor('127.0.0.1');
    expect(new X509Certificate(leaf.certPem).subjectAltName).toBe('IP Address:127.0.0.1');
  });

  it('are cached in memory and on disk (key mode 0600), and reused by the next run', async () => {
    const { dir, ca } = await newCa();
    const cacheDir = path.join(dir, 'cache');
    const first = new CertificateAuthority(ca, cacheDir);
    const [a, b] = await Promise.all([first.leafFor('a.example.org'), first.leafFor('a.example.org')]);
    expect(a).toBe(b);
    await first.flush();
    const files = await readdir(first.cacheDir);
    expect(files).toEqual(['a.example.org.pem']);
    expect((await stat(path.join(first.cacheDir, files[0]!))).mode & 0o777).toBe(0o600);
    const second = new CertificateAuthority(ca, cacheDir);
    expect((await second.leafFor('a.example.org')).certPem).toBe(a.certPem);
    // A new CA never serves the old one's leaves.
    const other = await newCa();
    await second.flush();
    const third = new CertificateAuthority(other.ca, cacheDir);
    expect((await third.leafFor('a.example.org')).certPem).not.toBe(a.certPem);
  });

  it('are minted again when the cached one is about to expire', async () => {
    const { dir, ca } = await newCa();
    const cacheDir = path.join(dir, 'cache');
    const oldAuthority = new CertificateAuthority(ca, cacheDir);
    const old = await oldAuthority.leafFor('b.example.org');
    await oldAuthority.flush();
    const later = Date.now() + 395 * 24 * 3600_000;
    const renewed = await new CertificateAuthority(ca, cacheDir, () => later).leafFor('b.example.org');
    expect(renewed.certPem).not.toBe(old.certPem);
  });
});

describe('names from the client', () => {
  it('accept host names and addresses, and refuse anything that could be a path or a subject trick', () => {
    expect(certificateName('Chat.Example.ORG.')).toBe('chat.example.org');
    expect(certificateName('localhost')).toBe('localhost');
    expect(certificateName('::1')).toBe('::1');
    for (const bad of ['', '..', '../etc', 'a/b', 'a..b', 'CN=x,O=y', 'a b', '-a.example', 'x'.repeat(64) + '.org', 'a\u0000b', 'é.example']) {
      expect(certificateName(bad), bad).toBeUndefined();
    }
    expect(TlsInterceptor.nameFor(undefined, '../x', 'fallback.example')).toBe('fallback.example');
  });
});

describe('rules', () => {
  const config = (over: Partial<TlsConfig>): TlsConfig => {
    const value = { ...over } as Record<string, unknown>;
    expect(validateAgainst(TlsSchema, value)).toEqual([]);
    return value as unknown as TlsConfig;
  };

  it('pick the first matching rule by protocol, host (or the protocol server name) and port, else the default', async () => {
    const { dir, ca } = await newCa();
    const authority = new CertificateAuthority(ca, path.join(dir, 'cache'));
    const interceptor = new TlsInterceptor(
      config({
        rules: [
          { protocol: 'xmpp', host: '*.bank.example', action: 'passthrough' },
          { port: 6697, action: 'block' },
          { host: 'lab.example', action: 'intercept', upstreamVerify: 'allow-self-signed' },
        ],
      }),
      authority,
      undefined,
    );
    expect(interceptor.decide({ protocol: 'xmpp', host: 'chat.bank.example', port: 5222 })).toEqual({ action: 'passthrough', verify: 'verify' });
    expect(interceptor.decide({ protocol: 'xmpp', host: '10.0.0.1', port: 5222, name: 'im.bank.example' }).action).toBe('passthrough');
    expect(interceptor.decide({ protocol: 'irc', host: 'chat.bank.example', port: 6667 }).action).toBe('intercept');
    expect(interceptor.decide({ protocol: 'irc', host: 'irc.example', port: 6697 }).action).toBe('block');
    expect(interceptor.decide({ protocol: 'irc', host: 'lab.example', port: 7000 })).toEqual({ action: 'intercept', verify: 'allow-self-signed' });
    expect(hostMatches('*.bank.example', 'bank.example')).toBe(false);
    expect(hostMatches('*.bank.example', 'evilbank.example')).toBe(false);
  });

  it('without a CA, intercept passes through and says why; a half CA or an exposed key stops the start', async () => {
    const dir = await tempDir();
    const log = recordingLogger();
    const none = await createTlsInterceptor(config({}), { dataDir: dir, baseDir: dir }, log);
    expect(none.authority).toBeUndefined();
    expect(none.decide({ protocol: 'irc', host: 'h', port: 6697 })).toMatchObject({ action: 'passthrough', note: expect.stringContaining('imspect ca init') });
    expect(log.records.some((r) => r.level === 'warn' && /imspect ca init/.test(r.msg ?? ''))).toBe(true);
    const files = { cert: path.join(dir, 'ca/imspect-ca.crt'), key: path.join(dir, 'ca/imspect-ca.key') };
    await createCa({ files });
    const withCa = await createTlsInterceptor(config({}), { dataDir: dir, baseDir: dir }, log);
    expect(withCa.decide({ protocol: 'irc', host: 'h', port: 6697 })).toEqual({ action: 'intercept', verify: 'verify' });
    await chmod(files.key, 0o604);
    await expect(createTlsInterceptor(config({}), { dataDir: dir, baseDir: dir }, log)).rejects.toMatchObject({ code: 'TLS_CA_KEY_EXPOSED' });
    const { rm } = await import('node:fs/promises');
    await rm(files.key);
    await expect(createTlsInterceptor(config({}), { dataDir: dir, baseDir: dir }, log)).rejects.toMatchObject({ code: 'TLS_CA_INCOMPLETE' });
  });
});
