/**
 * Real XMPP clients (@xmpp/client) for the end-to-end tests, and the trust they need to go through imspect's
 * TLS interception: the library calls tls.connect without a `ca` option, so the tests supply the CAs a user
 * would give a client program (NODE_EXTRA_CA_CERTS) with `trustCas`.
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { CLI } from './imspect-process.js';

const require = createRequire(import.meta.url);
// @xmpp/client is CommonJS without types.
const { client: xmppClient, xml: xmlBuilder } = require('@xmpp/client') as { client: (options: Record<string, unknown>) => XmppClient; xml: Xml };

export type Xml = (name: string, attrs?: Record<string, string>, ...children: unknown[]) => XmlElement;
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  is(name: string, ns?: string): boolean;
  getChildText(name: string, ns?: string): string | null;
  getChild(name: string, ns?: string): XmlElement | undefined;
}
export interface XmppClient {
  start(): Promise<unknown>;
  stop(): Promise<unknown>;
  send(element: XmlElement): Promise<void>;
  on(event: string, listener: (arg: never) => void): void;
  reconnect: { stop(): void; delay: number };
}

export const xml: Xml = xmlBuilder;

const tlsModule = require('node:tls') as typeof import('node:tls');
const originalConnect = tlsModule.connect;
let trusted: string[] = [];
let patched = false;

/** The CAs (PEM) the clients of this process trust from now on. */
export function trustCas(cas: string[]): void {
  trusted = cas;
  if (patched) return;
  patched = true;
  (tlsModule as { connect: unknown }).connect = (...args: unknown[]) => {
    if (typeof args[0] === 'object' && args[0] !== null) args[0] = { ca: trusted, ...(args[0] as object) };
    return (originalConnect as (...a: unknown[]) => unknown).apply(tlsModule, args);
  };
}

/** Gives tls.connect back (afterAll). */
export function restoreTls(): void {
  if (!patched) return;
  (tlsModule as { connect: unknown }).connect = originalConnect;
  patched = false;
}

export interface XmppSession {
  xmpp: XmppClient;
  /** Every stanza received and not yet taken by waitFor, in order. */
  stanzas: XmlElement[];
  /** Every stanza received, never taken. */
  all: XmlElement[];
  /** The first unclaimed stanza that matches (waiting for it), taken out of `stanzas`. */
  waitFor(match: (s: XmlElement) => boolean, what: string, ms?: number): Promise<XmlElement>;
  stop(): Promise<void>;
}

/** Logs in (resource bound, initial presence sent); rejects after 10 s. */
export async function xmppLogin(service: string, domain: string, username: string, password: string, resource: string): Promise<XmppSession> {
  const xmpp = xmppClient({ service, domain, username, password, resource });
  xmpp.reconnect.stop();
  const stanzas: XmlElement[] = [];
  const all: XmlElement[] = [];
  const waiters = new Set<() => void>();
  xmpp.on('error', () => undefined);
  xmpp.on('stanza', (stanza: never) => {
    stanzas.push(stanza);
    all.push(stanza);
    for (const wake of waiters) wake();
  });
  try {
    await Promise.race([xmpp.start(), new Promise((_, reject) => setTimeout(() => reject(new Error(`${username}@${domain} did not log in within 10 s`)), 10_000))]);
  } catch (error) {
    await xmpp.stop().catch(() => undefined);
    throw error;
  }
  await xmpp.send(xml('presence'));
  return {
    xmpp,
    stanzas,
    all,
    waitFor: (match, what, ms = 10_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = stanzas.find(match);
          if (!found) return;
          stanzas.splice(stanzas.indexOf(found), 1);
          done();
          resolve(found);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out waiting for ${what}`));
        }, ms);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
    stop: async () => {
      await xmpp.stop().catch(() => undefined);
    },
  };
}

/** Matches a message whose body is `text`. */
export const messageWithBody = (text: string) => (s: XmlElement) => s.is('message') && s.getChildText('body') === text;

/** `imspect ca init` in `dir` (as a user runs it); the CA certificate (PEM) a client must trust. */
export async function initImspectCa(dir: string): Promise<string> {
  execFileSync(process.execPath, [CLI, 'ca', 'init'], { cwd: dir, stdio: 'pipe' });
  return readFile(path.join(dir, 'data/ca/imspect-ca.crt'), 'utf8');
}

/** Log folder names are percent-encoded ids (possibly with a hash suffix when long): enough to compare short ids. */
export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
