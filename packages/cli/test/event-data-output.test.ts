/** How the CLI shows typed event data: `replay`'s event lines and `logs export --format csv`'s fields. */
import { describe, expect, it } from 'vitest';
import { testEvent } from '@imspect/core/testing';
import { csvField } from '../src/commands/logs/export.js';
import { formatEvent } from '../src/replay-output.js';

describe('event data in CLI output', () => {
  it('replay shows the data pairs as key=value items for an event without text or file', () => {
    const line = formatEvent(testEvent({ type: 'other', subtype: 'client', text: undefined, data: { client: 'MSNMSGR', version: '8.5 beta', groupchat: true } }));
    expect(line).toMatch(/other\/client alice -> bob: client=MSNMSGR version=8.5%20beta groupchat=1$/);
    expect(formatEvent(testEvent({ text: 'hi', data: { from: 'bob' } }))).toMatch(/: hi$/);
  });

  it('export puts the pairs in one CSV field as a JSON object, types kept', () => {
    expect(csvField({ address: '192.0.2.7', port: 5000, groupchat: true })).toBe('"{""address"":""192.0.2.7"",""port"":5000,""groupchat"":true}"');
    expect(csvField(null)).toBe('""');
    expect(csvField(['a', 'b'])).toBe('"a;b"');
  });
});
