/**
 * Publishing proven end to end, as a plugin author and an administrator on two machines would do it, with a real
 * npm registry (a local verdaccio: nothing leaves this machine) and a real IRC server (ngircd):
 *
 * 1. imspect's CLI is installed from its release tarball (`pnpm pack:cli`) with `npm install -g` into an empty
 *    prefix; `@imspect/sdk` is on the registry as `pnpm pack` releases it.
 * 2. With that installed CLI: `imspect plugins new` makes a logger plugin; `npm install && npm test` in it; `npm
 *    publish` to the registry.
 * 3. In a clean gateway folder: `imspect plugins install` fetches it from the registry into imspect's plugin
 *    folder; `imspect start`; an IRC client talks through imspect; the plugin writes what it saw.
 *
 * The time from `plugins new` to the plugin seeing the live message is printed (`[measure]`).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithService, findExecutable } from '../support/e2e.js';
import { REPO_ROOT, startImspect } from '../support/imspect-process.js';
import { IRC, type IrcClient, waitFor } from '../support/irc-client.js';
import { startNgircd } from '../support/ngircd.js';
import { tryStartRegistry } from '../support/registry.js';

const run = promisify(execFile);
const ngircdPath = findExecutable('ngircd');
const { registry, problem } = ngircdPath ? await tryStartRegistry() : { registry: undefined, problem: 'ngircd is not installed (Debian: apt-get install ngircd)' };

const PLUGIN = '@acme/imspect-plugin-audit';

async function connectClient(nick: string, host: string, port: number): Promise<IrcClient> {
  const client = new IRC.Client();
  const registered = waitFor(client, 'registered', () => true, `${nick} to register`);
  client.connect({ host, port, nick, username: nick, gecos: nick, auto_reconnect: false, ping_interval: 0 });
  await registered;
  return client;
}

describeWithService('a plugin made with imspect plugins new, published to a registry, installed and fed live IRC traffic', problem, () => {
  let work: string;
  let imspectCli: string;

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'imspect-publish-'));
    await registry!.seedInstalled(['@sinclair/typebox'], path.join(REPO_ROOT, 'packages/sdk'));
    await registry!.publishWorkspacePackage('@imspect/sdk');
    // The CLI as released: one tarball with every dependency inside (npm fetches nothing for it).
    await run(process.execPath, [path.join(REPO_ROOT, 'packages/cli/scripts/pack.js'), work], { cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024 });
    const prefix = path.join(work, 'prefix');
    await registry!.npm(['install', '-g', '--prefix', prefix, path.join(work, 'imspect-cli-0.1.0.tgz')], work);
    imspectCli = path.join(prefix, 'lib/node_modules/@imspect/cli/bin/run.js');
    expect(existsSync(imspectCli)).toBe(true);
  }, 300_000);

  afterAll(async () => {
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('from plugins new to the plugin seeing live traffic', async () => {
    const imspect = (args: string[], cwd: string) =>
      run(process.execPath, [imspectCli, ...args, ...(process.getuid?.() === 0 && args[0] === 'start' ? ['--allow-root'] : [])], {
        cwd,
        env: registry!.env,
        maxBuffer: 16 * 1024 * 1024,
      });
    const started = Date.now();
    const steps: Array<[string, number]> = [];
    const step = (what: string) => steps.push([what, Date.now()]);

    // The author's machine.
    const dev = path.join(work, 'dev');
    await mkdir(dev);
    await imspect(['plugins', 'new', PLUGIN, '--kind', 'logger'], dev);
    const pluginDir = path.join(dev, 'imspect-plugin-audit');
    step('plugins new');
    await registry!.npm(['install'], pluginDir);
    step('npm install');
    expect((await registry!.npm(['test'], pluginDir)).stdout).toMatch(/\bfail 0\b/);
    step('npm test');
    await registry!.npm(['publish'], pluginDir);
    step('npm publish');
    const published = JSON.parse((await registry!.npm(['view', PLUGIN, '--json'], work)).stdout) as Record<string, unknown>;
    expect(published).toMatchObject({ name: PLUGIN, version: '0.1.0', imspect: { kind: 'logger', host: '^0.1.0' } });

    // The gateway.
    const ircd = await startNgircd(ngircdPath!);
    const gateway = path.join(work, 'gateway');
    await mkdir(gateway);
    try {
      await writeFile(
        path.join(gateway, 'imspect.config.json'),
        JSON.stringify({
          dataDir: 'data',
          listeners: [{ type: 'forward', port: 0, upstream: { host: ircd.host, port: ircd.port }, protocol: 'irc' }],
          plugins: { audit: { options: { file: 'archive/audit.jsonl' } } },
          log: { format: 'json' },
        }),
      );
      const installed = await imspect(['plugins', 'install', PLUGIN], gateway);
      expect(installed.stdout).toMatch(/installed audit 0\.1\.0 \(logger, package @acme\/imspect-plugin-audit\)/);
      step('plugins install');
      // Fetched from the local registry, into imspect's own plugin folder under the data folder.
      const lock = await readFile(path.join(gateway, 'data/plugins/package-lock.json'), 'utf8');
      expect(lock).toContain(`${registry!.url}@acme/imspect-plugin-audit/-/imspect-plugin-audit-0.1.0.tgz`);
      const list = JSON.parse((await imspect(['plugins', 'list', '--json'], gateway)).stdout) as { plugins: Array<Record<string, unknown>> };
      expect(list.plugins.find((p) => p['name'] === 'audit')).toMatchObject({ kind: 'logger', version: '0.1.0', enabled: true, status: 'ok' });

      const proxy = await startImspect([], { cwd: gateway, cli: imspectCli, env: registry!.env });
      const file = path.join(gateway, 'data/archive/audit.jsonl');
      let seen: Array<Record<string, unknown>> = [];
      try {
        expect(proxy.stdout()).toMatch(/plugins: .*audit \(logger\)/);
        step('imspect start');
        const url = new URL(/listening: (\S+)/.exec(proxy.stdout())![1]!);
        const bob = await connectClient('bob', ircd.host, ircd.port);
        const alice = await connectClient('alice', url.hostname, Number(url.port));
        const heard = waitFor(bob, 'privmsg', (e) => e['message'] === 'published, installed, live', 'bob to hear alice');
        alice.say('bob', 'published, installed, live');
        await heard;
        const deadline = Date.now() + 15_000;
        while (Date.now() < deadline) {
          const text = existsSync(file) ? await readFile(file, 'utf8') : '';
          seen = text
            .split('\n')
            .filter(Boolean)
            .map((line) => JSON.parse(line) as Record<string, unknown>);
          if (seen.some((e) => e['type'] === 'message')) break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        step('live message seen by the plugin');
        alice.quit('bye');
        bob.quit('bye');
      } finally {
        expect(await proxy.stop()).toBe(0);
      }
      expect(seen.filter((e) => e['type'] === 'message')).toEqual([
        expect.objectContaining({ protocol: 'irc', direction: 'outgoing', localId: 'alice', remoteId: 'bob', text: 'published, installed, live' }),
      ]);
    } finally {
      await ircd.stop();
    }
    const total = (steps.at(-1)![1] - started) / 1000;
    let previous = started;
    const detail = steps.map(([what, at]) => {
      const line = `${what} +${((at - previous) / 1000).toFixed(1)} s`;
      previous = at;
      return line;
    });
    console.log(`[measure] plugins new -> plugin sees live traffic: ${total.toFixed(1)} s (${(total / 60).toFixed(2)} min): ${detail.join(', ')}`);
  }, 300_000);
});
