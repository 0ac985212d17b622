/**
 * Presence on the notification server: the user's CHG and UUX, contacts' ILN, NLN, FLN and UBX, in MSNP8,
 * MSNP13 (network id) and MSNP18 (`1:` prefixes) forms, cut at every byte offset and in random chunks.
 */
import { describe, expect, it } from 'vitest';
import { expectSplitInvariant } from './invariance.js';
import { script } from './helpers.js';
import * as T from './transcripts.js';

const NS = 'ns.example.net';
const ME = 'alice@live.com';

const login = (version: string) =>
  script(
    ['>', `VER 1 ${version} CVR0\r\n`],
    ['<', `VER 1 ${version}\r\n`],
    ['>', `CVR 2 0x0409 winnt 5.1 i386 MSNMSGR 8.5.1302 msmsgs ${ME}\r\n`],
    ['>', `USR 3 SSO I ${ME}\r\n`],
    ['<', `USR 4 OK ${ME} 1 0\r\n`],
  );

const presence = (events: readonly { type: string; subtype?: string; direction: string; remoteId: string; data?: unknown }[]) =>
  events.filter((e) => e.subtype === 'status').map((e) => [e.direction, e.type, e.remoteId, e.data]);

describe('MSN presence', () => {
  it('MSNP8: CHG is the user own status; ILN, NLN and FLN are contacts; the server echo of CHG is no second change', () => {
    const whole = expectSplitInvariant([
      ...login('MSNP8'),
      ...script(
        ['>', 'CHG 6 BSY 0\r\n'],
        ['<', 'CHG 6 BSY 0\r\n'],
        ['<', 'ILN 6 AWY bob@hotmail.com Bob 268435492\r\n'],
        ['<', 'NLN IDL carol@hotmail.com Carol%20C 0\r\n'],
        ['<', 'NLN XYZ dave@hotmail.com Dave 0\r\n'],
        ['<', 'FLN bob@hotmail.com\r\n'],
        ['>', 'CHG 7 HDN 0\r\n'],
      ),
    ]);
    expect(presence(whole.events)).toEqual([
      ['outgoing', 'other', NS, { status: 'busy', 'protocol-status': 'BSY' }],
      ['incoming', 'contact', 'bob@hotmail.com', { status: 'away', 'protocol-status': 'AWY' }],
      ['incoming', 'contact', 'carol@hotmail.com', { status: 'idle', 'protocol-status': 'IDL' }],
      ['incoming', 'contact', 'dave@hotmail.com', { status: 'unknown', 'protocol-status': 'XYZ' }],
      ['incoming', 'contact', 'bob@hotmail.com', { status: 'offline', 'protocol-status': 'FLN' }],
      ['outgoing', 'other', NS, { status: 'invisible', 'protocol-status': 'HDN' }],
    ]);
    expect(whole.events.every((e) => e.localId === ME && e.text === undefined)).toBe(true);
  });

  it('MSNP13 and MSNP18 forms; UBX carries the personal message (entities decoded) with the last known status', () => {
    const hostile = '&lt;script&gt;alert(1)&lt;/script&gt; &#x202E;evil &amp; co';
    const whole = expectSplitInvariant([
      ...login('MSNP18'),
      ...script(
        ['>', 'CHG 6 NLN 2789003324:48 0\r\n'],
        ['>', T.payload('UUX 7', '<Data><PSM>in a meeting</PSM><CurrentMedia></CurrentMedia></Data>')],
        ['<', 'ILN 6 LUN 1:bob@live.com Bob 2789003324:48 0\r\n'],
        ['<', T.payload('UBX 1:bob@live.com', `<Data><PSM>${hostile}</PSM><CurrentMedia></CurrentMedia></Data>`)],
        ['<', 'NLN PHN 32:yuser@yahoo.com Y%20User 0\r\n'],
        ['<', 'FLN 1:bob@live.com 0:0\r\n'],
        ['<', T.payload('UBX 1:carol@live.com', '<Data><CurrentMedia></CurrentMedia></Data>')],
      ),
    ]);
    expect(presence(whole.events)).toEqual([
      ['outgoing', 'other', NS, { status: 'online', 'protocol-status': 'NLN' }],
      ['outgoing', 'other', NS, { status: 'online', 'protocol-status': 'NLN', description: 'in a meeting' }],
      ['incoming', 'contact', 'bob@live.com', { status: 'out-to-lunch', 'protocol-status': 'LUN' }],
      ['incoming', 'contact', 'bob@live.com', { status: 'out-to-lunch', 'protocol-status': 'LUN', description: '<script>alert(1)</script> \u202eevil & co' }],
      ['incoming', 'contact', 'yuser@yahoo.com', { status: 'on-the-phone', 'protocol-status': 'PHN' }],
      ['incoming', 'contact', 'bob@live.com', { status: 'offline', 'protocol-status': 'FLN' }],
    ]);
  });

  it('MSNP13: NLN st id network name', () => {
    const whole = expectSplitInvariant([...login('MSNP13'), ...script(['<', 'NLN BRB bob@live.com 1 Bob 0\r\n'], ['<', 'ILN 9 NLN carol@live.com 1 Carol 0\r\n'])]);
    expect(presence(whole.events)).toEqual([
      ['incoming', 'contact', 'bob@live.com', { status: 'be-right-back', 'protocol-status': 'BRB' }],
      ['incoming', 'contact', 'carol@live.com', { status: 'online', 'protocol-status': 'NLN' }],
    ]);
  });

  it('a short or empty status line gives no event and no error', () => {
    const whole = expectSplitInvariant([...login('MSNP8'), ...script(['<', 'NLN NLN\r\n'], ['<', 'ILN 6\r\n'], ['<', 'FLN\r\n'], ['>', 'CHG 6\r\n'])]);
    expect(presence(whole.events)).toEqual([]);
    expect(whole.frames.filter((f) => f.error !== undefined)).toEqual([]);
  });
});
