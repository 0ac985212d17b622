/**
 * Started as root with `user: nobody`, imspect binds its ports, drops root for good (no root uid, gid or
 * supplementary group left) and still writes its logs; started as root with no `user`, it refuses to run
 * unless told to.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmod, readdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readCsvLogs } from '../support/csv-logs.js';
import { describeWithService, findExecutable } from '../support/e2e.js';
import { CLI, startImspect } from '../support/imspect-process.js';
import { freePort, startNgircd, type RunningNgircd } from '../support/ngircd.js';
import { privilegeDropMissing, procIds } from '../support/proc-status.js';
import { writeLocalPlugin } from '../support/local-plugin.js';

const ngircdPath = findExecutable('ngircd');
const missing = privilegeDropMissing();

/**
 * A filter plugin in `folder/plugins/who` that records the process's ids at import and at setup in the data
 * folder, in `who-<thread id>.json` (0: the main thread).
 */
async function writeWhoPlugin(folder: string): Promise<void> {
  // Records the process's ids when the module is imported and when setup runs, in the data folder.
  await writeLocalPlugin(
    path.join(folder, 'plugins'),
    'who',
    'filter',
    `import { writeFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
const ids = () => ({ uid: process.getuid(), euid: process.geteuid(), gid: process.getgid(), egid: process.getegid(), groups: process.getgroups() });
const atImport = ids();
export default {
  [Symbol.for('imspect.plugin')]: true, name: 'who', kind: 'filter',
  setup(ctx) {
    writeFileSync(ctx.dataDir + '/who-' + threadId + '.json', JSON.stringify({ atImport, atSetup: ids() }));
    return { check: () => ({ action: 'pass' }) };
  },
};
`,
  );
  // The plugin's folder (made above) is read by the dropped user.
  await chmod(folder, 0o755);
}

