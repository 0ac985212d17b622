/**
 * MSN's HTTP gateway for end-to-end tests, following its documentation (hypothetic.org "HTTP Connections" and
 * "HTTP Examples", the MSNP wiki "HTTP Gateway"): a scripted gateway in front of the scripted MSN service
 * (msn-servers.ts), and a scripted client that speaks MSNP through it.
 *
 * Gateway: `POST /gateway/gateway.dll?Action=open&Server=NS|SB&IP=host[:port]` opens a TCP connection to that MSN
 * server (port 1863 when none is given) and writes the body to it; `?SessionID=<id>` writes the body to that
 * session's connection; `?Action=poll&SessionID=<id>` writes nothing. Each response carries what the server sent
 * meanwhile, `X-MSN-Messenger: SessionID=<id>; GW-IP=<address>` with a new id for the next request, and
 * `Content-Type: application/x-msn-messenger`; once the server closed its connection, `Session=close`. A session
 * id that is not the one the last response gave, or a request while another of the session is unanswered, gets
 * 400. Loopback (or a test namespace) only.
 *
 * Client: one session per connection object (notification server or switchboard), the commands queued and sent in
 * a POST when no request is unanswered (several at once if they piled up), polling every 40 ms otherwise; to the
 * gateway directly (transparent, forward listener), through a proxy with absolute URIs, or inside an HTTP CONNECT
 * tunnel. After the first response, requests go to the address `GW-IP` gave, as the official client does.
 */
import http from 'node:http';
import net from 'node:net';
import { CommandReader, payloadCommand, type Received } from './msn-servers.js';

export interface GatewayRequest {
  /** The gateway address the request came in on. */
  local: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface MsnHttpGateway {
  host: string;
  port: number;
  /** Every request, in order. */
  requests: GatewayRequest[];
  /** Sessions open now. */
  sessions(): number;
  close(): Promise<void>;
}

interface Session {
  id: string;
  socket: net.Socket;
  queued: Buffer[];
  closed: boolean;
  busy: boolean;
  waiters: Array<() => void>;
}

/**
 * `host`: where it listens (and `extraHosts` too, on the same port); `gatewayIp`: the address its responses
 * give for the next request (default `host`).
 */
export async function startMsnHttpGateway(options: { host?: string; port?: number; gatewayIp?: string; extraHosts?: string[] } = {}): Promise<MsnHttpGateway> {
  const host = options.host ?? '127.0.0.1';
  const sessions = new Map<string, Session>();
  const requests: GatewayRequest[] = [];
  let nextSession = 954547325;
  let serial = 13160;
  const newId = (session: Session | undefined, base: number) => `${session ? session.id.split('.')[0] : base}.${serial++}`;
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ local: request.socket.localAddress ?? '', url: request.url ?? '', headers: request.headers, body });
      void answer(request.url ?? '', body, response);
    });
  });
  const gatewayIp = () => options.gatewayIp ?? host;

  async function answer(url: string, body: Buffer, response: http.ServerResponse): Promise<void> {
    const query = new URL(url, 'http://gateway.invalid');
    if (query.pathname.toLowerCase() !== '/gateway/gateway.dll') {
      response.writeHead(404).end();
      return;
    }
    const action = query.searchParams.get('Action');
    let session: Session | undefined;
    if (action === 'open') {
      const [target, port] = (query.searchParams.get('IP') ?? '').split(':');
      const socket = net.connect({ host: target!, port: Number(port ?? 1863) });
      socket.on('error', () => socket.destroy());
      session = { id: '', socket, queued: [], closed: false, busy: false, waiters: [] };
      const opened = session;
      socket.on('data', (d: Buffer) => {
        opened.queued.push(d);
        for (const wake of opened.waiters.splice(0)) wake();
      });
      socket.on('close', () => {
        opened.closed = true;
        for (const wake of opened.waiters.splice(0)) wake();
      });
      await new Promise<void>((resolve) => {
        socket.once('connect', resolve);
        socket.once('close', resolve);
      });
      session.id = newId(undefined, nextSession++);
    } else {
      session = sessions.get(query.searchParams.get('SessionID') ?? '');
      if (!session || session.busy) {
        response.writeHead(400, { 'Content-Type': 'text/plain' }).end(session ? 'a request is already pending' : 'unknown session');
        return;
      }
      sessions.delete(session.id);
    }
    session.busy = true;
    if (body.length > 0 && !session.closed) session.socket.write(body);
    // What the server says within a moment: a reply to the commands, or what it queued (a poll).
    await collect(session, action === 'poll' ? 120 : 200);
    const out = Buffer.concat(session.queued.splice(0));
    const next = newId(session, 0);
    session.id = next;
    session.busy = false;
    const closed = session.closed && session.queued.length === 0;
    if (!closed) sessions.set(next, session);
    response.writeHead(200, {
      'X-MSN-Messenger': `${closed ? 'Session=close; ' : ''}SessionID=${next}; GW-IP=${gatewayIp()}`,
      'Content-Type': 'application/x-msn-messenger',
      'Content-Length': out.length,
    });
    response.end(out);
  }

  /** Waits until the server has sent something and paused (15 ms), or the time is up, or it closed. */
  function collect(session: Session, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const deadline = setTimeout(done, ms);
      let quiet: NodeJS.Timeout | undefined;
      function done() {
        clearTimeout(deadline);
        clearTimeout(quiet);
        resolve();
      }
      const wait = () => {
        if (session.closed) return done();
        if (session.queued.length > 0) {
          clearTimeout(quiet);
          quiet = setTimeout(done, 15);
        }
        session.waiters.push(wait);
      };
      if (session.closed) done();
      else {
        if (session.queued.length > 0) quiet = setTimeout(done, 15);
        session.waiters.push(wait);
      }
    });
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, host, resolve));
  const port = (server.address() as net.AddressInfo).port;
  const extra: http.Server[] = [];
  for (const other of options.extraHosts ?? []) {
    const copy = http.createServer((request, response) => server.emit('request', request, response));
    await new Promise<void>((resolve) => copy.listen(port, other, resolve));
    extra.push(copy);
  }
  return {
    host,
    port,
    requests,
    sessions: () => sessions.size,
    async close() {
      for (const session of sessions.values()) session.socket.destroy();
      for (const each of [server, ...extra]) {
        each.closeAllConnections();
        await new Promise<void>((resolve) => each.close(() => resolve()));
      }
    },
  };
}

