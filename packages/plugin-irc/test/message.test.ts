import { describe, expect, it } from 'vitest';
import { type IrcMessage, parseLine } from '../src/message.js';
import { latin1 } from './helpers.js';

function parse(line: string): IrcMessage {
  const bytes = latin1(`${line}\r\n`);
  const result = parseLine(bytes, bytes.length - 2);
  if (result.kind !== 'message') throw new Error(`not a message: ${line}`);
  return result.message;
}

const values = (m: IrcMessage) => m.params.map((p) => p.value);

describe('parseLine parameters', () => {
  it('each message keeps its own parameters, however many the lines after it have', () => {
    const first = parse('PRIVMSG #a,bob :hello there');
    const second = parse(':n!u@h MODE #a +o');
    const many = parse(`CMD ${Array.from({ length: 20 }, (_, i) => `p${i}`).join(' ')} :last one`);
    const none = parse('QUIT');
    expect(values(first)).toEqual(['#a,bob', 'hello there']);
    expect(first.params).toHaveLength(2);
    expect(values(second)).toEqual(['#a', '+o']);
    expect(values(many)).toEqual([...Array.from({ length: 20 }, (_, i) => `p${i}`), 'last one']);
    expect(none.params).toEqual([]);
    // Parsed again after all that: the same as the first time, and the first result unchanged.
    expect(values(parse('PRIVMSG #a,bob :hello there'))).toEqual(values(first));
    expect(first.params[1]).toEqual({ start: 16, end: 27, trailing: true, value: 'hello there' });
  });
});
