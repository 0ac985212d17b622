/**
 * A plugin installed by root (`imspect plugins install`) and imspect started as root with `user: nobody`: the
 * plugin folder stays root's (its code is imported at the next start, as root), the rest of the data folder is
 * handed over, and the dropped process can still read plugin code it loads late.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithService, findExecutable } from '../support/e2e.js';
import { CLI, startImspect } from '../support/imspect-process.js';
import { connectScriptedClient, startScriptedIrcServer } from '../support/scripted-irc.js';

const execFileAsync = promisify(execFile);

function missing(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux';
  if (process.getuid?.() !== 0) return 'dropping privileges needs the tests to run as root';
  if (!findExecutable('npm')) return 'npm is not installed';
  return undefined;
}

/** A logger whose write() imports a module of its own package: read after root was dropped. */
const LATE_LOGGER = `import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { definePlugin } from '@imspect/sdk';
export default definePlugin({
  name: 'late',
  kind: 'logger',
  version: '1.0.0',
  setup({ dataDir }) {
    return {
      async write(events) {
        const { describe } = await import('./late.js');
        await appendFile(path.join(dataDir, 'late.log'), events.map((e) => describe(e) + '\\n').join(''));
      },
    };
  },
});
`;

describeWithService('the plugin folder when imspect drops root', missing(), () => {
  let dir: string;
  const nobody = execFileSync('getent', ['passwd', 'nobody'], { encoding: 'utf8' }).split(':');
  const uid = Number(nobody[2]);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-plugin-priv-'));
    // The user imspect drops to must be able to reach its data folder.
    await chmod(dir, 0o755);
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("stays root's, readable; the plugin loads, imports late after the drop, and the data folder is handed over", async () => {
    const source = path.join(dir, 'src');
    await mkdir(source);
    await writeFile(
      path.join(source, 'package.json'),
      JSON.stringify({
        name: 'imspect-plugin-late',
        version: '1.0.0',
        type: 'module',
        main: 'index.js',
        files: ['index.js', 'late.js'],
        imspect: { kind: 'logger', host: '^0.1.0' },
        peerDependencies: { '@imspect/sdk': '^0.1.0' },
      }),
    );
    await writeFile(path.join(source, 'index.js'), LATE_LOGGER);
    await writeFile(path.join(source, 'late.js'), "export const describe = (e) => [e.type, e.localId, e.remoteId, e.text ?? ''].join(' ');\n");
    const irc = await startScriptedIrcServer();
    const config = path.join(dir, 'imspect.config.json');
    await writeFile(
      config,
      JSON.stringify({
        dataDir: 'data',
        user: 'nobody',
        listeners: [{ type: 'forward', host: '127.0.0.1', port: 0, upstream: { host: '127.0.0.1', port: irc.port }, protocol: 'irc' }],
      }),
    );
    // The administrator's usual umask, whatever the test runner's.
    const env = { ...process.env, npm_config_registry: 'http://127.0.0.1:9/', npm_config_fetch_retries: '0', npm_config_cache: path.join(dir, 'npm-cache') };
    await execFileAsync('sh', ['-c', `umask 022 && exec "${process.execPath}" "${CLI}" plugins install ./src -c "${config}"`], { cwd: dir, env });

    const proxy = await startImspect(['-c', config], { cwd: dir });
    try {
      expect(proxy.stdout()).toMatch(/plugins: .*late \(logger\)/);
      const url = new URL(/listening: (\S+)/.exec(proxy.stdout())![1]!);
      const client = await connectScriptedClient(Number(url.port), 'carol');
      client.say('dave', 'after the drop');
      const deadline = Date.now() + 10_000;
      const logged = () => readFile(path.join(dir, 'data/late.log'), 'utf8').catch(() => '');
      while (!(await logged()).includes('after the drop') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      client.close();
      expect(await logged()).toContain('message carol dave after the drop');
      expect(await proxy.stop()).toBe(0);
    } finally {
      await proxy.stop();
      await irc.close();
    }
    const pluginDir = path.join(dir, 'data/plugins');
    const top = await lstat(pluginDir);
    expect(top.uid).toBe(0);
    expect(top.mode & 0o022).toBe(0);
    // Everything in it still root's and closed to writes by others; the files the dropped user wrote are its own.
    const visit = async (target: string): Promise<void> => {
      const info = await lstat(target);
      if (info.isSymbolicLink()) return;
      expect(info.uid, target).toBe(0);
      expect(info.mode & 0o022, target).toBe(0);
      if (info.isDirectory()) for (const entry of await readdir(target)) await visit(path.join(target, entry));
    };
    await visit(pluginDir);
    expect((await lstat(path.join(dir, 'data/late.log'))).uid).toBe(uid);
  }, 120_000);
});
