import { describe, expect, it } from 'vitest';
import { dataValue, type ImEvent } from '@imspect/sdk';
import { testEvent } from '@imspect/sdk/testing';
import { dec, enc, latin1, newSession, run, script } from './helpers.js';
import { expectSplitInvariant } from './invariance.js';

const REGISTER = script(['>', 'CAP LS 302\r\nNICK alice\r\nUSER alice 0 * :Alice\r\n'], ['<', ':irc.example.net 001 alice :Welcome alice!a@h\r\n']);

function events(...extra: Parameters<typeof script>) {
  return expectSplitInvariant([...REGISTER, ...script(...extra)]).events.filter((e) => e.type !== 'login');
}

describe('registration and the local user', () => {
  it('logs in at 001 with the nick 001 confirms and the server name from its prefix', () => {
    const result = expectSplitInvariant(script(['>', 'NICK alice\r\nUSER a 0 * :A\r\n'], ['<', ':irc.example.net 001 alice_ :Welcome\r\n']));
    expect(result.events).toEqual([{ direction: 'incoming', type: 'login', localId: 'alice_', remoteId: 'irc.example.net' }]);
  });

  it('follows the client NICK before 001, a retry after 433, and only confirmed changes afterwards', () => {
    const session = newSession();
    session.push('outgoing', enc('NICK tim\r\n'));
    expect(session.localId).toBe('tim');
    session.push('incoming', enc(':irc.example.net 433 * tim :Nickname is already in use.\r\n'));
    session.push('outgoing', enc('NICK tim_\r\n'));
    expect(session.localId).toBe('tim_');
    session.push('incoming', enc(':irc.example.net 001 tim_ :Welcome\r\n'));
    session.push('outgoing', enc('NICK !!!!\r\n'));
    session.push('incoming', enc(':irc.example.net 432 tim_ !!!! :Erroneous Nickname\r\n'));
    expect(session.localId).toBe('tim_');
    session.push('outgoing', enc('NICK tom\r\n'));
    expect(session.localId).toBe('tim_');
    // A confirmed change links the names; the identity (localId) stays the nick 001 confirmed.
    const renamed = session.push('incoming', enc(':TIM_!u@h NICK :tom\r\n')); // rfc1459 casemapping
    expect(renamed[0]!.events).toEqual([{ type: 'other', subtype: 'nick', localId: 'tim_', remoteId: 'tom', data: { nick: 'tom', previous: 'tim_' } }]);
    expect(session.localId).toBe('tim_');
    expect(session.push('incoming', enc(':bob!u@h NICK :tom2\r\n'))[0]!.events).toBeUndefined();
    session.push('outgoing', enc(':tom NICK tim\r\n'));
    expect(session.localId).toBe('tim_');
    const frames = session.push('outgoing', enc('PRIVMSG bob :hi\r\n'));
    expect(frames[0]!.events).toEqual([{ type: 'message', localId: 'tim_', remoteId: 'bob', text: 'hi', data: { nick: 'tim' } }]);
  });

  it('uses the server host before 001 and * before any nick', () => {
    const result = run(script(['>', 'PRIVMSG bob :early\r\n'], ['>', 'QUIT :bye\r\n']));
    expect(result.events).toEqual([{ direction: 'outgoing', type: 'message', localId: '*', remoteId: 'bob', text: 'early' }]);
  });
});

