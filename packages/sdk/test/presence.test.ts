import { describe, expect, it } from 'vitest';
import { isPresenceEvent, PRESENCE_STATUSES, presenceData, presenceOf } from '../src/index.js';

describe('presence', () => {
  it('builds data without an empty description', () => {
    expect(presenceData({ status: 'busy', 'protocol-status': 'BSY', description: '' })).toEqual({ status: 'busy', 'protocol-status': 'BSY' });
    expect(presenceData({ status: 'away', 'protocol-status': 'away', description: 'lunch' })).toEqual({ status: 'away', 'protocol-status': 'away', description: 'lunch' });
  });

  it('tells presence events from others', () => {
    expect(isPresenceEvent({ type: 'contact', subtype: 'status' })).toBe(true);
    expect(isPresenceEvent({ type: 'other', subtype: 'status' })).toBe(true);
    expect(isPresenceEvent({ type: 'contact', subtype: 'add' })).toBe(false);
    expect(isPresenceEvent({ type: 'message', subtype: 'status' })).toBe(false);
  });

  it('reads the change back, an unknown status as unknown with its raw code', () => {
    expect(presenceOf({ type: 'contact', subtype: 'status', data: { status: 'idle', 'protocol-status': 'IDL', description: 'x' } })).toEqual({
      status: 'idle',
      'protocol-status': 'IDL',
      description: 'x',
    });
    expect(presenceOf({ type: 'contact', subtype: 'status', data: { status: 'sleepy' } })).toEqual({ status: 'unknown', 'protocol-status': 'sleepy' });
    expect(presenceOf({ type: 'contact', subtype: 'add', data: { status: 'online' } })).toBeUndefined();
    expect(PRESENCE_STATUSES).toContain('offline');
  });
});