/** How the client reaches the gateway. */
export type GatewayRoute =
  | { kind: 'direct' }
  /** A plain HTTP proxy: absolute URIs. */
  | { kind: 'proxy'; host: string; port: number; username?: string; password?: string }
  /** An HTTP CONNECT tunnel to the gateway's address. */
  | { kind: 'connect'; host: string; port: number };

export interface GatewayAddress {
  /** The address the client connects to (directly, or through a CONNECT tunnel). */
  host: string;
  port: number;
  /** The name the first request uses (the official client's `gateway.messenger.hotmail.com`); default `host`. */
  name?: string;
}

/** Reads one HTTP response off a buffer: head and body (Content-Length), or undefined until complete. */
function takeResponse(buffer: Buffer): { status: number; headers: Map<string, string>; body: Buffer; rest: Buffer } | undefined {
  const end = buffer.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = buffer.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(lines[0]!.split(' ')[1]);
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const length = Number(headers.get('content-length') ?? 0);
  if (buffer.length < end + 4 + length) return undefined;
  return { status, headers, body: buffer.subarray(end + 4, end + 4 + length), rest: buffer.subarray(end + 4 + length) };
}

/** One MSN session (notification server or switchboard) over the HTTP gateway, used like `MsnConnection`. */
export class MsnHttpConnection {
  readonly inbox: Received[] = [];
  readonly closed: Promise<void>;
  /** The HTTP status and X-MSN-Messenger header of every response. */
  readonly responses: Array<{ status: number; messenger: string | undefined; bytes: number; declared: number }> = [];
  private waiters: Array<{ match: (r: Received) => boolean; resolve: (r: Received) => void }> = [];
  private trid = 1;
  private queue: Buffer[] = [];
  private sessionId: string | undefined;
  private gatewayHost: string;
  private busy = false;
  private ended = false;
  private socket: net.Socket | undefined;
  /** The gateway address the socket was opened to (direct route). */
  private socketHost: string | undefined;
  private connecting: Promise<net.Socket> | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private answer: { resolve: (response: { status: number; headers: Map<string, string>; body: Buffer }) => void; reject: (error: Error) => void } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly reader: CommandReader;
  private resolveClosed!: () => void;
  private readonly route: GatewayRoute;
  private readonly gateway: GatewayAddress;
  private readonly server: 'NS' | 'SB';
  private readonly ip: string;

  constructor(route: GatewayRoute, gateway: GatewayAddress, server: 'NS' | 'SB', ip: string) {
    this.route = route;
    this.gateway = gateway;
    this.server = server;
    this.ip = ip;
    this.gatewayHost = gateway.name ?? gateway.host;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.reader = new CommandReader((words, payload) => {
      const item: Received = { words, ...(payload ? { payload } : {}) };
      const waiter = this.waiters.find((w) => w.match(item));
      if (waiter) {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter.resolve(item);
      } else this.inbox.push(item);
    });
  }

  send(command: string, rest = ''): number {
    const trid = this.trid++;
    this.sendRaw(`${command} ${trid}${rest ? ` ${rest}` : ''}\r\n`);
    return trid;
  }

  sendRaw(bytes: string | Buffer): void {
    this.queue.push(typeof bytes === 'string' ? Buffer.from(bytes) : bytes);
    this.pump();
  }

  sendMessage(ack: 'U' | 'N' | 'A' | 'D', body: string | Buffer): number {
    const trid = this.trid++;
    this.sendRaw(payloadCommand(`MSG ${trid} ${ack}`, body));
    return trid;
  }

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