describe('messages', () => {
  it('logs PRIVMSG and NOTICE both ways, to nicks and channels', () => {
    expect(
      events(
        ['>', 'PRIVMSG bob :hello bob\r\n'],
        ['>', 'NOTICE #chan :a notice\r\n'],
        ['<', ':bob!~b@host PRIVMSG alice :hello alice\r\n'],
        ['<', ':bob!~b@host NOTICE alice :psst\r\n'],
        ['<', ':bob!~b@host PRIVMSG #chan :to everyone\r\n'],
      ),
    ).toEqual([
      { direction: 'outgoing', type: 'message', localId: 'alice', remoteId: 'bob', text: 'hello bob' },
      { direction: 'outgoing', type: 'message', subtype: 'notice', localId: 'alice', remoteId: '#chan', conversation: '#chan', text: 'a notice' },
      { direction: 'incoming', type: 'message', localId: 'alice', remoteId: 'bob', text: 'hello alice' },
      { direction: 'incoming', type: 'message', subtype: 'notice', localId: 'alice', remoteId: 'bob', text: 'psst' },
      { direction: 'incoming', type: 'message', localId: 'alice', remoteId: '#chan', conversation: '#chan', text: 'to everyone', data: { from: 'bob' } },
    ]);
  });

  it('parses IRCv3 tags and odd whitespace', () => {
    const result = expectSplitInvariant([
      ...REGISTER,
      ...script(
        ['<', '@time=2025-07-28T20:51:05.978Z;+example=a\\sb\\:c :tim1!tim@10.0.0.22 PRIVMSG #testing :do we?\r\n'],
        ['>', '   PRIVMSG     #testing      :  spaced  \r\n'],
        ['>', 'PRIVMSG #testing word\n'],
        ['>', 'privmsg bob :lower-case command\r\n'],
      ),
    ]);
    expect(result.events.slice(1)).toEqual([
      { direction: 'incoming', type: 'message', localId: 'alice', remoteId: '#testing', conversation: '#testing', text: 'do we?', data: { from: 'tim1' } },
      { direction: 'outgoing', type: 'message', localId: 'alice', remoteId: '#testing', conversation: '#testing', text: '  spaced  ' },
      { direction: 'outgoing', type: 'message', localId: 'alice', remoteId: '#testing', conversation: '#testing', text: 'word' },
      { direction: 'outgoing', type: 'message', localId: 'alice', remoteId: 'bob', text: 'lower-case command' },
    ]);
  });

  it('gives one event per target and no rewrite for several targets', () => {
    const result = expectSplitInvariant([...REGISTER, ...script(['>', 'PRIVMSG #a,bob,,#b :hi all\r\n'])]);
    expect(result.events.slice(1).map((e) => e.remoteId)).toEqual(['#a', 'bob', '#b']);
    expect(result.frames.at(-1)!.rewritable).toBeUndefined();
  });

  it('reads CHANTYPES from 005 (default #&)', () => {
    expect(events(['>', 'PRIVMSG &local :x\r\n'])[0]).toMatchObject({ remoteId: '&local', conversation: '&local' });
    expect(
      events(['<', ':irc.example.net 005 alice CHANTYPES=# STATUSMSG=~&@%+ :are supported by this server\r\n'], ['>', 'PRIVMSG &local :x\r\n'], ['>', 'PRIVMSG &#chan :y\r\n']),
    ).toEqual([
      { direction: 'outgoing', type: 'message', localId: 'alice', remoteId: '&local', text: 'x' },
      { direction: 'outgoing', type: 'message', localId: 'alice', remoteId: '#chan', conversation: '#chan', text: 'y', data: { statusmsg: '&' } },
    ]);
    expect(events(['<', ':irc.example.net 005 alice CHANTYPES=#&+ PREFIX=(qaohv)~&@%+ :are supported\r\n'], ['>', 'PRIVMSG +modeless :z\r\n'])[0]).toMatchObject({
      remoteId: '+modeless',
      conversation: '+modeless',
    });
  });

  it('strips STATUSMSG prefixes and records them (in data, as filters read them)', () => {
    const seen = events(
      ['>', 'PRIVMSG @#ops :to ops (default STATUSMSG)\r\n'],
      ['<', ':irc.example.net 005 alice STATUSMSG=@%+ :are supported\r\n'],
      ['>', 'NOTICE %#ops :to halfops\r\n'],
      ['<', ':bob!b@h PRIVMSG @#ops :from bob\r\n'],
    );
    expect(dataValue(seen[1]!.data, 'statusmsg')).toBe('%');
    expect(
      events(
        ['>', 'PRIVMSG @#ops :to ops (default STATUSMSG)\r\n'],
        ['<', ':irc.example.net 005 alice STATUSMSG=@%+ :are supported\r\n'],
        ['>', 'NOTICE %#ops :to halfops\r\n'],
        ['<', ':bob!b@h PRIVMSG @#ops :from bob\r\n'],
      ),
    ).toEqual([
      { direction: 'outgoing', type: 'message', localId: 'alice', remoteId: '#ops', conversation: '#ops', text: 'to ops (default STATUSMSG)', data: { statusmsg: '@' } },
      { direction: 'outgoing', type: 'message', subtype: 'notice', localId: 'alice', remoteId: '#ops', conversation: '#ops', text: 'to halfops', data: { statusmsg: '%' } },
      { direction: 'incoming', type: 'message', localId: 'alice', remoteId: '#ops', conversation: '#ops', text: 'from bob', data: { from: 'bob', statusmsg: '@' } },
    ]);
  });

  it('turns CTCP ACTION into an action message without the wrapping', () => {
    expect(
      events(['>', 'PRIVMSG #chan :\x01ACTION waves\x01\r\n'], ['<', ':bob!b@h PRIVMSG alice :\x01ACTION waves back\r\n'], ['<', ':bob!b@h PRIVMSG alice :\x01ACTION\x01\r\n']),
    ).toEqual([
      { direction: 'outgoing', type: 'message', subtype: 'action', localId: 'alice', remoteId: '#chan', conversation: '#chan', text: 'waves' },
      { direction: 'incoming', type: 'message', subtype: 'action', localId: 'alice', remoteId: 'bob', text: 'waves back' },
      { direction: 'incoming', type: 'message', subtype: 'action', localId: 'alice', remoteId: 'bob', text: '' },
    ]);
  });

  it('reports other CTCP as type other (requests and replies)', () => {
    expect(
      events(['<', ':bob!b@h PRIVMSG alice :\x01VERSION\x01\r\n'], ['>', 'NOTICE bob :\x01VERSION imspect-test 1.0\x01\r\n'], ['>', 'PRIVMSG bob :\x01PING 123\x01\r\n']),
    ).toEqual([
      { direction: 'incoming', type: 'other', subtype: 'ctcp', localId: 'alice', remoteId: 'bob', data: { ctcp: 'VERSION' } },
      { direction: 'outgoing', type: 'other', subtype: 'ctcp-reply', localId: 'alice', remoteId: 'bob', text: 'imspect-test 1.0', data: { ctcp: 'VERSION' } },
      { direction: 'outgoing', type: 'other', subtype: 'ctcp', localId: 'alice', remoteId: 'bob', text: '123', data: { ctcp: 'PING' } },
    ]);
  });

  it('does not log server notices as user messages', () => {
    const result = expectSplitInvariant(
      script(
        ['<', ':irc.example.net NOTICE * :*** Looking up your hostname...\r\n'],
        ['<', 'NOTICE AUTH :*** Checking Ident\r\n'],
        ['>', 'NICK alice\r\nUSER alice 0 * :Alice\r\n'],
        ['<', ':irc.example.net 001 alice :Welcome\r\n'],
        ['<', ':irc.example.net NOTICE alice :Connection statistics\r\n'],
        ['<', ':services.example.net PRIVMSG alice :global\r\n'],
        ['<', ':NickServ!NickServ@services. NOTICE alice :This nickname is registered\r\n'],
      ),
    );
    expect(result.events).toEqual([
      { direction: 'incoming', type: 'login', localId: 'alice', remoteId: 'irc.example.net' },
      { direction: 'incoming', type: 'message', subtype: 'notice', localId: 'alice', remoteId: 'NickServ', text: 'This nickname is registered' },
    ]);
  });

  it('hides passwords sent to services and offers no rewrite for them', () => {
    const result = expectSplitInvariant([
      ...REGISTER,
      ...script(['>', 'PRIVMSG NickServ :IDENTIFY hunter2\r\n'], ['>', 'PRIVMSG nickserv@services.example.net :SET PASSWORD s3cret\r\n']),
    ]);
    expect(result.events.slice(1)).toEqual([
      { direction: 'outgoing', type: 'message', localId: 'alice', remoteId: 'NickServ', text: 'IDENTIFY [redacted]', data: { redacted: 'password' } },
      { direction: 'outgoing', type: 'message', localId: 'alice', remoteId: 'nickserv@services.example.net', text: 'SET PASSWORD [redacted]', data: { redacted: 'password' } },
    ]);
    expect(result.frames.slice(-2).map((f) => f.rewritable)).toEqual([undefined, undefined]);
    const plain = run([...REGISTER, ...script(['>', 'PRIVMSG NickServ :IDENTIFY hunter2\r\n'])], undefined, { redactPasswords: false });
    expect(plain.events.at(-1)!.text).toBe('IDENTIFY hunter2');
  });

  it('never puts SASL, PASS or OPER payloads in events', () => {
    const result = expectSplitInvariant(
      script(
        ['>', 'CAP REQ :sasl\r\nPASS secret\r\nNICK alice\r\nUSER a 0 * :A\r\n'],
        ['<', ':irc.example.net CAP alice ACK :sasl\r\n'],
        ['>', 'AUTHENTICATE PLAIN\r\n'],
        ['<', 'AUTHENTICATE +\r\n'],
        ['>', 'AUTHENTICATE YWxpY2UAYWxpY2UAaHVudGVyMg==\r\n'],
        ['<', ':irc.example.net 903 alice :SASL authentication successful\r\n'],
        ['>', 'CAP END\r\nOPER admin hunter2\r\n'],
      ),
    );
    expect(result.events).toEqual([]);
    expect(JSON.stringify(result.frames.map((f) => f.events ?? []))).not.toMatch(/hunter2|YWxp|secret/);
  });
});

