/** Console users: Argon2id hashes in an owner-only file; names, roles and passwords checked; sessions and login back-off. */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleUsers, LoginThrottle, SessionStore } from '../dist/index.js';

describe('console users file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-console-users-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('stores an Argon2id hash, never the password, in a file only its owner may read', async () => {
    const users = new ConsoleUsers(path.join(dir, 'data'));
    expect(await users.list()).toEqual([]);
    const added = await users.add('ada', 'admin', 'a long enough password');
    expect(added).toMatchObject({ name: 'ada', role: 'admin' });
    expect(added).not.toHaveProperty('hash');
    const text = await readFile(users.file, 'utf8');
    expect(text).not.toContain('a long enough password');
    expect(text).toMatch(/"\$argon2id\$v=19\$/);
    expect((await stat(users.file)).mode & 0o777).toBe(0o600);
    expect(await users.verify('ada', 'a long enough password')).toMatchObject({ name: 'ada', role: 'admin' });
    expect(await users.verify('ada', 'a long enough passwore')).toBeUndefined();
    expect(await users.verify('nobody', 'a long enough password')).toBeUndefined();
  });

  it('refuses bad names, roles, short passwords and a second user of the same name', async () => {
    const users = new ConsoleUsers(path.join(dir, 'data'));
    await expect(users.add('ada', 'admin', 'another password')).rejects.toThrow(/exists already/);
    await expect(users.add('<script>', 'admin', 'another password')).rejects.toThrow(/not a user name/);
    await expect(users.add('bea', 'root', 'another password')).rejects.toThrow(/not a role/);
    await expect(users.add('bea', 'auditor', 'short')).rejects.toThrow(/at least 10 characters/);
    expect((await users.list()).map((u) => u.name)).toEqual(['ada']);
  });

  it('changes a password (the old one stops working) and removes users', async () => {
    const users = new ConsoleUsers(path.join(dir, 'data'));
    await users.add('bea', 'auditor', 'first password');
    const before = (await users.find('bea'))!.changed;
    await new Promise((r) => setTimeout(r, 5));
    await users.passwd('bea', 'second password');
    expect(await users.verify('bea', 'first password')).toBeUndefined();
    expect(await users.verify('bea', 'second password')).toMatchObject({ role: 'auditor' });
    expect((await users.find('bea'))!.changed).not.toBe(before);
    await users.remove('bea');
    await expect(users.remove('bea')).rejects.toThrow(/no console user/);
    await expect(users.passwd('bea', 'third password')).rejects.toThrow(/no console user/);
    expect((await stat(users.file)).mode & 0o777).toBe(0o600);
  });
});

describe('console users file written as root', () => {
  it.skipIf(process.getuid?.() !== 0)("keeps the owner of the file it replaces, else takes the data folder's", async () => {
    const { chown, mkdir } = await import('node:fs/promises');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-console-owner-'));
    try {
      const data = path.join(dir, 'data');
      await mkdir(data);
      await chown(data, 65534, 65534); // handed over to the unprivileged user at start
      const users = new ConsoleUsers(data);
      await users.add('ada', 'admin', 'a long enough password');
      expect((await stat(users.file)).uid).toBe(65534);
      await chown(users.file, 4242, 4242);
      await users.passwd('ada', 'another long password');
      const after = await stat(users.file);
      expect([after.uid, after.gid]).toEqual([4242, 4242]);
      expect(after.mode & 0o777).toBe(0o600);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('console sessions', () => {
  it('end after their idle time, after their longest life, and at logout', () => {
    let now = 0;
    const store = new SessionStore(1000, 5000, () => now);
    const a = store.create('ada', 'admin', 'x', '127.0.0.1');
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    now = 900;
    expect(store.touch(a.id)?.user).toBe('ada');
    now = 1800; // 900 ms after the last use
    expect(store.touch(a.id)?.user).toBe('ada');
    now = 2900; // 1100 ms idle
    expect(store.touch(a.id)).toBeUndefined();
    const b = store.create('ada', 'admin', 'x', '127.0.0.1');
    for (now = 3000; now <= 8000; now += 500) if (now - 2900 <= 5000) expect(store.touch(b.id)).toBeDefined();
    now = 8000;
    expect(store.touch(b.id)).toBeUndefined();
    const c = store.create('ada', 'admin', 'x', '127.0.0.1');
    store.end(c.id);
    expect(store.touch(c.id)).toBeUndefined();
    expect(store.touch('forged')).toBeUndefined();
    expect(store.touch(undefined)).toBeUndefined();
  });
});

describe('login back-off', () => {
  it('lets three failures through, then makes each further attempt wait twice as long; a success clears it', () => {
    let now = 0;
    const throttle = new LoginThrottle(() => now);
    for (let i = 0; i < 3; i++) {
      expect(throttle.retryAfter('ada', '10.0.0.1')).toBe(0);
      throttle.failed('ada', '10.0.0.1');
    }
    expect(throttle.retryAfter('ada', '10.0.0.1')).toBe(5000);
    expect(throttle.retryAfter('ADA', '10.0.0.1')).toBe(5000);
    expect(throttle.retryAfter('ada', '10.0.0.2')).toBe(0);
    now = 5000;
    expect(throttle.retryAfter('ada', '10.0.0.1')).toBe(0);
    throttle.failed('ada', '10.0.0.1');
    expect(throttle.retryAfter('ada', '10.0.0.1')).toBe(10_000);
    throttle.succeeded('ada', '10.0.0.1');
    expect(throttle.retryAfter('ada', '10.0.0.1')).toBe(0);
  });
});
