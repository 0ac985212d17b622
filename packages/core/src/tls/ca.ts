/**
 * The local certificate authority: created by `imspect ca init`, loaded at start. Its key never leaves the
 * data folder and must not be readable by anyone but its owner.
 */
import { X509Certificate, createPrivateKey, webcrypto, type KeyObject } from 'node:crypto';
import { chmod, mkdir, open, readFile, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type * as X509 from './x509.js';
import { ImspectError, describeError } from '@imspect/sdk';

let x509Module: Promise<typeof X509> | undefined;

/**
 * @peculiar/x509 (with its asn1 schemas, tsyringe and reflect-metadata: some 20 MB of memory) is loaded at the
 * first use of a CA, not at every start: most gateways run without one, and `imspect start` keeps it resident.
 */
export function loadX509(): Promise<typeof X509> {
  x509Module ??= import('./x509.js').then((x509) => {
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
    return x509;
  });
  return x509Module;
}

type CryptoKey = webcrypto.CryptoKey;

export interface CaFiles {
  cert: string;
  key: string;
}

/** A loaded CA: what minting needs. */
export interface LoadedCa {
  files: CaFiles;
  cert: X509.X509Certificate;
  certPem: string;
  privateKey: CryptoKey;
  /** How leaves are signed with this key. */
  signingAlgorithm: webcrypto.EcdsaParams | webcrypto.Algorithm;
  /** SHA-256 of the CA certificate, hex: leaves cached on disk are filed under it. */
  fingerprint: string;
}

export const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;
const RSA_SHA256 = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

export interface CreateCaOptions {
  files: CaFiles;
  /** Common name of the CA certificate. */
  commonName?: string;
  days?: number;
  /** Replace existing files. */
  force?: boolean;
}

/** Creates an ECDSA P-256 CA (key mode 0600); refuses to overwrite existing files unless `force`. */
export async function createCa(options: CreateCaOptions): Promise<LoadedCa> {
  const { files } = options;
  if (!options.force) {
    for (const file of [files.cert, files.key]) {
      if (await exists(file)) throw new ImspectError(`${file} already exists (use --force to replace the CA)`, { code: 'TLS_CA_EXISTS', file });
    }
  }
  const keys = (await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const commonName = options.commonName ?? `imspect local CA (${os.hostname()})`;
  const x509 = await loadX509();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [commonName] }, { O: ['imspect'] }],
    notBefore: new Date(now - 24 * 3600_000),
    notAfter: new Date(now + (options.days ?? 3650) * 24 * 3600_000),
    signingAlgorithm: ECDSA_SHA256,
    keys: keys as never,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as unknown as CryptoKey as never),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  await mkdir(path.dirname(files.key), { recursive: true });
  await mkdir(path.dirname(files.cert), { recursive: true });
  await writePrivate(files.key, toPem(pkcs8, 'PRIVATE KEY'));
  await writeFile(files.cert, cert.toString('pem') + '\n', { mode: 0o644 });
  return loadCa(files);
}

/**
 * Loads a CA certificate and its key (PEM: PKCS#8, PKCS#1 RSA or SEC1 EC). Refuses a key file that group or
 * others can read, a certificate that is not a CA, and a key that does not belong to the certificate.
 */
export async function loadCa(files: CaFiles): Promise<LoadedCa> {
  await checkKeyMode(files.key);
  const keyPem = await readText(files.key, 'TLS_CA_KEY_UNREADABLE');
  const certPem = await readText(files.cert, 'TLS_CA_CERT_UNREADABLE');
  let keyObject: KeyObject;
  let nodeCert: X509Certificate;
  try {
    keyObject = createPrivateKey(keyPem);
  } catch (error) {
    throw new ImspectError(`${files.key}: not a private key in PEM form: ${describeError(error)}`, { code: 'TLS_CA_KEY_INVALID', file: files.key });
  }
  try {
    nodeCert = new X509Certificate(certPem);
  } catch (error) {
    throw new ImspectError(`${files.cert}: not a certificate in PEM form: ${describeError(error)}`, { code: 'TLS_CA_CERT_INVALID', file: files.cert });
  }
  if (!nodeCert.ca) throw new ImspectError(`${files.cert}: this certificate may not sign others (basicConstraints CA is false)`, { code: 'TLS_CA_NOT_CA', file: files.cert });
  if (!nodeCert.checkPrivateKey(keyObject)) throw new ImspectError(`${files.key}: this key does not belong to ${files.cert}`, { code: 'TLS_CA_KEY_MISMATCH', file: files.key });
  const pkcs8 = keyObject.export({ type: 'pkcs8', format: 'der' });
  let importAlgorithm: webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams;
  let signingAlgorithm: webcrypto.EcdsaParams | webcrypto.Algorithm;
  if (keyObject.asymmetricKeyType === 'ec') {
    const curve = keyObject.asymmetricKeyDetails?.namedCurve;
    const namedCurve = curve === 'prime256v1' ? 'P-256' : curve === 'secp384r1' ? 'P-384' : curve === 'secp521r1' ? 'P-521' : undefined;
    if (!namedCurve) throw new ImspectError(`${files.key}: EC curve ${curve} is not supported (use P-256, P-384 or P-521)`, { code: 'TLS_CA_KEY_INVALID', file: files.key });
    importAlgorithm = { name: 'ECDSA', namedCurve };
    signingAlgorithm = { name: 'ECDSA', hash: namedCurve === 'P-256' ? 'SHA-256' : namedCurve === 'P-384' ? 'SHA-384' : 'SHA-512' };
  } else if (keyObject.asymmetricKeyType === 'rsa') {
    importAlgorithm = RSA_SHA256;
    signingAlgorithm = RSA_SHA256;
  } else {
    throw new ImspectError(`${files.key}: ${keyObject.asymmetricKeyType} keys are not supported (use an RSA or EC key)`, { code: 'TLS_CA_KEY_INVALID', file: files.key });
  }
  const privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, importAlgorithm, false, ['sign']);
  const x509 = await loadX509();
  return {
    files,
    cert: new x509.X509Certificate(certPem),
    certPem: nodeCert.toString(),
    privateKey,
    signingAlgorithm,
    fingerprint: nodeCert.fingerprint256.replaceAll(':', '').toLowerCase(),
  };
}

/** A key others can read is a key others can use to read every intercepted conversation. */
export async function checkKeyMode(file: string): Promise<void> {
  if (process.platform === 'win32') return;
  let mode: number;
  try {
    mode = (await stat(file)).mode;
  } catch (error) {
    throw new ImspectError(`${file}: cannot read the CA key: ${describeError(error)}`, { code: 'TLS_CA_KEY_UNREADABLE', file, cause: error });
  }
  if ((mode & 0o077) !== 0) {
    throw new ImspectError(
      `${file}: the CA key can be read by other users (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); imspect refuses to use it: run chmod 600 ${file}`,
      { code: 'TLS_CA_KEY_EXPOSED', file },
    );
  }
}

export async function writePrivate(file: string, text: string): Promise<void> {
  // Created with 0600 from the first byte (umask cannot widen it); an existing file is narrowed too.
  const handle = await open(file, 'w', 0o600);
  try {
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
  await chmod(file, 0o600);
}

export function toPem(der: Uint8Array, label: string): string {
  const base64 = Buffer.from(der).toString('base64');
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f; // positive
  if (bytes[0] === 0) bytes[0] = 1;
  return Buffer.from(bytes).toString('hex');
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

async function readText(file: string, code: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new ImspectError(`${file}: cannot be read: ${describeError(error)}`, { code, file, cause: error });
  }
}