describe('DCC', () => {
  it('reports DCC SEND as a file offer, with quoted names, IPv6 and optional size', () => {
    expect(
      events(
        ['>', 'PRIVMSG bob :\x01DCC SEND "my holiday photo.jpg" 3232235777 5000 102400\x01\r\n'],
        ['<', ':bob!b@h PRIVMSG alice :\x01DCC SEND report.pdf 2130706433 40000 1234\x01\r\n'],
        ['>', 'PRIVMSG bob :\x01DCC SEND notes.txt ::1 5001\x01\r\n'],
        ['>', 'PRIVMSG bob :\x01DCC SEND unquoted name.txt 167772167 59130 99\x01\r\n'],
        ['>', 'PRIVMSG bob :\x01DCC SEND passive.bin 2130706433 0 77 42\x01\r\n'],
      ),
    ).toEqual([
      {
        direction: 'outgoing',
        type: 'file',
        subtype: 'dcc-send',
        localId: 'alice',
        remoteId: 'bob',
        file: { name: 'my holiday photo.jpg', size: 102400 },
        data: { address: '192.168.1.1', port: 5000 },
      },
      {
        direction: 'incoming',
        type: 'file',
        subtype: 'dcc-send',
        localId: 'alice',
        remoteId: 'bob',
        file: { name: 'report.pdf', size: 1234 },
        data: { address: '127.0.0.1', port: 40000 },
      },
      { direction: 'outgoing', type: 'file', subtype: 'dcc-send', localId: 'alice', remoteId: 'bob', file: { name: 'notes.txt' }, data: { address: '::1', port: 5001 } },
      {
        direction: 'outgoing',
        type: 'file',
        subtype: 'dcc-send',
        localId: 'alice',
        remoteId: 'bob',
        file: { name: 'unquoted name.txt', size: 99 },
        data: { address: '10.0.0.7', port: 59130 },
      },
      {
        direction: 'outgoing',
        type: 'file',
        subtype: 'dcc-send',
        localId: 'alice',
        remoteId: 'bob',
        file: { name: 'passive.bin', size: 77 },
        data: { address: '127.0.0.1', port: 0, token: '42' },
      },
    ]);
  });

  it('reports DCC CHAT as a file-type offer without a file', () => {
    expect(events(['>', 'PRIVMSG tim1 :\x01DCC CHAT CHAT 167772167 59214\x01\r\n'])).toEqual([
      { direction: 'outgoing', type: 'file', subtype: 'dcc-chat', localId: 'alice', remoteId: 'tim1', data: { address: '10.0.0.7', port: 59214 } },
    ]);
  });

  it('reports other DCC commands as CTCP and never offers a rewrite for DCC', () => {
    const result = expectSplitInvariant([...REGISTER, ...script(['>', 'PRIVMSG bob :\x01DCC RESUME file.txt 5000 1024\x01\r\n'])]);
    expect(result.events.at(-1)).toEqual({
      direction: 'outgoing',
      type: 'other',
      subtype: 'ctcp',
      localId: 'alice',
      remoteId: 'bob',
      text: 'RESUME file.txt 5000 1024',
      data: { ctcp: 'DCC' },
    });
    expect(result.frames.at(-1)!.rewritable).toBeUndefined();
  });
});

