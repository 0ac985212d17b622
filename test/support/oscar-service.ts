/**
 * A scripted OSCAR service for end-to-end tests, following the documented sign-on: an authorizer (server hello,
 * BUCP key request 0x17/0x06 -> key 0x17/0x07, MD5 login 0x17/0x02 -> 0x17/0x03 with the BOS address and a
 * fresh 256-byte cookie, then it hangs up) and a BOS server on a second port (server hello, the client's cookie
 * on channel 1, families 0x01/0x03; it records every FLAP it receives and sends what the test tells it to).
 * Plus a minimal OSCAR client. Loopback only.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { flap, snac, tlv, u16, u32 } from '../../packages/plugin-oscar/test/helpers.js';

/** Collects FLAPs off a byte stream as they complete. */
export class FlapStream {
  private buffer = Buffer.alloc(0);
  readonly flaps: Buffer[] = [];
  readonly chunks: Buffer[] = [];
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffer = Buffer.concat([this.buffer, chunk]);
    while (this.buffer.length >= 6) {
      const size = 6 + this.buffer.readUInt16BE(4);
      if (this.buffer.length < size) break;
      this.flaps.push(this.buffer.subarray(0, size));
      this.buffer = this.buffer.subarray(size);
    }
  }
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Channel, and for SNACs family and subtype. */
export function flapKind(f: Buffer): { channel: number; family?: number; subtype?: number; requestId?: number } {
  if (f[1] !== 2 || f.length < 16) return { channel: f[1]! };
  return { channel: 2, family: f.readUInt16BE(6), subtype: f.readUInt16BE(8), requestId: f.readUInt32BE(12) };
}

/** The TLVs from `offset` to the end, as type -> value. */
export function tlvMap(f: Buffer, offset: number): Map<number, Buffer> {
  const map = new Map<number, Buffer>();
  let at = offset;
  while (at + 4 <= f.length) {
    const type = f.readUInt16BE(at);
    const length = f.readUInt16BE(at + 2);
    map.set(type, f.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return map;
}

export async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface BosConnection {
  socket: net.Socket;
  received: FlapStream;
  /** The screen name the cookie was issued to. */
  user: string;
}

export interface OscarService {
  authorizerPort: number;
  bosPort: number;
  /** Screen names the authorizer logged in, in order. */
  logins: string[];
  bos: BosConnection[];
  close(): Promise<void>;
}

const HELLO = u32(1);

/**
 * @param bosAddressFor the BOS address the authorizer hands a user (default: the scripted BOS server), e.g. one
 *   the gateway's destination policy refuses
 */
export async function startOscarService(bosAddressFor: (name: string) => string | undefined = () => undefined): Promise<OscarService> {
  const cookies = new Map<string, string>();
  const logins: string[] = [];
  const bos: BosConnection[] = [];
  const sockets = new Set<net.Socket>();
  let seq = 0x4000;

  const bosServer = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    const received = new FlapStream();
    let connection: BosConnection | undefined;
    socket.write(flap(1, seq++, HELLO));
    socket.on('data', (chunk) => {
      const before = received.flaps.length;
      received.push(chunk);
      for (const f of received.flaps.slice(before)) {
        if (connection || f[1] !== 1) continue;
        const cookie = tlvMap(f, 10).get(6);
        const user = cookie ? cookies.get(cookie.toString('hex')) : undefined;
        if (!user) {
          socket.end(flap(4, seq++, tlv(0x0008, u16(0x0004))));
          return;
        }
        connection = { socket, received, user };
        bos.push(connection);
        socket.write(snac(seq++, 1, 3, Buffer.concat([1, 2, 3, 4, 0x13].map(u16))));
      }
    });
  });

  const authorizer = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    const received = new FlapStream();
    socket.write(flap(1, seq++, HELLO));
    socket.on('data', (chunk) => {
      const before = received.flaps.length;
      received.push(chunk);
      for (const f of received.flaps.slice(before)) {
        const kind = flapKind(f);
        if (kind.family !== 0x17) continue;
        if (kind.subtype === 0x06) socket.write(snac(seq++, 0x17, 0x07, Buffer.concat([u16(10), Buffer.from('0123456789')]), kind.requestId));
        if (kind.subtype === 0x02) {
          const name = tlvMap(f, 16).get(1)?.toString('utf8') ?? '';
          const cookie = randomBytes(256);
          cookies.set(cookie.toString('hex'), name);
          logins.push(name);
          const reply = Buffer.concat([tlv(1, name), tlv(5, bosAddressFor(name) ?? `127.0.0.1:${bosPort}`), tlv(6, cookie)]);
          socket.end(snac(seq++, 0x17, 0x03, reply, kind.requestId));
        }
      }
    });
  });

  const listen = (server: net.Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
  const bosPort = await listen(bosServer);
  const authorizerPort = await listen(authorizer);
  return {
    authorizerPort,
    bosPort,
    logins,
    bos,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await Promise.all([authorizer, bosServer].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}

/** A client socket that collects FLAPs. */
export class OscarClient {
  readonly received = new FlapStream();
  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.received.push(chunk));
    socket.on('error', () => undefined);
  }
  async ready(): Promise<void> {
    if (this.socket.connecting) await new Promise((resolve) => this.socket.once('connect', resolve));
  }
  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }
  async waitFor(predicate: (f: Buffer) => boolean, what: string): Promise<Buffer> {
    let found: Buffer | undefined;
    await until(() => (found = this.received.flaps.find(predicate)) !== undefined, what);
    return found!;
  }
  close(): Promise<void> {
    this.socket.end();
    return new Promise((resolve) => (this.socket.destroyed ? resolve() : this.socket.once('close', () => resolve())));
  }
}
