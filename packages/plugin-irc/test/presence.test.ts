/**
 * Presence on IRC: the user's `AWAY` (away with a text, back without), `301` RPL_AWAY about whoever the user
 * writes to, and IRCv3 away-notify (`:nick!u@h AWAY`); cut at every byte offset and in random chunks.
 */
import { describe, expect, it } from 'vitest';
import { script } from './helpers.js';
import { expectSplitInvariant } from './invariance.js';

const REGISTER = script(['>', 'NICK alice\r\nUSER alice 0 * :Alice\r\n'], ['<', ':irc.example.net 001 alice :Welcome alice!a@h\r\n']);

describe('IRC presence', () => {
  it('own AWAY, 301 about a peer (hostile text kept as text), away-notify both ways; the server echo of the user is no contact', () => {
    const hostile = '<img src=x onerror=alert(1)> \u202Etxt.exe';
    const result = expectSplitInvariant([
      ...REGISTER,
      ...script(
        ['>', 'AWAY :gone to lunch\r\n'],
        ['<', ':irc.example.net 306 alice :You have been marked as being away\r\n'],
        ['>', 'PRIVMSG bob :are you there?\r\n'],
        ['<', `:irc.example.net 301 alice bob :${hostile}\r\n`],
        ['<', ':carol!c@h AWAY :in a meeting\r\n'],
        ['<', ':carol!c@h AWAY\r\n'],
        ['<', ':alice!a@h AWAY :gone to lunch\r\n'],
        ['>', 'AWAY\r\n'],
      ),
    ]);
    const presence = result.events.filter((e) => e.subtype === 'status').map((e) => [e.direction, e.type, e.localId, e.remoteId, e.data]);
    expect(presence).toEqual([
      ['outgoing', 'other', 'alice', 'irc.example.net', { status: 'away', 'protocol-status': 'AWAY', description: 'gone to lunch' }],
      ['incoming', 'contact', 'alice', 'bob', { status: 'away', 'protocol-status': '301', description: hostile }],
      ['incoming', 'contact', 'alice', 'carol', { status: 'away', 'protocol-status': 'AWAY', description: 'in a meeting' }],
      ['incoming', 'contact', 'alice', 'carol', { status: 'online', 'protocol-status': 'AWAY' }],
      ['outgoing', 'other', 'alice', 'irc.example.net', { status: 'online', 'protocol-status': 'AWAY' }],
    ]);
    expect(result.events.filter((e) => e.subtype === 'status').every((e) => e.text === undefined)).toBe(true);
  });

  it('before registration nobody is known: no presence', () => {
    const result = expectSplitInvariant(script(['>', 'AWAY :early\r\n'], ['<', ':bob!b@h AWAY :x\r\n']));
    expect(result.events).toEqual([]);
  });
});
