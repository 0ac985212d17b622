import { describe, expect, it } from 'vitest';
import { compactData, dataFlag, dataValue, formatDataString, frozenEvent, isGroupChat, isSubtype, parseDataString, toEventData, type EventData } from '@imspect/sdk';
import { testEvent } from '../src/testing/index.js';

describe('event data', () => {
  it('dataValue reads any key as a string; absent keys and inherited names are undefined', () => {
    const data: EventData = { client: 'MSNMSGR', port: 5000, groupchat: true, off: false };
    expect(dataValue(data, 'client')).toBe('MSNMSGR');
    expect(dataValue(data, 'port')).toBe('5000');
    expect(dataValue(data, 'groupchat')).toBe('true');
    expect(dataValue(data, 'off')).toBe('false');
    expect(dataValue(data, 'version')).toBeUndefined();
    expect(dataValue(data, 'toString')).toBeUndefined();
    expect(dataValue(undefined, 'client')).toBeUndefined();
  });

  it('dataFlag: booleans, numbers, and the texts older events carried', () => {
    expect(dataFlag({ a: true, b: false, c: 1, d: 0, e: '1', f: 'yes', g: 'true', h: 'no' }, 'a')).toBe(true);
    const flags = { a: true, b: false, c: 1, d: 0, e: '1', f: 'yes', g: 'true', h: 'no' };
    expect(Object.keys(flags).map((k) => dataFlag(flags, k))).toEqual([true, false, true, false, true, true, true, false]);
    expect(dataFlag(undefined, 'a')).toBe(false);
  });

  it('compactData leaves out undefined values, and is undefined when none is left', () => {
    expect(compactData({ client: 'x', version: undefined, port: 0, flag: false })).toEqual({ client: 'x', port: 0, flag: false });
    expect(compactData({ client: undefined })).toBeUndefined();
  });

  it('parseDataString reads the old form with its rules: percent-decoding, broken escapes kept, first key wins, loose words kept', () => {
    expect(parseDataString('from=bob statusmsg=@')).toEqual({ from: 'bob', statusmsg: '@' });
    expect(parseDataString('group=Friends%20&%20Family odd=%zz pct=100%25 token=12')).toEqual({ group: 'Friends & Family', odd: '%zz', pct: '100%', token: '12' });
    expect(parseDataString('a=1 a=2  b= =c')).toEqual({ a: '1', b: '', text: '=c' });
    expect(parseDataString('TLS handshake failed')).toEqual({ text: 'TLS handshake failed' });
    expect(parseDataString('')).toEqual({});
  });

  it('formatDataString writes the old form back: what parseDataString reads gives the same string', () => {
    for (const line of ['from=bob statusmsg=@', 'group=Friends%20&%20Family pct=100%25', 'client=MSNMSGR version=8.5.1302 protocol-version=MSNP15']) {
      expect(formatDataString(parseDataString(line))).toBe(line);
    }
    expect(formatDataString({ size: 12, groupchat: true, off: false })).toBe('size=12 groupchat=1 off=0');
    expect(formatDataString(undefined)).toBe('');
  });

  it('toEventData: pairs kept, an old string parsed, damage dropped', () => {
    expect(toEventData({ a: 'x', n: 2, f: true, bad: { deep: 1 }, inf: Number.POSITIVE_INFINITY })).toEqual({ a: 'x', n: 2, f: true });
    expect(toEventData('device=phone%20one')).toEqual({ device: 'phone one' });
    expect(toEventData('')).toBeUndefined();
    expect(toEventData(null)).toBeUndefined();
    expect(toEventData(['a'])).toBeUndefined();
  });

  it('isGroupChat: the subtype, a channel conversation, or the groupchat flag in either form', () => {
    expect(isGroupChat(testEvent({ subtype: 'groupchat' }))).toBe(true);
    expect(isGroupChat(testEvent({ remoteId: '#c', conversation: '#c' }))).toBe(true);
    expect(isGroupChat(testEvent({ data: { groupchat: true } }))).toBe(true);
    expect(isGroupChat(testEvent({ data: { groupchat: '1' } }))).toBe(true);
    expect(isGroupChat(testEvent({ data: { groupchat: false } }))).toBe(false);
    expect(isGroupChat(testEvent())).toBe(false);
  });

  it('isSubtype compares type and subtype', () => {
    expect(isSubtype(testEvent({ type: 'contact', subtype: 'add' }), 'contact', 'add')).toBe(true);
    expect(isSubtype(testEvent({ type: 'message', subtype: 'add' }), 'contact', 'add')).toBe(false);
    // @ts-expect-error: 'ad' is no contact subtype
    expect(isSubtype(testEvent({ type: 'contact', subtype: 'add' }), 'contact', 'ad')).toBe(false);
  });

  it('frozenEvent: the copy and everything in it refuses changes; the original stays mutable', () => {
    const event = testEvent({ data: { from: 'bob' }, file: { name: 'a.txt', size: 1 }, categories: ['x'] });
    const frozen = frozenEvent(event) as unknown as { text: string; data: Record<string, unknown>; file: { name: string }; categories: string[]; client: { ip: string } };
    expect(() => {
      frozen.text = 'changed';
    }).toThrow(TypeError);
    expect(() => {
      frozen.data['from'] = 'mallory';
    }).toThrow(TypeError);
    expect(() => {
      frozen.file.name = 'evil.exe';
    }).toThrow(TypeError);
    expect(() => frozen.categories.push('y')).toThrow(TypeError);
    expect(() => {
      frozen.client.ip = '0.0.0.0';
    }).toThrow(TypeError);
    expect(event).toMatchObject({ data: { from: 'bob' }, file: { name: 'a.txt' }, categories: ['x'], client: { ip: '192.0.2.1' } });
    event.categories.push('y');
    expect(event.categories).toEqual(['x', 'y']);
  });
});
