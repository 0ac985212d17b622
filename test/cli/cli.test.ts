/**
 * The `imspect` command as a user runs it: help, configuration errors that name the file and key, the
 * configuration schema for editors, and a clean start/stop on the embedded defaults.
 */
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli as imspect } from '../support/cli-run.js';
import { REPO_ROOT, startImspect } from '../support/imspect-process.js';

describe('imspect CLI', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-cli-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lists its commands in --help', async () => {
    const result = await imspect(['--help'], dir);
    expect(result.code).toBe(0);
    for (const word of ['start', 'plugins', 'config']) expect(result.stdout).toContain(word);
  });

  it('reports a bad key in a YAML file with the file and the key, and exits 2', async () => {
    const file = path.join(dir, 'bad-port.yaml');
    await writeFile(file, 'listeners:\n  - type: socks5\n    port: 70000\n');
    for (const command of [['start'], ['config', 'check']]) {
      const result = await imspect([...command, '--config', file], dir);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`${file}: listeners[0].port: must be <= 65535`);
    }
  });

  it('refuses an empty allow list (it would refuse every client) and says what to write instead', async () => {
    const file = path.join(dir, 'empty-allow.yaml');
    await writeFile(file, 'listeners:\n  - type: socks5\n    port: 0\n    allow: []\n');
    for (const command of [['start'], ['config', 'check']]) {
      const result = await imspect([...command, '--config', file], dir);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain(`${file}: listeners[0].allow: is empty, so every client would be refused: list the client networks`);
      expect(result.stderr).toContain('[0.0.0.0/0, ::/0] for every client, or leave allow out for the default');
      expect(result.stdout).not.toContain('listening');
    }
  });

  it('reports schema mistakes and bad networks together, in one run', async () => {
    const file = path.join(dir, 'many-mistakes.yaml');
    await writeFile(
      file,
      'dataDri: data\nlisteners:\n  - type: socks5\n    port: 70000\n    allow: [10.0.0.0/33, 127.0.0.1]\n  - type: forward\n    port: 1\n    upstream: { host: example.org, port: 6667 }\n    allow: [not-a-network]\n',
    );
    for (const command of [['start'], ['config', 'check']]) {
      const result = await imspect([...command, '--config', file], dir);
      expect(result.code, result.stderr).toBe(2);
      const lines = result.stderr
        .trim()
        .split('\n')
        .map((line) => line.replace(/ \(CONFIG_INVALID\)$/, ''));
      expect(lines).toEqual(
        expect.arrayContaining([
          `imspect: ${file}: dataDri: is not a known key; did you mean "dataDir"?`,
          `imspect: ${file}: listeners[0].port: must be <= 65535`,
          `imspect: ${file}: listeners[0].allow[0]: "10.0.0.0/33" is not an address or CIDR network`,
          `imspect: ${file}: listeners[1].allow[0]: "not-a-network" is not an address or CIDR network`,
        ]),
      );
      expect(lines).toHaveLength(4);
    }
  });

  it('refuses a shared folder such as /tmp (sticky, writable by all) as dataDir, and leaves it as it was', async () => {
    const shared = path.join(dir, 'shared-tmp');
    await mkdir(shared);
    await chmod(shared, 0o1777);
    const file = path.join(dir, 'shared-data.json');
    await writeFile(file, JSON.stringify({ dataDir: shared, user: 'nobody', listeners: [{ type: 'socks5', port: 0 }] }));
    const result = await imspect(['start', '--config', file], dir);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain(`imspect: ${shared}: dataDir is a shared folder (sticky bit, like /tmp); give imspect a folder of its own`);
    expect((await stat(shared)).mode & 0o7777).toBe(0o1777);
  });

  it('reports a syntax error in the file without a stack trace', async () => {
    const file = path.join(dir, 'broken.yaml');
    await writeFile(file, 'listeners: [\n  - type: socks5\n');
    const result = await imspect(['config', 'check', '--config', file], dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(file);
    expect(result.stderr).not.toMatch(/at .*\.js:\d+/);
  });

  it('reports a missing --config file', async () => {
    const result = await imspect(['start', '--config', 'nope.json'], dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(path.join(dir, 'nope.json'));
    expect(result.stderr).toContain('not found');
  });

  it('reports unknown keys, unknown listener types and invalid plugin options', async () => {
    const file = path.join(dir, 'imspect.config.json');
    await writeFile(file, JSON.stringify({ listners: [], listeners: [{ type: 'socks4', port: 1 }] }));
    let result = await imspect(['config', 'check'], dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${file}: listners: is not a known key`);
    expect(result.stderr).toContain(`${file}: listeners[0].type: must be one of "socks5", "forward"`);

    await writeFile(file, JSON.stringify({ plugins: { 'logger-csv': { options: { maxOpenFiles: 'many' } } } }));
    result = await imspect(['config', 'check'], dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('plugins.logger-csv.options.maxOpenFiles');
    await rm(file);
  });

  it('accepts a valid configuration', async () => {
    const file = path.join(dir, 'good.yaml');
    await writeFile(file, 'dataDir: archive\nlisteners:\n  - type: forward\n    port: 16667\n    upstream: { host: 127.0.0.1, port: 6667 }\n');
    const result = await imspect(['config', 'check', '--config', file], dir);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain(`${file}: valid`);
    expect(result.code).toBe(0);
  });

  it('prints a JSON Schema with every plugin section, and the committed copy is current', async () => {
    const result = await imspect(['config', 'schema'], dir);
    expect(result.code).toBe(0);
    const schema = JSON.parse(result.stdout) as { properties: Record<string, { properties?: Record<string, unknown> }> };
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['listeners', 'dataDir', 'plugins', 'ports']));
    expect(Object.keys(schema.properties['plugins']!.properties!)).toEqual(expect.arrayContaining(['irc', 'logger-csv']));
    const committed = await readFile(path.join(REPO_ROOT, 'docs/imspect.schema.json'), 'utf8');
    expect(JSON.parse(committed), 'docs/imspect.schema.json is stale: run pnpm imspect config schema -o docs/imspect.schema.json').toEqual(schema);
  });

  it('starts on the embedded defaults, names its data folder and stops cleanly on SIGTERM', async () => {
    const home = await mkdtemp(path.join(dir, 'defaults-'));
    // The default SOCKS port may be taken on a developer machine; the defaults are checked through the output.
    const probe = net.createServer();
    const free = await new Promise<boolean>((resolve) => {
      probe.once('error', () => resolve(false));
      probe.listen(1080, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (!free) {
      console.warn('[note] 127.0.0.1:1080 is in use; the embedded-defaults start is checked by config check instead');
      const result = await imspect(['config', 'check', '--json'], home);
      expect(JSON.parse(result.stdout).config.listeners).toEqual([{ type: 'socks5', host: '127.0.0.1', port: 1080, allow: ['127.0.0.0/8', '::1/128'] }]);
      return;
    }
    const proxy = await startImspect([], { cwd: home });
    expect(proxy.stdout()).toContain('listening: socks5://127.0.0.1:1080');
    expect(proxy.stdout()).toContain(`data:      ${path.join(home, 'imspect-data')}`);
    expect(proxy.stdout()).toMatch(/plugins: .*irc \(protocol\).*logger-csv \(logger\)|plugins: .*logger-csv \(logger\).*irc \(protocol\)/);
    const code = await proxy.stop();
    expect(code, `stderr:\n${proxy.stderr()}`).toBe(0);
  });
});
