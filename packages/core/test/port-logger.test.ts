/**
 * A relay thread's logger posts its records to the main thread: only those at or above its level, with errors
 * reduced to what is safe and cloneable to send (a driver's error may carry a password or a whole configuration).
 */
import { describe, expect, it } from 'vitest';
import { type LogRecordMessage, PortLogger } from '../src/runtime/port-logger.js';

function posting(level: string, bindings?: Record<string, unknown>): { log: PortLogger; posted: LogRecordMessage[] } {
  const posted: LogRecordMessage[] = [];
  return { log: new PortLogger((record) => posted.push(record), level, bindings), posted };
}

describe('PortLogger', () => {
  it('posts records at or above its level only', () => {
    const { log, posted } = posting('warn');
    log.trace('t');
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    log.fatal('f');
    expect(posted.map((r) => [r.level, r.msg])).toEqual([
      ['warn', 'w'],
      ['error', 'e'],
      ['fatal', 'f'],
    ]);
    expect(posted.every((r) => r.type === 'log')).toBe(true);
  });

  it('takes an unknown level as info', () => {
    const { log, posted } = posting('chatty');
    log.debug('d');
    log.info('i');
    expect(posted.map((r) => r.msg)).toEqual(['i']);
  });

  it('posts a string-only call as the message with the bindings as its fields', () => {
    const { log, posted } = posting('info', { thread: 2 });
    log.info('listening');
    expect(posted).toEqual([{ type: 'log', level: 'info', obj: { thread: 2 }, msg: 'listening' }]);
  });

  it('posts an object without a message with no msg member', () => {
    const { log, posted } = posting('info');
    log.info({ n: 1 });
    expect(posted).toEqual([{ type: 'log', level: 'info', obj: { n: 1 } }]);
    expect('msg' in posted[0]!).toBe(false);
  });

  it('sends an error as {type, message, code, stack} only, whether given alone or as a field', () => {
    const error = Object.assign(new TypeError('connect refused'), {
      code: 'ECONNREFUSED',
      password: 's3cret',
      config: { url: 'postgres://u:s3cret@db/x' },
    });
    const { log, posted } = posting('info');
    log.error(error, 'cannot connect');
    log.error({ err: error, db: 'main' }, 'cannot connect');
    const alone = (posted[0]!.obj as { err: Record<string, unknown> }).err;
    const field = (posted[1]!.obj as { err: Record<string, unknown> }).err;
    for (const err of [alone, field]) {
      expect(Object.keys(err).sort()).toEqual(['code', 'message', 'stack', 'type']);
      expect(err).toMatchObject({ type: 'TypeError', message: 'connect refused', code: 'ECONNREFUSED' });
      expect(err.stack).toContain('connect refused');
    }
    expect((posted[1]!.obj as Record<string, unknown>).db).toBe('main');
    expect(JSON.stringify(posted)).not.toContain('s3cret');
    // What is posted must survive structured cloning (postMessage) as it is.
    expect(structuredClone(posted)).toEqual(posted);
  });

  it('leaves out the code of an error that has none', () => {
    const { log, posted } = posting('info');
    log.warn({ err: new Error('plain') });
    expect(Object.keys((posted[0]!.obj as { err: object }).err).sort()).toEqual(['message', 'stack', 'type']);
  });

  it('merges the bindings of children, the innermost winning, with the root bindings', () => {
    const { log, posted } = posting('info', { thread: 1 });
    const child = log.child({ plugin: 'filter-x', hook: 'a' }).child({ hook: 'b' });
    child.info({ n: 3 }, 'with fields');
    child.warn('string only');
    child.error(new Error('boom'), 'an error');
    expect(posted[0]).toEqual({ type: 'log', level: 'info', obj: { thread: 1, plugin: 'filter-x', hook: 'b', n: 3 }, msg: 'with fields' });
    expect(posted[1]).toEqual({ type: 'log', level: 'warn', obj: { thread: 1, plugin: 'filter-x', hook: 'b' }, msg: 'string only' });
    expect(posted[2]!.obj).toMatchObject({ thread: 1, plugin: 'filter-x', hook: 'b', err: { type: 'Error', message: 'boom' } });
  });

  it('applies its level to children too', () => {
    const { log, posted } = posting('error');
    log.child({ plugin: 'p' }).warn('quiet');
    expect(posted).toEqual([]);
  });

  it('replaces byte arrays by their length, nested too', () => {
    const { log, posted } = posting('info');
    log.info({ payload: new Uint8Array(5), nested: { frame: Buffer.alloc(12) }, list: [new Uint8Array(0)] });
    expect(posted[0]!.obj).toEqual({ payload: '<5 bytes>', nested: { frame: '<12 bytes>' }, list: ['<0 bytes>'] });
  });

  it('does not throw when posting fails (the port is closed)', () => {
    let calls = 0;
    const log = new PortLogger(() => {
      calls++;
      throw new Error('port closed');
    }, 'info');
    expect(() => log.error('late')).not.toThrow();
    expect(() => log.child({ a: 1 }).warn({ b: 2 }, 'late')).not.toThrow();
    expect(calls).toBe(2);
  });
});
