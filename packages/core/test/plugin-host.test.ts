import { ImspectError, type FilterHooks, type LoggerHooks, type ProtocolSession } from '@imspect/sdk';
import { describe, expect, it } from 'vitest';
import { HOOKS, PluginHost } from '../src/runtime/plugin-host.js';

const noop = () => undefined;
function recordingLog() {
  const errors: Array<Record<string, unknown> & { msg: string }> = [];
  const log = { trace: noop, debug: noop, info: noop, warn: noop, error: (obj: unknown, msg?: string) => errors.push({ ...(obj as object), msg: msg ?? '' }), child: () => log };
  return { log, errors };
}

describe('PluginHost', () => {
  it('answers a synchronous hook synchronously, with the hook bound to its object', () => {
    const host = new PluginHost();
    const session: ProtocolSession = {
      seen: [] as Uint8Array[],
      push(_direction, chunk) {
        (this as unknown as { seen: Uint8Array[] }).seen.push(chunk);
        return [{ raw: chunk }];
      },
    } as ProtocolSession;
    const frames = host.call('session', 'lines', session, 'push', 'outgoing', new Uint8Array([1, 2]));
    expect(frames).toEqual([{ raw: new Uint8Array([1, 2]) }]);
    expect((session as unknown as { seen: unknown[] }).seen).toHaveLength(1);
  });

  it('turns a throw or a rejection into an error naming the plugin and the hook', async () => {
    const host = new PluginHost();
    const filter: FilterHooks = {
      check() {
        throw new Error('rules unreadable');
      },
    };
    expect(() => host.call('filter', 'words', filter, 'check', {} as never)).toThrow(
      expect.objectContaining({ code: 'PLUGIN_HOOK_FAILED', plugin: 'words', hook: 'check', message: 'plugin "words" failed in check: rules unreadable' }),
    );
    const logger: LoggerHooks = { write: () => Promise.reject(new Error('disk full')) };
    await expect(host.callAsync('logger', 'csv', logger, 'write', [])).rejects.toMatchObject({ code: 'PLUGIN_HOOK_FAILED', plugin: 'csv', hook: 'write' });
    // An error that already names its plugin (a nested call) is passed on as it is.
    const named = new ImspectError('inner', { code: 'X', plugin: 'other', hook: 'setup' });
    const nested: FilterHooks = {
      check() {
        throw named;
      },
    };
    expect(() => host.call('filter', 'outer', nested, 'check', {} as never)).toThrow(named);
  });

  it("bounds a promise by the table's timeout for that hook, and leaves synchronous hooks unbounded", async () => {
    const host = new PluginHost({ policyMs: 30, loggerMs: 60_000 });
    const slow: FilterHooks = { check: () => new Promise(() => undefined) };
    const started = Date.now();
    await expect(host.call('filter', 'slow', slow, 'check', {} as never)).rejects.toMatchObject({
      code: 'PLUGIN_HOOK_TIMEOUT',
      plugin: 'slow',
      hook: 'check',
      message: 'plugin "slow" did not finish check within 30 ms',
    });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(HOOKS.filter.check.timeout).toBe('policyMs');
    expect(HOOKS.logger.write.timeout).toBe('loggerMs');
    expect(HOOKS.session.push.timeout).toBeUndefined();
  });

  it('has a timeout or a synchronous answer, and a failure mode, for every hook', () => {
    const roles = Object.keys(HOOKS).sort();
    expect(roles).toEqual(['content', 'filter', 'frame', 'logger', 'plugin', 'protocol', 'session']);
    expect(Object.keys(HOOKS.protocol).sort()).toEqual(['close', 'createSession', 'routeForward', 'sniff']);
    expect(Object.keys(HOOKS.session).sort()).toEqual(['end', 'gap', 'push', 'respond', 'respondLater', 'tlsIntercepted']);
    for (const [role, hooks] of Object.entries(HOOKS)) {
      for (const [hook, spec] of Object.entries(hooks as Record<string, { onFailure: string; timeout?: string }>)) {
        expect(spec.onFailure.length, `${role}.${hook}`).toBeGreaterThan(10);
        if (spec.timeout !== undefined) expect(['setupMs', 'policyMs', 'loggerMs', 'closeMs']).toContain(spec.timeout);
      }
    }
  });

  it('closes in reverse order; a close that fails or hangs is reported by name and the others still close', async () => {
    const host = new PluginHost({ closeMs: 50 });
    const closed: string[] = [];
    const plugin = (name: string, kind: 'filter' | 'logger' | 'protocol', close?: () => unknown) => ({
      name,
      kind,
      hooks: {
        write: async () => undefined,
        check: () => ({ action: 'pass' as const }),
        ports: [],
        createSession: () => ({ push: () => [] }),
        ...(close ? { close } : {}),
      } as never,
    });
    const { log, errors } = recordingLog();
    const failed = await host.closeInReverse(
      [
        plugin('first', 'protocol', () => void closed.push('first')),
        plugin('none', 'filter'),
        plugin('hangs', 'filter', () => new Promise(() => closed.push('hangs'))),
        plugin('throws', 'logger', () => {
          closed.push('throws');
          throw new Error('socket gone');
        }),
        plugin('last', 'filter', async () => void closed.push('last')),
      ],
      log,
    );
    expect(closed).toEqual(['last', 'throws', 'hangs', 'first']);
    expect(failed).toEqual(['throws', 'hangs']);
    expect(errors.map((e) => [e['plugin'], e['hook'], e.msg])).toEqual([
      ['throws', 'close', 'logger plugin "throws" failed to close: plugin "throws" failed in close: socket gone'],
      ['hangs', 'close', 'filter plugin "hangs" did not close in time; the others are closed anyway'],
    ]);
  });
});
