/**
 * `imspect plugins new` as typed at a shell: what it creates and says, and each refusal (a bad name, an unknown
 * kind, a folder that is not empty) as one plain line on standard error with exit code 2 and nothing written.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli-run.js';

describe('imspect plugins new', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-new-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates the package in --dir and says what it wrote and what to do next', async () => {
    const result = await runCli(['plugins', 'new', '@acme/imspect-plugin-audit', '--kind', 'logger', '--dir', 'plugins'], dir);
    expect(result.code).toBe(0);
    const target = path.join(dir, 'plugins/imspect-plugin-audit');
    expect(result.stdout).toContain(`Created @acme/imspect-plugin-audit (logger plugin "audit", JavaScript) in ${target}:`);
    expect(result.stdout).toContain('npm install && npm test');
    const pkg = JSON.parse(await readFile(path.join(target, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(pkg).toMatchObject({ name: '@acme/imspect-plugin-audit', imspect: { kind: 'logger' }, publishConfig: { access: 'public' } });
    expect((await readdir(target)).sort()).toEqual(['.gitignore', 'LICENSE', 'README.md', 'package.json', 'src', 'test']);
  });

  it.each([
    [['Audit', '--kind', 'logger'], /^imspect: "Audit" is not a valid npm package name: it has capital letters/],
    [['@acme/audit', '--kind', 'logger'], /use @acme\/imspect-plugin-audit/],
  ])('refuses %j with one line and exit code 2', async (args, message) => {
    const result = await runCli(['plugins', 'new', ...args], dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses an unknown kind (oclif lists the kinds)', async () => {
    const result = await runCli(['plugins', 'new', 'x', '--kind', 'storage'], dir);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/--kind=storage to be one of: protocol, logger, filter/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('never writes into a folder that is not empty', async () => {
    await mkdir(path.join(dir, 'imspect-plugin-x'));
    await writeFile(path.join(dir, 'imspect-plugin-x/index.js'), 'my work');
    const result = await runCli(['plugins', 'new', 'x', '--kind', 'filter'], dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/imspect-plugin-x exists and is not empty: nothing was written/);
    expect(await readdir(path.join(dir, 'imspect-plugin-x'))).toEqual(['index.js']);
    expect(await readFile(path.join(dir, 'imspect-plugin-x/index.js'), 'utf8')).toBe('my work');
  });
});
