/** The client software a login event names, for the console's who-is-online list. */
import { describe, expect, it } from 'vitest';
import { clientVersionOf } from '../src/proxy/connection.js';

describe('client version of a login event', () => {
  it('joins client and version from the event data, and is undefined without them', () => {
    expect(clientVersionOf({ client: 'Gajim', version: '1.9.3', os: 'Linux' })).toBe('Gajim 1.9.3');
    expect(clientVersionOf({ version: '8.1.0.178' })).toBe('8.1.0.178');
    expect(clientVersionOf({ client: 'Psi+', version: '1.5' })).toBe('Psi+ 1.5');
    expect(clientVersionOf({ version: 11 })).toBe('11');
    expect(clientVersionOf({ client: '', version: '2' })).toBe('2');
    expect(clientVersionOf({ nick: 'alice' })).toBeUndefined();
    expect(clientVersionOf({})).toBeUndefined();
    expect(clientVersionOf(undefined)).toBeUndefined();
  });
});
