/**
 * What the plugin reports for policy (docs/writing-plugins.md, "What protocol plugins report for policy"):
 * client versions as `client`/`version`/`protocol-version` on the CVR and the login, contact subtypes
 * add/remove/list, group conversations as isGroupChat sees them, `data` values kept whole, and no answer on a
 * notification server before the login. Checked with filter-policy itself where a verdict is the point.
 */
import { describe, expect, it } from 'vitest';
import { dataValue, isGroupChat, type EventDraft, type ImEvent } from '@imspect/sdk';
// The first-party policy filter, from its build (a test-only use, not a dependency of the plugin).
import { compilePolicy, policyVerdict } from '../../filter-policy/dist/index.js';
import { enc, newSession, run, script } from './helpers.js';
import * as T from './transcripts.js';

const asEvent = (draft: EventDraft & { direction: 'incoming' | 'outgoing' }): ImEvent => ({
  id: '1',
  at: '',
  protocol: 'msn',
  client: { ip: '192.0.2.1', port: 40000 },
  server: { host: 'ns.example.net', port: 1863 },
  filtered: false,
  categories: [],
  ...draft,
  localId: draft.localId ?? '',
  remoteId: draft.remoteId ?? '',
});

const OLD_CLIENT = script(['>', 'VER 1 MSNP8 CVR0\r\n'], ['<', 'VER 1 MSNP8\r\n'], ['>', 'CVR 2 0x0409 winnt 5.1 i386 MSNMSGR 6.2.0208 MSMSGS alice@example.com\r\n']);

describe('client versions', () => {
  it('the CVR frame carries an other/client event that filter-policy denies with a reason; the login repeats the keys', () => {
    const result = run([...T.MSNP11_NOTIFICATION]);
    const client = result.events.find((e) => e.type === 'other')!;
    expect(client).toMatchObject({ subtype: 'client', direction: 'outgoing' });
    const login = result.events.find((e) => e.type === 'login')!;
    for (const e of [client, login]) {
      expect(dataValue(e.data, 'client')).toBe('MSNMSGR');
      expect(dataValue(e.data, 'version')).toBe('7.0.0777');
      expect(dataValue(e.data, 'protocol-version')).toBe('MSNP11');
    }
    const cvrFrame = result.frames.find((f) => f.raw.startsWith('CVR') && f.direction === 'outgoing')!;
    expect(cvrFrame.events?.map((e) => e.type)).toEqual(['other']);

    const policy = compilePolicy({ clients: [{ protocol: 'msn', client: 'MSNMSGR', minVersion: '8.1' }] });
    const verdict = policyVerdict(policy, asEvent(client));
    expect(verdict).toMatchObject({ action: 'block', disconnect: true, categories: ['policy client'] });
    expect(verdict.respond).toBe('Your IM client (MSNMSGR 7.0.0777) is not allowed here: version 8.1 or newer is required. Please upgrade.');
    expect(policyVerdict(compilePolicy({ clients: [{ protocol: 'msn', denyProtocolVersions: ['MSNP11'] }] }), asEvent(client)).action).toBe('block');
    expect(policyVerdict(compilePolicy({ clients: [{ protocol: 'msn', minVersion: '7.0' }] }), asEvent(client)).action).toBe('pass');
  });

  it('a CVR before the server chose a dialect reports the client without protocol-version', () => {
    const result = run(script(['>', 'CVR 2 0x0409 winnt 5.1 i386 MSNMSGR 6.2.0208 MSMSGS alice@example.com\r\n']));
    expect(result.events).toEqual([
      { direction: 'outgoing', type: 'other', subtype: 'client', localId: 'alice@example.com', remoteId: 'ns.example.net', data: { client: 'MSNMSGR', version: '6.2.0208' } },
    ]);
  });

  it('a notification server cannot answer before the login is accepted (even MSNP21), and can after it', () => {
    const session = newSession();
    for (const step of OLD_CLIENT) session.push(step.direction, step.data);
    const about = asEvent({ direction: 'outgoing', type: 'other', subtype: 'client', localId: 'alice@example.com', remoteId: 'ns.example.net' });
    expect(session.respond('denied', about)).toBeUndefined();
    const msnp21 = newSession();
    for (const step of T.MSNP21_NOTIFICATION.slice(0, 7)) msnp21.push(step.direction, step.data);
    expect(msnp21.respond('denied', { ...about, remoteId: 'bob@live.com', type: 'message' })).toBeUndefined();
    for (const step of T.MSNP21_NOTIFICATION.slice(7, 8)) msnp21.push(step.direction, step.data);
    expect(msnp21.respond('denied', { ...about, remoteId: 'bob@live.com', type: 'message' })).toBeInstanceOf(Uint8Array);
  });
});

