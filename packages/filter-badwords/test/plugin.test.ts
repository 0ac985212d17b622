import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isPlugin, type FilterHooks, type ImEvent, type PluginLogger } from '@imspect/sdk';
import plugin from '../src/index.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

function logger(records: Array<{ level: string; msg: string | undefined }> = []): PluginLogger & { records: typeof records } {
  const at = (level: string) => (obj: unknown, msg?: string) => void records.push({ level, msg: typeof obj === 'string' ? obj : msg });
  const self = { records, trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => self };
  return self;
}

function event(text: string, type: ImEvent['type'] = 'message'): ImEvent {
  return {
    id: '1',
    at: '',
    protocol: 'irc',
    direction: 'outgoing',
    type,
    localId: 'alice',
    remoteId: '#c',
    text,
    client: { ip: '127.0.0.1', port: 1 },
    server: { host: 'h', port: 2 },
    filtered: false,
    categories: [],
  };
}

async function setup(words: string, options: Record<string, unknown> = {}) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-badwords-'));
  dirs.push(dir);
  await writeFile(path.join(dir, 'words.txt'), words);
  const log = logger();
  const hooks = (await plugin.setup({
    name: 'filter-badwords',
    logger: log,
    hostVersion: '0.1.0',
    dataDir: dir,
    configDir: dir,
    options: { file: 'words.txt', replaceCharacter: '*', blockCount: 0, match: 'word', watch: true, ...options } as never,
  })) as FilterHooks;
  return { dir, hooks, log };
}

const waitFor = async (predicate: () => boolean, what: string) => {
  const deadline = Date.now() + 5000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('filter-badwords', () => {
  it('is a filter plugin', () => {
    expect(isPlugin(plugin)).toBe(true);
    expect(plugin.kind).toBe('filter');
  });

  it('leaves presence alone: a status text with bad words is neither masked nor blocked', async () => {
    const { hooks } = await setup('darn\n', { blockCount: 1 });
    const status = { ...event(''), type: 'contact' as const, subtype: 'status', data: { status: 'away', 'protocol-status': 'AWY', description: 'darn darn' } };
    delete (status as Partial<ImEvent>).text;
    expect(await hooks.check(status)).toEqual({ action: 'pass' });
    expect(await hooks.check({ ...status, type: 'other' })).toEqual({ action: 'pass' });
  });

  it('masks and categorises; blocks at blockCount', async () => {
    const { hooks } = await setup('darn\nheck\n', { blockCount: 2 });
    expect(await hooks.check(event('hello'))).toEqual({ action: 'pass' });
    expect(await hooks.check(event('oh darn'))).toEqual({ action: 'pass', categories: ['1 badwords'], text: 'oh ****' });
    expect(await hooks.check(event('darn and heck'))).toMatchObject({ action: 'block', categories: ['2 badwords'] });
    expect(await hooks.check({ ...event('darn'), type: 'typing' })).toEqual({ action: 'pass' });
    // Core skips the other types (judges), as check itself passes them.
    expect([...hooks.judges!]).toEqual(['message']);
  });

  it('blockCount 0 never blocks', async () => {
    const { hooks } = await setup('darn\n');
    expect(await hooks.check(event('darn darn darn darn'))).toEqual({ action: 'pass', categories: ['4 badwords'], text: '**** **** **** ****' });
  });

  it('does nothing without a word list', async () => {
    const hooks = (await plugin.setup({
      name: 'filter-badwords',
      logger: logger(),
      hostVersion: '0.1.0',
      dataDir: '/tmp',
      configDir: '/tmp',
      options: {} as never,
    })) as FilterHooks;
    expect(await hooks.check(event('darn'))).toEqual({ action: 'pass' });
    expect(hooks.judges?.size).toBe(0);
  });

  it('fails to set up, naming the file, when the word list cannot be read', async () => {
    await expect(
      plugin.setup({ name: 'filter-badwords', logger: logger(), hostVersion: '0.1.0', dataDir: '/tmp', configDir: '/nonexistent', options: { file: 'nope.txt' } as never }),
    ).rejects.toThrow(/cannot read the word list \/nonexistent\/nope\.txt/);
  });

  it('reloads the list when the file changes, and keeps the last good one when it is broken', async () => {
    const { dir, hooks, log } = await setup('darn\n');
    try {
      await writeFile(path.join(dir, 'words.txt'), 'darn\nblast\n');
      await waitFor(() => log.records.some((r) => r.msg === 'word list reloaded'), 'the reload');
      expect(await hooks.check(event('blast'))).toMatchObject({ text: '*****' });
      await writeFile(path.join(dir, 'words.txt'), 'oops\u0000binary\n');
      await waitFor(() => log.records.some((r) => r.level === 'error' && /line 1: not UTF-8 text/.test(r.msg ?? '')), 'the error');
      expect(await hooks.check(event('blast'))).toMatchObject({ text: '*****' });
      await expect(hooks.reload!()).rejects.toThrow(/last good version stays in force/);
      // Replaced by rename, as editors save: seen too.
      await writeFile(path.join(dir, 'next.tmp'), 'gosh\n');
      const { rename } = await import('node:fs/promises');
      await rename(path.join(dir, 'next.tmp'), path.join(dir, 'words.txt'));
      await waitFor(() => log.records.filter((r) => r.msg === 'word list reloaded').length === 2, 'the second reload');
      expect(await hooks.check(event('gosh blast'))).toMatchObject({ text: '**** blast' });
    } finally {
      await hooks.close?.();
    }
  });

  it('reload() re-reads at once (SIGHUP) even without watching', async () => {
    const { dir, hooks } = await setup('darn\n', { watch: false });
    await writeFile(path.join(dir, 'words.txt'), 'blast\n');
    expect(await hooks.check(event('blast'))).toEqual({ action: 'pass' });
    await hooks.reload!();
    expect(await hooks.check(event('blast darn'))).toMatchObject({ text: '***** darn' });
  });
});
