import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/load.js';
import { Engine } from '../src/runtime/engine.js';
import type { ImEvent } from '@imspect/sdk';
import { closeServer, removeTempDirs, tempDir, writeTree } from './helpers.js';
import { relayClient, upstreamServer } from './relay-harness.js';

afterAll(removeTempDirs);

/** Plain-JS plugins (no imports), as third parties would ship them. */
const LINES_PLUGIN = `
export default {
  [Symbol.for('imspect.plugin')]: true,
  name: 'lines',
  kind: 'protocol',
  setup: () => ({
    ports: [],
    createSession() {
      const held = { outgoing: Buffer.alloc(0), incoming: Buffer.alloc(0) };
      return {
        push(direction, chunk) {
          const buf = Buffer.concat([held[direction], chunk]);
          const frames = [];
          let start = 0;
          for (let lf = buf.indexOf(10); lf >= 0; lf = buf.indexOf(10, start)) {
            const raw = buf.subarray(start, lf + 1);
            start = lf + 1;
            const m = /^MSG (\\S+) (.*)\\n$/s.exec(raw.toString());
            frames.push(m ? { raw, events: [{ type: 'message', localId: 'me', remoteId: m[1], text: m[2] }] } : { raw });
          }
          held[direction] = buf.subarray(start);
          return frames;
        },
      };
    },
  }),
};
`;

const MEMORY_LOGGER = `
export default {
  [Symbol.for('imspect.plugin')]: true,
  name: 'memory',
  kind: 'logger',
  options: { type: 'object', properties: { key: { type: 'string' } }, required: ['key'], additionalProperties: false },
  setup: ({ options }) => {
    const store = (globalThis[options.key] = { events: [], closed: 0 });
    return {
      async write(events) { store.events.push(...events); },
      async close() { store.closed++; },
    };
  },
};
`;