describe('echo-message', () => {
  it('does not log the echo of the client’s own message twice', () => {
    const result = expectSplitInvariant(
      script(
        ['>', 'CAP LS 302\r\nNICK alice\r\nUSER alice 0 * :Alice\r\n'],
        ['<', ':irc.example.net CAP * LS :echo-message message-tags server-time\r\n'],
        ['>', 'CAP REQ :echo-message server-time\r\n'],
        ['<', ':irc.example.net CAP * ACK :echo-message server-time\r\n'],
        ['>', 'CAP END\r\n'],
        ['<', ':irc.example.net 001 alice :Welcome\r\n'],
        ['>', 'PRIVMSG #chan :hello\r\n'],
        ['<', '@time=2025-01-01T00:00:00.000Z :alice!a@h PRIVMSG #chan :hello\r\n'],
        ['<', ':bob!b@h PRIVMSG #chan :hi alice\r\n'],
      ),
    );
    expect(result.events).toEqual([
      { direction: 'incoming', type: 'login', localId: 'alice', remoteId: 'irc.example.net' },
      { direction: 'outgoing', type: 'message', localId: 'alice', remoteId: '#chan', conversation: '#chan', text: 'hello' },
      { direction: 'incoming', type: 'message', localId: 'alice', remoteId: '#chan', conversation: '#chan', text: 'hi alice', data: { from: 'bob' } },
    ]);
  });

  it('without echo-message, a message from the local nick is the user’s own, sent from another client', () => {
    expect(
      events(['<', ':alice!a@h PRIVMSG #chan :sent from my phone\r\n'], ['>', 'PRIVMSG alice :note to self\r\n'], ['<', ':alice!a@h PRIVMSG alice :note to self\r\n']),
    ).toEqual([
      { direction: 'outgoing', type: 'message', localId: 'alice', remoteId: '#chan', conversation: '#chan', text: 'sent from my phone' },
      { direction: 'outgoing', type: 'message', localId: 'alice', remoteId: 'alice', text: 'note to self' },
      { direction: 'incoming', type: 'message', localId: 'alice', remoteId: 'alice', text: 'note to self' },
    ]);
  });

  it('stops de-duplicating when echo-message is removed', () => {
    const session = newSession();
    for (const line of ['NICK alice\r\n']) session.push('outgoing', enc(line));
    session.push('incoming', enc(':s.example CAP alice ACK :echo-message\r\n:s.example 001 alice :hi\r\n'));
    expect(session.push('incoming', enc(':alice!a@h PRIVMSG #c :x\r\n'))[0]!.events).toBeUndefined();
    session.push('incoming', enc(':s.example CAP alice DEL :echo-message\r\n'));
    expect(session.push('incoming', enc(':alice!a@h PRIVMSG #c :x\r\n'))[0]!.events).toHaveLength(1);
  });
});