  /** Stops talking to the gateway and closes the HTTP connection (the session stays open there, as after a crash). */
  end(): void {
    this.finish();
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.timer);
    this.socket?.destroy();
    this.resolveClosed();
  }

  /** Sends what is queued, or polls, when no request is unanswered. */
  private pump(): void {
    if (this.busy || this.ended) return;
    if (this.sessionId === undefined && this.queue.length === 0) return;
    clearTimeout(this.timer);
    const body = Buffer.concat(this.queue.splice(0));
    const query =
      this.sessionId === undefined
        ? `Action=open&Server=${this.server}&IP=${this.ip}`
        : body.length > 0
          ? `SessionID=${this.sessionId}`
          : `Action=poll&SessionID=${this.sessionId}`;
    this.busy = true;
    void this.request(query, body).then(
      (response) => {
        this.busy = false;
        const messenger = response.headers.get('x-msn-messenger');
        this.responses.push({ status: response.status, messenger, bytes: response.body.length, declared: Number(response.headers.get('content-length') ?? 0) });
        if (response.status !== 200) {
          this.finish();
          return;
        }
        for (const part of (messenger ?? '').split(';')) {
          const [name, value] = part.trim().split('=');
          if (name === 'SessionID') this.sessionId = value;
          if (name === 'GW-IP' && value) this.gatewayHost = value;
        }
        this.reader.push(response.body);
        if (/Session=close/.test(messenger ?? '')) {
          this.finish();
          return;
        }
        if (this.queue.length > 0) this.pump();
        else this.timer = setTimeout(() => this.pump(), 40);
      },
      () => this.finish(),
    );
  }

  private async request(query: string, body: Buffer): Promise<{ status: number; headers: Map<string, string>; body: Buffer }> {
    const socket = await this.connection();
    const viaProxy = this.route.kind === 'proxy';
    const authority = `${this.gatewayHost}:${this.gateway.port}`;
    const target = `${viaProxy ? `http://${authority}` : ''}/gateway/gateway.dll?${query}`;
    const lines = [
      `POST ${target} HTTP/1.1`,
      'Accept: */*',
      'Accept-Language: en-us',
      'User-Agent: MSMSGS',
      `Host: ${authority}`,
      ...(viaProxy ? ['Proxy-Connection: Keep-Alive'] : []),
      ...(this.route.kind === 'proxy' && this.route.username !== undefined
        ? [`Proxy-Authorization: Basic ${Buffer.from(`${this.route.username}:${this.route.password ?? ''}`).toString('base64')}`]
        : []),
      'Connection: Keep-Alive',
      'Pragma: no-cache',
      'Content-Type: application/x-msn-messenger',
      `Content-Length: ${body.length}`,
    ];
    const answered = new Promise<{ status: number; headers: Map<string, string>; body: Buffer }>((resolve, reject) => (this.answer = { resolve, reject }));
    socket.write(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), body]));
    return answered;
  }

  /** The keep-alive connection to the gateway (or the proxy), opened again when it was closed. */
  private connection(): Promise<net.Socket> {
    // Straight to the gateway, a client connects to the address it was told (GW-IP); through a proxy the proxy does.
    if (this.socket && this.route.kind === 'direct' && this.socketHost !== this.gatewayHost) {
      this.socket.destroy();
      this.socket = undefined;
    }
    if (this.socket && !this.socket.destroyed) return Promise.resolve(this.socket);
    this.connecting ??= this.open().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async open(): Promise<net.Socket> {
    const route = this.route;
    const to = route.kind === 'direct' ? { host: this.gatewayHost, port: this.gateway.port } : route;
    this.socketHost = this.gatewayHost;
    const socket = net.connect({ host: to.host, port: to.port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.on('error', () => socket.destroy());
    this.buffer = Buffer.alloc(0);
    if (route.kind === 'connect') {
      socket.write(`CONNECT ${this.gateway.host}:${this.gateway.port} HTTP/1.1\r\nHost: ${this.gateway.host}:${this.gateway.port}\r\n\r\n`);
      await new Promise<void>((resolve, reject) => {
        let head = Buffer.alloc(0);
        const onData = (d: Buffer) => {
          head = Buffer.concat([head, d]);
          const end = head.indexOf('\r\n\r\n');
          if (end < 0) return;
          socket.off('data', onData);
          if (!/^HTTP\/1\.[01] 200 /.test(head.toString('latin1'))) reject(new Error(`CONNECT refused: ${head.toString('latin1').split('\r\n')[0]}`));
          else resolve();
        };
        socket.on('data', onData);
      });
    }
    socket.on('data', (d: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, d]);
      const response = takeResponse(this.buffer);
      if (!response) return;
      this.buffer = response.rest;
      const answer = this.answer;
      this.answer = undefined;
      answer?.resolve(response);
    });
    socket.on('close', () => {
      if (this.socket === socket) this.socket = undefined;
      // A request the connection took down with it: the session is over for this client.
      const answer = this.answer;
      this.answer = undefined;
      answer?.reject(new Error('the HTTP connection closed before the response'));
    });
    this.socket = socket;
    return socket;
  }
}

/** A session over the gateway: its first command opens it (`Action=open`). */
export function connectMsnHttp(route: GatewayRoute, gateway: GatewayAddress, server: 'NS' | 'SB', ip: string): MsnHttpConnection {
  return new MsnHttpConnection(route, gateway, server, ip);
}
