import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { definePlugin, ImspectError, PluginHookError, resolveOptions, Type, type ImEvent } from '../src/index.js';
import { recordingLogger, runContent, runFilter, runLogger, setupPlugin, stubContext, testEvent, TEST_HOST_VERSION } from '../src/testing/index.js';

/** A filter declared with the SDK alone: options with defaults, a secret that must never be logged. */
const wordFilter = definePlugin({
  name: 'filter-words',
  kind: 'filter',
  options: Type.Object(
    {
      words: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
      category: Type.String({ default: 'words' }),
      apiKey: Type.Optional(Type.String()),
    },
    { additionalProperties: false },
  ),
  setup({ options, logger }) {
    const log = logger.child({ component: 'matcher' });
    log.info({ words: options.words.length }, 'loaded');
    return {
      check(event) {
        const hit = options.words.find((word) => event.text?.includes(word));
        if (hit === undefined) return { action: 'pass' };
        log.warn({ remoteId: event.remoteId }, 'blocked');
        return { action: 'block', categories: [options.category], reason: `word "${hit}"` };
      },
    };
  },
});

describe('options with the SDK alone', () => {
  it('applies defaults and validates, reporting keys as imspect does', async () => {
    const schema = wordFilter.options!;
    expect(await resolveOptions(schema, undefined)).toEqual({ ok: true, options: { words: [], category: 'words' } });
    const input = { words: ['x'] };
    expect(await resolveOptions(schema, input)).toEqual({ ok: true, options: { words: ['x'], category: 'words' } });
    expect(input).toEqual({ words: ['x'] }); // not modified
    const bad = await resolveOptions(schema, { words: ['ok', ''], colour: 'red' });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.problems.map((p) => p.key).sort()).toEqual(['colour', 'words[1]']);
  });

  it('reports a value of the wrong type instead of replacing it with the default (as imspect does)', async () => {
    const schema = Type.Object({ ports: Type.Array(Type.Integer(), { default: [5050] }), nested: Type.Object({ on: Type.Boolean({ default: true }) }, { default: {} }) });
    expect(await resolveOptions(schema, { ports: 'many' })).toMatchObject({ ok: false, problems: [{ key: 'ports' }] });
    expect(await resolveOptions(schema, {})).toEqual({ ok: true, options: { ports: [5050], nested: { on: true } } });
    expect(await resolveOptions(schema, { nested: {} })).toEqual({ ok: true, options: { ports: [5050], nested: { on: true } } });
  });

  it('reports a plain JSON Schema instead of guessing', async () => {
    const result = await resolveOptions({ type: 'object' } as never, {});
    expect(result).toMatchObject({ ok: false, problems: [{ key: '(root)', message: expect.stringMatching(/plain JSON Schema/) }] });
  });
});

