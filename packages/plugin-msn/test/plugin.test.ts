import { describe, expect, it } from 'vitest';
import { isPlugin } from '@imspect/sdk';
import plugin, { DEFAULT_PORTS, MsnConnectionSession, MsnHttpSession, MsnSession, decodeFileContext, payloadLength, splitCommand } from '../src/index.js';
import { sniffMsn } from '../src/sniff.js';
import { enc } from './helpers.js';
import { fileContext } from './transcripts.js';

const ctx = (options: Record<string, unknown>) => ({ name: 'msn', options, hostVersion: '0.1.0', dataDir: '/tmp', configDir: '/tmp', logger: undefined as never }) as never;
const sessionCtx = { client: { ip: '192.0.2.1', port: 1 }, server: { host: 'ns.example.net', port: 1863 }, maxFrameSize: 1 << 20 };

describe('the plugin', () => {
  it('is a protocol plugin named msn on port 1863, with a frame limit of line plus payload', async () => {
    expect(isPlugin(plugin)).toBe(true);
    expect(plugin.name).toBe('msn');
    expect(plugin.kind).toBe('protocol');
    const hooks = await plugin.setup(ctx({}));
    expect(hooks.ports).toEqual(DEFAULT_PORTS);
    expect(hooks.ports).toEqual([1863]);
    expect(hooks.maxFrameSize).toBe(8192 + 256 * 1024);
    expect(typeof hooks.routeForward).toBe('function');
    // MSNP over TCP or MSN's HTTP gateway, as the client's first line says.
    const tcp = hooks.createSession(sessionCtx) as MsnConnectionSession;
    expect(tcp).toBeInstanceOf(MsnConnectionSession);
    tcp.push('outgoing', enc('VER 1 MSNP8 CVR0\r\n'));
    expect(tcp.chosen).toBeInstanceOf(MsnSession);
    const http = hooks.createSession(sessionCtx) as MsnConnectionSession;
    http.push('outgoing', enc('POST /gateway/gateway.dll?Action=open&Server=NS&IP=messenger.hotmail.com HTTP/1.1\r\n'));
    expect(http.chosen).toBeInstanceOf(MsnHttpSession);
    const off = await plugin.setup(ctx({ httpGateway: false }));
    expect(off.createSession(sessionCtx)).toBeInstanceOf(MsnSession);
    expect(off.sniff!(enc('POST /gateway/gateway.dll?Action=open&Server=NS&IP=x HTTP/1.1\r\n'), 'outgoing')).toBe(false);
  });

  it('takes its options; the session honours a smaller frame limit from the configuration', async () => {
    const hooks = await plugin.setup(ctx({ maxLineBytes: 1024, maxPayloadBytes: 2048, typing: false, ports: [1863, 1864], noticeName: 'Compliance' }));
    expect(hooks.maxFrameSize).toBe(3072);
    expect(hooks.ports).toEqual([1863, 1864]);
    const connection = hooks.createSession({ ...sessionCtx, maxFrameSize: 3072 }) as MsnConnectionSession;
    connection.push('outgoing', enc('USR 1 a@b.c cookie\r\n'));
    const session = connection.chosen as MsnSession;
    expect(session.maxLineBytes).toBe(1024);
    expect(session.maxPayloadBytes).toBe(2048);
    const smaller = hooks.createSession({ ...sessionCtx, maxFrameSize: 1500 }) as MsnConnectionSession;
    smaller.push('outgoing', enc('VER 1 MSNP8 CVR0\r\n'));
    const small = smaller.chosen as MsnSession;
    expect(small.maxLineBytes + small.maxPayloadBytes).toBeLessThanOrEqual(1500);
    session.push('incoming', enc('JOI bob@b.c Bob\r\n'));
    const frames = session.push('incoming', enc('MSG bob@b.c Bob 88\r\nMIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: bob@b.c\r\n\r\n\r\n'));
    expect(frames.flatMap((f) => f.events ?? [])).toEqual([]);
    const notice = session.respond('no', { remoteId: 'bob@b.c' } as never)!;
    expect(new TextDecoder().decode(notice).split('\r\n')[0]).toMatch(/^MSG bob@b\.c Compliance \d+$/);
  });
});

