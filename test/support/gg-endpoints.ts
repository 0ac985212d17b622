/**
 * Both ends of a Gadu-Gadu conversation for the end-to-end tests: a scripted server that follows libgadu's
 * protocol description (welcome seed, GG_LOGIN80_OK, send acknowledgements, DCC7 ids, pong), recording every
 * packet it receives; and a real client, Debian's libgadu driven through test/support/gg-client.c, built here
 * with the system compiler.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** Why the libgadu client cannot be built here (no compiler, no libgadu-dev), or undefined. */
export function libgaduMissing(): string | undefined {
  if (spawnSync('gcc', ['--version']).status !== 0) return 'gcc is not installed (apt-get install gcc)';
  if (!existsSync('/usr/include/libgadu.h')) return 'libgadu-dev is not installed (apt-get install libgadu-dev libgadu3)';
  return undefined;
}

/** Compiles the client into `dir`; returns the executable's path. */
export function buildGgClient(dir: string): string {
  const exe = path.join(dir, 'gg-client');
  const built = spawnSync('gcc', ['-Wall', '-o', exe, path.join(HERE, 'gg-client.c'), '-lgadu'], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`building the libgadu client failed:\n${built.stderr}`);
  return exe;
}

/** One packet: type and body. */
export interface GgPacket {
  type: number;
  body: Buffer;
}

export function ggPacket(type: number, ...body: Uint8Array[]): Buffer {
  const joined = Buffer.concat(body);
  const header = Buffer.alloc(8);
  header.writeUInt32LE(type, 0);
  header.writeUInt32LE(joined.length, 4);
  return Buffer.concat([header, joined]);
}

export const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

export function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Buffer.from(out);
}

function readVarint(b: Buffer, at: number): [number, number] {
  let value = 0;
  let scale = 1;
  let i = at;
  while (i < b.length) {
    const byte = b[i++]!;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) break;
  }
  return [value, i];
}

/** The fields of a protocol-buffer message: number -> varint value or bytes. */
function protobufFields(body: Buffer): Array<{ field: number; value: number | Buffer }> {
  const fields: Array<{ field: number; value: number | Buffer }> = [];
  let at = 0;
  while (at < body.length) {
    const [key, next] = readVarint(body, at);
    const wire = key % 8;
    at = next;
    if (wire === 0) {
      const [value, after] = readVarint(body, at);
      fields.push({ field: Math.floor(key / 8), value });
      at = after;
    } else if (wire === 2) {
      const [length, after] = readVarint(body, at);
      fields.push({ field: Math.floor(key / 8), value: body.subarray(after, after + length) });
      at = after + length;
    } else if (wire === 5) at += 4;
    else if (wire === 1) at += 8;
    else break;
  }
  return fields;
}

export function protobufBytes(body: Buffer, field: number): Buffer | undefined {
  const found = protobufFields(body).find((f) => f.field === field && Buffer.isBuffer(f.value));
  return found?.value as Buffer | undefined;
}

export function protobufVarint(body: Buffer, field: number): number | undefined {
  const found = protobufFields(body).find((f) => f.field === field && typeof f.value === 'number');
  return found?.value as number | undefined;
}