describe('filter, content and logger plugins under test', () => {
  it('sets a filter up with validated options and runs check on frozen events', async () => {
    const { hooks, logger, context } = await setupPlugin(wordFilter, { options: { words: ['darn'], apiKey: 's3cret-key' } });
    expect(context).toMatchObject({ name: 'filter-words', hostVersion: TEST_HOST_VERSION, options: { category: 'words' } });
    const verdicts = await runFilter(hooks, [testEvent({ text: 'hello' }), testEvent({ text: 'darn it', remoteId: 'carol' })], 'filter-words');
    expect(verdicts).toEqual([{ action: 'pass' }, { action: 'block', categories: ['words'], reason: 'word "darn"' }]);
    expect(logger.lines).toEqual([
      { level: 'info', component: 'matcher', words: 1, msg: 'loaded' },
      { level: 'warn', component: 'matcher', remoteId: 'carol', msg: 'blocked' },
    ]);
    expect(logger.text()).not.toContain('s3cret-key');
  });

  it('refuses invalid options with an error naming plugin and key', async () => {
    const failure = setupPlugin(wordFilter, { options: { words: 'darn' } });
    await expect(failure).rejects.toBeInstanceOf(ImspectError);
    await expect(failure).rejects.toMatchObject({ code: 'CONFIG_INVALID', plugin: 'filter-words', key: 'words' });
  });

  it('a hook that changes its event, or returns no verdict, fails naming plugin and hook', async () => {
    const meddler = { check: (event: Readonly<ImEvent>) => ((event as ImEvent).text = 'changed') && { action: 'pass' as const } };
    await expect(runFilter(meddler, testEvent({ text: 'x' }), 'meddler')).rejects.toThrow(/plugin "meddler" failed in check: .*read only/);
    const confused = { check: () => ({ action: 'maybe' }) as never };
    await expect(runFilter(confused, testEvent(), 'confused')).rejects.toBeInstanceOf(PluginHookError);
    const event = testEvent({ text: 'x' });
    await runFilter({ check: () => ({ action: 'pass' }) }, event);
    expect(Object.isFrozen(event)).toBe(false); // the caller's event is left alone
  });

  it('runs a content plugin', async () => {
    const masker = definePlugin({
      name: 'content-mask',
      kind: 'content',
      options: Type.Object({ mask: Type.String({ default: '#', maxLength: 1 }) }),
      setup: ({ options }) => ({ transform: (event) => (event.text?.includes('darn') ? event.text.replaceAll('darn', options.mask.repeat(4)) : undefined) }),
    });
    const { hooks } = await setupPlugin(masker);
    expect(await runContent(hooks, [testEvent({ text: 'oh darn' }), testEvent({ text: 'fine' })])).toEqual(['oh ####', undefined]);
  });

  it('runs a logger plugin in batches, then flush and close, with a real data folder', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'imspect-sdk-kit-'));
    try {
      const calls: string[] = [];
      const fileLogger = definePlugin({
        name: 'logger-lines',
        kind: 'logger',
        setup: ({ dataDir: dir }) => {
          const lines: string[] = [];
          return {
            async write(events) {
              calls.push(`write ${events.length}`);
              for (const event of events) lines.push(`${event.id} ${event.text ?? ''}`);
            },
            async flush() {
              calls.push('flush');
              writeFileSync(join(dir, 'events.txt'), lines.join('\n'));
            },
            async close() {
              calls.push('close');
            },
          };
        },
      });
      const { hooks } = await setupPlugin(fileLogger, { dataDir });
      const events = ['a', 'b', 'c'].map((text, i) => testEvent({ id: `id-${i}`, text }));
      await runLogger(hooks, events, { batchSize: 2 });
      expect(calls).toEqual(['write 2', 'write 1', 'flush', 'close']);
      expect(readFileSync(join(dataDir, 'events.txt'), 'utf8')).toBe('id-0 a\nid-1 b\nid-2 c');
      await expect(runLogger({ write: () => Promise.reject(new Error('disk full')) }, events, { name: 'logger-lines' })).rejects.toThrow(
        'plugin "logger-lines" failed in write: disk full',
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('recording logger and stub context', () => {
  it('follows pino conventions: (msg), (obj, msg), (err, msg), child bindings shared by the family', () => {
    const logger = recordingLogger({ plugin: 'p' });
    const child = logger.child({ conn: 7 });
    logger.info('plain');
    child.error(new Error('boom'), 'failed');
    child.child({ step: 'b' }).debug({ n: 1 });
    expect(logger.lines).toEqual([
      { level: 'info', plugin: 'p', msg: 'plain' },
      { level: 'error', plugin: 'p', conn: 7, err: expect.objectContaining({ message: 'boom' }), msg: 'failed' },
      { level: 'debug', plugin: 'p', conn: 7, step: 'b', n: 1 },
    ]);
    expect(logger.at('error')).toHaveLength(1);
    expect(logger.text()).toContain('"message":"boom"');
    child.clear();
    expect(logger.lines).toEqual([]);
  });

  it('a stub context has everything setup reads', () => {
    const ctx = stubContext({ name: 'x', options: { a: 1 } });
    expect(ctx).toMatchObject({ name: 'x', options: { a: 1 }, hostVersion: TEST_HOST_VERSION });
    expect(ctx.configDir).toBe(ctx.dataDir);
    ctx.logger.warn('w');
    expect(ctx.logger.lines).toEqual([{ level: 'warn', msg: 'w' }]);
  });
});
