/**
 * The licence travels with the code: the GPL text at the root, and the same file in every package's tarball (npm
 * always packs a package folder's LICENSE, whatever its `files` list says).
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/imspect-process.js';

const execFileAsync = promisify(execFile);
const PACKAGES = path.join(REPO_ROOT, 'packages');

describe('the licence', () => {
  it('is the GNU GPL version 2 text at the root, as package.json says (GPL-2.0-or-later)', async () => {
    const text = await readFile(path.join(REPO_ROOT, 'LICENSE'), 'utf8');
    expect(text).toMatch(/^\s*GNU GENERAL PUBLIC LICENSE\s+Version 2, June 1991/);
    expect(text).toContain('TERMS AND CONDITIONS FOR COPYING, DISTRIBUTION AND MODIFICATION');
    expect(text).toContain('(at your option) any later version');
    const root = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { license: string };
    expect(root.license).toBe('GPL-2.0-or-later');
  });

  it('is in every package folder, identical to the root one, and every package says GPL-2.0-or-later', async () => {
    const root = await readFile(path.join(REPO_ROOT, 'LICENSE'), 'utf8');
    const folders = (await readdir(PACKAGES, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    expect(folders.length).toBeGreaterThan(0);
    for (const folder of folders) {
      expect(await readFile(path.join(PACKAGES, folder, 'LICENSE'), 'utf8'), `packages/${folder}/LICENSE`).toBe(root);
      const manifest = JSON.parse(await readFile(path.join(PACKAGES, folder, 'package.json'), 'utf8')) as { license: string };
      expect(manifest.license, `packages/${folder}/package.json`).toBe('GPL-2.0-or-later');
    }
  });

  it('is in the tarball `npm pack` makes of a package', async () => {
    const { stdout } = await execFileAsync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: path.join(PACKAGES, 'filter-acl'),
      timeout: 60_000,
      env: { ...process.env, npm_config_loglevel: 'silent', npm_config_offline: 'true' },
    });
    const [pack] = JSON.parse(stdout) as Array<{ name: string; files: Array<{ path: string }> }>;
    expect(pack!.name).toBe('@imspect/filter-acl');
    expect(pack!.files.map((f) => f.path)).toContain('LICENSE');
  });
});
