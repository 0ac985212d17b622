/**
 * A scripted IRC pair for delivery tests: a minimal server that welcomes a client and records every PRIVMSG
 * it receives, and a client that registers and sends numbered messages. What the server received is exactly
 * what imspect forwarded, so it is what the archive must hold.
 */
import net from 'node:net';

export interface ScriptedIrcServer {
  port: number;
  /** Texts of the PRIVMSGs received, in order. */
  received: string[];
  close(): Promise<void>;
}

export async function startScriptedIrcServer(): Promise<ScriptedIrcServer> {
  const received: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffer = '';
    let nick = '*';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, end).replace(/\r$/, '');
        buffer = buffer.slice(end + 1);
        const [command, ...rest] = line.split(' ');
        if (command === 'NICK') nick = rest[0] ?? nick;
        else if (command === 'USER') socket.write(`:irc.scripted.test 001 ${nick} :Welcome ${nick}\r\n`);
        else if (command === 'PRIVMSG') {
          const colon = line.indexOf(' :');
          received.push(colon >= 0 ? line.slice(colon + 2) : '');
        } else if (command === 'PING') socket.write(`PONG ${rest.join(' ')}\r\n`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    received,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface ScriptedIrcClient {
  socket: net.Socket;
  say(target: string, text: string): boolean;
  close(): void;
}

/** Connects (to imspect's forward listener), registers as `nick`, resolves once welcomed. */
export function connectScriptedClient(port: number, nick: string): Promise<ScriptedIrcClient> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${nick} was not welcomed within 10 s`));
    }, 10_000);
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.setEncoding('utf8');
    let seen = '';
    socket.on('data', (chunk: string) => {
      seen += chunk;
      if (seen.includes(' 001 ')) {
        clearTimeout(timer);
        seen = '';
        resolve({
          socket,
          say: (target, text) => socket.write(`PRIVMSG ${target} :${text}\r\n`),
          close: () => socket.destroy(),
        });
      }
    });
    socket.write(`NICK ${nick}\r\nUSER ${nick} 0 * :${nick}\r\n`);
  });
}