describe('channels, login and logout', () => {
  it('reports the local user’s own JOIN, PART, KICK and QUIT, not other people’s', () => {
    expect(
      events(
        ['>', 'JOIN #a,#b key\r\n'],
        // Leaving every channel is no join request.
        ['>', 'JOIN 0\r\n'],
        ['<', ':alice!a@h JOIN #a\r\n:alice!a@h JOIN :#b\r\n:bob!b@h JOIN #a\r\n'],
        ['<', ':alice!a@h JOIN #c account :Real Name\r\n'],
        ['<', ':alice!a@h PART #a :bye all\r\n:bob!b@h PART #b\r\n'],
        ['<', ':op!o@h KICK #b alice :behave\r\n:op!o@h KICK #c bob :you too\r\n'],
        ['>', 'QUIT :gone\r\n'],
        ['<', ':alice!a@h QUIT :Quit: gone\r\nERROR :Closing link\r\n'],
      ),
    ).toEqual([
      // The client's request (without the key), then the server's confirmation.
      { direction: 'outgoing', type: 'join', subtype: 'request', localId: 'alice', remoteId: '#a', conversation: '#a', data: { request: true } },
      { direction: 'outgoing', type: 'join', subtype: 'request', localId: 'alice', remoteId: '#b', conversation: '#b', data: { request: true } },
      { direction: 'incoming', type: 'join', localId: 'alice', remoteId: '#a', conversation: '#a' },
      { direction: 'incoming', type: 'join', localId: 'alice', remoteId: '#b', conversation: '#b' },
      { direction: 'incoming', type: 'join', localId: 'alice', remoteId: '#c', conversation: '#c' },
      { direction: 'incoming', type: 'leave', subtype: 'part', localId: 'alice', remoteId: '#a', conversation: '#a', text: 'bye all' },
      { direction: 'incoming', type: 'leave', subtype: 'kick', localId: 'alice', remoteId: '#b', conversation: '#b', text: 'behave', data: { by: 'op' } },
      { direction: 'outgoing', type: 'logout', localId: 'alice', remoteId: 'irc.example.net', text: 'gone' },
    ]);
  });

  it('logs out when the server reports the local user’s QUIT without one from the client', () => {
    expect(events(['<', ':alice!a@h QUIT :Killed (spam)\r\n'])).toEqual([
      { direction: 'incoming', type: 'logout', localId: 'alice', remoteId: 'irc.example.net', text: 'Killed (spam)' },
    ]);
  });

  it('reports IRCv3 typing notifications', () => {
    expect(events(['>', '@+typing=active TAGMSG #chan\r\n'], ['<', '@+draft/typing=paused :bob!b@h TAGMSG alice\r\n'], ['>', '@+typing=bogus TAGMSG bob\r\n'])).toEqual([
      { direction: 'outgoing', type: 'typing', subtype: 'active', localId: 'alice', remoteId: '#chan', conversation: '#chan' },
      { direction: 'incoming', type: 'typing', subtype: 'paused', localId: 'alice', remoteId: 'bob' },
    ]);
  });

  it('learns who the local user is from numerics when joined mid-stream', () => {
    const result = expectSplitInvariant(
      script(
        ['<', 'ay :- the middle of a MOTD line\r\n:irc.example.net 372 carol :- more MOTD\r\n'],
        ['>', 'ATH #chan :cut\r\nPRIVMSG #chan :whole\r\n'],
        ['<', ':dave!d@h PRIVMSG carol :hi\r\n'],
        ['>', 'QUIT :bye\r\n'],
      ),
      { midstream: true },
    );
    expect(result.events).toEqual([
      { direction: 'outgoing', type: 'message', localId: 'carol', remoteId: '#chan', conversation: '#chan', text: 'whole' },
      { direction: 'incoming', type: 'message', localId: 'carol', remoteId: 'dave', text: 'hi' },
      { direction: 'outgoing', type: 'logout', localId: 'carol', remoteId: 'irc.example.net', text: 'bye' },
    ]);
  });
});

