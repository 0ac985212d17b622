/**
 * STARTTLS through a ProxyConnection with the fake line protocol: the server's accepting frame is held until the
 * real server's TLS is up, the client is then served a minted certificate, and the session keeps parsing the
 * decrypted lines. Passthrough records an encrypted event; block and an untrusted server close the connection.
 */
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { CertificateAuthority } from '../../src/tls/authority.js';
import { createCa } from '../../src/tls/ca.js';
import { TlsInterceptor } from '../../src/tls/interceptor.js';
import type { TlsConfig } from '../../src/tls/schema.js';
import { lineProtocol, relayClient, startRelay, upstreamServer } from '../relay-harness.js';
import { removeTempDirs, tempDir } from '../helpers.js';

afterAll(removeTempDirs);

const NAME = 'localhost';

async function setup() {
  const dir = await tempDir();
  const imspect = await createCa({ files: { cert: path.join(dir, 'i.crt'), key: path.join(dir, 'i.key') }, commonName: 'imspect test CA' });
  const upstreamCa = await createCa({ files: { cert: path.join(dir, 'u.crt'), key: path.join(dir, 'u.key') }, commonName: 'upstream test CA' });
  const serverLeaf = await new CertificateAuthority(upstreamCa, path.join(dir, 'u-cache')).leafFor(NAME);
  const authority = new CertificateAuthority(imspect, path.join(dir, 'cache'));
  const interceptor = (over: Partial<TlsConfig> = {}, extraCa: string[] | undefined = [upstreamCa.certPem]) =>
    new TlsInterceptor({ ca: { cert: '', key: '' }, action: 'intercept', upstreamVerify: 'verify', rules: [], handshakeTimeoutMs: 5_000, ...over }, authority, extraCa);
  return { imspectCaPem: imspect.certPem, upstreamCaPem: upstreamCa.certPem, serverLeaf, interceptor };
}

/**
 * The real server: answers `STARTTLS` with `TLS` (the accepting frame), then speaks TLS with `context` and
 * echoes every line back prefixed with `MSG them`.
 */
async function starttlsServer(context: tls.SecureContext) {
  const lines: string[] = [];
  const server = await upstreamServer((socket) => {
    socket.once('data', (chunk: Buffer) => {
      expect(chunk.toString()).toBe('STARTTLS\n');
      socket.write('TLS\n');
      const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: context });
      secure.on('error', () => undefined);
      let rest = '';
      secure.on('data', (d: Buffer) => {
        rest += d.toString();
        for (let i = rest.indexOf('\n'); i >= 0; i = rest.indexOf('\n')) {
          const line = rest.slice(0, i);
          rest = rest.slice(i + 1);
          lines.push(line);
          secure.write(`MSG them re: ${line.replace(/^MSG \S+ /, '')}\n`);
        }
      });
    });
  });
  return { server, lines };
}

/** The client: STARTTLS, wait for `TLS`, then a TLS handshake trusting `ca`. */
async function starttlsClient(port: number, ca: string[]) {
  const client = await relayClient(port);
  client.socket.write('STARTTLS\n');
  for (let i = 0; i < 200 && !client.received().toString().includes('TLS\n'); i++) await new Promise((r) => setTimeout(r, 10));
  expect(client.received().toString()).toBe('TLS\n');
  client.socket.removeAllListeners('data');
  return new Promise<tls.TLSSocket>((resolve, reject) => {
    const secure = tls.connect({ socket: client.socket, servername: NAME, ca });
    secure.once('secureConnect', () => resolve(secure));
    secure.once('error', reject);
  });
}

function readLine(socket: tls.TLSSocket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (d: Buffer) => {
      text += d.toString();
      if (text.includes('\n')) {
        socket.off('data', onData);
        resolve(text);
      }
    };
    socket.on('data', onData);
  });
}

const waitFor = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 300 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check(), what).toBe(true);
};

