import { afterAll, describe, it, expect } from 'vitest';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FileStore, UNVERIFIED_MAX_BYTES } from '../src/files.js';
import { makeEvent, parseCsv, setupLogger, tempDir, removeTempDirs } from './helpers.js';

afterAll(removeTempDirs);

describe('FileStore', () => {
  it('keeps at most maxOpenFiles files open, least recently used closed first', async () => {
    const dir = await tempDir();
    const store = new FileStore({ maxOpenFiles: 2, fileMode: 0o640, dirMode: 0o750, fsync: false });
    const target = (name: string) => ({ file: join(dir, 'sub', `${name}.csv`), sidecars: [] });
    for (const name of ['a', 'b', 'a', 'c', 'a', 'd']) {
      await store.append(target(name), Buffer.from(`${name}\n`));
      expect(store.openFiles).toBeLessThanOrEqual(2);
    }
    await store.close();
    expect(store.openFiles).toBe(0);
    expect(await readFile(join(dir, 'sub/a.csv'), 'utf8')).toBe('a\na\na\n');
    expect(await readFile(join(dir, 'sub/d.csv'), 'utf8')).toBe('d\n');
  });

  it('does not check each append; a file deleted before the check gets its unchecked rows again, once', async () => {
    const dir = await tempDir();
    const store = new FileStore({ maxOpenFiles: 4, fileMode: 0o640, dirMode: 0o750, fsync: false });
    const target = { file: join(dir, 'sub', 'a.csv'), sidecars: [] };
    const header = Buffer.from('h\n');
    await store.append(target, Buffer.from('1\n'), header);
    await store.sync(); // checked: '1' is on disk under its name
    await store.append(target, Buffer.from('2\n'), header);
    await rm(join(dir, 'sub'), { recursive: true });
    await store.append(target, Buffer.from('3\n'), header); // within the interval: into the deleted file
    await expect(stat(target.file)).rejects.toMatchObject({ code: 'ENOENT' });
    await store.sync(); // the check finds it deleted: recreated with what was written since the last check
    await store.append(target, Buffer.from('4\n'), header);
    await store.close();
    expect(await readFile(target.file, 'utf8')).toBe('h\n2\n3\n4\n');
  });

  it('checks before an append once enough bytes went unchecked', async () => {
    const dir = await tempDir();
    const store = new FileStore({ maxOpenFiles: 4, fileMode: 0o640, dirMode: 0o750, fsync: false });
    const target = { file: join(dir, 'sub', 'b.csv'), sidecars: [] };
    const big = Buffer.alloc(UNVERIFIED_MAX_BYTES + 1, 'x');
    await store.append(target, big);
    await rm(target.file);
    await store.append(target, Buffer.from('\nnext\n'));
    // Recreated by the append itself, not only at close: the big block was written again, then the new row.
    const content = await readFile(target.file, 'utf8');
    expect(content.length).toBe(big.length + 6);
    expect(content.endsWith('x\nnext\n')).toBe(true);
    await store.close();
  });

  it('keeps nothing open with maxOpenFiles 0', async () => {
    const dir = await tempDir();
    const store = new FileStore({ maxOpenFiles: 0, fileMode: 0o640, dirMode: 0o750, fsync: false });
    await store.append({ file: join(dir, 'x.csv'), sidecars: [] }, Buffer.from('x\n'));
    expect(store.openFiles).toBe(0);
  });

  it('keeps the cap with appends to many files at once, and writes each completely', async () => {
    const dir = await tempDir();
    const store = new FileStore({ maxOpenFiles: 3, fileMode: 0o640, dirMode: 0o750, fsync: false });
    const names = Array.from({ length: 12 }, (_, i) => `f${i}`);
    const target = (name: string) => ({ file: join(dir, 'many', `${name}.csv`), sidecars: [{ path: join(dir, '.id'), content: 'x\n' }] });
    for (let round = 0; round < 3; round++) {
      await Promise.all(names.map((name) => store.append(target(name), Buffer.from(`${name}-${round}\n`))));
      expect(store.openFiles).toBeLessThanOrEqual(3);
    }
    await store.close();
    for (const name of names) expect(await readFile(target(name).file, 'utf8')).toBe(`${name}-0\n${name}-1\n${name}-2\n`);
  });

  it('writes the header only into an empty file', async () => {
    const dir = await tempDir();
    const store = new FileStore({ maxOpenFiles: 4, fileMode: 0o640, dirMode: 0o750, fsync: false });
    const t = { file: join(dir, 'h.csv'), sidecars: [{ path: join(dir, '.id'), content: 'full\n' }] };
    await store.append(t, Buffer.from('1\n'), Buffer.from('H\n'));
    await store.append(t, Buffer.from('2\n'), Buffer.from('H\n'));
    await store.close();
    expect(await readFile(t.file, 'utf8')).toBe('H\n1\n2\n');
    expect(await readFile(join(dir, '.id'), 'utf8')).toBe('full\n');
  });
});

describe('concurrent writes', () => {
  it('serialises batches, so a retry racing its first attempt is still written once', async () => {
    const data = await tempDir();
    const log = await setupLogger(data);
    const batch = Array.from({ length: 50 }, (_, i) => makeEvent({ id: `k${i}`, text: `m${i}` }));
    await Promise.all([log.write(batch), log.write(batch), log.write(batch.slice(10, 20)), log.flush()]);
    await log.close();
    const rows = parseCsv(await readFile(join(data, 'logs/irc/alice/bob/2024-03-05.csv'), 'utf8'));
    expect(rows.map((r) => r[7])).toEqual(batch.map((e) => e.text));
  });
});
