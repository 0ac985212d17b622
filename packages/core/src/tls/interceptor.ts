/**
 * What core does with TLS on a connection, and the means to do it: the rules (intercept, pass through or
 * block, per protocol and destination), the CA, and the upstream trust settings.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import tls from 'node:tls';
import { ImspectError, describeError } from '@imspect/sdk';
import type { PluginLogger } from '@imspect/sdk';
import { CertificateAuthority, certificateName } from './authority.js';
import { loadCa, type CaFiles } from './ca.js';
import type { TlsAction, TlsConfig, TlsRule, UpstreamVerifyMode } from './schema.js';

export interface TlsTarget {
  protocol: string | undefined;
  host: string;
  port: number;
  /** The server name the client asked for inside the protocol (XMPP stream `to`), when known. */
  name?: string | undefined;
}

export interface TlsDecision {
  action: TlsAction;
  verify: UpstreamVerifyMode;
  /** Set when interception was wanted but is not possible (no CA): why the connection passes through. */
  note?: string;
}

export class TlsInterceptor {
  constructor(
    readonly config: TlsConfig,
    /** Undefined when no CA is configured: `intercept` then passes through. */
    readonly authority: CertificateAuthority | undefined,
    readonly extraCa: string[] | undefined,
  ) {}

  private trust: tls.SecureContext | undefined;

  /** The client context for connections to real servers: the system's CAs plus `upstreamCa`, built once. */
  get upstreamContext(): tls.SecureContext | undefined {
    if (!this.extraCa) return undefined;
    this.trust ??= tls.createSecureContext({ ca: [...tls.rootCertificates, ...this.extraCa] });
    return this.trust;
  }

  decide(target: TlsTarget): TlsDecision {
    const rule = this.config.rules.find((r) => ruleMatches(r, target));
    const action = rule?.action ?? this.config.action;
    const verify = rule?.upstreamVerify ?? this.config.upstreamVerify;
    if (action === 'intercept' && !this.authority) return { action: 'passthrough', verify, note: 'no CA (run `imspect ca init`)' };
    return { action, verify };
  }

  /** The name to mint for: the client's SNI when valid, else the protocol's server name, else the host. */
  static nameFor(...candidates: Array<string | undefined>): string | undefined {
    for (const candidate of candidates) {
      const name = certificateName(candidate);
      if (name) return name;
    }
    return undefined;
  }
}

function ruleMatches(rule: TlsRule, target: TlsTarget): boolean {
  if (rule.protocol !== undefined && rule.protocol !== target.protocol) return false;
  if (rule.port !== undefined && rule.port !== target.port) return false;
  if (rule.host !== undefined && !hostMatches(rule.host, target.host) && !(target.name !== undefined && hostMatches(rule.host, target.name))) return false;
  return true;
}

export function hostMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase().replace(/\.$/, '');
  const h = host.toLowerCase().replace(/\.$/, '');
  if (p.startsWith('*.')) return h.endsWith(p.slice(1)) && h.length > p.length - 1;
  return p === h;
}

/** Where the CA files are: the configured paths, relative to the data folder. */
export function caFiles(config: TlsConfig, dataDir: string): CaFiles {
  return { cert: path.resolve(dataDir, config.ca.cert), key: path.resolve(dataDir, config.ca.key) };
}

/**
 * Builds the interceptor at start. No CA files: interception is off (passthrough) and the log says so. A CA
 * whose key others can read, or a broken one, stops the start with the reason.
 */
export async function createTlsInterceptor(config: TlsConfig, dirs: { dataDir: string; baseDir: string }, log: PluginLogger): Promise<TlsInterceptor> {
  const files = caFiles(config, dirs.dataDir);
  let authority: CertificateAuthority | undefined;
  const present = await Promise.all([fileExists(files.cert), fileExists(files.key)]);
  if (present[0] && present[1]) {
    authority = new CertificateAuthority(await loadCa(files), path.join(dirs.dataDir, 'tls-cache'));
  } else if (present[0] || present[1]) {
    const [missing, what, there, key] = present[0] ? [files.key, 'key', files.cert, 'tls.ca.key'] : [files.cert, 'certificate', files.key, 'tls.ca.cert'];
    throw new ImspectError(`${missing}: the CA ${what} is missing (${key}) while ${there} exists: restore it, or make a new CA with imspect ca init --force`, {
      code: 'TLS_CA_INCOMPLETE',
      key,
      file: missing,
    });
  } else if (config.action === 'intercept' || config.rules.some((r) => r.action === 'intercept')) {
    log.warn({ cert: files.cert }, 'no TLS CA: encrypted connections pass through unread; run `imspect ca init` to intercept them');
  }
  let extraCa: string[] | undefined;
  if (config.upstreamCa) {
    const file = path.resolve(dirs.baseDir, config.upstreamCa);
    try {
      const text = await readFile(file, 'utf8');
      extraCa = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    } catch (error) {
      throw new ImspectError(`${file}: cannot read tls.upstreamCa: ${describeError(error)}`, { code: 'CONFIG_INVALID', key: 'tls.upstreamCa', file });
    }
    if (extraCa.length === 0) throw new ImspectError(`${file}: tls.upstreamCa holds no PEM certificate`, { code: 'CONFIG_INVALID', key: 'tls.upstreamCa', file });
  }
  return new TlsInterceptor(config, authority, extraCa);
}

/** Whether a CA file is there; its content is read (and checked) once, by loadCa. */
async function fileExists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    return true; // exists but unreadable: loading reports why
  }
}