describe('Engine', () => {
  it('loads plugins from a configured folder, relays through a forward listener, logs events, stops cleanly', async () => {
    const dir = await tempDir();
    const plugins = path.join(dir, 'plugins');
    await writeTree(plugins, {
      'lines/package.json': JSON.stringify({ name: 'imspect-plugin-lines', type: 'module', main: 'index.js', imspect: { kind: 'protocol', host: '^0.1.0' } }),
      'lines/index.js': LINES_PLUGIN,
      'memory/package.json': JSON.stringify({ name: 'imspect-plugin-memory', type: 'module', main: 'index.js', imspect: { kind: 'logger', host: '^0.1.0' } }),
      'memory/index.js': MEMORY_LOGGER,
      'broken/package.json': JSON.stringify({ name: 'imspect-plugin-broken', type: 'module', imspect: { kind: 'filter', host: '^0.1.0' } }),
      'broken/index.js': 'export default {{{',
    });
    const server = await upstreamServer();
    const key = `__imspect_engine_test_${Date.now()}`;
    const loaded = resolveConfig(
      {
        dataDir: 'data',
        pluginFolders: ['plugins'],
        listeners: [{ type: 'forward', port: 0, upstream: { host: '127.0.0.1', port: server.port }, protocol: 'lines', allow: ['127.0.0.1'] }],
        // The broken filter is marked optional: it is reported and imspect runs without it.
        plugins: { memory: { options: { key } }, broken: { optional: true } },
        loggers: { flushIntervalMs: 5 },
      },
      path.join(dir, 'imspect.config.json'),
      dir,
    );
    const records: Array<{ obj: unknown; msg?: string }> = [];
    const logger = {
      trace() {},
      debug() {},
      info() {},
      warn: (obj: unknown, msg?: string) => void records.push({ obj, ...(msg ? { msg } : {}) }),
      error: (obj: unknown, msg?: string) => void records.push({ obj, ...(msg ? { msg } : {}) }),
      child() {
        return logger;
      },
    };
    const engine = new Engine({ loaded, logger, pluginRoots: [dir], shutdownGraceMs: 1_000 });
    try {
      await engine.start();
      expect(engine.plugins.map((p) => `${p.name} ${p.status}`).sort()).toEqual(['broken failed', 'lines loaded', 'memory loaded']);
      expect(records.some((r) => (r.obj as { plugin?: string }).plugin === 'broken')).toBe(true);
      const status = engine.status();
      expect(status.dataDir).toBe(path.join(dir, 'data'));
      expect(status.listeners).toHaveLength(1);
      const port = Number(status.listeners[0]!.split(':').pop());
      const seen: ImEvent[] = [];
      engine.onEvents((events) => seen.push(...events));
      const c = await relayClient(port);
      c.socket.end('MSG bob hello\nNOISE\n');
      const back = await c.ended;
      expect(back.toString()).toBe('MSG bob hello\nNOISE\n');
      expect(seen.map((e) => `${e.protocol} ${e.direction} ${e.remoteId} ${e.text}`)).toEqual(['lines outgoing bob hello', 'lines incoming bob hello']);
    } finally {
      await engine.stop();
      await server.close();
    }
    const store = (globalThis as unknown as Record<string, { events: ImEvent[]; closed: number }>)[key]!;
    expect(store.events.map((e) => e.text)).toEqual(['hello', 'hello']);
    expect(store.closed).toBe(1);
    expect(engine.status().connections).toBe(0);
  });

  it('a logger or filter that fails to load or set up fails start(), naming each, and closes what did start', async () => {
    const dir = await tempDir();
    const key = `__imspect_engine_required_${Date.now()}`;
    await writeTree(path.join(dir, 'plugins'), {
      'memory/package.json': JSON.stringify({ name: 'imspect-plugin-memory', type: 'module', main: 'index.js', imspect: { kind: 'logger', host: '^0.1.0' } }),
      'memory/index.js': MEMORY_LOGGER,
      'refusing/package.json': JSON.stringify({ name: 'imspect-plugin-refusing', type: 'module', main: 'index.js', imspect: { kind: 'logger', host: '^0.1.0' } }),
      'refusing/index.js': `export default { [Symbol.for('imspect.plugin')]: true, name: 'refusing', kind: 'logger', setup() { throw new Error('no archive here'); } };`,
      'broken/package.json': JSON.stringify({ name: 'imspect-plugin-broken', type: 'module', imspect: { kind: 'filter', host: '^0.1.0' } }),
      'broken/index.js': 'export default {{{',
    });
    const loaded = resolveConfig(
      { dataDir: 'data', pluginFolders: ['plugins'], listeners: [{ type: 'socks5', port: 0 }], plugins: { memory: { options: { key } } } },
      path.join(dir, 'imspect.config.json'),
      dir,
    );
    const noop = () => undefined;
    const logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, child: () => logger };
    const engine = new Engine({ loaded, logger, pluginRoots: [dir], shutdownGraceMs: 100 });
    const failure = await engine.start().then(
      () => undefined,
      (error: unknown) => error as Error & { code?: string; plugins?: string[] },
    );
    expect(failure?.code).toBe('PLUGIN_START_FAILED');
    expect(failure?.plugins?.slice().sort()).toEqual(['broken', 'refusing']);
    expect(failure?.message).toContain('logger plugin "refusing" failed to start (setup): plugin "refusing" failed in setup: no archive here');
    expect(failure?.message).toMatch(/filter plugin "broken" failed to start \(import\): import of .* failed/);
    // Nothing was bound, and the logger that did start was closed again.
    expect(engine.listeners).toEqual([]);
    expect((globalThis as unknown as Record<string, { closed: number }>)[key]!.closed).toBe(1);
  });

  it('a listener that cannot start fails start() and leaves nothing running', async () => {
    const dir = await tempDir();
    const net = await import('node:net');
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen({ host: '127.0.0.1', port: 0 }, () => r()));
    const busyPort = (blocker.address() as import('node:net').AddressInfo).port;
    const loaded = resolveConfig(
      {
        listeners: [
          { type: 'socks5', port: 0 },
          { type: 'socks5', port: busyPort },
        ],
      },
      undefined,
      dir,
    );
    const noop = () => undefined;
    const logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, child: () => logger };
    const engine = new Engine({ loaded, logger, pluginRoots: [dir], shutdownGraceMs: 100 });
    await expect(engine.start()).rejects.toThrow(`cannot listen on 127.0.0.1:${busyPort} (socks5): the port is in use`);
    // The first listener was closed again: its port accepts no connection.
    const first = engine.listeners[0]!;
    const refused = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: first.address.port });
      s.once('connect', () => (s.destroy(), resolve(false)));
      s.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
    await closeServer(blocker);
  });
});
