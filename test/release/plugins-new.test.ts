/**
 * `imspect plugins new` as a plugin author uses it: for each kind, in JavaScript and TypeScript, the new folder
 * installs from a registry (a local verdaccio holding the SDK as `pnpm pack` releases it, and TypeBox, TypeScript
 * and Node's types as installed here), its tests pass (TypeScript: after the build), and `npm pack` gives a clean
 * tarball. A broken skeleton makes its own test fail (the generated tests test something).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithService } from '../support/e2e.js';
import { CLI, REPO_ROOT } from '../support/imspect-process.js';
import { tryStartRegistry } from '../support/registry.js';
import { readTarball, tarballProblems } from '../support/tarball.js';

const run = promisify(execFile);
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
