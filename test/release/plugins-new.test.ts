/**
 * `imspect plugins new` as a plugin author uses it: for each kind, in JavaScript and TypeScript, the new folder
 * installs from a registry (a local verdaccio holding the SDK as `pnpm pack` releases it, and TypeBox, TypeScript
 * and Node's types as installed here), its tests pass (TypeScript: after the build), and `npm pack` gives a clean
 * tarball. A broken skeleton makes its own test fail (the generated tests test something).
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithService } from '../support/e2e.js';
import { CLI, REPO_ROOT, startImspect } from '../support/imspect-process.js';
import { tryStartRegistry } from '../support/registry.js';
import { readTarball, tarballProblems } from '../support/tarball.js';

const run = promisify(execFile);

/** A server for the skeleton's line protocol: records the lines it gets, answers nothing. */
async function startLineServer(): Promise<{ port: number; lines: string[]; close(): Promise<void> }> {
  const lines: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
        lines.push(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    });
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
const { registry, problem } = await tryStartRegistry();

const CASES: Array<{ kind: string; typescript: boolean }> = [
  { kind: 'protocol', typescript: false },
  { kind: 'logger', typescript: false },
  { kind: 'filter', typescript: false },
  { kind: 'content', typescript: false },
  { kind: 'protocol', typescript: true },
  { kind: 'logger', typescript: true },
  { kind: 'filter', typescript: true },
  { kind: 'content', typescript: true },
];