describe('STARTTLS', () => {
  it('marks the 670 frame for TLS and passes everything after it through, one frame per push', () => {
    const session = newSession();
    expect(session.push('outgoing', enc('STARTTLS\r\n'))[0]!.events).toBeUndefined();
    const frames = session.push('incoming', enc(':irc.example.net 670  :STARTTLS successful, go ahead with TLS handshake\r\n\x16\x03\x01'));
    expect(frames).toHaveLength(2);
    expect(frames[0]!.upgrade).toBe('tls');
    expect(dec(frames[1]!.raw)).toBe('\x16\x03\x01');
    expect(session.passthrough).toBe(true);
    const hello = enc('\x16\x03\x01\x00\x05PRIVMSG bob :not parsed\r\nNICK x\r\n');
    const out = session.push('outgoing', hello);
    expect(out).toHaveLength(1);
    expect(out[0]!.raw).toBe(hello);
    expect(out[0]!.events).toBeUndefined();
    expect(session.push('incoming', enc(':bob!b@h PRIVMSG x :no\r\n'))[0]!.events).toBeUndefined();
    expect(session.localId).toBeUndefined();
  });

  it('is split-invariant around the switch', () => {
    const result = expectSplitInvariant(
      script(['>', 'STARTTLS\r\n'], ['<', ':irc.example.net 670 * :STARTTLS successful\r\n'], ['>', '\x16\x03\x01 NICK a\r\n'], ['<', '\x16\x03\x03 PRIVMSG a :b\n']),
    );
    expect(result.frames.map((f) => f.upgrade ?? null)).toEqual([null, 'tls', null, null]);
    expect(result.events).toEqual([]);
  });

  it('parses the lines inside TLS again once imspect intercepts it, with the state carried over', () => {
    const session = newSession();
    session.push('outgoing', enc('CAP LS 302\r\nNICK alice\r\nSTARTTLS\r\n'));
    const frames = session.push('incoming', enc(':irc.example.net 670 alice :STARTTLS successful\r\n'));
    expect(frames.map((f) => f.upgrade)).toEqual(['tls']);
    expect(session.passthrough).toBe(true);
    session.tlsIntercepted();
    expect(session.passthrough).toBe(false);
    session.push('outgoing', enc('USER alice 0 * :Alice\r\n'));
    const welcome = session.push('incoming', enc(':irc.example.net 001 alice :Welcome\r\n'));
    expect(welcome.flatMap((f) => f.events ?? []).map((e) => [e.type, e.localId])).toEqual([['login', 'alice']]);
    const message = session.push('outgoing', enc('PRIVMSG bob :inside TLS\r\n'));
    expect(message[0]!.events).toEqual([expect.objectContaining({ type: 'message', localId: 'alice', remoteId: 'bob', text: 'inside TLS' })]);
  });

  it('keeps parsing after 691 (STARTTLS failed) and ignores a 670 nobody asked for', () => {
    const result = expectSplitInvariant(
      script(
        ['<', ':irc.example.net 670 * :unsolicited\r\n'],
        ['>', 'STARTTLS\r\n'],
        ['<', ':irc.example.net 691 * :STARTTLS failed\r\n'],
        ['>', 'NICK alice\r\nUSER a 0 * :A\r\n'],
        ['<', ':irc.example.net 001 alice :Welcome\r\n'],
      ),
    );
    expect(result.frames.some((f) => f.upgrade)).toBe(false);
    expect(result.events).toHaveLength(1);
  });
});

