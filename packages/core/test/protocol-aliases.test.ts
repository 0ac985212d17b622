import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/load.js';
import { ConfigError } from '../src/config/validate.js';

describe('protocol aliases', () => {
  it('jabber names xmpp in a plugin section, a forward listener and ports; the loaded configuration says xmpp', () => {
    const { config } = resolveConfig(
      {
        plugins: { jabber: { options: { a: 1 } }, irc: {} },
        ports: { '15222': 'Jabber', '6668': 'irc' },
        listeners: [{ type: 'forward', port: 5222, upstream: { host: '127.0.0.1', port: 15222 }, protocol: 'jabber' }],
      },
      undefined,
      '/tmp',
    );
    expect(Object.keys(config.plugins).sort()).toEqual(['irc', 'xmpp']);
    expect(config.plugins['xmpp']).toMatchObject({ options: { a: 1 } });
    expect(config.ports).toEqual({ '15222': 'xmpp', '6668': 'irc' });
    expect((config.listeners[0] as { protocol?: string }).protocol).toBe('xmpp');
  });

  it('a section under both names is a configuration error naming the alias', () => {
    expect(() => resolveConfig({ plugins: { jabber: {}, xmpp: {} } }, 'imspect.yaml', '/tmp')).toThrow(ConfigError);
    expect(() => resolveConfig({ plugins: { jabber: {}, xmpp: {} } }, 'imspect.yaml', '/tmp')).toThrow(
      'imspect.yaml: plugins.jabber: "jabber" is another name for the xmpp plugin, which has its own section: keep one (plugins.xmpp)',
    );
  });
});