/** Cuts a byte stream into packets as they complete. */
export class PacketStream {
  private buffer = Buffer.alloc(0);
  readonly packets: GgPacket[] = [];
  readonly chunks: Buffer[] = [];
  push(chunk: Buffer): GgPacket[] {
    this.chunks.push(chunk);
    this.buffer = Buffer.concat([this.buffer, chunk]);
    const complete: GgPacket[] = [];
    while (this.buffer.length >= 8) {
      const size = 8 + this.buffer.readUInt32LE(4);
      if (this.buffer.length < size) break;
      const packet = { type: this.buffer.readUInt32LE(0), body: Buffer.from(this.buffer.subarray(8, size)) };
      complete.push(packet);
      this.packets.push(packet);
      this.buffer = this.buffer.subarray(size);
    }
    return complete;
  }
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

export interface ServerConnection {
  socket: net.Socket;
  received: PacketStream;
  /** What the server wrote, in order. */
  sent: Buffer[];
  send(packet: Buffer): void;
}

/** The scripted server. Each connection gets a welcome; answers follow the documented protocol. */
export async function startGgServer() {
  const connections: ServerConnection[] = [];
  const server = net.createServer((socket) => {
    const received = new PacketStream();
    const connection: ServerConnection = {
      socket,
      received,
      sent: [],
      send(packet) {
        this.sent.push(packet);
        socket.write(packet);
      },
    };
    connections.push(connection);
    socket.on('data', (chunk) => {
      for (const packet of received.push(chunk)) {
        switch (packet.type) {
          case 0x31: // GG_LOGIN80 -> GG_LOGIN80_OK
            connection.send(ggPacket(0x35, u32(1)));
            break;
          case 0x2d: // GG_SEND_MSG80 -> GG_SEND_MSG_ACK (delivered, recipient, seq)
          case 0x0b:
            connection.send(ggPacket(0x05, u32(0x02), packet.body.subarray(0, 4), packet.body.subarray(4, 8)));
            break;
          case 0x83: {
            // GG_LOGIN105 (protocol buffers) -> GG_LOGIN110_OK: 1 = 1, 2 a hash, 3 the uin, 4 the server time.
            const uin = Number(protobufBytes(packet.body, 2)?.subarray(2).toString('latin1') ?? '0');
            connection.send(ggPacket(0x9d, Buffer.from([0x08, 0x01, 0x12, 0x04]), Buffer.from('hash'), Buffer.from([0x18]), varint(uin), Buffer.from([0x25]), u32(1_765_000_000)));
            break;
          }
          case 0x7d: // GG_SEND_MSG110 -> GG_SEND_MSG_ACK110: 1 type (1: delivered), 2 seq, 3 time, 7 = 0
            connection.send(
              ggPacket(0x87, Buffer.from([0x08, 0x01, 0x10]), varint(protobufVarint(packet.body, 3) ?? 0), Buffer.from([0x1d]), u32(1_765_000_000), Buffer.from([0x38, 0x00])),
            );
            break;
          case 0x23: // GG_DCC7_ID_REQUEST -> GG_DCC7_ID_REPLY (type, id)
            connection.send(ggPacket(0x23, packet.body.subarray(0, 4), Buffer.from('0011223344556677', 'hex')));
            break;
          case 0x08: // GG_PING -> GG_PONG
            connection.send(ggPacket(0x07));
            break;
        }
      }
    });
    socket.on('end', () => socket.end());
    socket.on('error', () => undefined);
    connection.send(ggPacket(0x01, u32(0x5eed1234)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The libgadu client process: commands in, one line per event out. */
export class GgClient {
  readonly lines: string[] = [];
  /** libgadu's debug output when GG_CLIENT_DEBUG is set. */
  stderr = '';
  private readonly child: ChildProcess;
  private buffered = '';
  private exited: Promise<number | null>;

  /** `protocolVersion`: 0x2e for the 8.0 login and messages; libgadu's default (11.0, protocol buffers) otherwise. */
  constructor(exe: string, host: string, port: number, uin: number, password: string, protocolVersion?: number) {
    const args = [host, String(port), String(uin), password, ...(protocolVersion === undefined ? [] : [`0x${protocolVersion.toString(16)}`])];
    // libgadu's debug log goes to stderr, shown when a wait times out.
    this.child = spawn(exe, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, GG_CLIENT_DEBUG: '1' } });
    this.child.stdout!.on('data', (d: Buffer) => {
      this.buffered += d.toString('utf8');
      const parts = this.buffered.split('\n');
      this.buffered = parts.pop()!;
      this.lines.push(...parts);
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString('utf8')));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  command(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  /** Waits for the `n`-th (1-based) line matching `pattern`; returns it. */
  async waitFor(pattern: RegExp, what: string, n = 1, ms = 15_000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const matches = this.lines.filter((l) => pattern.test(l));
      if (matches.length >= n) return matches[n - 1]!;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the client printed:\n${this.lines.join('\n')}\n${this.stderr.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Asks the client to log off and waits for it to exit (killed by its pid after `ms`). */
  async quit(ms = 10_000): Promise<number | null> {
    this.command('quit');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), ms);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
