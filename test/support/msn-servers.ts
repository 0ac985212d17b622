/**
 * A scripted MSN service for end-to-end tests, following the documented MSNP8 flow: a dispatch server that
 * sends every client to the notification server on another port (`XFR ... NS`), a notification server
 * (Tweener login, `XFR ... SB`, `RNG` for invitations), and a switchboard (`USR`/`CAL`/`JOI`, `ANS`/`IRO`,
 * `MSG` relayed with `ACK`, `BYE`). Plus a minimal MSNP client and a SOCKS5 connector. Loopback only.
 */
import net from 'node:net';

/** Reads MSNP lines and counted payloads off a socket. */
export class CommandReader {
  private buffer = Buffer.alloc(0);
  private pending: { words: string[]; length: number } | undefined;
  constructor(private readonly onCommand: (words: string[], payload: Buffer | undefined) => void) {}

  push(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (this.pending) {
        if (this.buffer.length < this.pending.length) return;
        const payload = this.buffer.subarray(0, this.pending.length);
        this.buffer = this.buffer.subarray(this.pending.length);
        const { words } = this.pending;
        this.pending = undefined;
        this.onCommand(words, Buffer.from(payload));
        continue;
      }
      const lf = this.buffer.indexOf(0x0a);
      if (lf < 0) return;
      const line = this.buffer.subarray(0, lf).toString('latin1').replace(/\r$/, '');
      this.buffer = this.buffer.subarray(lf + 1);
      const words = line.split(' ');
      const command = words[0]!;
      if (['MSG', 'UUX', 'UBX', 'NOT', 'ADL', 'QRY'].includes(command) && /^\d+$/.test(words.at(-1)!) && words.length >= (command === 'MSG' ? 4 : 3)) {
        this.pending = { words, length: Number(words.at(-1)) };
        continue;
      }
      this.onCommand(words, undefined);
    }
  }
}

export function payloadCommand(line: string, payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return Buffer.concat([Buffer.from(`${line} ${body.length}\r\n`), body]);
}

interface User {
  email: string;
  name: string;
  ns: net.Socket;
}

interface Board {
  id: string;
  members: Map<string, net.Socket>;
}

export interface MsnService {
  dispatchPort: number;
  notificationPort: number;
  switchboardPort: number;
  /** Every command line each server received, as `port: line` (payloads left out). */
  received: string[];
  close(): Promise<void>;
}

