/**
 * A third-party plugin as its author ships it: `npm pack`, installed from the tarball into a separate project,
 * then discovered, listed and loaded by imspect run from that project, and fed real traffic.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, REPO_ROOT, startImspect } from '../support/imspect-process.js';

const run = promisify(execFile);
const EXAMPLE = path.join(REPO_ROOT, 'examples/imspect-plugin-jsonl');

/** A minimal IRC server: welcomes the client, then reads lines until it closes. */
async function startFakeIrcServer(): Promise<{ port: number; lines: string[]; close(): Promise<void> }> {
  const lines: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline).replace(/\r$/, '');
        buffer = buffer.slice(newline + 1);
        lines.push(line);
        if (line.startsWith('USER ')) socket.write(':fake.irc 001 carol :Welcome carol\r\n');
      }
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    lines,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('a third-party plugin installed from a packed tarball', () => {
  let work: string;
  let project: string;

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'imspect-thirdparty-'));
    const { stdout } = await run('npm', ['pack', EXAMPLE, '--pack-destination', work, '--json'], { cwd: work });
    const tarball = path.join(work, (JSON.parse(stdout) as Array<{ filename: string }>)[0]!.filename);
    project = path.join(work, 'gateway');
    await mkdir(project);
    await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'gateway', private: true, version: '1.0.0' }));
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], { cwd: project });
    // imspect installed next to the plugin: the plugin's peer dependency resolves to this host's SDK.
    await mkdir(path.join(project, 'node_modules/@imspect'), { recursive: true });
    await symlink(path.join(REPO_ROOT, 'packages/sdk'), path.join(project, 'node_modules/@imspect/sdk'), 'dir');
  }, 120_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('is installed from the tarball, not linked to the source', async () => {
    const files = await readdir(path.join(project, 'node_modules/imspect-plugin-jsonl'));
    expect(files.sort()).toEqual(['README.md', 'index.js', 'package.json']);
  });

  it('is listed with its kind, version and path, found but not enabled until the configuration names it', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'plugins', 'list', '--json'], { cwd: project });
    const list = JSON.parse(stdout) as { plugins: Array<Record<string, unknown>> };
    const jsonl = list.plugins.find((p) => p['name'] === 'jsonl');
    expect(jsonl).toMatchObject({
      kind: 'logger',
      version: '1.0.0',
      package: 'imspect-plugin-jsonl',
      origin: 'found',
      enabled: false,
      status: 'disabled',
      error: null,
      path: path.join(project, 'node_modules/imspect-plugin-jsonl'),
    });
    // A package lying in some node_modules was never chosen: it says why it does not run and how to enable it.
    expect(jsonl!['reason']).toMatch(/not enabled: install it \(imspect plugins install .*\) or name it in the configuration/);
    // The first-party plugins next to the CLI are listed too, as built-in and enabled.
    const irc = list.plugins.find((p) => p['name'] === 'irc');
    expect(irc).toMatchObject({ origin: 'built-in', enabled: true, status: 'ok' });
    expect(list.plugins.map((p) => p['name'])).toEqual(expect.arrayContaining(['irc', 'logger-csv', 'jsonl']));
  });

  it('is loaded by imspect start and receives the events of real traffic', async () => {
    const irc = await startFakeIrcServer();
    await writeFile(
      path.join(project, 'imspect.config.json'),
      JSON.stringify({
        dataDir: 'data',
        listeners: [{ type: 'forward', port: 0, upstream: { host: '127.0.0.1', port: irc.port }, protocol: 'irc' }],
        plugins: { jsonl: { options: { file: 'archive/events.jsonl' } } },
        log: { format: 'json' },
      }),
    );
    const proxy = await startImspect([], { cwd: project });
    try {
      expect(proxy.stdout()).toMatch(/plugins: .*jsonl \(logger\)/);
      const url = new URL(/listening: (\S+)/.exec(proxy.stdout())![1]!);
      const client = net.connect({ host: url.hostname, port: Number(url.port) });
      await new Promise((resolve) => client.once('connect', resolve));
      const welcomed = new Promise((resolve) => client.once('data', resolve));
      client.write('NICK carol\r\nUSER carol 0 * :Carol\r\n');
      await welcomed;
      client.write('PRIVMSG dave :shipped through a third-party logger\r\n');
      const deadline = Date.now() + 5000;
      while (!irc.lines.some((l) => l.startsWith('PRIVMSG dave')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      client.end();
      expect(await proxy.stop()).toBe(0);
    } finally {
      await proxy.stop();
      await irc.close();
    }
    const events = (await readFile(path.join(project, 'data/archive/events.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const message = events.filter((e) => e['type'] === 'message');
    expect(message).toHaveLength(1);
    expect(message[0]).toMatchObject({
      protocol: 'irc',
      direction: 'outgoing',
      localId: 'carol',
      remoteId: 'dave',
      text: 'shipped through a third-party logger',
      filtered: false,
    });
  });
});