describe('sniff', () => {
  it('recognises a client starting with VER or a switchboard USR/ANS, not other protocols', () => {
    expect(sniffMsn(enc('VER 1 MSNP8 CVR0\r\n'), 'outgoing')).toBe(true);
    expect(sniffMsn(enc('VER 145 MSNP11 MSNP10 CVR0\r\n'), 'outgoing')).toBe(true);
    expect(sniffMsn(enc('VER 1 MSNP21 MSNP20 MSNP19 MSNP18 CVR0\r\n'), 'outgoing')).toBe(true);
    expect(sniffMsn(enc('USR 1 t4e@example.com cd1d61a1c0bd18b41a1e\r\n'), 'outgoing')).toBe(true);
    expect(sniffMsn(enc('ANS 1 t5e@example.com 6f8aade1 ff8dd76a\r\n'), 'outgoing')).toBe(true);
    for (const other of ['GET / HTTP/1.1\r\n', 'NICK alice\r\n', 'USER bob\r\n', 'VER 1 MSNP8 CVR0\r\n']) {
      expect(sniffMsn(enc(other), 'incoming'), other).toBe(false);
    }
    expect(sniffMsn(enc('GET /login HTTP/1.1\r\n'), 'outgoing')).toBe(false);
    // MSN's HTTP gateway, straight (transparent, forward) and through a proxy (absolute URI).
    expect(sniffMsn(enc('POST /gateway/gateway.dll?Action=open&Server=NS&IP=messenger.hotmail.com HTTP/1.1\r\nHost: x\r\n'), 'outgoing')).toBe(true);
    expect(sniffMsn(enc('POST http://207.46.110.18/gateway/gateway.dll?SessionID=954547325.13160 HTTP/1.1\r\n'), 'outgoing')).toBe(true);
    expect(sniffMsn(enc('POST /Gateway/Gateway.dll?Action=poll&SessionID=1.2 HTTP/1.0\r\n'), 'outgoing')).toBe(true);
    expect(sniffMsn(enc('POST /gateway/gateway.dll.bak HTTP/1.1\r\n'), 'outgoing')).toBe(false);
    expect(sniffMsn(enc('POST /upload HTTP/1.1\r\n'), 'outgoing')).toBe(false);
    expect(sniffMsn(enc('VER 1 MSNP8'), 'outgoing')).toBe(false);
  });
});

describe('pieces', () => {
  it('payload lengths by command form and version', () => {
    const len = (line: string, version = 0) => payloadLength(splitCommand(line), version);
    expect(len('MSG 1 N 12')).toEqual({ kind: 'length', length: 12 });
    expect(len('MSG a@b.c Name 0')).toEqual({ kind: 'length', length: 0 });
    expect(len('ADL 6 OK')).toEqual({ kind: 'none' });
    expect(len('QRY 15')).toEqual({ kind: 'none' });
    expect(len('NOT 33')).toEqual({ kind: 'length', length: 33 });
    expect(len('MSG 1 N -1')).toEqual({ kind: 'bad', word: '-1' });
    expect(len('241 3 10', 8)).toEqual({ kind: 'none' });
    expect(len('241 3 10', 13)).toEqual({ kind: 'length', length: 10 });
    expect(len('SDG 0 MSGR 431', 21)).toEqual({ kind: 'length', length: 431 });
    expect(len('MSG 1 N 1234567890123456789')).toEqual({ kind: 'length', length: Number.POSITIVE_INFINITY });
    expect(len('CHG 8 NLN 1342177280')).toEqual({ kind: 'none' });
  });

  it('a file Context gives the name and size; a short one gives nothing', () => {
    expect(decodeFileContext(fileContext('\u00e9t\u00e9 \u4f60\u597d.txt', 2 ** 40))).toEqual({ name: '\u00e9t\u00e9 \u4f60\u597d.txt', size: 2 ** 40 });
    expect(decodeFileContext('dGVzdA==')).toBeUndefined();
    expect(decodeFileContext('')).toBeUndefined();
  });
});
