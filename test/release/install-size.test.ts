/**
 * What a plugin author installs to type and test a plugin: `npm install @imspect/sdk` in an empty folder, from a
 * local registry holding the packages as released, against `npm install @imspect/core` (the runtime). The SDK
 * must stay a handful of small packages with no native code; the figures are printed for the record.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithService } from '../support/e2e.js';
import { REPO_ROOT } from '../support/imspect-process.js';
import { tryStartRegistry } from '../support/registry.js';

const { registry, problem } = await tryStartRegistry();

interface InstallSize {
  packages: string[];
  bytes: number;
}

/** Every package folder under node_modules (scoped ones included, nested ones too) and the bytes of all files. */
function measure(nodeModules: string): InstallSize {
  const packages: string[] = [];
  let bytes = 0;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) bytes += statSync(full).size;
    }
  };
  const listPackages = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      const full = path.join(dir, entry.name);
      if (entry.name.startsWith('@')) {
        listPackages(full);
        continue;
      }
      const manifest = JSON.parse(readFileSync(path.join(full, 'package.json'), 'utf8')) as { name: string; version: string };
      packages.push(`${manifest.name}@${manifest.version}`);
      try {
        listPackages(path.join(full, 'node_modules'));
      } catch {
        // no nested node_modules
      }
    }
  };
  walk(nodeModules);
  listPackages(nodeModules);
  return { packages: packages.sort(), bytes };
}

const mb = (bytes: number) => (bytes / 1_000_000).toFixed(2);

describeWithService('the install size of @imspect/sdk against @imspect/core', problem, () => {
  let work: string;
  const installs = new Map<string, InstallSize>();

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'imspect-install-size-'));
    const core = JSON.parse(readFileSync(path.join(REPO_ROOT, 'packages/core/package.json'), 'utf8')) as Record<string, Record<string, string>>;
    const thirdParty = [...Object.keys(core['dependencies'] ?? {}), ...Object.keys(core['optionalDependencies'] ?? {})].filter((n) => !n.startsWith('@imspect/'));
    await registry!.seedInstalled(thirdParty, path.join(REPO_ROOT, 'packages/core'));
    await registry!.publishWorkspacePackage('@imspect/sdk');
    await registry!.publishWorkspacePackage('@imspect/core');
    for (const name of ['@imspect/sdk', '@imspect/core']) {
      const dir = path.join(work, name.replace('/', '-'));
      await mkdir(dir);
      await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'empty', version: '1.0.0', private: true }));
      await registry!.npm(['install', name], dir);
      installs.set(name, measure(path.join(dir, 'node_modules')));
    }
    for (const [name, size] of installs) console.log(`[measure] npm install ${name}: ${size.packages.length} packages, ${mb(size.bytes)} MB`);
  }, 600_000);

  afterAll(async () => {
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('the SDK installs as itself and TypeBox, well under 5 MB, with no native code', () => {
    const sdk = installs.get('@imspect/sdk')!;
    expect(sdk.packages.map((p) => p.replace(/@[^@]+$/, ''))).toEqual(['@imspect/sdk', '@sinclair/typebox']);
    expect(sdk.bytes).toBeLessThan(5_000_000);
  });

  it('the runtime is many times larger: plugins never need it', () => {
    const sdk = installs.get('@imspect/sdk')!;
    const core = installs.get('@imspect/core')!;
    expect(core.packages).toEqual(expect.arrayContaining([expect.stringMatching(/^@imspect\/core@/), expect.stringMatching(/^@imspect\/sdk@/)]));
    expect(core.packages.length).toBeGreaterThan(sdk.packages.length * 10);
    expect(core.bytes).toBeGreaterThan(sdk.bytes * 3);
  });
});