describe('rewrite', () => {
  function rewriteLast(lines: Parameters<typeof script>, text: string): string {
    const session = newSession();
    let last: ReturnType<typeof session.push> = [];
    for (const step of [...REGISTER, ...script(...lines)]) last = session.push(step.direction, step.data);
    const frame = last.at(-1)!;
    expect(frame.rewrite).toBeTypeOf('function');
    return dec(frame.rewrite!(text));
  }

  it('replaces only the text, keeping tags, prefix, command, target and line ending', () => {
    expect(rewriteLast([['>', '@label=x;+draft/reply=abc PRIVMSG #chan :bad word\r\n']], 'b** word')).toBe('@label=x;+draft/reply=abc PRIVMSG #chan :b** word\r\n');
    expect(rewriteLast([['<', ':bob!b@h NOTICE alice :bad\n']], 'good')).toBe(':bob!b@h NOTICE alice :good\n');
    expect(rewriteLast([['>', 'PRIVMSG bob :\x01ACTION kicks bob\x01\r\n']], 'hugs bob')).toBe('PRIVMSG bob :\x01ACTION hugs bob\x01\r\n');
    expect(rewriteLast([['>', 'PRIVMSG bob :\x01ACTION no closing\r\n']], 'x')).toBe('PRIVMSG bob :\x01ACTION x\r\n');
  });

  it('turns a middle-parameter text into a trailing one when it needs to', () => {
    expect(rewriteLast([['>', 'PRIVMSG #brotest test\r\n']], 'ok')).toBe('PRIVMSG #brotest ok\r\n');
    expect(rewriteLast([['>', 'PRIVMSG #brotest test\r\n']], 'two words')).toBe('PRIVMSG #brotest :two words\r\n');
    expect(rewriteLast([['>', 'PRIVMSG #brotest test ignored\r\n']], ':x')).toBe('PRIVMSG #brotest ::x\r\n');
  });

  it('removes CR, LF and NUL (and \\x01 inside an action) so no line can be injected', () => {
    expect(rewriteLast([['>', 'PRIVMSG bob :hi\r\n']], 'a\r\nQUIT :x\0')).toBe('PRIVMSG bob :aQUIT :x\r\n');
    expect(rewriteLast([['>', 'PRIVMSG bob :\x01ACTION x\x01\r\n']], 'y\x01DCC SEND')).toBe('PRIVMSG bob :\x01ACTION yDCC SEND\x01\r\n');
  });

  it('round-trips: the rewritten line parses to the new text', () => {
    const rewritten = rewriteLast([['<', '@time=t :bob!b@h PRIVMSG #chan :\x01ACTION says ünïcödé\x01\r\n']], 'says 日本語 now');
    const result = run([...REGISTER, { direction: 'incoming', data: latin1(rewritten) }]);
    expect(result.events.at(-1)).toEqual({
      direction: 'incoming',
      type: 'message',
      subtype: 'action',
      localId: 'alice',
      remoteId: '#chan',
      conversation: '#chan',
      text: 'says 日本語 now',
      data: { from: 'bob' },
    });
  });

  it('keeps Latin-1 text Latin-1 and leaves the other bytes untouched', () => {
    const session = newSession();
    for (const step of REGISTER) session.push(step.direction, step.data);
    const line = latin1(':b\xf6b!b@h PRIVMSG #caf\xe9 :d\xe9j\xe0 vu\r\n');
    const [frame] = session.push('incoming', line);
    expect(frame!.events).toEqual([{ type: 'message', localId: 'alice', remoteId: '#café', conversation: '#café', text: 'déjà vu', data: { from: 'böb' } }]);
    expect(frame!.rewrite!('à bientôt')).toEqual(latin1(':b\xf6b!b@h PRIVMSG #caf\xe9 :\xe0 bient\xf4t\r\n'));
    // A character Latin-1 cannot hold: that field becomes UTF-8, the rest stays as it was.
    expect(frame!.rewrite!('ő')).toEqual(new Uint8Array([...latin1(':b\xf6b!b@h PRIVMSG #caf\xe9 :'), 0xc5, 0x91, 0x0d, 0x0a]));
  });

  it('reads Latin-1 the way Windows clients meant it (windows-1252) and writes it back the same way', () => {
    const session = newSession();
    for (const step of REGISTER) session.push(step.direction, step.data);
    const [frame] = session.push('incoming', latin1(':bob!b@h PRIVMSG alice :5 \x80 \x93quoted\x94 \x81\r\n'));
    expect(frame!.events![0]!.text).toBe('5 € “quoted” \u0081');
    expect(frame!.rewrite!('6 € “x” \u0081 \xff')).toEqual(latin1(':bob!b@h PRIVMSG alice :6 \x80 \x93x\x94 \x81 \xff\r\n'));
  });

  it('decodes valid UTF-8 as UTF-8 and each field on its own', () => {
    const session = newSession();
    for (const step of REGISTER) session.push(step.direction, step.data);
    const line = new Uint8Array([...enc(':björn!b@h PRIVMSG alice :'), ...latin1('gr\xfc\xdfe'), 0x0a]);
    expect(session.push('incoming', line)[0]!.events).toEqual([{ type: 'message', localId: 'alice', remoteId: 'björn', text: 'grüße' }]);
  });

  it('is absent on frames without exactly one message event', () => {
    const session = newSession();
    const frames = [...REGISTER, ...script(['>', 'JOIN #a\r\n'], ['>', 'PRIVMSG #a,#b :x\r\n'])].flatMap((s) => session.push(s.direction, s.data));
    expect(frames.filter((f) => f.rewrite)).toEqual([]);
  });
});