/** `host`: the address the servers listen on and name in their redirects (default 127.0.0.1). */
export async function startMsnService(options: { host?: string } = {}): Promise<MsnService> {
  const host = options.host ?? '127.0.0.1';
  const users = new Map<string, User>();
  const cookies = new Map<string, { email: string; board?: Board }>();
  const boards = new Map<string, Board>();
  const received: string[] = [];
  const sockets = new Set<net.Socket>();
  let nextId = 1;

  const listen = async (handler: (socket: net.Socket, port: number) => void) => {
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      handler(socket, (server.address() as net.AddressInfo).port);
    });
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    return { server, port: (server.address() as net.AddressInfo).port };
  };

  let ports = { ns: 0, sb: 0, ds: 0 };

  const dispatch = await listen((socket, port) => {
    const reader = new CommandReader((words) => {
      received.push(`${port}: ${words.join(' ')}`);
      const [command, trid] = words;
      if (command === 'VER') socket.write(`VER ${trid} MSNP8\r\n`);
      else if (command === 'CVR') socket.write(`CVR ${trid} 6.2.0208 6.2.0208 6.2.0208 http://example.invalid http://example.invalid\r\n`);
      else if (command === 'USR') socket.write(`XFR ${trid} NS ${host}:${ports.ns} 0 ${host}:${ports.ds}\r\n`);
    });
    socket.on('data', (chunk) => reader.push(chunk));
  });

  const notification = await listen((socket, port) => {
    let me: User | undefined;
    let email = '';
    const reader = new CommandReader((words) => {
      received.push(`${port}: ${words.join(' ')}`);
      const [command, trid] = words;
      switch (command) {
        case 'VER':
          socket.write(`VER ${trid} MSNP8\r\n`);
          break;
        case 'CVR':
          socket.write(`CVR ${trid} 6.2.0208 6.2.0208 6.2.0208 http://example.invalid http://example.invalid\r\n`);
          break;
        case 'USR':
          if (words[3] === 'I') {
            email = words[4]!;
            socket.write(`USR ${trid} TWN S ct=1,rver=1,wp=FS_40SEC_0_COMPACT,lc=1,id=1\r\n`);
          } else {
            const name = email.split('@')[0]!;
            me = { email, name, ns: socket };
            users.set(email, me);
            socket.write(`USR ${trid} OK ${email} ${name} 1 0\r\n`);
          }
          break;
        case 'CHG':
          socket.write(`CHG ${trid} ${words[2]} 0\r\n`);
          break;
        case 'XFR': {
          const cookie = `${Date.now()}.${nextId++}`;
          cookies.set(cookie, { email });
          socket.write(`XFR ${trid} SB ${host}:${ports.sb} CKI ${cookie}\r\n`);
          break;
        }
        case 'OUT':
          socket.end();
          break;
      }
    });
    socket.on('data', (chunk) => reader.push(chunk));
    socket.on('close', () => {
      if (me && users.get(me.email) === me) users.delete(me.email);
    });
  });

  const switchboard = await listen((socket, port) => {
    let email = '';
    let name = '';
    let board: Board | undefined;
    const others = () => [...(board?.members ?? new Map<string, net.Socket>()).entries()].filter(([e]) => e !== email);
    const reader = new CommandReader((words, payload) => {
      received.push(`${port}: ${words.join(' ')}`);
      const [command, trid] = words;
      switch (command) {
        case 'USR': {
          const entry = cookies.get(words[3]!);
          email = words[2]!.split(';')[0]!;
          if (!entry || entry.email !== email) {
            socket.end(`911 ${trid}\r\n`);
            return;
          }
          name = email.split('@')[0]!;
          board = { id: String(11752013 + nextId++), members: new Map([[email, socket]]) };
          boards.set(board.id, board);
          socket.write(`USR ${trid} OK ${email} ${name}\r\n`);
          break;
        }
        case 'CAL': {
          const callee = users.get(words[2]!);
          if (!callee || !board) {
            socket.write(`217 ${trid}\r\n`);
            return;
          }
          const cookie = `${Date.now()}.${nextId++}`;
          cookies.set(cookie, { email: callee.email, board });
          socket.write(`CAL ${trid} RINGING ${board.id}\r\n`);
          callee.ns.write(`RNG ${board.id} ${host}:${ports.sb} CKI ${cookie} ${email} ${name}\r\n`);
          break;
        }
        case 'ANS': {
          const entry = cookies.get(words[3]!);
          email = words[2]!.split(';')[0]!;
          if (!entry?.board || entry.email !== email || entry.board.id !== words[4]) {
            socket.end(`911 ${trid}\r\n`);
            return;
          }
          board = entry.board;
          name = email.split('@')[0]!;
          const present = [...board.members.keys()];
          present.forEach((member, i) => socket.write(`IRO ${trid} ${i + 1} ${present.length} ${member} ${member.split('@')[0]}\r\n`));
          socket.write(`ANS ${trid} OK\r\n`);
          for (const [, peer] of board.members) peer.write(`JOI ${email} ${name}\r\n`);
          board.members.set(email, socket);
          break;
        }
        case 'MSG': {
          if (!payload) return;
          for (const [, peer] of others()) peer.write(payloadCommand(`MSG ${email} ${name}`, payload));
          if (words[2] === 'A' || words[2] === 'D') socket.write(`ACK ${trid}\r\n`);
          break;
        }
        case 'OUT':
          socket.end();
          break;
      }
    });
    socket.on('data', (chunk) => reader.push(chunk));
    socket.on('close', () => {
      if (!board || board.members.get(email) !== socket) return;
      board.members.delete(email);
      for (const [, peer] of board.members) peer.write(`BYE ${email}\r\n`);
    });
  });

  ports = { ds: dispatch.port, ns: notification.port, sb: switchboard.port };
  return {
    dispatchPort: dispatch.port,
    notificationPort: notification.port,
    switchboardPort: switchboard.port,
    received,
    async close() {
      for (const socket of sockets) socket.destroy();
      await Promise.all([dispatch, notification, switchboard].map(({ server }) => new Promise<void>((resolve) => server.close(() => resolve()))));
    },
  };
}