describe('STARTTLS interception in a connection', () => {
  it('holds the accepting frame until the server is verified, then parses the decrypted lines both ways', async () => {
    const { imspectCaPem, serverLeaf, interceptor } = await setup();
    const { server, lines } = await starttlsServer(serverLeaf.context);
    const protocol = lineProtocol();
    const relay = await startRelay(server.port, { protocol, tls: interceptor(), upstreamHost: NAME });
    try {
      const secure = await starttlsClient(relay.port, [imspectCaPem]);
      expect(secure.getPeerCertificate().issuer.CN).toBe('imspect test CA');
      const reply = readLine(secure);
      secure.write('MSG bob hello inside TLS\n');
      expect(await reply).toBe('MSG them re: hello inside TLS\n');
      expect(lines).toEqual(['MSG bob hello inside TLS']);
      await waitFor(() => relay.events.length === 2, 'two events');
      expect(relay.events.map((e) => [e.direction, e.remoteId, e.text])).toEqual([
        ['outgoing', 'bob', 'hello inside TLS'],
        ['incoming', 'them', 're: hello inside TLS'],
      ]);
      expect(protocol.sessions[0]!.intercepted).toBe(1);
      expect(relay.connections[0]!.intercepted).toEqual({ how: 'starttls', name: NAME });
      secure.destroy();
    } finally {
      await relay.close();
      await server.close();
    }
  });

  it('passes the rest through unread with an encrypted event when the rule says passthrough', async () => {
    const { upstreamCaPem, serverLeaf, interceptor } = await setup();
    const { server } = await starttlsServer(serverLeaf.context);
    const protocol = lineProtocol();
    const relay = await startRelay(server.port, { protocol, tls: interceptor({ action: 'passthrough' }), upstreamHost: NAME });
    try {
      const secure = await starttlsClient(relay.port, [upstreamCaPem]);
      expect(secure.getPeerCertificate().issuer.CN).toBe('upstream test CA');
      const reply = readLine(secure);
      secure.write('MSG bob unseen\n');
      expect(await reply).toBe('MSG them re: unseen\n');
      await waitFor(() => relay.events.length === 1, 'the encrypted event');
      expect(relay.events[0]).toMatchObject({ type: 'encrypted', subtype: 'starttls', remoteId: NAME });
      expect(protocol.sessions[0]!.intercepted).toBe(0);
      secure.destroy();
    } finally {
      await relay.close();
      await server.close();
    }
  });

  it('closes the connection, with the reason logged, when the server is not trusted or the rule says block', async () => {
    const { serverLeaf, interceptor } = await setup();
    for (const [tlsInterceptor, reason] of [
      [interceptor({}, []), /is not trusted: SELF_SIGNED_CERT_IN_CHAIN/],
      [interceptor({ rules: [{ host: NAME, action: 'block' }] }), /STARTTLS refused: tls rules say block/],
    ] as const) {
      const { server, lines } = await starttlsServer(serverLeaf.context);
      const relay = await startRelay(server.port, { protocol: lineProtocol(), tls: tlsInterceptor, upstreamHost: NAME });
      try {
        const client = await relayClient(relay.port);
        client.socket.write('STARTTLS\n');
        const seen = await client.ended;
        // The client never got the go-ahead: nothing it sends could reach an unverified server.
        expect(seen.toString()).toBe('');
        expect(
          relay.logs.some((r) => reason.test(r.msg ?? '')),
          JSON.stringify(relay.logs.map((r) => r.msg)),
        ).toBe(true);
        expect(lines).toEqual([]);
      } finally {
        await relay.close();
        await server.close();
      }
    }
  });

  it('without interception (a replay, or no TLS settings) relays everything after the upgrade unread', async () => {
    const { upstreamCaPem, serverLeaf } = await setup();
    const { server } = await starttlsServer(serverLeaf.context);
    const relay = await startRelay(server.port, { protocol: lineProtocol(), upstreamHost: NAME });
    try {
      const secure = await starttlsClient(relay.port, [upstreamCaPem]);
      const reply = readLine(secure);
      secure.write('MSG bob unseen\n');
      expect(await reply).toBe('MSG them re: unseen\n');
      // Nothing inside is read; policy.unreadable (log by default) records that an encrypted conversation went by.
      await waitFor(() => relay.events.length > 0, 'encrypted event');
      expect(relay.events.map((e) => [e.type, e.subtype, e.filtered])).toEqual([['encrypted', 'starttls', false]]);
      expect(relay.connections[0]!.encrypted).toBe('starttls');
      secure.destroy();
    } finally {
      await relay.close();
      await server.close();
    }
  });
});
