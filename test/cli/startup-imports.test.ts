/**
 * What `imspect status` loads at start-up (its time budget on this machine is 300 ms): the configuration is
 * validated with the validators the build precompiled, so neither Ajv's compiler nor TypeBox (about 200 modules)
 * is imported. Runs the built CLI (`pnpm build`).
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../support/imspect-process.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-startup-'));
  // Lists every module file Node loads, on standard error, when the process exits.
  await writeFile(
    path.join(dir, 'list-modules.mjs'),
    `import { registerHooks } from 'node:module';
const loaded = [];
registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });
process.on('exit', () => process.stderr.write('\\nLOADED ' + JSON.stringify(loaded) + '\\n'));
`,
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function modulesLoadedBy(args: string[], cwd: string): { status: number | null; stdout: string; loaded: string[] } {
  const result = spawnSync(process.execPath, ['--import', path.join(dir, 'list-modules.mjs'), CLI, ...args], { cwd, encoding: 'utf8', timeout: 30_000 });
  const line = result.stderr.split('\n').find((l) => l.startsWith('LOADED '));
  if (!line) throw new Error(`no module list: ${result.stderr}`);
  return { status: result.status, stdout: result.stdout, loaded: JSON.parse(line.slice('LOADED '.length)) as string[] };
}

describe('imspect status at start-up', () => {
  it('validates the configuration with the precompiled validators, without Ajv compiling or TypeBox', async () => {
    const work = await mkdtemp(path.join(dir, 'work-'));
    await writeFile(path.join(work, 'imspect.config.json'), JSON.stringify({ dataDir: 'data', listeners: [{ type: 'socks5', port: 1080 }] }));
    const { status, stdout, loaded } = modulesLoadedBy(['status'], work);
    expect(status).toBe(0);
    expect(stdout).toContain('No journal state in');
    expect(loaded.some((url) => url.endsWith('/config/config-validators.generated.cjs'))).toBe(true);
    expect(loaded.filter((url) => url.includes('/@sinclair/typebox/'))).toEqual([]);
    expect(loaded.filter((url) => /\/ajv\/dist\/(core|ajv|compile\/)/.test(url))).toEqual([]);
  });

  it('still reports a misspelt key with a suggestion, from the precompiled validators', async () => {
    const work = await mkdtemp(path.join(dir, 'bad-'));
    await writeFile(path.join(work, 'imspect.config.json'), JSON.stringify({ dataDir: 'data', listners: [], listeners: [{ type: 'socks5', alow: [] }] }));
    const result = spawnSync(process.execPath, [CLI, 'status'], { cwd: work, encoding: 'utf8', timeout: 30_000 });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('imspect.config.json: listners: is not a known key; did you mean "listeners"?');
    expect(result.stderr).toContain('imspect.config.json: listeners[0].alow: is not a known key; did you mean "allow"?');
  });
});