export interface Received {
  words: string[];
  payload?: Buffer;
}

/** One client connection speaking MSNP: sends lines and payload commands, waits for what the server says. */
export class MsnConnection {
  readonly inbox: Received[] = [];
  private waiters: Array<{ match: (r: Received) => boolean; resolve: (r: Received) => void }> = [];
  private trid = 1;
  readonly closed: Promise<void>;

  constructor(readonly socket: net.Socket) {
    const reader = new CommandReader((words, payload) => {
      const item: Received = { words, ...(payload ? { payload } : {}) };
      const waiter = this.waiters.find((w) => w.match(item));
      if (waiter) {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter.resolve(item);
      } else this.inbox.push(item);
    });
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
  }

  /** Sends `CMD trid rest` and returns the trid. */
  send(command: string, rest = ''): number {
    const trid = this.trid++;
    this.socket.write(`${command} ${trid}${rest ? ` ${rest}` : ''}\r\n`);
    return trid;
  }

  sendRaw(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  sendMessage(ack: 'U' | 'N' | 'A' | 'D', body: string | Buffer): number {
    const trid = this.trid++;
    this.socket.write(payloadCommand(`MSG ${trid} ${ack}`, body));
    return trid;
  }

  /** The first command (already received or still to come) that matches. */
  next(match: (r: Received) => boolean, what: string, ms = 10_000): Promise<Received> {
    const index = this.inbox.findIndex(match);
    if (index >= 0) return Promise.resolve(this.inbox.splice(index, 1)[0]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; inbox: ${JSON.stringify(this.inbox.map((r) => r.words.join(' ')))}`)), ms);
      this.waiters.push({
        match,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
      });
    });
  }

  command(name: string, ms?: number): Promise<Received> {
    return this.next((r) => r.words[0] === name, name, ms);
  }

  end(): void {
    this.socket.end();
  }
}

/** Opens a TCP connection, directly or through a SOCKS5 proxy (no authentication, CONNECT by IPv4). */
export async function connectMsn(host: string, port: number, socks?: { host: string; port: number }): Promise<MsnConnection> {
  const socket = net.connect({ host: socks?.host ?? host, port: socks?.port ?? port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  if (socks) {
    const read = (n: number) =>
      new Promise<Buffer>((resolve, reject) => {
        let buffer = Buffer.alloc(0);
        const onData = (chunk: Buffer) => {
          buffer = Buffer.concat([buffer, chunk]);
          if (buffer.length >= n) {
            socket.off('data', onData);
            if (buffer.length > n) socket.unshift(buffer.subarray(n));
            resolve(buffer.subarray(0, n));
          }
        };
        socket.on('data', onData);
        socket.once('error', reject);
      });
    socket.write(Buffer.from([5, 1, 0]));
    const hello = await read(2);
    if (hello[1] !== 0) throw new Error('SOCKS5: no acceptable method');
    const request = Buffer.from([5, 1, 0, 1, ...host.split('.').map(Number), port >> 8, port & 0xff]);
    socket.write(request);
    const reply = await read(10);
    if (reply[1] !== 0) throw new Error(`SOCKS5: connect refused (${reply[1]})`);
    socket.pause();
  }
  const connection = new MsnConnection(socket);
  socket.resume();
  return connection;
}

/** `host:port` of an `XFR`/`RNG` line's address word. */
export function addressOf(word: string): { host: string; port: number } {
  const [host, port] = word.split(':');
  return { host: host!, port: Number(port) };
}