describe('contacts', () => {
  const login = T.MSNP11_NOTIFICATION.slice(0, 12);

  it('add only for the forward list; allow/block list changes and the reverse list are list; REM is remove', () => {
    const steps = script(
      ['>', 'CHG 9 NLN 0\r\n'],
      ['>', 'ADC 20 FL N=new@hotmail.com F=new@hotmail.com\r\n'],
      ['>', 'ADC 21 AL N=new@hotmail.com\r\n'],
      ['>', 'ADC 22 BL N=spam@hotmail.com\r\n'],
      ['<', 'ADC 0 RL N=fan@hotmail.com F=Fan\r\n'],
      ['>', 'REM 23 AL spam@hotmail.com\r\n'],
    );
    const before = run(login).events.length;
    const events = run([...login, ...steps]).events.slice(before);
    expect(events.map((e) => [e.subtype, e.remoteId, e.data])).toEqual([
      ['status', 'ns.example.net', { status: 'online', 'protocol-status': 'NLN' }],
      ['add', 'new@hotmail.com', { list: 'FL' }],
      ['list', 'new@hotmail.com', { list: 'AL' }],
      ['list', 'spam@hotmail.com', { list: 'BL' }],
      ['list', 'fan@hotmail.com', { list: 'RL' }],
      ['remove', 'spam@hotmail.com', { list: 'AL' }],
    ]);
    // filter-policy's contact blocking stops the addition only (not the user's status).
    const policy = compilePolicy({ block: { contact: true } });
    expect(events.map((e) => policyVerdict(policy, asEvent(e)).action)).toEqual(['pass', 'block', 'pass', 'pass', 'pass', 'pass']);
  });

  it('MSNP13+ ADL: forward list is add, block list only is list, RML is remove', () => {
    const steps = script(
      ['>', T.payload('ADL 30', '<ml><d n="example.com"><c n="carol" l="1" t="1"/><c n="spam" l="4" t="1"/><c n="dave" l="5" t="1"/></d></ml>')],
      ['>', T.payload('RML 31', '<ml><d n="example.com"><c n="carol" l="1" t="1"/></d></ml>')],
    );
    const base = T.MSNP15_NOTIFICATION.filter((s) => !/^(OUT|ADL 9|RML 10|UUM|UBM)/.test(Buffer.from(s.data).toString('latin1')));
    const before = run(base).events.length;
    const events = run([...base, ...steps]).events.slice(before);
    expect(events.map((e) => [e.subtype, e.remoteId, e.data])).toEqual([
      ['add', 'carol@example.com', { list: 'FL' }],
      ['list', 'spam@example.com', { list: 'BL' }],
      ['add', 'dave@example.com', { list: 'FL,BL' }],
      ['remove', 'carol@example.com', { list: 'FL' }],
    ]);
  });
});

describe('group conversations', () => {
  it('a switchboard with two other participants is a group chat (conversation = remoteId); one other is not', () => {
    const events = run(T.MSNP18_SWITCHBOARD).events.map(asEvent);
    const hiAll = events.find((e) => e.text === 'hi all')!;
    expect(isGroupChat(hiAll)).toBe(true);
    expect(dataValue(hiAll.data, 'from')).toBe('carol@live.com');
    const hiAlice = events.find((e) => e.text === 'hi alice')!;
    expect(isGroupChat(hiAlice)).toBe(false);
  });

  it('a switchboard joined without its session id (a capture that missed the start): a second participant makes a group, groupchat=1', () => {
    const s = newSession();
    s.push('incoming', enc('USR 9 OK alice@live.com Alice\r\n'));
    const frames = [...s.push('incoming', enc('JOI bob@live.com Bob\r\n')), ...s.push('incoming', enc('JOI carol@live.com Carol\r\n'))];
    const [bob, carol] = frames.flatMap((f) => f.events ?? []);
    expect(bob!.conversation).toBeUndefined();
    expect(isGroupChat(asEvent({ ...bob!, direction: 'incoming' }))).toBe(false);
    expect(carol!.data).toEqual({ participant: 'carol@live.com', participants: 'bob@live.com,carol@live.com', groupchat: true });
    expect(isGroupChat(asEvent({ ...carol!, direction: 'incoming' }))).toBe(true);
  });
});

describe('data items', () => {
  it('values with spaces or % are kept whole', () => {
    const steps = script(['>', 'VER 1 MSNP8 CVR0\r\n'], ['<', 'VER 1 MSNP8\r\n'], ['>', 'CVR 2 0x0409 winnt 5.1 i386 Odd%Client 1.0%beta MSMSGS alice@example.com\r\n']);
    const [client] = run(steps).events;
    expect(client!.data).toEqual({ client: 'Odd%Client', version: '1.0%beta', 'protocol-version': 'MSNP8' });
    expect(dataValue(client!.data, 'client')).toBe('Odd%Client');
    expect(dataValue(client!.data, 'version')).toBe('1.0%beta');
  });
});
