/** The console's CSV export: RFC 4180 quoting, and no cell a spreadsheet would run as a formula. */
import { describe, expect, it } from 'vitest';
import { csvField, liveItem, matches, LIVE_TEXT_CHARS } from '../dist/index.js';
import { testEvent } from '@imspect/sdk/testing';

describe('CSV fields', () => {
  it('quotes separators, quotes and line ends, and defuses formulas', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('=HYPERLINK("http://x","y")')).toBe(`"'=HYPERLINK(""http://x"",""y"")"`);
    expect(csvField('+1')).toBe("'+1");
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField(-3)).toBe('-3'); // a number is a number
    expect(csvField(null)).toBe('');
    expect(csvField(' padded ')).toBe('" padded "');
  });
});

describe('live view items', () => {
  it('cut long texts, say how long they were, and keep no client port', () => {
    const item = liveItem(testEvent({ text: 'x'.repeat(1_000_000), client: { ip: '10.1.2.3', port: 5555 } }));
    expect(item.text).toHaveLength(LIVE_TEXT_CHARS);
    expect(item.textChars).toBe(1_000_000);
    expect(item.client).toBe('10.1.2.3');
    expect(liveItem(testEvent({ text: 'short' })).textChars).toBeUndefined();
  });

  it('filter by protocol, type and user (local or remote id, case-insensitive)', () => {
    const event = testEvent({ protocol: 'irc', type: 'message', localId: 'Alice', remoteId: '#Ops' });
    expect(matches({}, event)).toBe(true);
    expect(matches({ protocol: 'irc', types: ['message'], user: 'alice' }, event)).toBe(true);
    expect(matches({ user: '#ops' }, event)).toBe(true);
    expect(matches({ protocol: 'msn' }, event)).toBe(false);
    expect(matches({ types: ['join'] }, event)).toBe(false);
    expect(matches({ user: 'bob' }, event)).toBe(false);
  });
});