describe('respond', () => {
  const about = (extra: Partial<ImEvent>): ImEvent => testEvent({ protocol: 'irc', direction: 'outgoing', type: 'message', localId: 'alice', ...extra });

  it('about a message to a channel: a NOTICE to that channel from imspect; to a nick: a private NOTICE from that nick; hostile text cannot make a CTCP or a new line', () => {
    const session = newSession();
    for (const step of REGISTER) session.push(step.direction, step.data);
    expect(dec(session.respond('Blocked (acl): message "hi" to #chan', about({ remoteId: '#chan', conversation: '#chan' }))!)).toBe(
      ':imspect!imspect@gateway NOTICE #chan :Blocked (acl): message "hi" to #chan\r\n',
    );
    expect(dec(session.respond('\x01VERSION\x01\r\nPRIVMSG #x :pwned', about({ remoteId: 'carol' }))!)).toBe(':carol!imspect@gateway NOTICE alice :VERSIONPRIVMSG #x :pwned\r\n');
    expect(dec(session.respond('x', about({ type: 'file', remoteId: 'bob' }))!)).toBe(':bob!imspect@gateway NOTICE alice :x\r\n');
    // A hostile target cannot add parameters or lines either.
    expect(dec(session.respond('x', about({ remoteId: '#a b\r\nQUIT', conversation: '#a b\r\nQUIT' }))!)).toBe(':imspect!imspect@gateway NOTICE #abQUIT :x\r\n');
    // Not about a conversation (a login, a join, something received): from the server, to the user.
    expect(dec(session.respond('x', about({ type: 'join', remoteId: '#secret', conversation: '#secret' }))!)).toBe(':irc.example.net NOTICE alice :x\r\n');
    expect(dec(session.respond('x', about({ direction: 'incoming', remoteId: 'carol' }))!)).toBe(':irc.example.net NOTICE alice :x\r\n');
    expect(dec(session.respond('x', about({ remoteId: 'ALICE' }))!)).toBe(':irc.example.net NOTICE alice :x\r\n');
  });

  it('is undefined before the local nick is known', () => {
    expect(newSession().respond('hello', {} as never)).toBeUndefined();
  });

  it('sends a NOTICE from the 001 server name (or imspect before 001)', () => {
    const early = newSession();
    early.push('outgoing', enc('NICK alice\r\n'));
    expect(dec(early.respond('monitored', {} as never)!)).toBe(':imspect NOTICE alice :monitored\r\n');
    const session = newSession();
    for (const step of REGISTER) session.push(step.direction, step.data);
    expect(dec(session.respond('This chat is\r\nlogged\0.', {} as never)!)).toBe(':irc.example.net NOTICE alice :This chat islogged.\r\n');
  });

  it('splits long text over NOTICE lines of at most 512 bytes, never inside a character', () => {
    const session = newSession();
    for (const step of REGISTER) session.push(step.direction, step.data);
    const text = Array.from({ length: 300 }, (_, i) => (i % 7 === 0 ? 'Überwachung' : `word${i}`)).join(' ') + '日本語'.repeat(200);
    const bytes = session.respond(text, {} as never)!;
    const lines = Buffer.from(bytes).toString('utf8').split('\r\n');
    expect(lines.pop()).toBe('');
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) {
      expect(Buffer.byteLength(line) + 2).toBeLessThanOrEqual(512);
      expect(line.startsWith(':irc.example.net NOTICE alice :')).toBe(true);
      expect(line).not.toContain('\uFFFD');
    }
    const joined = lines.map((l) => l.slice(':irc.example.net NOTICE alice :'.length)).join('');
    expect(joined.replace(/ /g, '')).toBe(text.replace(/ /g, ''));
    // What it sends parses as notices to the local user.
    const check = run([
      { direction: 'incoming', data: enc(':x!y@z PRIVMSG alice :hi\r\n') },
      { direction: 'incoming', data: bytes },
    ]);
    expect(check.frames.every((f) => !f.error)).toBe(true);
  });
});
