/**
 * The two TLS handshakes of an intercepted connection: imspect as the client of the real server (checking its
 * certificate), and imspect as the server of the local client (with a certificate minted by the CA).
 */
import { isIP, type Socket } from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { describeError } from '@imspect/sdk';
import type { UpstreamVerifyMode } from './schema.js';

/** Why a handshake failed, in words for the operational log. */
export class TlsRefusal extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'TlsRefusal';
  }
}

const SELF_SIGNED = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN']);

export interface UpstreamTlsOptions {
  /** The name the certificate must be for (XMPP: the domain, not the host connected to). */
  name: string;
  verify: UpstreamVerifyMode;
  /** Trust for the server's certificate, when not Node's default: built once (parsing the roots per connection costs tens of ms). */
  secureContext?: tls.SecureContext | undefined;
  timeoutMs: number;
}

/** TLS client over the connected upstream socket; resolves once the certificate passed `verify`. */
export function connectUpstreamTls(socket: Socket | Duplex, options: UpstreamTlsOptions): Promise<tls.TLSSocket> {
  const { name, verify } = options;
  return new Promise((resolve, reject) => {
    const secure = tls.connect({
      socket: socket as Socket,
      ...(isIP(name) === 0 ? { servername: name } : {}),
      rejectUnauthorized: false,
      // The name is checked below, against `name`, whatever the servername.
      checkServerIdentity: () => undefined,
      ...(options.secureContext ? { secureContext: options.secureContext } : {}),
    });
    const timer = setTimeout(() => fail(new TlsRefusal(`TLS handshake with the server took longer than ${options.timeoutMs} ms`, 'TLS_UPSTREAM_TIMEOUT')), options.timeoutMs);
    const fail = (error: TlsRefusal) => {
      clearTimeout(timer);
      secure.destroy();
      reject(error);
    };
    secure.once('error', (error: NodeJS.ErrnoException) => fail(new TlsRefusal(`TLS handshake with the server failed: ${describeError(error)}`, 'TLS_UPSTREAM_HANDSHAKE')));
    secure.once('close', () => fail(new TlsRefusal('the server closed the connection during the TLS handshake', 'TLS_UPSTREAM_CLOSED')));
    secure.once('secureConnect', () => {
      const problem = verify === 'off' ? undefined : certificateProblem(secure, name, verify);
      if (problem) {
        fail(new TlsRefusal(problem, 'TLS_UPSTREAM_CERT'));
        return;
      }
      clearTimeout(timer);
      secure.removeAllListeners('close');
      secure.removeAllListeners('error');
      resolve(secure);
    });
  });
}

function certificateProblem(secure: tls.TLSSocket, name: string, verify: UpstreamVerifyMode): string | undefined {
  const chainError = secure.authorizationError as unknown as string | Error | null;
  const code = chainError instanceof Error ? ((chainError as NodeJS.ErrnoException).code ?? chainError.message) : chainError;
  const cert = secure.getPeerCertificate();
  const subject = cert?.subject?.CN ?? cert?.subjectaltname ?? 'an unnamed subject';
  if (code && !(verify === 'allow-self-signed' && SELF_SIGNED.has(code))) {
    return `the server's certificate (${subject}) is not trusted: ${code}${SELF_SIGNED.has(code) ? ' (self-signed; tls.upstreamVerify allow-self-signed accepts it)' : ''}`;
  }
  const identity = tls.checkServerIdentity(name, cert);
  if (identity) return `the server's certificate does not match ${name}: ${identity.message}`;
  return undefined;
}

export interface ClientTlsOptions {
  context: tls.SecureContext;
  /** A context for the name in the client's SNI, when it sends one. */
  contextForName(name: string): Promise<tls.SecureContext>;
  timeoutMs: number;
}

/** TLS server over the client's socket; resolves once the client accepted the minted certificate. */
export function acceptClientTls(socket: Socket | Duplex, options: ClientTlsOptions): Promise<{ socket: tls.TLSSocket; servername: string | undefined }> {
  return new Promise((resolve, reject) => {
    let servername: string | undefined;
    const secure = new tls.TLSSocket(socket as Socket, {
      isServer: true,
      secureContext: options.context,
      SNICallback: (name, callback) => {
        servername = name;
        options.contextForName(name).then(
          (context) => callback(null, context),
          (error: unknown) => callback(error as Error),
        );
      },
    });
    const timer = setTimeout(() => fail(new TlsRefusal(`the client did not finish its TLS handshake within ${options.timeoutMs} ms`, 'TLS_CLIENT_TIMEOUT')), options.timeoutMs);
    const fail = (error: TlsRefusal) => {
      clearTimeout(timer);
      secure.destroy();
      reject(error);
    };
    const hungUp = () => fail(new TlsRefusal('the client hung up during the TLS handshake: it probably does not trust the imspect CA (imspect ca export)', 'TLS_CLIENT_CLOSED'));
    // Reading while the handshake runs is what lets a hang-up be seen ('end' needs a reader); nothing is
    // decrypted before 'secure', so no application byte is taken.
    const early: Buffer[] = [];
    const keep = (chunk: Buffer) => early.push(chunk);
    secure.on('data', keep);
    secure.once('error', (error: Error) => fail(new TlsRefusal(explainClientFailure(error), 'TLS_CLIENT_HANDSHAKE')));
    secure.once('close', hungUp);
    secure.once('end', hungUp);
    secure.once('secure', () => {
      clearTimeout(timer);
      secure.off('data', keep);
      secure.pause();
      for (const chunk of early.reverse()) secure.unshift(chunk);
      secure.removeListener('close', hungUp);
      secure.removeListener('end', hungUp);
      secure.removeAllListeners('error');
      resolve({ socket: secure, servername });
    });
  });
}

/** OpenSSL reports the client's alert as text: turn the usual ones into what the administrator should do. */
function explainClientFailure(error: Error): string {
  const text = describeError(error);
  const alert = /alert ([a-z ]+?)(?:$|:|\()/i.exec(text)?.[1]?.trim();
  if (alert && /unknown ca|bad certificate|certificate unknown|unsupported certificate|decrypt error/i.test(alert)) {
    return `the client refused imspect's certificate (TLS alert: ${alert}): install the imspect CA on the client (imspect ca export)`;
  }
  return `TLS handshake with the client failed: ${text}`;
}