describeWithService('imspect plugins new, installed and tested from a registry', problem, () => {
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'imspect-plugins-new-'));
    await registry!.seedInstalled(['@sinclair/typebox'], path.join(REPO_ROOT, 'packages/sdk'));
    await registry!.seedInstalled(['typescript', '@types/node'], REPO_ROOT);
    await registry!.publishWorkspacePackage('@imspect/sdk');
  }, 120_000);

  afterAll(async () => {
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const scaffold = async (name: string, kind: string, typescript: boolean) => {
    const args = [CLI, 'plugins', 'new', name, '--kind', kind, '--dir', work, ...(typescript ? ['--typescript'] : [])];
    const { stdout } = await run(process.execPath, args, { cwd: work, env: registry!.env });
    return { stdout, dir: path.join(work, name.replace(/^@[^/]+\//, '')) };
  };

  it.each(CASES)(
    '$kind (typescript: $typescript): npm install && npm test pass, npm pack is clean',
    async ({ kind, typescript }) => {
      const name = `@acme/imspect-plugin-${kind}-${typescript ? 'ts' : 'js'}`;
      const { stdout, dir } = await scaffold(name, kind, typescript);
      expect(stdout).toContain(`Created ${name} (${kind} plugin "${kind}-${typescript ? 'ts' : 'js'}"`);

      await registry!.npm(['install'], dir);
      const test = await registry!.npm(['test'], dir);
      // node --test's summary: every test passed, and there were some.
      expect(test.stdout).toMatch(/\bpass [1-9]/);
      expect(test.stdout).toMatch(/\bfail 0\b/);

      const { stdout: packed } = await registry!.npm(['pack', '--json', '--pack-destination', work], dir);
      const tarball = path.join(work, (JSON.parse(packed) as Array<{ filename: string }>)[0]!.filename);
      const contents = await readTarball(tarball);
      expect(tarballProblems(contents, { licenceText: 'MIT License' })).toEqual([]);
      expect(contents.manifest).toMatchObject({
        name,
        keywords: expect.arrayContaining(['imspect-plugin']),
        imspect: { kind, host: '^0.1.0' },
        peerDependencies: { '@imspect/sdk': '^0.1.0' },
        publishConfig: { access: 'public' },
      });
      expect(contents.files).toContain(typescript ? 'dist/index.js' : 'src/index.js');
      if (typescript) expect(contents.files).toEqual(expect.arrayContaining(['dist/index.d.ts', 'src/index.ts']));
    },
    180_000,
  );

  it('the protocol and filter skeletons work in imspect itself: linked, they parse and block live traffic', async () => {
    // The folders the cases above made, installed and built: the TypeScript protocol and the JavaScript filter.
    const protocol = path.join(work, 'imspect-plugin-protocol-ts');
    const filter = path.join(work, 'imspect-plugin-filter-js');
    const gateway = path.join(work, 'gateway');
    await mkdir(gateway);
    const server = await startLineServer();
    try {
      await writeFile(
        path.join(gateway, 'imspect.config.json'),
        JSON.stringify({
          dataDir: 'data',
          listeners: [{ type: 'forward', port: 0, upstream: { host: '127.0.0.1', port: server.port }, protocol: 'protocol-ts' }],
          plugins: { 'filter-js': { options: { words: ['confidential'], reply: 'not sent: confidential' } } },
          log: { format: 'json' },
        }),
      );
      for (const dir of [protocol, filter]) await run(process.execPath, [CLI, 'plugins', 'link', dir], { cwd: gateway, env: registry!.env });
      const proxy = await startImspect([], { cwd: gateway, env: registry!.env });
      let received = '';
      try {
        expect(proxy.stdout()).toMatch(/plugins: .*protocol-ts \(protocol\)/);
        expect(proxy.stdout()).toMatch(/filter-js \(filter\)/);
        const url = new URL(/listening: (\S+)/.exec(proxy.stdout())![1]!);
        const client = net.connect({ host: url.hostname, port: Number(url.port) });
        client.on('data', (chunk) => (received += chunk.toString('utf8')));
        await new Promise((resolve) => client.once('connect', resolve));
        client.write('LOGIN alice\r\nMSG bob :lunch at noon?\r\nMSG bob :the confidential plan\r\nMSG bob :bye\r\n');
        const deadline = Date.now() + 10_000;
        while ((!server.lines.includes('MSG bob :bye') || !received.includes('NOTICE')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        client.end();
      } finally {
        expect(await proxy.stop()).toBe(0);
      }
      // The protocol framed each line; the filter blocked one, which never reached the server, and told alice.
      expect(server.lines).toEqual(['LOGIN alice', 'MSG bob :lunch at noon?', 'MSG bob :bye']);
      expect(received).toBe('NOTICE :not sent: confidential\r\n');
    } finally {
      await server.close();
    }
  }, 120_000);

  it('a skeleton that no longer does its job fails its own test', async () => {
    const { dir } = await scaffold('imspect-plugin-broken', 'filter', false);
    const source = path.join(dir, 'src/index.js');
    await writeFile(source, (await readFile(source, 'utf8')).replace("action: 'block'", "action: 'pass'"));
    await registry!.npm(['install'], dir);
    await expect(registry!.npm(['test'], dir)).rejects.toThrow(/\bfail [1-9]/);
  }, 120_000);

  it('a TypeScript plugin whose hook breaks the contract does not build: its test run fails on the type error', async () => {
    const { dir } = await scaffold('imspect-plugin-mistyped', 'filter', true);
    const source = path.join(dir, 'src/index.ts');
    await writeFile(source, (await readFile(source, 'utf8')).replace("return { action: 'block',", "return { action: 'deny',"));
    await registry!.npm(['install'], dir);
    await expect(registry!.npm(['test'], dir)).rejects.toThrow(/error TS\d+/);
  }, 120_000);

  it('nothing can be installed that was not published to the local registry', async () => {
    const { dir } = await scaffold('imspect-plugin-offline', 'logger', false);
    const pkgFile = path.join(dir, 'package.json');
    const pkg = JSON.parse(await readFile(pkgFile, 'utf8')) as { devDependencies: Record<string, string> };
    pkg.devDependencies['left-pad'] = '^1.3.0'; // on the public registry, never published here
    await writeFile(pkgFile, JSON.stringify(pkg));
    await expect(registry!.npm(['install'], dir)).rejects.toThrow(/E404|404 Not Found/);
  }, 120_000);
});
