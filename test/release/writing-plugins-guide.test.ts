/**
 * docs/writing-plugins.md works when followed literally: its shell blocks marked `<!-- guide-test -->` run, in
 * order, as one bash script in an empty folder (set -euo pipefail: any failing command fails the test), with
 * `imspect` on the PATH and npm pointed at a local registry holding the SDK (and TypeBox, TypeScript and Node's
 * types, as installed here). The files the guide shows (`<!-- guide-file: PATH -->`) must be what `imspect plugins
 * new` wrote. Then the plugin the guide published and installed is listed by imspect as installed and loading.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithService } from '../support/e2e.js';
import { CLI, REPO_ROOT } from '../support/imspect-process.js';
import { tryStartRegistry } from '../support/registry.js';

const run = promisify(execFile);
const GUIDE = path.join(REPO_ROOT, 'docs/writing-plugins.md');
const { registry, problem } = await tryStartRegistry();

/** The guide's tested shell blocks, in order. */
function guideCommands(markdown: string): string[] {
  return [...markdown.matchAll(/<!-- guide-test -->\s*\n```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** The files the guide shows, by path (relative to the folder the guide starts in). */
function guideFiles(markdown: string): Map<string, string> {
  return new Map([...markdown.matchAll(/<!-- guide-file: (\S+) -->\s*\n```\w*\n([\s\S]*?)```/g)].map((m) => [m[1]!, m[2]!]));
}

describeWithService('docs/writing-plugins.md, followed literally', problem, () => {
  let work: string;
  let guide: string;
  let env: NodeJS.ProcessEnv;
  let output = '';

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'imspect-guide-'));
    await registry!.seedInstalled(['@sinclair/typebox'], path.join(REPO_ROOT, 'packages/sdk'));
    await registry!.seedInstalled(['typescript', '@types/node'], REPO_ROOT);
    await registry!.publishWorkspacePackage('@imspect/sdk');
    // `imspect` as `pnpm link-cli` provides it: this repository's CLI, on the PATH.
    const bin = path.join(work, 'bin');
    await mkdir(bin);
    await writeFile(path.join(bin, 'imspect'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"\n`);
    await chmod(path.join(bin, 'imspect'), 0o755);
    env = { ...registry!.env, PATH: [bin, registry!.env['PATH']].join(path.delimiter) };
    guide = path.join(work, 'guide');
    await mkdir(guide);
  }, 120_000);

  afterAll(async () => {
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('has its commands marked for this test: scaffold, link, TypeScript, publish, install', async () => {
    const commands = guideCommands(await readFile(GUIDE, 'utf8')).join('\n');
    for (const step of ['imspect plugins new', '--typescript', 'npm test', 'imspect plugins link', 'npm publish', 'imspect plugins install']) {
      expect(commands).toContain(step);
    }
  });

  it('runs every marked command in order, each succeeding', async () => {
    const script = ['set -euo pipefail', ...guideCommands(await readFile(GUIDE, 'utf8'))].join('\n');
    try {
      const result = await run('bash', ['-c', script], { cwd: guide, env, maxBuffer: 64 * 1024 * 1024 });
      output = `${result.stdout}\n${result.stderr}`;
    } catch (error) {
      const e = error as Error & { stdout?: string; stderr?: string };
      throw new Error(`the guide's commands failed: ${e.message}\n--- stdout\n${e.stdout}\n--- stderr\n${e.stderr}`);
    }
    expect(output).toMatch(/linked jsonl 0\.1\.0 \(logger, package imspect-plugin-jsonl\)/);
    expect(output).toMatch(/installed jsonl 0\.1\.0 \(logger, package imspect-plugin-jsonl\)/);
  }, 300_000);

  it('shows the files as imspect plugins new writes them', async () => {
    const files = guideFiles(await readFile(GUIDE, 'utf8'));
    expect([...files.keys()]).toEqual(expect.arrayContaining(['imspect-plugin-jsonl/package.json', 'imspect-plugin-jsonl/src/index.js', 'imspect-plugin-shout/src/index.ts']));
    for (const [file, shown] of files) {
      expect(shown, file).toBe(await readFile(path.join(guide, file), 'utf8'));
    }
  });

  it('leaves the plugin published on the registry and installed from it, loading in imspect', async () => {
    const view = JSON.parse((await registry!.npm(['view', 'imspect-plugin-jsonl', '--json'], work)).stdout) as Record<string, unknown>;
    expect(view).toMatchObject({ name: 'imspect-plugin-jsonl', version: '0.1.0', imspect: { kind: 'logger' } });
    const gateway = path.join(guide, 'gateway');
    const { stdout } = await run(process.execPath, [CLI, 'plugins', 'list', '--json', '--check'], { cwd: gateway, env });
    const jsonl = (JSON.parse(stdout) as { plugins: Array<Record<string, unknown>> }).plugins.find((p) => p['name'] === 'jsonl');
    expect(jsonl).toMatchObject({ kind: 'logger', version: '0.1.0', origin: 'installed', enabled: true, status: 'ok' });
    const lock = await readFile(path.join(gateway, 'imspect-data/plugins/package-lock.json'), 'utf8');
    expect(lock).toContain(`${registry!.url}imspect-plugin-jsonl/-/imspect-plugin-jsonl-0.1.0.tgz`);
  });
});
