/**
 * What the plugin reports for policy (docs/writing-plugins.md, "What protocol plugins report for policy"): the
 * client program, version and protocol on the login packet (other/client) and the login, contact additions as
 * `contact`/`add`, file offers as `file`, conferences as group conversations. Checked with filter-policy where a
 * verdict is the point.
 */
import { describe, expect, it } from 'vitest';
import { dataValue, type EventDraft, type ImEvent } from '@imspect/sdk';
import { testEvent } from '@imspect/sdk/testing';
// The first-party policy filter, from its build (a test-only use, not a dependency of the plugin).
import { compilePolicy, policyVerdict } from '../../filter-policy/dist/index.js';
import { expectSplitInvariant, gg, inc, out, u32, u8, zeros } from './helpers.js';

const asEvent = (draft: EventDraft & { direction?: 'incoming' | 'outgoing' }): ImEvent =>
  testEvent({ protocol: 'gadu-gadu', server: { host: '91.214.237.10', port: 8074 }, ...draft });

function login80(version: string): Buffer {
  const v = Buffer.from(version);
  return gg(0x31, u32(1001), Buffer.from('pl'), u8(2), zeros(64), u32(2), u32(0), u32(0x2737), zeros(12), u8(0), u8(0x64), u32(v.length), v, u32(0));
}
const login70 = gg(0x19, u32(1001), u8(2), zeros(64), u32(2), u32(0x2a), u8(0), zeros(12), u8(0), u8(0xbe));

describe('client versions', () => {
  it('the login packet carries other/client; filter-policy denies an old client or protocol there, before the server answers', () => {
    const whole = expectSplitInvariant([inc(gg(0x01, u32(9))), out(login80('Gadu-Gadu Client build 8.0.0.7669')), inc(gg(0x35, u32(1)))]);
    const [client, login] = whole.events;
    expect(client).toMatchObject({ direction: 'outgoing', type: 'other', subtype: 'client', localId: '1001' });
    expect(dataValue(client!.data, 'client')).toBe('Gadu-Gadu Client');
    expect(dataValue(client!.data, 'version')).toBe('8.0.0.7669');
    expect(login).toMatchObject({ type: 'login', data: client!.data });

    const deny = compilePolicy({ clients: [{ protocol: 'gadu-gadu', minVersion: '10.0' }] });
    const verdict = policyVerdict(deny, asEvent(client!));
    expect(verdict).toMatchObject({ action: 'block', disconnect: true, categories: ['policy client'] });
    expect(verdict.respond).toBe('Your IM client (Gadu-Gadu Client 8.0.0.7669) is not allowed here: version 10.0 or newer is required. Please upgrade.');

    const older = expectSplitInvariant([out(login70)]).events[0]!;
    expect(dataValue(older.data, 'protocol-version')).toBe('0x2a');
    const noOld = compilePolicy({ clients: [{ protocol: 'gadu-gadu', denyProtocolVersions: ['0x2a', 'GG_LOGIN60'] }] });
    expect(policyVerdict(noOld, asEvent(older)).action).toBe('block');
    expect(policyVerdict(noOld, asEvent(client!)).action).toBe('pass');
  });
});

describe('blockable kinds', () => {
  it('contact additions, DCC7 file offers and image replies are what filter-policy blocks; lists and removals are not', () => {
    const offer = gg(0x20, zeros(8), u32(1001), u32(1002), u32(4), Buffer.concat([Buffer.from('x.zip'), zeros(250)]), u32(10), u32(0), zeros(20));
    const whole = expectSplitInvariant([
      out(login70),
      inc(gg(0x03)),
      out(gg(0x10, u32(1002), u8(3))),
      out(gg(0x0d, u32(1003), u8(3))),
      out(gg(0x0e, u32(1002), u8(3))),
      out(offer),
      inc(gg(0x0a, u32(1002), u32(1), u32(2), u32(8), u8(0), u8(0x05), u32(3), u32(4), Buffer.from('p.png\0'), zeros(3))),
    ]);
    const policy = compilePolicy({ block: { file: true, contact: true } });
    const verdicts = whole.events.slice(2).map((e) => [e.type, e.subtype, policyVerdict(policy, asEvent(e)).action]);
    expect(verdicts).toEqual([
      ['contact', 'list', 'pass'],
      ['contact', 'add', 'block'],
      ['contact', 'remove', 'pass'],
      ['file', 'dcc7', 'block'],
      ['file', 'image', 'block'],
    ]);
  });
});
