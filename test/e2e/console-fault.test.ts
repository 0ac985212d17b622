/**
 * The proxy keeps relaying when its console fails. imspect's engine and console run in this process (as
 * `imspect start` runs them), with a real ngircd, alice through the SOCKS5 listener and bob directly. The
 * console is broken twice while alice talks: a live-view stream whose socket throws on every write, then the
 * console's HTTP server failing and closing under it. Each of alice's messages still reaches bob and is
 * archived, and each failure is logged as the console's, saying that relaying goes on.
 */
import type { ServerResponse } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Engine, resolveConfig } from '../../packages/core/dist/runtime/index.js';
import { startConsoleFor } from '../../packages/cli/dist/console-start.js';
import { CLI_DIR } from '../../packages/cli/dist/shared.js';
import { openArchive, resolveTarget, type ArchiveStore } from '../../packages/logger-sql/dist/index.js';
import { waitUntil } from '../support/cli-run.js';
import { describeWithService, findExecutable } from '../support/e2e.js';
import { IRC, waitFor, type IrcClient } from '../support/irc-client.js';
import { startNgircd, type RunningNgircd } from '../support/ngircd.js';

const ngircdPath = findExecutable('ngircd');

type Record_ = { level: string; obj: unknown; msg?: string };

async function connectIrc(nick: string, options: Record<string, unknown>): Promise<IrcClient> {
  const client = new IRC.Client();
  const registered = waitFor(client, 'registered', () => true, `${nick} to register`);
  client.connect({ nick, username: nick, gecos: `${nick} test`, auto_reconnect: false, ping_interval: 0, ...options });
  await registered;
  return client;
}

/** A response whose socket throws on every write, as a stream broken under the live view would. */
function throwingResponse(): ServerResponse {
  const listeners = new Map<string, Array<() => void>>();
  return {
    writeHead: () => undefined,
    write: (text: string) => {
      if (text.startsWith('event: im')) throw new Error('write EPIPE (socket broken under the live view)');
      return true;
    },
    end: () => undefined,
    on: (name: string, fn: () => void) => void listeners.set(name, [...(listeners.get(name) ?? []), fn]),
    writableLength: 0,
  } as unknown as ServerResponse;
}

describeWithService(
  'imspect relays and archives while its console fails (ngircd + irc-framework)',
  ngircdPath ? undefined : 'ngircd is not installed (apt-get install ngircd)',
  () => {
    let ngircd: RunningNgircd;
    let dir: string;
    let engine: InstanceType<typeof Engine>;
    let webConsole: Awaited<ReturnType<typeof startConsoleFor>>;
    let archive: ArchiveStore;
    let alice: IrcClient;
    let bob: IrcClient;
    const bobHeard: string[] = [];
    const records: Record_[] = [];

    const logger = {
      trace() {},
      debug() {},
      info() {},
      warn: (obj: unknown, msg?: string) => void records.push({ level: 'warn', obj, ...(msg ? { msg } : {}) }),
      error: (obj: unknown, msg?: string) => void records.push({ level: 'error', obj, ...(msg ? { msg } : {}) }),
      fatal: (obj: unknown, msg?: string) => void records.push({ level: 'fatal', obj, ...(msg ? { msg } : {}) }),
      child: () => logger,
    };

    async function archived(text: string): Promise<boolean> {
      const page = await archive.page({ text }, { size: 5 });
      return page.messages.some((m) => m.text === text);
    }

    async function saysAndIsKept(text: string): Promise<void> {
      alice.say('bob', text);
      await waitUntil(() => bobHeard.includes(text), 10_000, `bob to hear "${text}"`);
      await waitUntil(() => archived(text), 10_000, `"${text}" in the archive`);
    }

    beforeAll(async () => {
      ngircd = await startNgircd(ngircdPath!);
      dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-e2e-console-fault-'));
      const config = {
        dataDir: 'data',
        listeners: [{ type: 'socks5', host: '127.0.0.1', port: 0 }],
        ports: { [String(ngircd.port)]: 'irc' },
        loggers: { flushIntervalMs: 20 },
        console: { enabled: true, host: '127.0.0.1', port: 0 },
      };
      await writeFile(path.join(dir, 'imspect.config.json'), JSON.stringify(config));
      const loaded = resolveConfig(config, path.join(dir, 'imspect.config.json'), dir);
      engine = new Engine({ loaded, logger, pluginRoots: [CLI_DIR], builtinFrom: CLI_DIR, shutdownGraceMs: 2_000 });
      await engine.start();
      webConsole = await startConsoleFor(engine, loaded, undefined, () => 'off');
      expect(engine.plugins.find((p) => p.name === 'logger-sql')?.status).toBe('loaded');
      archive = openArchive(resolveTarget(undefined, loaded.dataDir));
      const socksUrl = new URL(engine.listeners[0]!.url);
      bob = await connectIrc('bob', { host: '127.0.0.1', port: ngircd.port });
      bob.on('privmsg', (e) => bobHeard.push(String(e['message'])));
      alice = await connectIrc('alice', { host: '127.0.0.1', port: ngircd.port, socks: { host: socksUrl.hostname, port: Number(socksUrl.port) } });
    });

    afterAll(async () => {
      alice?.quit('bye');
      bob?.quit('bye');
      await webConsole?.close();
      await archive?.close();
      await engine?.stop();
      await ngircd?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('relays and archives with the console up', async () => {
      const response = await fetch(webConsole!.url);
      expect(response.status).toBe(200);
      await saysAndIsKept('before anything breaks');
    });

    it('a live-view stream that throws is closed and logged; every message still relays and is archived', async () => {
      const hub = webConsole!.app.liveHub;
      expect(hub.open(throwingResponse(), {}, () => true, {})).toBe(true);
      expect(hub.size).toBe(1);
      await saysAndIsKept('while the live view breaks');
      await saysAndIsKept('after the live view broke');
      expect(hub.size).toBe(0);
      const logged = records.filter((r) => r.msg?.includes('live-view stream failed'));
      expect(logged.length).toBe(1);
      expect(logged[0]!.msg).toMatch(/^console: .*relaying and archiving go on/);
      expect(JSON.stringify(logged[0]!.obj)).toContain('EPIPE');
    });

    it('a console HTTP server that fails and closes is logged; relaying and archiving go on', async () => {
      const server = webConsole!.app.server;
      server.emit('error', Object.assign(new Error('accept EMFILE: too many open files'), { code: 'EMFILE' }));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await expect(fetch(webConsole!.url)).rejects.toThrow();
      await saysAndIsKept('with the console gone');
      for (let i = 0; i < 5; i++) alice.say('bob', `burst ${i}`);
      await waitUntil(() => bobHeard.includes('burst 4'), 10_000, 'bob to hear the burst');
      await waitUntil(() => archived('burst 4'), 10_000, 'the burst in the archive');
      const messages = records.map((r) => r.msg ?? '');
      expect(messages).toContain('console: its HTTP server failed; relaying and archiving go on');
      expect(messages.some((m) => /^console: its HTTP server closed unexpectedly; .*relaying and archiving go on/.test(m))).toBe(true);
      expect(JSON.stringify(records.find((r) => r.msg?.startsWith('console: its HTTP server failed'))!.obj)).toContain('EMFILE');
      // Nothing else failed: no stray error, no logger failure.
      expect(records.filter((r) => r.level === 'error' && !r.msg?.startsWith('console: '))).toEqual([]);
    });

    it('stops cleanly after the console closed by itself', async () => {
      await expect(webConsole!.close()).resolves.toBeUndefined();
    });
  },
);
