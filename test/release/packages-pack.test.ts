/**
 * Every `@imspect/*` package packs into a clean release tarball (`pnpm pack`, as a release is made): the licence
 * text, a README, the repository fields, the files its entry points name, its sources where its source maps point,
 * no build info, no tests, no `workspace:` ranges left.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packWorkspacePackage, workspacePackageDirs } from '../support/registry.js';
import { readTarball, tarballProblems, type TarballContents } from '../support/tarball.js';
import { readFileSync } from 'node:fs';

const packages = workspacePackageDirs().map((dir) => (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name: string }).name);

describe('the @imspect/* packages as released', () => {
  let out: string;
  const packed = new Map<string, TarballContents>();

  beforeAll(async () => {
    out = await mkdtemp(path.join(os.tmpdir(), 'imspect-pack-'));
    for (const name of packages) packed.set(name, await readTarball((await packWorkspacePackage(name, out)).tarball));
  }, 180_000);

  afterAll(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  it('are all packed (every folder under packages/)', () => {
    expect(packages).toEqual(expect.arrayContaining(['@imspect/sdk', '@imspect/core', '@imspect/cli', '@imspect/plugin-irc', '@imspect/plugin-jabber']));
    expect([...packed.keys()].sort()).toEqual([...packages].sort());
  });

  it.each(packages)('%s packs cleanly', (name) => {
    const contents = packed.get(name)!;
    expect(tarballProblems(contents, { licenceText: 'GNU GENERAL PUBLIC LICENSE', repositoryFields: true })).toEqual([]);
    expect(contents.manifest['name']).toBe(name);
    // Compiled code ships, with its declarations for TypeScript users.
    expect(contents.files.some((f) => f.startsWith('dist/') && f.endsWith('.js'))).toBe(true);
    if (name !== '@imspect/cli') expect(contents.files).toContain('dist/index.d.ts');
  });

  it('the SDK depends on nothing of the runtime: its one dependency is TypeBox', () => {
    const sdk = packed.get('@imspect/sdk')!.manifest;
    expect(Object.keys((sdk['dependencies'] as object) ?? {})).toEqual(['@sinclair/typebox']);
    expect(sdk['optionalDependencies']).toBeUndefined();
  });

  it('plugins name the SDK as a peer with a version range, not a workspace range', () => {
    for (const name of packages.filter((n) => /^@imspect\/(plugin|logger|filter|content)-/.test(n))) {
      const manifest = packed.get(name)!.manifest;
      expect((manifest['peerDependencies'] as Record<string, string>)['@imspect/sdk'], name).toMatch(/^\^\d+\.\d+\.\d+$/);
      expect((manifest['imspect'] as { kind?: string }).kind, name).toMatch(/^(protocol|logger|filter|content)$/);
      expect(manifest['keywords'], name).toContain('imspect-plugin');
    }
  });

  it('the CLI ships the plugin templates `imspect plugins new` copies', () => {
    const files = packed.get('@imspect/cli')!.files;
    for (const language of ['js', 'ts']) {
      for (const kind of ['protocol', 'logger', 'filter', 'content']) {
        expect(files.filter((f) => f.startsWith(`templates/plugin/${language}/${kind}/src/`)).length, `${language}/${kind}`).toBeGreaterThan(0);
      }
    }
    expect(files).toEqual(expect.arrayContaining(['templates/plugin/common/README.md', 'templates/plugin/common/LICENSE', 'templates/plugin/common/gitignore']));
  });
});
