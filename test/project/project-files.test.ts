/**
 * The project's own house-keeping that CI and contributors rely on: the pnpm version pinned, lint and format
 * checked by `.ci/run` before the tests, changesets configured, and the contributor and security documents there.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/imspect-process.js';

const read = (file: string) => readFile(path.join(REPO_ROOT, file), 'utf8');

describe('project files', () => {
  it('pins pnpm 10 in packageManager and has the lint, format and changeset scripts', async () => {
    const manifest = JSON.parse(await read('package.json')) as { packageManager?: string; scripts: Record<string, string> };
    expect(manifest.packageManager).toMatch(/^pnpm@10\.\d+\.\d+$/);
    expect(manifest.scripts).toMatchObject({ lint: expect.stringContaining('biome lint'), 'format:check': expect.stringContaining('biome format'), changeset: 'changeset' });
  });

  it('.ci/run checks lint and format after installing and before the tests', async () => {
    const lines = (await read('.ci/run')).split('\n');
    const at = (command: string) => lines.indexOf(command);
    expect(at('pnpm install --frozen-lockfile')).toBeGreaterThan(-1);
    expect(at('pnpm lint')).toBeGreaterThan(at('pnpm install --frozen-lockfile'));
    expect(at('pnpm format:check')).toBeGreaterThan(at('pnpm lint'));
    expect(at('pnpm test')).toBeGreaterThan(at('pnpm format:check'));
  });

  it('keeps a changelog with changesets: one version for every @imspect package, and pending changesets', async () => {
    const config = JSON.parse(await read('.changeset/config.json')) as { fixed: string[][]; baseBranch: string };
    expect(config.fixed).toEqual([['@imspect/*']]);
    expect(config.baseBranch).toBe('main');
    const pending = (await readdir(path.join(REPO_ROOT, '.changeset'))).filter((f) => f.endsWith('.md') && f !== 'README.md');
    expect(pending.length).toBeGreaterThan(0);
  });

  it('has CONTRIBUTING.md, SECURITY.md pointing at docs/security.md, and an .editorconfig', async () => {
    expect(await read('CONTRIBUTING.md')).toContain('pnpm changeset');
    expect(await read('SECURITY.md')).toContain('docs/security.md');
    expect(await read('.editorconfig')).toContain('indent_size = 2');
  });
});