describeWithService('privilege drop (imspect started as root)', missing, () => {
  let ircd: RunningNgircd;
  let dir: string;
  const nobody = execFileSync('getent', ['passwd', 'nobody'], { encoding: 'utf8' }).split(':');
  const uid = nobody[2]!;
  const gid = nobody[3]!;

  beforeAll(async () => {
    ircd = await startNgircd(ngircdPath!);
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-priv-'));
    // The user imspect drops to must be able to reach its data folder.
    await chmod(dir, 0o755);
  });

  afterAll(async () => {
    await ircd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('drops to user nobody after binding: no root uid, gid or supplementary group; logs still written', async () => {
    const port = await freePort();
    const pidFile = path.join(dir, 'imspect.pid');
    await writeFile(
      path.join(dir, 'imspect.config.json'),
      JSON.stringify({
        dataDir: 'data',
        user: 'nobody',
        pidFile,
        listeners: [{ type: 'forward', host: '127.0.0.1', port, upstream: { host: '127.0.0.1', port: ircd.port } }],
        plugins: { 'logger-csv': { options: { dir: 'logs' } } },
      }),
    );
    const proxy = await startImspect(['-c', path.join(dir, 'imspect.config.json')], { cwd: dir });
    try {
      const pid = proxy.child.pid!;
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      expect(procIds(status, 'Uid')).toEqual([uid, uid, uid, uid]);
      expect(procIds(status, 'Gid')).toEqual([gid, gid, gid, gid]);
      expect(procIds(status, 'Groups')).toEqual([]);
      expect(uid).not.toBe('0');
      expect(gid).not.toBe('0');
      expect((await readFile(pidFile, 'utf8')).trim()).toBe(String(pid));

      // A conversation through the dropped process: its logs must still be written.
      await new Promise<void>((resolve, reject) => {
        const socket = net.connect({ host: '127.0.0.1', port });
        let seen = '';
        const timer = setTimeout(() => reject(new Error(`no welcome from the server: ${seen}`)), 10_000);
        socket.on('data', (d: Buffer) => {
          seen += d.toString('latin1');
          if (/ 001 /.test(seen) && !seen.includes('SENT')) {
            seen += 'SENT';
            socket.write('PRIVMSG carol :written after the drop\r\nQUIT :bye\r\n');
          }
        });
        socket.on('close', () => {
          clearTimeout(timer);
          resolve();
        });
        socket.on('error', reject);
        socket.write('NICK dave\r\nUSER dave 0 * :dave\r\n');
      });
    } finally {
      expect(await proxy.stop()).toBe(0);
    }
    const rows = await readCsvLogs(path.join(dir, 'data', 'logs'));
    expect(rows.filter((r) => r.type === 1).map((r) => [r.localDir, r.remoteDir, r.text])).toEqual([['dave', 'carol', 'written after the drop']]);
    // IRC logs are filed under the network (the server host) first.
    const csv = (await import('node:fs')).readdirSync(path.join(dir, 'data', 'logs', 'irc', '127.0.0.1', 'dave', 'carol'))[0]!;
    expect(String((await stat(path.join(dir, 'data', 'logs', 'irc', '127.0.0.1', 'dave', 'carol', csv))).uid)).toBe(uid);
  });

  it("imports and sets plugins up only after dropping root: a plugin's setup runs with the dropped ids", async () => {
    const folder = path.join(dir, 'setup-ids');
    await writeWhoPlugin(folder);
    await writeFile(
      path.join(folder, 'imspect.config.json'),
      JSON.stringify({ dataDir: 'data', user: 'nobody', pluginFolders: ['plugins'], listeners: [{ type: 'socks5', host: '127.0.0.1', port: 0 }] }),
    );
    const proxy = await startImspect(['-c', path.join(folder, 'imspect.config.json')], { cwd: folder });
    try {
      const seen = JSON.parse(await readFile(path.join(folder, 'data', 'who-0.json'), 'utf8')) as Record<
        string,
        { uid: number; euid: number; gid: number; egid: number; groups: number[] }
      >;
      const dropped = { uid: Number(uid), euid: Number(uid), gid: Number(gid), egid: Number(gid) };
      expect(seen['atSetup']).toMatchObject(dropped);
      expect(seen['atImport']).toMatchObject(dropped);
      expect(seen['atSetup']!.groups).not.toContain(0);
      // The file the plugin wrote is the dropped user's, not root's.
      expect(String((await stat(path.join(folder, 'data', 'who-0.json'))).uid)).toBe(uid);
    } finally {
      expect(await proxy.stop()).toBe(0);
    }
  });

  it('with relay threads (workers: 2): every thread runs as the dropped user and sets its plugins up after the drop', async () => {
    const folder = path.join(dir, 'threads-ids');
    await writeWhoPlugin(folder);
    await writeFile(
      path.join(folder, 'imspect.config.json'),
      JSON.stringify({ dataDir: 'data', user: 'nobody', workers: 2, pluginFolders: ['plugins'], listeners: [{ type: 'socks5', host: '127.0.0.1', port: 0 }] }),
    );
    const proxy = await startImspect(['-c', path.join(folder, 'imspect.config.json')], { cwd: folder });
    try {
      const pid = proxy.child.pid!;
      // Every thread of the process, the relay threads and libuv's pool included.
      for (const task of await readdir(`/proc/${pid}/task`)) {
        const status = await readFile(`/proc/${pid}/task/${task}/status`, 'utf8');
        expect(procIds(status, 'Uid'), `thread ${task}`).toEqual([uid, uid, uid, uid]);
        expect(procIds(status, 'Gid'), `thread ${task}`).toEqual([gid, gid, gid, gid]);
      }
      // The filter is the relay threads' (worker thread ids 1 and up): both set it up as the dropped user.
      const files = (await readdir(path.join(folder, 'data'))).filter((f) => /^who-\d+\.json$/.test(f));
      expect(files.length, files.join(', ')).toBe(2);
      expect(files).not.toContain('who-0.json');
      const dropped = { uid: Number(uid), euid: Number(uid), gid: Number(gid), egid: Number(gid) };
      for (const file of files) {
        const seen = JSON.parse(await readFile(path.join(folder, 'data', file), 'utf8')) as Record<string, Record<string, unknown>>;
        expect(seen['atImport'], file).toMatchObject(dropped);
        expect(seen['atSetup'], file).toMatchObject(dropped);
      }
    } finally {
      expect(await proxy.stop()).toBe(0);
    }
  });

  it('refuses to keep running as root when a configuration file sets no user, unless told to', async () => {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'imspect-root-'));
    await writeFile(path.join(folder, 'imspect.config.json'), JSON.stringify({ dataDir: 'data', listeners: [{ type: 'socks5', port: 0 }] }));
    const result = spawnSync(process.execPath, [CLI, 'start'], { cwd: folder, encoding: 'utf8', timeout: 20_000 });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('imspect is running as root with no `user` configured');
    expect(result.stdout).not.toContain('listening');
    // Told to (the test helper passes --allow-root when root), it runs.
    const told = await startImspect([], { cwd: folder });
    expect(told.stdout()).toContain('listening: socks5://127.0.0.1:');
    expect(await told.stop()).toBe(0);
    await rm(folder, { recursive: true, force: true });
  });

  it('runs as root on the embedded defaults (no configuration file), with a warning', async () => {
    const empty = await mkdtemp(path.join(os.tmpdir(), 'imspect-root-'));
    const started = spawn(process.execPath, [CLI, 'start', '--log-format', 'json'], { cwd: empty });
    let output = '';
    started.stdout.on('data', (d: Buffer) => (output += d.toString()));
    started.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => started.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 30_000;
    while (!output.includes('Press Ctrl-C to stop.') && Date.now() < deadline && started.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    started.kill('SIGTERM');
    expect(await exited, output).toBe(0);
    expect(output).toContain('running as root on the embedded defaults');
    expect(output).toContain('Press Ctrl-C to stop.');
    await rm(empty, { recursive: true, force: true });
  });

  it('names an unknown user and exits', async () => {
    await writeFile(path.join(dir, 'unknown.json'), JSON.stringify({ dataDir: 'data2', user: 'no-such-user-imspect', listeners: [{ type: 'socks5', port: 0 }] }));
    const result = spawnSync(process.execPath, [CLI, 'start', '-c', path.join(dir, 'unknown.json')], { cwd: dir, encoding: 'utf8', timeout: 20_000 });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('imspect: user "no-such-user-imspect" does not exist');
    expect(result.stdout).not.toContain('listening');
  });
});
