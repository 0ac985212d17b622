import { describe, expect, it } from 'vitest';
import { canonicalProtocol, canonicalProtocolKey } from '../src/protocol-names.js';

describe('protocol aliases', () => {
  it('jabber (any case) is xmpp; other names are left as they are', () => {
    expect(canonicalProtocol('jabber')).toBe('xmpp');
    expect(canonicalProtocol('JABBER')).toBe('xmpp');
    expect(canonicalProtocol('xmpp')).toBe('xmpp');
    expect(canonicalProtocol('irc')).toBe('irc');
    // Names of Object's own members are no aliases.
    expect(canonicalProtocol('constructor')).toBe('constructor');
    expect(canonicalProtocolKey('__proto__:x')).toBe('__proto__:x');
  });

  it('protocol:localid keys get the canonical protocol; keys without a known alias are unchanged', () => {
    expect(canonicalProtocolKey('jabber:alice@example.org')).toBe('xmpp:alice@example.org');
    expect(canonicalProtocolKey('msn:bob@example.com')).toBe('msn:bob@example.com');
    expect(canonicalProtocolKey('alice@example.org')).toBe('alice@example.org');
    expect(canonicalProtocolKey(':odd')).toBe(':odd');
  });
});
