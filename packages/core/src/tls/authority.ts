/**
 * Certificates for the names clients ask for, signed by the loaded CA. A new name costs one ECDSA P-256 key
 * and one signature (milliseconds); each leaf is kept in memory and on disk (key mode 0600) for reuse.
 */
import { X509Certificate, webcrypto } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import type * as X509 from './x509.js';
import { EC_P256, loadX509, randomSerial, toPem, writePrivate, type LoadedCa } from './ca.js';

type CryptoKey = webcrypto.CryptoKey;

const DAY_MS = 24 * 3600_000;
/** Browsers and some TLS stacks refuse leaves valid longer than 398 days. */
const LEAF_DAYS = 397;
/** A cached leaf this close to its end is minted again. */
const RENEW_BEFORE_MS = 7 * DAY_MS;
/** Leaves kept in memory; the disk cache has them all. */
const MEMORY_LIMIT = 1000;

export interface Leaf {
  name: string;
  certPem: string;
  keyPem: string;
  context: tls.SecureContext;
  notAfter: Date;
}

/**
 * A host name a certificate may be minted for, lower-cased, or undefined when the text is not one (client
 * SNI and stream addresses are untrusted input: they become file names and certificate subjects).
 */
export function certificateName(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const name = text.trim().toLowerCase().replace(/\.$/, '');
  if (name.length === 0 || name.length > 253) return undefined;
  if (isIP(name) !== 0) return name;
  const labels = name.split('.');
  return labels.every((label) => /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/.test(label)) ? name : undefined;
}

export class CertificateAuthority {
  private readonly memory = new Map<string, Promise<Leaf>>();
  readonly cacheDir: string;
  /** The same for every leaf: computed once. */
  private authorityKeyId: Promise<X509.AuthorityKeyIdentifierExtension> | undefined;

  /** `cacheDir`: where leaves are kept; one sub-folder per CA so a new CA never serves an old CA's leaves. */
  constructor(
    readonly ca: LoadedCa,
    cacheDir: string,
    private readonly now: () => number = Date.now,
  ) {
    this.cacheDir = path.join(cacheDir, ca.fingerprint.slice(0, 16));
  }

  get certPem(): string {
    return this.ca.certPem;
  }

  /** The leaf for `name` (a valid {@link certificateName}): from memory, else from disk, else minted. */
  leafFor(name: string): Promise<Leaf> {
    const cached = this.memory.get(name);
    if (cached) {
      // Refresh its place: the map's order is the eviction order.
      this.memory.delete(name);
      this.memory.set(name, cached);
      return cached.then((leaf) => (leaf.notAfter.getTime() - this.now() > RENEW_BEFORE_MS ? leaf : this.renew(name)));
    }
    return this.renew(name);
  }

  private renew(name: string): Promise<Leaf> {
    const pending = this.fromDisk(name).then((leaf) => leaf ?? this.mint(name));
    this.memory.set(name, pending);
    pending.catch(() => this.memory.delete(name));
    while (this.memory.size > MEMORY_LIMIT) this.memory.delete(this.memory.keys().next().value!);
    return pending;
  }

  /** Names whose file is still being written. */
  private readonly pendingWrites = new Set<string>();

  /** Resolves once every minted leaf is on disk (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.pendingWrites.size > 0) await new Promise((r) => setTimeout(r, 5));
  }

  private fileFor(name: string): string {
    return path.join(this.cacheDir, `${name.replaceAll(':', '_')}.pem`);
  }

  private async fromDisk(name: string): Promise<Leaf | undefined> {
    let text: string;
    try {
      text = await readFile(this.fileFor(name), 'utf8');
    } catch {
      return undefined;
    }
    const keyPem = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----\n?/.exec(text)?.[0];
    const certPem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/.exec(text)?.[0];
    if (!keyPem || !certPem) return undefined;
    try {
      const cert = new X509Certificate(certPem);
      const notAfter = new Date(cert.validTo);
      if (notAfter.getTime() - this.now() <= RENEW_BEFORE_MS) return undefined;
      if (!cert.checkIssued(new X509Certificate(this.ca.certPem))) return undefined;
      return this.leaf(name, certPem, keyPem, notAfter);
    } catch {
      return undefined; // damaged: mint a new one
    }
  }

  /** Signs a new leaf for `name` and files it on disk. */
  async mint(name: string): Promise<Leaf> {
    const keys = (await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const now = this.now();
    const caEnd = this.ca.cert.notAfter.getTime();
    const notAfter = new Date(Math.min(now + LEAF_DAYS * DAY_MS, caEnd));
    const ip = isIP(name) !== 0;
    const x509 = await loadX509();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject: ip ? [{ O: ['imspect'] }] : [{ CN: [name] }],
      issuer: this.ca.cert.subjectName,
      notBefore: new Date(now - DAY_MS),
      notAfter,
      signingAlgorithm: this.ca.signingAlgorithm,
      publicKey: keys.publicKey as unknown as CryptoKey as never,
      signingKey: this.ca.privateKey as never,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: ip ? 'ip' : 'dns', value: name }]),
        await (this.authorityKeyId ??= x509.AuthorityKeyIdentifierExtension.create(this.ca.cert, false)),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as unknown as CryptoKey as never),
      ],
    });
    const certPem = cert.toString('pem') + '\n';
    const keyPem = toPem(Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)), 'PRIVATE KEY');
    // Filed in the background: the client waiting for its handshake needs the leaf, not the file. The disk
    // cache only saves time, so a read-only data folder still intercepts.
    this.pendingWrites.add(name);
    mkdir(this.cacheDir, { recursive: true, mode: 0o700 })
      .then(() => writePrivate(this.fileFor(name), keyPem + certPem))
      .catch(() => undefined)
      .finally(() => this.pendingWrites.delete(name));
    return this.leaf(name, certPem, keyPem, notAfter);
  }

  private leaf(name: string, certPem: string, keyPem: string, notAfter: Date): Leaf {
    // The CA goes in the chain too: when it is an intermediate of an enterprise PKI, clients need it.
    const context = tls.createSecureContext({ key: keyPem, cert: certPem + this.ca.certPem });
    return { name, certPem, keyPem, context, notAfter };
  }
}
