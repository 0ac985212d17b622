/**
 * A third-party logger that raises errors where nobody handles them: its "driver connection" emits 'error'
 * with no listener, one of its timers throws, it rejects a promise it never awaits, and its write() throws
 * synchronously. Each of these used to end imspect, and with it every user's chat. Now the write is retried,
 * the stray errors are logged with the plugin's name (and without the secrets hung on them), chats go on, and
 * the logger ends up with every event exactly once.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it, describe } from 'vitest';
import { waitUntil } from '../support/cli-run.js';
import { startImspect, type RunningImspect } from '../support/imspect-process.js';
import { freePort } from '../support/ngircd.js';
import { connectScriptedClient, startScriptedIrcServer, type ScriptedIrcServer } from '../support/scripted-irc.js';

/** Plain JS, as a third party would ship it. Every third write fails in all four ways at once. */
const SLOPPY_LOGGER = `
import { EventEmitter } from 'node:events';
import { appendFileSync } from 'node:fs';
export default {
  [Symbol.for('imspect.plugin')]: true,
  name: 'sloppy',
  kind: 'logger',
  options: { type: 'object', properties: { file: { type: 'string' } }, required: ['file'], additionalProperties: false },
  setup({ options }) {
    const stored = new Set();
    const connection = new EventEmitter(); // nobody listens for its 'error'
    let writes = 0;
    return {
      write(events) {
        writes++;
        if (writes % 3 === 1) {
          setTimeout(() => connection.emit('error', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', client: { password: 'hunter2-secret' } })), 1);
          setTimeout(() => { throw new Error('a timer of the sloppy logger threw'); }, 1);
          Promise.reject(new Error('a promise the sloppy logger forgot'));
          throw new Error('connection reset while writing');
        }
        for (const event of events) {
          if (stored.has(event.id)) continue;
          stored.add(event.id);
          appendFileSync(options.file, event.id + '\\n');
        }
        return Promise.resolve();
      },
    };
  },
};
`;

const ROUNDS = 12;
const PER_ROUND = 15;

describe('stray errors of a logger plugin', () => {
  let dir: string;
  let server: ScriptedIrcServer;
  let imspect: RunningImspect | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-stray-'));
    server = await startScriptedIrcServer();
  });

  afterAll(async () => {
    await imspect?.stop();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('are contained and named; the write is retried, chats go on, every event is stored once', async () => {
    const plugin = path.join(dir, 'plugins/sloppy');
    await mkdir(plugin, { recursive: true });
    await writeFile(
      path.join(plugin, 'package.json'),
      JSON.stringify({ name: 'imspect-plugin-sloppy', type: 'module', main: 'index.js', imspect: { kind: 'logger', host: '^0.1.0' } }),
    );
    await writeFile(path.join(plugin, 'index.js'), SLOPPY_LOGGER);
    const stored = path.join(dir, 'stored.txt');
    const port = await freePort();
    await writeFile(
      path.join(dir, 'imspect.config.json'),
      JSON.stringify({
        pluginFolders: ['plugins'],
        listeners: [{ type: 'forward', port, upstream: { host: '127.0.0.1', port: server.port }, protocol: 'irc' }],
        plugins: { sloppy: { options: { file: stored } }, 'logger-sql': { enabled: false } },
        loggers: { flushIntervalMs: 5, batchSize: 10, retryMaxDelayMs: 50 },
        log: { format: 'json' },
      }),
    );
    const running = await startImspect([], { cwd: dir });
    imspect = running;
    const alive = () => running.child.exitCode === null && running.child.signalCode === null;
    const alice = await connectScriptedClient(port, 'alice');
    let sent = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < PER_ROUND; i++) alice.say(i % 2 ? '#chan' : 'bob', `round ${round} message ${i}`);
      sent += PER_ROUND;
      await waitUntil(() => server.received.length === sent || !alive(), 10_000, `round ${round} to reach the server`);
      expect(alive(), `imspect died in round ${round}:\n${running.stderr().slice(-3000)}`).toBe(true);
    }
    expect(server.received).toHaveLength(sent);

    const lines = async () => (await readFile(stored, 'utf8').catch(() => '')).split('\n').filter(Boolean);
    // login + the messages
    await waitUntil(async () => (await lines()).length >= 1 + sent || !alive(), 20_000, 'the sloppy logger to store every event');
    expect(alive(), running.stderr().slice(-3000)).toBe(true);
    const ids = await lines();
    expect(ids).toHaveLength(1 + sent);
    expect(new Set(ids).size).toBe(ids.length);

    const log = running.stderr();
    expect(log).toMatch(/"plugin":"sloppy".*"kind":"uncaught exception".*read ECONNRESET/);
    expect(log).toMatch(/"plugin":"sloppy".*"kind":"uncaught exception".*a timer of the sloppy logger threw/);
    expect(log).toMatch(/"plugin":"sloppy".*"kind":"unhandled rejection".*a promise the sloppy logger forgot/);
    expect(log).toMatch(/logger \\"sloppy\\" failed to write .*connection reset while writing|connection reset while writing.*logger \\"sloppy\\" failed to write/);
    expect(log).not.toContain('hunter2-secret');

    alice.close();
    expect(await running.stop()).toBe(0);
    imspect = undefined;
  }, 120_000);
});
