import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { TransparentListenerConfig } from '../src/config/schema.js';
import { startListener, type AcceptedConnection } from '../src/net/listeners.js';
import { closeSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadLibcWith, parseSockaddr, socketFd } from '../src/net/original-destination.js';
import { connect, readAll, recordingLogger, waitFor } from './helpers.js';

describe('koffi, an optional dependency loaded by the transparent listener only', () => {
  it('says what to install when koffi is missing', () => {
    // What require throws for a package that is not installed.
    const missing = (name: string) => {
      throw Object.assign(new Error(`Cannot find module '${name}'\nRequire stack:\n- ${import.meta.url}`), { code: 'MODULE_NOT_FOUND' });
    };
    const result = loadLibcWith(missing);
    expect(result).toBeInstanceOf(Error);
    expect((result as Error).message).toMatch(/through the "koffi" package, which is not installed .*npm install koffi/);
  });

  it('keeps the reason of a koffi that is installed but cannot load', () => {
    const broken = () => {
      throw new Error('no prebuilt binary for this platform');
    };
    expect((loadLibcWith(broken) as Error).message).toBe('cannot load koffi, which transparent interception needs to call getsockopt: no prebuilt binary for this platform');
  });

  it.runIf(process.platform === 'linux')('calls getsockopt through the installed koffi', () => {
    const libc = loadLibcWith(createRequire(import.meta.url));
    if (libc instanceof Error) throw libc;
    // A file is not a socket: getsockopt fails with ENOTSOCK (88), read through koffi's errno.
    const fd = openSync('/dev/null', 'r');
    try {
      expect(libc.getsockopt(fd, 0, 80, Buffer.alloc(16), [16])).toBe(-1);
      expect(libc.errno()).toBe(88);
    } finally {
      closeSync(fd);
    }
  });
});

describe('parseSockaddr', () => {
  it('reads sockaddr_in: family in host order, port in network order', () => {
    const bytes = Buffer.alloc(16);
    bytes.writeUInt16LE(2, 0);
    bytes.writeUInt16BE(5222, 2);
    bytes.set([198, 18, 2, 2], 4);
    expect(parseSockaddr(bytes)).toEqual({ host: '198.18.2.2', port: 5222, family: 'ipv4' });
  });

  it('reads sockaddr_in6 in RFC 5952 form, and unmaps IPv4-mapped addresses', () => {
    const make = (groups: number[], port: number) => {
      const bytes = Buffer.alloc(28);
      bytes.writeUInt16LE(10, 0);
      bytes.writeUInt16BE(port, 2);
      groups.forEach((g, i) => bytes.writeUInt16BE(g, 8 + i * 2));
      return bytes;
    };
    expect(parseSockaddr(make([0x2001, 2, 0, 2, 0, 0, 0, 2], 6667))).toEqual({ host: '2001:2:0:2::2', port: 6667, family: 'ipv6' });
    expect(parseSockaddr(make([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1], 1))).toEqual({ host: '2001:db8::1:0:0:1', port: 1, family: 'ipv6' });
    expect(parseSockaddr(make([0, 0, 0, 0, 0, 0, 0, 1], 80))!.host).toBe('::1');
    expect(parseSockaddr(make([0, 0, 0, 0, 0, 0xffff, 0xc612, 0x0102], 80))!.host).toBe('198.18.1.2');
    expect(parseSockaddr(make([1, 0, 2, 0, 3, 0, 4, 0], 80))!.host).toBe('1:0:2:0:3:0:4:0');
  });

  it('refuses unknown families and short buffers', () => {
    expect(parseSockaddr(Buffer.alloc(4))).toBeUndefined();
    const unix = Buffer.alloc(16);
    unix.writeUInt16LE(1, 0);
    expect(parseSockaddr(unix)).toBeUndefined();
  });
});

describe('transparent listener', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('a connection that was not redirected is refused with a logged reason, never relayed to itself', async () => {
    const log = recordingLogger();
    const accepted: AcceptedConnection[] = [];
    const config: TransparentListenerConfig = { type: 'transparent', host: '127.0.0.1', port: 0, allow: ['0.0.0.0/0', '::/0'] };
    const listener = await startListener(config, { log, connectTimeoutMs: 1_000, onConnection: (a) => accepted.push(a) });
    cleanups.push(() => listener.close());
    const socket = await connect(listener.address.port);
    socket.on('error', () => undefined);
    socket.write('NICK loop\r\n');
    expect((await readAll(socket)).length).toBe(0);
    await waitFor(() => log.records.some((r) => r.msg?.includes('transparent connection from 127.0.0.1')), 5_000, 'the refusal in the log');
    const refusal = log.records.find((r) => r.msg?.includes('transparent connection from 127.0.0.1'))!;
    // Either netfilter tracks this namespace (the original destination is the listener itself) or it does not.
    expect(refusal.msg).toMatch(/refused: (its original destination 127\.0\.0\.1:\d+ is imspect itself|no original destination)/);
    expect(accepted).toHaveLength(0);
  });

  it('socketFd reads the descriptor under a connected socket', async () => {
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const socket = await connect((server.address() as net.AddressInfo).port);
    expect(socketFd(socket)).toBeGreaterThan(2);
    socket.destroy();
    await new Promise((r) => socket.once('close', r));
    expect(socketFd(socket)).toBeUndefined();
  });
});
