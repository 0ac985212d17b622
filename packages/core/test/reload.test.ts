import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Type } from '@sinclair/typebox';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import type { NamedFilter } from '../src/proxy/policy.js';
import { DEFAULT_RESPONSE_SETTINGS, Responses } from '../src/proxy/responses.js';
import type { ImEvent } from '@imspect/sdk';
import { definePlugin, type FilterHooks } from '@imspect/sdk';
import type { LoadedPlugin } from '../src/runtime/loader.js';
import { reloadPolicy } from '../src/runtime/reload.js';
import { recordingLogger, removeTempDirs, tempDir } from './helpers.js';

afterAll(removeTempDirs);

const event = (text: string) => ({ text }) as ImEvent;

describe('reloadPolicy (SIGHUP)', () => {
  it('sets a filter up again when its options change, keeps it when the new ones are invalid, and reloads the rest', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'imspect.config.json');
    const write = (config: unknown) => writeFile(file, typeof config === 'string' ? config : JSON.stringify(config));
    const closed: string[] = [];
    let reloads = 0;
    const plugin = definePlugin({
      name: 'words',
      kind: 'filter',
      options: Type.Object({ word: Type.String() }, { additionalProperties: false }),
      setup: ({ options }): FilterHooks => ({
        check: (e) => ({ action: e.text === options.word ? 'block' : 'pass' }),
        reload: () => void reloads++,
        close: () => void closed.push(options.word),
      }),
    });
    await write({ plugins: { words: { options: { word: 'a' } } }, responses: { blocked: { text: 'first' } } });
    const loaded = await loadConfig({ file });
    const section = loaded.config.plugins['words'];
    const hooks = (await plugin.setup({ name: 'words', logger: recordingLogger(), options: { word: 'a' }, hostVersion: '0.1.0', dataDir: dir, configDir: dir })) as FilterHooks;
    const named: NamedFilter = { name: 'words', hooks };
    const loadedPlugin = { record: {} as never, name: 'words', kind: 'filter', plugin, hooks, section } as unknown as LoadedPlugin;
    const responses = new Responses(structuredClone(DEFAULT_RESPONSE_SETTINGS));
    const log = recordingLogger();
    const targets = { loaded, policyPlugins: [{ plugin: loadedPlugin, named }], responses, log };
    const verdict = (text: string) => (named.hooks.check(event(text)) as { action: string }).action;

    // Nothing changed: the plugin re-reads its files.
    expect(await reloadPolicy(targets)).toEqual({ ok: true, problems: [], reconfigured: [] });
    expect(reloads).toBe(1);

    await write({ plugins: { words: { options: { word: 'b' } } }, responses: { blocked: { text: 'second' } } });
    expect(await reloadPolicy(targets)).toEqual({ ok: true, problems: [], reconfigured: ['words'] });
    expect([verdict('a'), verdict('b')]).toEqual(['pass', 'block']);
    expect(closed).toEqual(['a']);
    expect(responses.current.blocked.text).toBe('second');

    await write({ plugins: { words: { options: { word: 5 } } }, responses: { blocked: { text: 'third' } } });
    const bad = await reloadPolicy(targets);
    expect(bad.ok).toBe(false);
    expect(bad.problems.join('\n')).toMatch(/imspect\.config\.json: plugins\.words\.options\.word: must be string/);
    expect(verdict('b')).toBe('block');
    expect(responses.current.blocked.text).toBe('third'); // the rest of the configuration still applies

    await write('{ broken json');
    const broken = await reloadPolicy(targets);
    expect(broken.ok).toBe(false);
    expect(reloads).toBe(2); // its files are still re-read
    expect(verdict('b')).toBe('block');
    expect(responses.current.blocked.text).toBe('third');
  });

  it('applies policy.unreadable to the connections in place; a broken file keeps the one in force', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'imspect.config.json');
    await writeFile(file, JSON.stringify({ policy: { unreadable: 'log' } }));
    const loaded = await loadConfig({ file });
    const relayOptions = { idleTimeoutMs: 0, sniffTimeoutMs: 2_000, debug: false, unreadable: loaded.config.policy.unreadable };
    const targets = { loaded, policyPlugins: [], responses: undefined, relayOptions, log: recordingLogger() };
    await writeFile(file, JSON.stringify({ policy: { unreadable: { default: 'log', qq: 'block' } } }));
    expect((await reloadPolicy(targets)).ok).toBe(true);
    expect(relayOptions.unreadable).toEqual({ default: 'log', qq: 'block' });
    await writeFile(file, JSON.stringify({ policy: { unreadable: 'drop' } }));
    expect((await reloadPolicy(targets)).ok).toBe(false);
    expect(relayOptions.unreadable).toEqual({ default: 'log', qq: 'block' });
  });
});
