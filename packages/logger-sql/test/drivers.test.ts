/**
 * The archive's drivers: SQLite is the runtime's node:sqlite (an archive written by the better-sqlite3 build that
 * imspect used before opens and reads unchanged), and pg / mysql2 are optional: a backend whose package is not
 * installed says which package to install.
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DriverMissingError, loadDriver, resolveTarget } from '../dist/index.js';
import { SqlArchive } from '../dist/archive.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-logger-sql-drivers-'));
  dirs.push(dir);
  return dir;
}

describe('SQLite on node:sqlite', () => {
  it('opens, searches and extends an archive written by the better-sqlite3 build (WAL, full-text trigram index)', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'archive.sqlite');
    // Written by imspect 0.1.0 on better-sqlite3 12 (SQLite 3.53.2): three messages, checkpointed and closed.
    await copyFile(path.join(FIXTURES, 'better-sqlite3-archive.sqlite'), file);
    const archive = new SqlArchive(resolveTarget({ url: `sqlite:${file}` }, dir));
    try {
      await archive.migrate();
      expect(await archive.count()).toBe(3);
      const found = await archive.search({ text: 'old build', limit: 0 });
      expect(found.map((m) => m.text)).toEqual(['hello from the old build']);
      expect((await archive.search({ text: '你好', limit: 0 })).map((m) => m.text)).toEqual(['wörld 你好 😀']);
      const added = await archive.insert([
        (await import('@imspect/sdk/testing')).testEvent({ id: '01900000-0000-7000-8000-000000000009', remoteId: 'bob', text: 'written by node:sqlite' }),
      ]);
      expect(added).toBe(1);
      expect((await archive.search({ text: 'node:sqlite', limit: 0 })).map((m) => m.text)).toEqual(['written by node:sqlite']);
      expect(await archive.count()).toBe(4);
    } finally {
      await archive.close();
    }
  });
});

describe('optional database drivers', () => {
  it('names the package to install when pg or mysql2 is missing', async () => {
    // What require throws for a package that is not installed (the error Node gives, with its require stack).
    const nowhere = (name: string) => {
      throw Object.assign(new Error(`Cannot find module '${name}'\nRequire stack:\n- ${fileURLToPath(import.meta.url)}`), { code: 'MODULE_NOT_FOUND' });
    };
    for (const name of ['pg', 'mysql2'] as const) {
      let thrown: unknown;
      try {
        loadDriver(name, nowhere);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(DriverMissingError);
      expect((thrown as Error).message).toContain(`"${name}" package, which is not installed`);
      expect((thrown as Error).message).toContain(`npm install ${name}`);
      expect((thrown as DriverMissingError).code).toBe('DRIVER_MISSING');
    }
    expect(() => loadDriver('pg', nowhere)).toThrow(/the PostgreSQL archive needs the "pg" package/);
    expect(() => loadDriver('mysql2', nowhere)).toThrow(/the MySQL\/MariaDB archive needs the "mysql2" package/);
  });

  it('keeps the error of a driver that is installed but fails to load', () => {
    const broken = () => {
      throw Object.assign(new Error("Cannot find module 'pg-native'"), { code: 'MODULE_NOT_FOUND' });
    };
    expect(() => loadDriver('pg', broken)).toThrow("Cannot find module 'pg-native'");
  });

  it('loads the installed drivers', () => {
    expect(typeof loadDriver<typeof import('pg')>('pg').Pool).toBe('function');
    expect(typeof loadDriver<typeof import('mysql2')>('mysql2').createPool).toBe('function');
  });
});
