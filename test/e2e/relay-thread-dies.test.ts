/**
 * A relay thread that dies (here: a filter plugin ends its thread) must not take imspect with it: the death is
 * logged, the other thread goes on relaying and logging new connections, imspect still stops cleanly, and what
 * the dead thread journaled is delivered at the next start.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../support/cli-run.js';
import { readCsvLogs } from '../support/csv-logs.js';
import { writeLocalPlugin } from '../support/local-plugin.js';
import { startImspect, type RunningImspect } from '../support/imspect-process.js';
import { startScriptedIrcServer, type ScriptedIrcServer } from '../support/scripted-irc.js';
import { socksConnect } from '../support/socks5.js';

/** A filter that ends the thread it runs in when a message says `die now` (as a crashing native module would). */
const KILLER = `
export default {
  [Symbol.for('imspect.plugin')]: true, name: 'killer', kind: 'filter',
  setup() {
    return { check(event) { if (event.text === 'die now') process.exit(3); return { action: 'pass' }; } };
  },
};
`;

interface Client {
  socket: net.Socket;
  say(text: string): void;
}

/** Through imspect's SOCKS5 listener to the scripted server, registered as `nick`. */
async function connect(proxy: RunningImspect, serverPort: number, nick: string): Promise<Client> {
  const url = new URL(/listening: (\S+)/.exec(proxy.stdout())![1]!);
  const socket = await socksConnect({ host: url.hostname, port: Number(url.port) }, '127.0.0.1', serverPort);
  socket.on('error', () => undefined);
  let seen = '';
  socket.setEncoding('utf8');
  const welcomed = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${nick} was not welcomed`)), 10_000);
    socket.on('data', (chunk: string) => {
      seen += chunk;
      if (seen.includes(' 001 ')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  socket.write(`NICK ${nick}\r\nUSER ${nick} 0 * :${nick}\r\n`);
  await welcomed;
  return { socket, say: (text) => socket.write(`PRIVMSG #room :${text}\r\n`) };
}

/** Which relay thread relayed each connection, by client address: from the `connection open` log lines (`conn` is `<thread>.<n>`). */
function threadOf(stderr: string): Map<string, string> {
  const byPort = new Map<string, string>();
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const record = JSON.parse(line) as { msg?: string; conn?: string; client?: string };
      if (record.msg?.startsWith('connection open') && record.conn && record.client) byPort.set(record.client, record.conn.split('.')[0]!);
    } catch {
      // not a log record
    }
  }
  return byPort;
}

describe('a relay thread that dies (workers: 2)', () => {
  let dir: string;
  let server: ScriptedIrcServer;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-thread-dies-'));
    server = await startScriptedIrcServer();
    await writeLocalPlugin(path.join(dir, 'plugins'), 'killer', 'filter', KILLER);
    await writeFile(
      path.join(dir, 'imspect.config.json'),
      JSON.stringify({
        workers: 2,
        dataDir: 'data',
        pluginFolders: ['plugins'],
        listeners: [{ type: 'socks5', host: '127.0.0.1', port: 0 }],
        ports: { [String(server.port)]: 'irc' },
        log: { level: 'info', format: 'json' },
      }),
    );
  });

  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('is logged; the other thread goes on; imspect stops cleanly; its journal is delivered at the next start', async () => {
    let proxy: RunningImspect | undefined = await startImspect([], { cwd: dir });
    const clients: Client[] = [];
    try {
      // Connections until each thread has one (the kernel picks the thread).
      const byClient = () => threadOf(proxy!.stderr());
      for (let i = 0; i < 40 && new Set(byClient().values()).size < 2; i++) {
        clients.push(await connect(proxy, server.port, `user${i}`));
        await waitUntil(() => byClient().size >= clients.length, 5_000, 'the connection log line');
      }
      expect(new Set(byClient().values()).size).toBe(2);
      const threadOfClient = (client: Client) => byClient().get(`127.0.0.1:${client.socket.localPort}`);
      const victim = clients.find((c) => threadOfClient(c) === '1')!;
      const survivor = clients.find((c) => threadOfClient(c) === '2')!;
      // Journaled in thread 1 and relayed before it dies: the loggers must still get it (now or at the next start).
      victim.say('said before the end');
      await waitUntil(() => server.received.includes('said before the end'), 5_000, 'the first message to arrive');
      victim.say('die now');
      await waitUntil(() => /relay thread 1 stopped unexpectedly/.test(proxy!.stderr()), 10_000, 'the death to be logged');

      survivor.say('the survivor still talks');
      await waitUntil(() => server.received.includes('the survivor still talks'), 5_000, "the surviving thread's message");
      // New connections reach the surviving thread only: its socket is the port's last one.
      for (let i = 0; i < 4; i++) {
        const late = await connect(proxy, server.port, `late${i}`);
        clients.push(late);
        late.say(`late message ${i}`);
      }
      await waitUntil(() => [0, 1, 2, 3].every((i) => server.received.includes(`late message ${i}`)), 5_000, 'the late messages');

      for (const client of clients) client.socket.destroy();
      const code = await proxy.stop();
      expect(code, proxy.stderr()).toBe(0);
      proxy = undefined;
      const texts = async () => (await readCsvLogs(path.join(dir, 'data', 'logs'))).filter((r) => r.type === 1).map((r) => r.text);
      expect(await texts()).toEqual(expect.arrayContaining(['the survivor still talks', 'late message 0', 'late message 3']));

      // The next start (one thread) delivers what thread 1 journaled and could not hand over.
      const configFile = path.join(dir, 'imspect.config.json');
      await writeFile(configFile, JSON.stringify({ ...JSON.parse(await readFile(configFile, 'utf8')), workers: 1 }));
      proxy = await startImspect([], { cwd: dir });
      await waitUntil(async () => (await texts()).includes('said before the end'), 10_000, "the dead thread's event at the next start");
      expect((await texts()).filter((t) => t === 'said before the end')).toHaveLength(1);
    } finally {
      for (const client of clients) client.socket.destroy();
      await proxy?.stop();
    }
  });
});
