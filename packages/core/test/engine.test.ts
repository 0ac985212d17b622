import net from 'node:net';
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

/** A plugin of `kind` that records its setup (with how many listeners were bound then) and its close in `globalThis[key]`. */
function recordingPlugin(name: string, kind: string, key: string, close: string): string {
  const hooks =
    kind === 'logger' ? 'async write() {},' : kind === 'filter' ? "check() { return { action: 'pass' }; }," : 'ports: [], createSession() { return { push: () => [] }; },';
  return `
export default {
  [Symbol.for('imspect.plugin')]: true,
  name: '${name}',
  kind: '${kind}',
  setup: () => {
    const record = globalThis['${key}'];
    record.setups.push({ name: '${name}', listenersBound: record.engine.listeners.length });
    return { ${hooks} close() { record.closes.push('${name}'); ${close} } };
  },
};
`;
}

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
    // The port was bound first (plugins are set up after root is dropped) and is closed again; so is the logger
    // that did start.
    expect(engine.listeners).toHaveLength(1);
    const refused = await new Promise<string | undefined>((resolve) => {
      const socket = net.connect(engine.listeners[0]!.address.port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(undefined);
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code));
    });
    expect(refused).toBe('ECONNREFUSED');
    expect((globalThis as unknown as Record<string, { closed: number }>)[key]!.closed).toBe(1);
  });

  it('a listener that cannot start fails start() and leaves nothing running', async () => {
    const dir = await tempDir();
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen({ host: '127.0.0.1', port: 0 }, () => r()));
    const busyPort = (blocker.address() as net.AddressInfo).port;
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
  it('sets plugins up after binding the ports, and closes them in reverse order, each within its close timeout', async () => {
    const dir = await tempDir();
    const key = `__imspect_engine_order_${Date.now()}`;
    const manifest = (name: string, kind: string) => JSON.stringify({ name: `imspect-plugin-${name}`, type: 'module', main: 'index.js', imspect: { kind, host: '^0.1.0' } });
    await writeTree(path.join(dir, 'plugins'), {
      'a-proto/package.json': manifest('a-proto', 'protocol'),
      'a-proto/index.js': recordingPlugin('a-proto', 'protocol', key, ''),
      // Its close never ends: it is reported by name, and the plugins set up before it are closed all the same.
      'b-hang/package.json': manifest('b-hang', 'filter'),
      'b-hang/index.js': recordingPlugin('b-hang', 'filter', key, 'return new Promise(() => {});'),
      'c-store/package.json': manifest('c-store', 'logger'),
      'c-store/index.js': recordingPlugin('c-store', 'logger', key, "throw new Error('disk gone');"),
      'd-last/package.json': manifest('d-last', 'filter'),
      'd-last/index.js': recordingPlugin('d-last', 'filter', key, ''),
    });
    const loaded = resolveConfig({ dataDir: 'data', pluginFolders: ['plugins'], listeners: [{ type: 'socks5', port: 0 }] }, path.join(dir, 'imspect.config.json'), dir);
    const errors: Array<{ plugin?: string; hook?: string; msg: string }> = [];
    const noop = () => undefined;
    const logger = {
      trace: noop,
      debug: noop,
      info: noop,
      warn: noop,
      error: (obj: unknown, msg?: string) => errors.push({ ...(obj as { plugin?: string; hook?: string }), msg: msg ?? '' }),
      child: () => logger,
    };
    const engine = new Engine({ loaded, logger, pluginRoots: [dir], shutdownGraceMs: 100, hookTimeouts: { closeMs: 200 } });
    const record = { engine, setups: [] as Array<{ name: string; listenersBound: number }>, closes: [] as string[] };
    (globalThis as Record<string, unknown>)[key] = record;
    await engine.start();
    const setUp = record.setups.map((s) => s.name);
    expect(setUp.slice().sort()).toEqual(['a-proto', 'b-hang', 'c-store', 'd-last']);
    // Every setup ran with the port already bound (as root, it would be after the drop).
    expect(record.setups.every((s) => s.listenersBound === 1)).toBe(true);
    const started = Date.now();
    await engine.stop();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(record.closes).toEqual(setUp.slice().reverse());
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ plugin: 'b-hang', hook: 'close', msg: 'filter plugin "b-hang" did not close in time; the others are closed anyway' }),
        expect.objectContaining({
          plugin: 'c-store',
          hook: 'close',
          msg: expect.stringContaining('logger plugin "c-store" failed to close: plugin "c-store" failed in close: disk gone'),
        }),
      ]),
    );
  });
});
