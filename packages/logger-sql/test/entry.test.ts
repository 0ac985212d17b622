/**
 * The package's entry point is what imspect imports as the plugin, and whatever it loads stays in the gateway's
 * main thread for the life of the process: with SQLite in the worker thread, that thread never needs Kysely.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openArchive, resolveTarget } from '../dist/index.js';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));

/** The URLs a fresh Node process loads while it runs `script` (an ES module body, `DIST` in scope). */
function loadedBy(script: string): string[] {
  const program = `
    import { registerHooks } from 'node:module';
    const loaded = [];
    registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });
    const DIST = ${JSON.stringify(DIST)};
    ${script}
    process.stdout.write(JSON.stringify(loaded));
  `;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', program], { encoding: 'utf8' })) as string[];
}

describe('the entry point', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('loads no Kysely, neither with the plugin set up on SQLite nor with a search helper used', () => {
    const dir = path.join(os.tmpdir(), `imspect-entry-${process.pid}`);
    const loaded = loadedBy(`
      const sql = await import(DIST + 'index.js');
      const logger = { info() {}, warn() {}, error() {}, debug() {}, child() { return logger; } };
      const hooks = await sql.default.setup({ name: 'logger-sql', logger, options: {}, dataDir: ${JSON.stringify(dir)}, configDir: ${JSON.stringify(dir)}, hostVersion: '0.1.0' });
      sql.parseTime('2h');
      sql.words('a b');
      await hooks.close();
    `);
    dirs.push(dir);
    expect(loaded.some((url) => url.endsWith('/logger-sql/dist/index.js'))).toBe(true);
    expect(loaded.filter((url) => /kysely|\/dist\/(store|search|migrations|audit)\.js$/.test(url))).toEqual([]);
  });

  it('loads the store at the first call of an archive outside the worker, and it works', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-entry-'));
    dirs.push(dir);
    const archive = openArchive(resolveTarget({}, dir));
    expect(archive.kind).toBe('sqlite');
    await archive.migrate();
    expect(await archive.count()).toBe(0);
    await archive.close();
    // Closing one never used loads nothing and does not fail.
    await openArchive(resolveTarget({}, dir)).close();
  });
});
