import { describe, expect, it } from 'vitest';
import { eventDataColumn, eventTypeCode, hostPort } from '@imspect/sdk';
import { testEvent } from '../src/testing/index.js';

describe('log columns', () => {
  it('type codes: IMSpector numbering, unknown types as other', () => {
    expect(eventTypeCode('message')).toBe(1);
    expect(eventTypeCode('file')).toBe(2);
    expect(eventTypeCode('display-picture')).toBe(13);
    expect(eventTypeCode('hologram')).toBe(11);
    expect(eventTypeCode('toString')).toBe(11);
  });

  it('event data: the file offer for file events, the data otherwise', () => {
    expect(eventDataColumn(testEvent({ type: 'file', file: { name: 'a b.pdf', size: 12 }, data: { x: 1 } }))).toBe('a b.pdf 12');
    expect(eventDataColumn(testEvent({ type: 'file', file: { name: 'a.pdf' } }))).toBe('a.pdf');
    expect(eventDataColumn(testEvent({ data: { from: 'bob' } }))).toBe('from=bob');
    expect(eventDataColumn(testEvent({ data: { address: '192.0.2.7', port: 5000, groupchat: true, note: 'a b%' } }))).toBe('address=192.0.2.7 port=5000 groupchat=1 note=a%20b%25');
    expect(eventDataColumn(testEvent())).toBe('');
  });

  it('addresses: IPv6 in brackets, missing parts left out', () => {
    expect(hostPort('192.0.2.1', 6667)).toBe('192.0.2.1:6667');
    expect(hostPort('2001:db8::1', 6697)).toBe('[2001:db8::1]:6697');
    expect(hostPort('[2001:db8::1]', 6697)).toBe('[2001:db8::1]:6697');
    expect(hostPort(undefined, 5222)).toBe(':5222');
    expect(hostPort('', 5222)).toBe(':5222');
    expect(hostPort('irc.example.net', undefined)).toBe('irc.example.net');
    expect(hostPort(undefined, undefined)).toBe('');
  });
});
