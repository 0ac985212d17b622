/**
 * Certificates for the real servers in the TLS tests: one issued by a test CA the proxy is told to trust, one
 * for the wrong name, one self-signed. Made with imspect's own CA code (a separate CA from imspect's).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CertificateAuthority, createCa } from '../../packages/core/dist/runtime/index.js';

export interface ServerCert {
  cert: string;
  key: string;
  /** Files holding them (key mode 0600). */
  certFile: string;
  keyFile: string;
}

export interface ServerCerts {
  /** PEM of the CA that issued `valid` and `wrongName`: give it to imspect as tls.upstreamCa. */
  caFile: string;
  valid: ServerCert;
  wrongName: ServerCert;
  selfSigned: ServerCert;
}

export async function makeServerCerts(dir: string, name: string): Promise<ServerCerts> {
  await mkdir(dir, { recursive: true });
  const ca = await createCa({ files: { cert: path.join(dir, 'upstream-ca.crt'), key: path.join(dir, 'upstream-ca.key') }, commonName: 'imspect tests upstream CA' });
  const authority = new CertificateAuthority(ca, path.join(dir, 'leaves'));
  const save = async (label: string, cert: string, key: string): Promise<ServerCert> => {
    const certFile = path.join(dir, `${label}.crt`);
    const keyFile = path.join(dir, `${label}.key`);
    await writeFile(certFile, cert);
    await writeFile(keyFile, key, { mode: 0o600 });
    return { cert, key, certFile, keyFile };
  };
  const valid = await authority.mint(name);
  const wrong = await authority.mint(`wrong-${name}.invalid`);
  const selfKey = path.join(dir, 'self-signed.key');
  const selfCert = path.join(dir, 'self-signed.crt');
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
      selfKey,
      '-out',
      selfCert,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      `subjectAltName=DNS:${name}`,
    ],
    { stdio: 'ignore' },
  );
  const { readFile } = await import('node:fs/promises');
  return {
    caFile: ca.files.cert,
    valid: await save('valid', valid.certPem, valid.keyPem),
    wrongName: await save('wrong-name', wrong.certPem, wrong.keyPem),
    selfSigned: { cert: await readFile(selfCert, 'utf8'), key: await readFile(selfKey, 'utf8'), certFile: selfCert, keyFile: selfKey },
  };
}
