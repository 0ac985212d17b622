/**
 * One local user, one identity per connection: after a nick change the user's events keep the nick `001`
 * confirmed as `localId`, carry the current nick in `data`, and an `other`/`nick` event links the names. The
 * network (the server host, normalised) is the session's, for core to put on every event.
 */
import { describe, expect, it } from 'vitest';
import { dataValue, formatDataString, type EventData } from '@imspect/sdk';
import { ircNetwork } from '../src/session.js';
import { dec, newSession, script } from './helpers.js';
import { expectSplitInvariant } from './invariance.js';

const REGISTER = script(
  ['>', 'NICK alice\r\nUSER alice 0 * :Alice\r\n'],
  ['<', ':irc.example.net 001 alice :Welcome alice!a@h\r\n:irc.example.net 005 alice NETWORK=ExampleNet CHANTYPES=# :are supported\r\n'],
);

const brief = (e: { type: string; subtype?: string; localId: string; remoteId: string; text?: string; data?: EventData; direction: string }) =>
  [e.direction, e.type, e.subtype ?? '', e.localId, e.remoteId, e.text ?? '', formatDataString(e.data)].join(' | ');

describe('nick changes of the local user', () => {
  it('keep one identity, link the names with a nick event, and carry the current nick in data', () => {
    const result = expectSplitInvariant(
      [
        ...REGISTER,
        ...script(
          ['>', 'PRIVMSG #room :before\r\n'],
          ['<', ':bob!b@h PRIVMSG #room :hello alice\r\n'],
          ['>', 'NICK alice2\r\n'],
          ['<', ':alice!a@h NICK :alice2\r\n'],
          ['>', 'PRIVMSG #room :after\r\n'],
          ['<', ':bob!b@h PRIVMSG #room :hello alice2\r\n'],
          ['<', ':bob!b@h PRIVMSG alice2 :private to the new nick\r\n'],
          ['<', ':alice2!a@h PART #room :gone\r\n'],
          ['<', ':alice2!a@h NICK alice\r\n'],
          ['>', 'PRIVMSG bob :back\r\n'],
          ['>', 'QUIT :bye\r\n'],
        ),
      ],
      { everyOffsetUpTo: 64, randomRuns: 20 },
    );
    expect(result.events.map(brief)).toEqual([
      'incoming | login |  | alice | irc.example.net |  | ',
      'outgoing | message |  | alice | #room | before | ',
      'incoming | message |  | alice | #room | hello alice | from=bob',
      'incoming | other | nick | alice | alice2 |  | nick=alice2 previous=alice',
      'outgoing | message |  | alice | #room | after | nick=alice2',
      'incoming | message |  | alice | #room | hello alice2 | from=bob nick=alice2',
      'incoming | message |  | alice | bob | private to the new nick | nick=alice2',
      'incoming | leave | part | alice | #room | gone | nick=alice2',
      'incoming | other | nick | alice | alice |  | nick=alice previous=alice2',
      'outgoing | message |  | alice | bob | back | ',
      'outgoing | logout |  | alice | irc.example.net | bye | ',
    ]);
    expect(result.session.localId).toBe('alice');
  });

  it('answers the user under the current nick', () => {
    const session = newSession();
    for (const step of [...REGISTER, ...script(['<', ':alice!a@h NICK alice2\r\n'])]) session.push(step.direction, step.data);
    expect(dec(session.respond('you are monitored', {} as never)!)).toBe(':irc.example.net NOTICE alice2 :you are monitored\r\n');
  });

  it('reports no change for a refused NICK, for another user, or for the client’s own request', () => {
    const result = expectSplitInvariant([
      ...REGISTER,
      ...script(
        ['>', 'NICK bob\r\n'],
        ['<', ':irc.example.net 433 alice bob :Nickname is already in use\r\n'],
        ['<', ':bob!b@h NICK bobby\r\n'],
        ['>', 'PRIVMSG #room :still alice\r\n'],
      ),
    ]);
    expect(result.events.map(brief)).toEqual(['incoming | login |  | alice | irc.example.net |  | ', 'outgoing | message |  | alice | #room | still alice | ']);
  });

  it('in a session joined mid-way, the first nick learned is the identity', () => {
    const result = expectSplitInvariant(
      script(
        ['<', 'fragment of a line\r\n'],
        ['>', 'fragment\r\n'],
        ['<', ':bob!b@h PRIVMSG carol :hi carol\r\n'],
        ['<', ':carol!c@h NICK carol_away\r\n'],
        ['<', ':bob!b@h PRIVMSG carol_away :still there?\r\n'],
      ),
      { midstream: true },
    );
    expect(result.events.map(brief)).toEqual([
      'incoming | message |  | carol | bob | hi carol | ',
      'incoming | other | nick | carol | carol_away |  | nick=carol_away previous=carol',
      'incoming | message |  | carol | bob | still there? | nick=carol_away',
    ]);
    expect(dataValue(result.events[2]!.data, 'nick')).toBe('carol_away');
  });

  it('keeps a nick with a space or % whole in data, as every data value', () => {
    const result = expectSplitInvariant([...REGISTER, ...script(['<', ':alice!a@h NICK :50%off\r\n'], ['>', 'PRIVMSG bob :x\r\n'])]);
    expect(result.events.at(-1)!.data).toEqual({ nick: '50%off' });
    expect(dataValue(result.events.at(-1)!.data, 'nick')).toBe('50%off');
  });
});

describe('the network of a connection', () => {
  it('is the server host the client connected to, lower-cased, without a trailing dot or brackets', () => {
    expect(newSession({ host: 'IRC.Example.NET.' }).network).toBe('irc.example.net');
    expect(newSession({ host: '[2001:DB8::1]' }).network).toBe('2001:db8::1');
    expect(newSession({ host: '198.51.100.7' }).network).toBe('198.51.100.7');
    expect(ircNetwork('irc.libera.chat')).toBe('irc.libera.chat');
  });

  it('does not change with what the server announces (the login is recorded before 005)', () => {
    const session = newSession({ host: 'irc.example.net' });
    for (const step of REGISTER) session.push(step.direction, step.data);
    expect(session.network).toBe('irc.example.net');
  });
});

describe('a session joined mid-way learns the nick from the echo of what the client asked', () => {
  const steps = script(
    ['>', 'x\r\n'], // the tail of a line whose start was not captured
    ['>', 'JOIN #den\r\n'],
    ['<', 'ay\r\n'],
    ['<', ':dave!d@host JOIN #den\r\n'], // the echo: the user
    ['<', ':carol!c@host JOIN #den\r\n'], // someone joining after: not the user
    ['>', 'PRIVMSG #den :hello\r\n'],
    ['>', 'QUIT :gone\r\n'],
  );

  it('takes the JOIN echoed for the channel the client asked for as the user, at every cut', () => {
    // The server answers the client's JOIN before any other JOIN of that channel can reach the client.
    const run = expectSplitInvariant(steps, { midstream: true });
    expect(run.events.map((e) => `${e.type}${e.subtype ? `/${e.subtype}` : ''} ${e.localId} ${e.remoteId}`)).toEqual([
      'join/request * #den',
      'join dave #den',
      'message dave #den',
      'logout dave irc.example.net',
    ]);
  });

  it('reports the QUIT of a user whose nick it never learned, with the id unknown', () => {
    const run = expectSplitInvariant(script(['>', 'x\r\n'], ['>', 'QUIT :gone\r\n']), { midstream: true });
    expect(run.events.map((e) => `${e.type} ${e.localId} ${e.text}`)).toEqual(['logout * gone']);
  });
});
