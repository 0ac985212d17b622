import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, parseCidr, resolveConfig } from '../src/config/load.js';
import { LOOPBACK_NETWORKS } from '../src/config/schema.js';
import { ConfigError } from '../src/config/validate.js';
import { ImspectError } from '@imspect/sdk';
import { removeTempDirs, tempDir, writeTree } from './helpers.js';

afterAll(removeTempDirs);

/** Loads and expects a ConfigError; returns it. */
async function configError(options: Parameters<typeof loadConfig>[0]): Promise<ConfigError> {
  const error = await loadConfig(options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

async function dirWith(files: Record<string, string>): Promise<string> {
  const dir = await tempDir();
  await writeTree(dir, files);
  return dir;
}

describe('loadConfig defaults', () => {
  it('runs on the embedded defaults when there is no file', async () => {
    const cwd = await tempDir();
    const loaded = await loadConfig({ cwd });
    expect(loaded.file).toBeUndefined();
    expect(loaded.baseDir).toBe(cwd);
    expect(loaded.dataDir).toBe(path.join(cwd, 'imspect-data'));
    expect(loaded.config.listeners).toEqual([{ type: 'socks5', host: '127.0.0.1', port: 1080, allow: ['127.0.0.0/8', '::1/128'] }]);
    expect(loaded.config.pipeline).toEqual({ failMode: 'open', hookTimeoutMs: 2000 });
    expect(loaded.config.loggers).toEqual({
      batchSize: 200,
      maxBatchSize: 1000,
      flushIntervalMs: 250,
      retryMaxDelayMs: 30_000,
      writeTimeoutMs: 30_000,
      shutdownTimeoutMs: 0,
      journal: { enabled: true, dir: 'journal', maxBytes: 1024 * 1024 * 1024, segmentBytes: 16 * 1024 * 1024, fsyncIntervalMs: 100, onFull: 'forward', memoryEvents: 50_000 },
    });
    expect(loaded.config.plugins).toEqual({});
    expect(loaded.config.pluginFolders).toEqual([]);
    expect(loaded.config.log).toEqual({ level: 'info', format: 'auto' });
  });

  it('gives each load its own copy of the default allow list', async () => {
    const a = await loadConfig({ cwd: await tempDir() });
    (a.config.listeners[0]!.allow as string[]).push('0.0.0.0/0');
    const b = await loadConfig({ cwd: await tempDir() });
    expect(b.config.listeners[0]!.allow).toEqual(['127.0.0.0/8', '::1/128']);
    expect(LOOPBACK_NETWORKS).toEqual(['127.0.0.0/8', '::1/128']);
  });

  it('fills listener defaults in a file that gives only the type', async () => {
    const cwd = await dirWith({ '.imspectrc.json': JSON.stringify({ listeners: [{ type: 'socks5', port: 1090 }] }) });
    const { config } = await loadConfig({ cwd });
    expect(config.listeners).toEqual([{ type: 'socks5', host: '127.0.0.1', port: 1090, allow: ['127.0.0.0/8', '::1/128'] }]);
  });
});

describe('loadConfig search', () => {
  it('finds imspect.config.yaml in the working directory', async () => {
    const cwd = await dirWith({
      'imspect.config.yaml': ['dataDir: logs', 'listeners:', '  - type: forward', '    port: 6667', '    upstream: { host: irc.example.org, port: 6667 }', ''].join('\n'),
    });
    const loaded = await loadConfig({ cwd });
    expect(loaded.file).toBe(path.join(cwd, 'imspect.config.yaml'));
    expect(loaded.dataDir).toBe(path.join(cwd, 'logs'));
    expect(loaded.config.listeners).toEqual([{ type: 'forward', host: '127.0.0.1', port: 6667, upstream: { host: 'irc.example.org', port: 6667 }, allow: ['0.0.0.0/0', '::/0'] }]);
  });

  it('finds imspect.config.json in the working directory', async () => {
    const cwd = await dirWith({ 'imspect.config.json': JSON.stringify({ dataDir: 'd', pipeline: { failMode: 'closed' } }) });
    const loaded = await loadConfig({ cwd });
    expect(loaded.file).toBe(path.join(cwd, 'imspect.config.json'));
    expect(loaded.config.pipeline).toEqual({ failMode: 'closed', hookTimeoutMs: 2000 });
    expect(loaded.dataDir).toBe(path.join(cwd, 'd'));
  });

  it('finds .imspectrc.yaml', async () => {
    const cwd = await dirWith({ '.imspectrc.yaml': 'log:\n  level: debug\n' });
    const loaded = await loadConfig({ cwd });
    expect(loaded.file).toBe(path.join(cwd, '.imspectrc.yaml'));
    expect(loaded.config.log.level).toBe('debug');
  });

  it('reads package.json#imspect when it is a configuration', async () => {
    const cwd = await dirWith({ 'package.json': JSON.stringify({ name: 'site', imspect: { dataDir: '/var/lib/imspect' } }) });
    const loaded = await loadConfig({ cwd });
    expect(loaded.file).toBe(path.join(cwd, 'package.json'));
    expect(loaded.dataDir).toBe('/var/lib/imspect');
  });

  it('does not take a plugin package.json manifest for a configuration', async () => {
    const cwd = await dirWith({
      'package.json': JSON.stringify({ name: 'imspect-plugin-x', keywords: ['imspect-plugin'], imspect: { kind: 'protocol', host: '^0.1.0' } }),
    });
    const loaded = await loadConfig({ cwd });
    expect(loaded.file).toBeUndefined();
    expect(loaded.config.listeners[0]!.port).toBe(1080);
  });

  it('a plugin manifest in package.json does not hide a configuration file next to it', async () => {
    const cwd = await dirWith({
      'package.json': JSON.stringify({ name: 'imspect-plugin-x', imspect: { kind: 'filter', host: '^0.1.0' } }),
      '.imspectrc.yaml': 'dataDir: here\n',
    });
    const loaded = await loadConfig({ cwd });
    expect(loaded.file).toBe(path.join(cwd, '.imspectrc.yaml'));
    expect(loaded.dataDir).toBe(path.join(cwd, 'here'));
  });

  it('--config FILE is used as given, without search', async () => {
    const cwd = await dirWith({
      'imspect.config.json': JSON.stringify({ dataDir: 'found-by-search' }),
      'conf/site.yaml': 'dataDir: explicit\nlisteners:\n  - { type: socks5, port: 1081 }\n',
    });
    const loaded = await loadConfig({ cwd, file: 'conf/site.yaml' });
    expect(loaded.file).toBe(path.join(cwd, 'conf', 'site.yaml'));
    expect(loaded.baseDir).toBe(path.join(cwd, 'conf'));
    expect(loaded.dataDir).toBe(path.join(cwd, 'conf', 'explicit'));
    expect(loaded.config.listeners[0]!.port).toBe(1081);
  });
});

describe('loadConfig errors name the file and the key', () => {
  it('unknown key', async () => {
    const cwd = await dirWith({ 'imspect.config.json': JSON.stringify({ datadir: 'x' }) });
    const error = await configError({ cwd });
    const file = path.join(cwd, 'imspect.config.json');
    expect(error.file).toBe(file);
    expect(error.key).toBe('datadir');
    expect(error.message).toBe(`${file}: datadir: is not a known key; did you mean "dataDir"?`);
  });

  it('unknown key inside a section', async () => {
    const cwd = await dirWith({ 'imspect.config.json': JSON.stringify({ pipeline: { failmode: 'open' } }) });
    const error = await configError({ cwd });
    expect(error.key).toBe('pipeline.failmode');
    expect(error.message).toContain('pipeline.failmode: is not a known key');
  });

  it('wrong type', async () => {
    const cwd = await dirWith({ 'imspect.config.json': JSON.stringify({ loggers: { batchSize: 'many' } }) });
    const error = await configError({ cwd });
    expect(error.key).toBe('loggers.batchSize');
    expect(error.message).toContain(path.join(cwd, 'imspect.config.json'));
    expect(error.message).toMatch(/loggers\.batchSize: must be integer/);
  });

  it('policy.unreadable: allow, log or block, for all or per protocol; anything else is an error', async () => {
    const ok = await loadConfig({ cwd: await dirWith({ 'imspect.config.yaml': 'policy:\n  unreadable: { default: log, qq: block, xmpp: allow }\n' }) });
    expect(ok.config.policy.unreadable).toEqual({ default: 'log', qq: 'block', xmpp: 'allow' });
    const byDefault = await loadConfig({ cwd: await dirWith({ 'imspect.config.yaml': 'dataDir: data\n' }) });
    expect(byDefault.config.policy.unreadable).toBe('log');
    for (const bad of ['policy:\n  unreadable: deny\n', 'policy:\n  unreadable: { qq: drop }\n']) {
      const error = await configError({ cwd: await dirWith({ 'imspect.config.yaml': bad }) });
      expect(error.message).toMatch(/policy\.unreadable/);
    }
  });

  it('port out of range', async () => {
    const cwd = await dirWith({ 'imspect.config.yaml': 'listeners:\n  - type: socks5\n    port: 70000\n' });
    const error = await configError({ cwd });
    expect(error.file).toBe(path.join(cwd, 'imspect.config.yaml'));
    expect(error.key).toBe('listeners[0].port');
    expect(error.message).toMatch(/listeners\[0\]\.port: must be <= 65535/);
    expect(error.problems).toHaveLength(1);
  });

  it('bad listener type', async () => {
    const cwd = await dirWith({ 'imspect.config.yaml': 'listeners:\n  - type: socks5\n  - type: socks4\n    port: 1080\n' });
    const error = await configError({ cwd });
    expect(error.key).toBe('listeners[1].type');
    expect(error.message).toContain('listeners[1].type: must be one of "socks5", "forward"');
    expect(error.problems).toHaveLength(1);
  });

  it('forward listener without upstream', async () => {
    const cwd = await dirWith({ 'imspect.config.yaml': 'listeners:\n  - type: forward\n    port: 6667\n' });
    const error = await configError({ cwd });
    expect(error.key).toBe('listeners[0].upstream');
    expect(error.message).toContain('listeners[0].upstream: is required');
  });

  it('bad CIDR in allow', async () => {
    const cwd = await dirWith({ 'imspect.config.yaml': 'listeners:\n  - type: socks5\n    allow: [127.0.0.0/8, 10.0.0.0/33]\n' });
    const error = await configError({ cwd });
    expect(error.key).toBe('listeners[0].allow[1]');
    expect(error.message).toBe(`${path.join(cwd, 'imspect.config.yaml')}: listeners[0].allow[1]: "10.0.0.0/33" is not an address or CIDR network`);
  });

  it('duplicate listener address', async () => {
    const cwd = await dirWith({
      'imspect.config.json': JSON.stringify({
        listeners: [
          { type: 'socks5', port: 1080 },
          { type: 'forward', port: 1080, upstream: { host: 'h', port: 1 } },
        ],
      }),
    });
    const error = await configError({ cwd });
    expect(error.key).toBe('listeners[1].port');
    expect(error.message).toContain('listeners[1].port: 127.0.0.1:1080 is already used by listeners[0]');
  });

  it('port 0 (any free port) twice is not a duplicate', async () => {
    const cwd = await dirWith({
      'imspect.config.json': JSON.stringify({
        listeners: [
          { type: 'socks5', port: 0 },
          { type: 'socks5', port: 0 },
        ],
      }),
    });
    const { config } = await loadConfig({ cwd });
    expect(config.listeners.map((l) => l.port)).toEqual([0, 0]);
  });

  it('broken YAML syntax names the file', async () => {
    const cwd = await dirWith({ 'imspect.config.yaml': 'listeners:\n  - type: socks5\n   port: [1080\n' });
    const error = (await loadConfig({ cwd }).catch((e: unknown) => e)) as ImspectError;
    expect(error).toBeInstanceOf(ImspectError);
    expect(error.code).toBe('CONFIG_UNREADABLE');
    expect(error.file).toBe(path.join(cwd, 'imspect.config.yaml'));
    expect(error.message.startsWith(`${path.join(cwd, 'imspect.config.yaml')}: `)).toBe(true);
  });

  it('broken JSON in an explicit file names the file', async () => {
    const cwd = await dirWith({ 'site.json': '{ "dataDir": ' });
    const error = (await loadConfig({ cwd, file: 'site.json' }).catch((e: unknown) => e)) as ImspectError;
    expect(error.code).toBe('CONFIG_UNREADABLE');
    expect(error.file).toBe(path.join(cwd, 'site.json'));
  });

  it('a missing explicit file', async () => {
    const cwd = await tempDir();
    const error = (await loadConfig({ cwd, file: 'nope.yaml' }).catch((e: unknown) => e)) as ImspectError;
    expect(error).toBeInstanceOf(ImspectError);
    expect(error.code).toBe('CONFIG_NOT_FOUND');
    expect(error.file).toBe(path.join(cwd, 'nope.yaml'));
    expect(error.message).toBe(`${path.join(cwd, 'nope.yaml')}: configuration file not found`);
  });

  it('a configuration that is not a mapping', async () => {
    const cwd = await dirWith({ 'imspect.config.yaml': '- a\n- b\n' });
    const error = await configError({ cwd });
    expect(error.key).toBe('(root)');
  });

  it('plugin section with an unknown key', async () => {
    const cwd = await dirWith({ 'imspect.config.yaml': 'plugins:\n  irc:\n    enable: false\n' });
    const error = await configError({ cwd });
    expect(error.key).toBe('plugins.irc.enable');
  });

  it('ports: keys must be port numbers', async () => {
    const bad = await dirWith({ 'imspect.config.json': JSON.stringify({ ports: { irc: 'irc' } }) });
    expect((await configError({ cwd: bad })).key).toBe('ports.irc');
    const high = await dirWith({ 'imspect.config.json': JSON.stringify({ ports: { '70000': 'irc' } }) });
    const error = await configError({ cwd: high });
    expect(error.key).toBe('ports.70000');
    expect(error.message).toContain('is not a TCP port');
    const good = await dirWith({ 'imspect.config.json': JSON.stringify({ ports: { '6668': 'irc' } }) });
    expect((await loadConfig({ cwd: good })).config.ports).toEqual({ '6668': 'irc' });
  });

  it('reports every problem, not only the first', async () => {
    const error = (() => {
      try {
        resolveConfig({ dataDir: 5, listeners: [{ type: 'socks5', port: -1 }] }, '/etc/imspect.yaml', '/etc');
      } catch (e) {
        return e as ConfigError;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.problems.map((p) => p.key).sort()).toEqual(['dataDir', 'listeners[0].port']);
    expect(error!.message.split('\n').every((line) => line.startsWith('/etc/imspect.yaml: '))).toBe(true);
  });
});

describe('parseCidr', () => {
  it('accepts addresses and networks', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseCidr('192.0.2.1')).toEqual({ address: '192.0.2.1', prefix: 32, family: 'ipv4' });
    expect(parseCidr('::1/128')).toEqual({ address: '::1', prefix: 128, family: 'ipv6' });
  });
  it('rejects what is not one', () => {
    for (const bad of ['10.0.0.0/33', '10.0.0.0/', '10.0.0.0/8/8', 'example.org', '10.0.0.0/ 8', '10.0.0.0/-1', '::/129', '10.0.0.0/0x8']) {
      expect(parseCidr(bad), bad).toBeUndefined();
    }
  });
});

describe('console section', () => {
  it('is off by default, on loopback port 8440', async () => {
    const { config } = await loadConfig({ cwd: await tempDir() });
    expect(config.console).toEqual({ enabled: false, host: '127.0.0.1', port: 8440, sessionIdleMinutes: 30, sessionMaxHours: 12 });
  });

  it('requires HTTPS on any address but loopback, and both certificate files or neither', async () => {
    const plain = await configError({ cwd: await dirWith({ 'imspect.config.json': JSON.stringify({ console: { enabled: true, host: '0.0.0.0' } }) }) });
    expect(plain.problems).toEqual([expect.objectContaining({ key: 'console.host', message: expect.stringMatching(/not a loopback address: .*requires HTTPS/) })]);
    const half = await configError({ cwd: await dirWith({ 'imspect.config.json': JSON.stringify({ console: { enabled: true, tls: { cert: 'c.pem' } } }) }) });
    expect(half.problems).toEqual([expect.objectContaining({ key: 'console.tls', message: expect.stringMatching(/both cert and key/) })]);
    for (const host of ['127.0.0.1', '127.0.0.2', '::1', 'localhost']) {
      const cwd = await dirWith({ 'imspect.config.json': JSON.stringify({ console: { enabled: true, host } }) });
      expect((await loadConfig({ cwd })).config.console.host).toBe(host);
    }
    const minted = await dirWith({ 'imspect.config.json': JSON.stringify({ console: { enabled: true, host: '192.0.2.1', tls: {} } }) });
    expect((await loadConfig({ cwd: minted })).config.console.tls).toEqual({});
  });
});
