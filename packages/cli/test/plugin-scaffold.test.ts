import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { npmNameProblems, packageJson, pluginKey, pluginPackageName, scaffoldPlugin } from '../src/plugin-scaffold.js';

describe('plugin package names', () => {
  it.each([
    ['imspect-plugin-jsonl', 'imspect-plugin-jsonl'],
    ['jsonl', 'imspect-plugin-jsonl'],
    ['@acme/imspect-plugin-audit', '@acme/imspect-plugin-audit'],
    ['@imspect/logger-x', '@imspect/logger-x'],
    ['a.b-c_d', 'imspect-plugin-a.b-c_d'],
  ])('%s -> %s', (name, expected) => {
    expect(pluginPackageName(name)).toBe(expected);
  });

  it.each([
    ['', /empty/],
    ['JSONL', /capital letters/],
    ['my plugin', /not allowed in a URL/],
    [' jsonl', /spaces at its start or end/],
    ['.hidden', /starts with a dot/],
    ['_x', /underscore/],
    ['a!b', /~'!\(\)\*/],
    ['@acme', /scoped name is @scope\/name/],
    ['@acme/a/b', /scoped name is @scope\/name/],
    ['a/b', /only a scoped name/],
    ['x'.repeat(215), /longer than 214/],
    ['@acme/audit', /use @acme\/imspect-plugin-audit/],
    ['imspect-plugin-', /give the plugin a name after the prefix/],
  ])('refuses %j', (name, message) => {
    expect(() => pluginPackageName(name)).toThrow(message);
  });

  it('npm name rules alone: a valid name has no problems', () => {
    expect(npmNameProblems('@scope/imspect-plugin-x')).toEqual([]);
    expect(npmNameProblems('http')).toEqual(['it is the name of a Node.js module or reserved']);
  });

  it('the configuration key drops scope and prefix, as imspect does', () => {
    expect(pluginKey('@acme/imspect-plugin-audit')).toBe('audit');
    expect(pluginKey('imspect-plugin-jsonl')).toBe('jsonl');
    expect(pluginKey('@imspect/plugin-irc')).toBe('irc');
  });
});

describe('the package.json of a new plugin', () => {
  it('JavaScript, unscoped: the imspect field, the SDK as peer and dev dependency, no publishConfig', () => {
    const pkg = packageJson({ packageName: 'imspect-plugin-x', kind: 'filter', typescript: false, host: '0.3.1', sdk: '0.3.1' });
    expect(pkg).toMatchObject({
      name: 'imspect-plugin-x',
      type: 'module',
      license: 'MIT',
      keywords: expect.arrayContaining(['imspect-plugin']),
      files: ['src', 'README.md'],
      scripts: { test: 'node --test' },
      imspect: { kind: 'filter', host: '^0.3.1' },
      peerDependencies: { '@imspect/sdk': '^0.3.1' },
      devDependencies: { '@imspect/sdk': '^0.3.1' },
    });
    expect(pkg['publishConfig']).toBeUndefined();
  });

  it('TypeScript, scoped: built before packing, dist and src shipped, published public', () => {
    const pkg = packageJson({ packageName: '@acme/imspect-plugin-x', kind: 'protocol', typescript: true, host: '1.2.0-rc.1', sdk: '1.2.0-rc.1' });
    expect(pkg).toMatchObject({
      files: ['dist', 'src', 'README.md'],
      scripts: { build: 'tsc', prepack: 'tsc' },
      imspect: { kind: 'protocol', host: '^1.2.0' },
      devDependencies: { typescript: expect.any(String), '@types/node': expect.any(String) },
      publishConfig: { access: 'public' },
    });
  });
});

describe('scaffoldPlugin', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-scaffold-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const versions = { host: '0.1.0', sdk: '0.1.0' };

  it('writes the package with every placeholder filled in', async () => {
    const result = await scaffoldPlugin({ name: '@acme/imspect-plugin-chat', kind: 'protocol', typescript: true, dir, versions });
    expect(result.dir).toBe(path.join(dir, 'imspect-plugin-chat'));
    expect(result.files).toEqual([
      '.gitignore',
      'LICENSE',
      'README.md',
      'package.json',
      'src/index.ts',
      'src/session.ts',
      'test/plugin.test.ts',
      'test/tsconfig.json',
      'tsconfig.json',
    ]);
    for (const file of result.files) {
      expect(await readFile(path.join(result.dir, file), 'utf8'), file).not.toMatch(/__[A-Z_]+__/);
    }
    expect(await readFile(path.join(result.dir, 'src/index.ts'), 'utf8')).toContain("name: 'chat'");
    expect(await readFile(path.join(result.dir, 'README.md'), 'utf8')).toContain('imspect plugins install @acme/imspect-plugin-chat');
  });

  it('refuses a folder that is not empty and leaves it as it was', async () => {
    await mkdir(path.join(dir, 'imspect-plugin-x'));
    await writeFile(path.join(dir, 'imspect-plugin-x/notes.txt'), 'mine');
    await expect(scaffoldPlugin({ name: 'x', kind: 'logger', typescript: false, dir, versions })).rejects.toThrow(/exists and is not empty: nothing was written/);
    expect(await readdir(path.join(dir, 'imspect-plugin-x'))).toEqual(['notes.txt']);
  });

  it('uses an empty folder that is there already', async () => {
    await mkdir(path.join(dir, 'imspect-plugin-x'));
    const result = await scaffoldPlugin({ name: 'x', kind: 'content', typescript: false, dir, versions });
    expect(result.files).toContain('src/index.js');
  });

  it('refuses an unknown kind and a bad name before writing anything', async () => {
    await expect(scaffoldPlugin({ name: 'x', kind: 'storage' as never, typescript: false, dir, versions })).rejects.toThrow(
      /unknown kind "storage": use one of protocol, logger, filter, content/,
    );
    await expect(scaffoldPlugin({ name: 'Bad', kind: 'logger', typescript: false, dir, versions })).rejects.toThrow(/not a valid npm package name/);
    expect(await readdir(dir)).toEqual([]);
  });
});
