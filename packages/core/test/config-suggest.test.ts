import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/load.js';
import { closestMatch, editDistance } from '../src/config/suggest.js';
import { ConfigError } from '../src/config/validate.js';

describe('did-you-mean for unknown configuration keys', () => {
  it('edit distance counts insertions, deletions, substitutions and transpositions', () => {
    expect(editDistance('alow', 'allow')).toBe(1);
    expect(editDistance('prot', 'port')).toBe(1);
    expect(editDistance('listners', 'listeners')).toBe(1);
    expect(editDistance('abc', 'xyz')).toBe(3);
    expect(editDistance('', 'host')).toBe(4);
  });

  it('suggests the closest key only when it is a slip, not another word', () => {
    expect(closestMatch('alow', ['host', 'port', 'allow', 'users'])).toBe('allow');
    expect(closestMatch('Allow', ['allow'])).toBe('allow');
    expect(closestMatch('colour', ['host', 'port', 'allow'])).toBeUndefined();
    expect(closestMatch('logger-sqll', ['logger-sql', 'logger-csv'])).toBe('logger-sql');
  });

  it('a misspelt key is reported with the allowed key of that level, at every level', () => {
    let error: unknown;
    try {
      resolveConfig(
        { listners: [], listeners: [{ type: 'socks5', alow: ['10.0.0.0/8'] }], destinations: { allowNetwork: [] }, plugins: { x: { enabeld: false } }, colour: 'red' },
        '/etc/imspect.yaml',
        '/etc',
      );
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toContainEqual({ key: 'listners', message: 'is not a known key; did you mean "listeners"?' });
    expect(problems).toContainEqual({ key: 'listeners[0].alow', message: 'is not a known key; did you mean "allow"?' });
    expect(problems).toContainEqual({ key: 'destinations.allowNetwork', message: 'is not a known key; did you mean "allowNetworks"?' });
    expect(problems).toContainEqual({ key: 'plugins.x.enabeld', message: 'is not a known key; did you mean "enabled"?' });
    expect(problems).toContainEqual({ key: 'colour', message: 'is not a known key' });
  });
});
