import { describe, expect, it } from 'vitest';
import type { PluginLogger } from '@imspect/sdk';
import { BoundLogger } from '../src/proxy/bound-logger.js';

function recorder() {
  const records: Array<{ level: string; obj: Record<string, unknown>; msg: string | undefined }> = [];
  const at =
    (level: string) =>
    (obj: unknown, msg?: string): void => {
      records.push({ level, obj: obj as Record<string, unknown>, msg });
    };
  const log: PluginLogger = { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => log };
  return { log, records };
}

describe('BoundLogger (a connection logger without a pino child)', () => {
  it('writes the bindings first and the call fields after, at the level called', () => {
    const { log, records } = recorder();
    const bound = new BoundLogger(log, { conn: 'c1', client: '10.0.0.1:5000', server: 'irc.example:6667' });
    bound.info({ protocol: 'irc' }, 'connection open');
    bound.warn({ conn: 'override' }, 'later keys win, as in a pino child');
    expect(records[0]).toEqual({ level: 'info', obj: { conn: 'c1', client: '10.0.0.1:5000', server: 'irc.example:6667', protocol: 'irc' }, msg: 'connection open' });
    expect(Object.keys(records[0]!.obj)).toEqual(['conn', 'client', 'server', 'protocol']);
    expect(records[1]!.level).toBe('warn');
    expect(records[1]!.obj.conn).toBe('override');
  });

  it('keeps the bindings for a message alone, an error, and a child', () => {
    const { log, records } = recorder();
    const bound = new BoundLogger(log, { conn: 'c2' });
    bound.debug('just text');
    const error = new Error('boom');
    bound.error(error);
    bound.child({ plugin: 'irc' }).trace({ n: 1 }, 'from a child');
    expect(records[0]).toEqual({ level: 'debug', obj: { conn: 'c2' }, msg: 'just text' });
    expect(records[1]).toEqual({ level: 'error', obj: { conn: 'c2', err: error }, msg: 'boom' });
    expect(records[2]).toEqual({ level: 'trace', obj: { conn: 'c2', plugin: 'irc', n: 1 }, msg: 'from a child' });
  });
});
