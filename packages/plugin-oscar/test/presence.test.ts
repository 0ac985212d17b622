/**
 * OSCAR presence: buddy arrivals (0x03/0x0B) with ICQ's status TLV 6 or AIM's user class and idle time,
 * departures (0x03/0x0C), several user infos in one SNAC, and the client's own status (0x01/0x1E); cut at
 * every byte offset and in random chunk sizes.
 */
import { describe, expect, it } from 'vitest';
import { expectSplitInvariant, flap, inc, name8, out, snac, tlv, u16, u32, type Step } from './helpers.js';

const AUTH_COOKIE = Buffer.alloc(256, 0x5a);
const HELLO = u32(1);

/** A BOS connection that learns the local user from its own user info (0x01/0x0F). */
const bos: Step[] = [
  inc(flap(1, 0x5000, HELLO)),
  out(flap(1, 0x6000, Buffer.concat([HELLO, tlv(0x0006, AUTH_COOKIE)]))),
  inc(snac(0x5001, 1, 3, Buffer.concat([1, 2, 3, 4, 0x13, 0x15].map(u16)))),
  inc(snac(0x5002, 1, 0x0f, Buffer.concat([name8('Me User'), u16(0), u16(0)]))),
];

const userInfo = (name: string, ...tlvs: Buffer[]) => Buffer.concat([name8(name), u16(0), u16(tlvs.length), ...tlvs]);

const presence = (steps: Step[]) =>
  expectSplitInvariant([...bos, ...steps])
    .events.filter((e) => e.subtype === 'status')
    .map((e) => [e.direction, e.type, e.localId, e.remoteId, e.data]);

describe('OSCAR presence', () => {
  it('arrivals: ICQ status bits, AIM away class and idle time, several buddies in one SNAC; departures are offline', () => {
    expect(
      presence([
        inc(snac(0x5003, 3, 0x0b, Buffer.concat([userInfo('123456', tlv(0x0006, u32(0x10000000))), userInfo('234567', tlv(0x0006, u32(0x10000013)))]))),
        inc(snac(0x5004, 3, 0x0b, userInfo('345678', tlv(0x0006, u32(0x00000101))))),
        inc(snac(0x5005, 3, 0x0b, userInfo('Aim Buddy', tlv(0x0001, u16(0x0030))))),
        inc(snac(0x5006, 3, 0x0b, userInfo('Idle Buddy', tlv(0x0001, u16(0x0010)), tlv(0x0004, u16(12))))),
        inc(snac(0x5007, 3, 0x0b, userInfo('Back Buddy', tlv(0x0001, u16(0x0010))))),
        inc(snac(0x5008, 3, 0x0c, Buffer.concat([userInfo('Aim Buddy', tlv(0x0001, u16(0x0010))), userInfo('123456')]))),
        // The user's own info arriving is not a contact.
        inc(snac(0x5009, 3, 0x0b, userInfo('me user', tlv(0x0006, u32(0))))),
      ]),
    ).toEqual([
      ['incoming', 'contact', 'meuser', '123456', { status: 'online', 'protocol-status': '0x0000' }],
      ['incoming', 'contact', 'meuser', '234567', { status: 'busy', 'protocol-status': '0x0013' }],
      ['incoming', 'contact', 'meuser', '345678', { status: 'invisible', 'protocol-status': '0x0101' }],
      ['incoming', 'contact', 'meuser', 'aimbuddy', { status: 'away', 'protocol-status': 'class 0x0030' }],
      ['incoming', 'contact', 'meuser', 'idlebuddy', { status: 'idle', 'protocol-status': 'class 0x0010' }],
      ['incoming', 'contact', 'meuser', 'backbuddy', { status: 'online', 'protocol-status': 'class 0x0010' }],
      ['incoming', 'contact', 'meuser', 'aimbuddy', { status: 'offline' }],
      ['incoming', 'contact', 'meuser', '123456', { status: 'offline' }],
    ]);
  });

  it("the client's own status (0x01/0x1E TLV 6)", () => {
    expect(presence([out(snac(0x6001, 1, 0x1e, tlv(0x0006, u32(0x00000004)))), out(snac(0x6002, 1, 0x1e, tlv(0x0006, u32(0x00000020))))])).toEqual([
      ['outgoing', 'other', 'meuser', 'login.oscar.example', { status: 'away', 'protocol-status': '0x0004' }],
      ['outgoing', 'other', 'meuser', 'login.oscar.example', { status: 'free-for-chat', 'protocol-status': '0x0020' }],
    ]);
  });

  it('a user info cut short: the buddies before it count, the frame gets an error', () => {
    const whole = expectSplitInvariant([
      ...bos,
      inc(snac(0x5003, 3, 0x0b, Buffer.concat([userInfo('111', tlv(0x0006, u32(0))), name8('222'), u16(0), u16(3), tlv(0x0006, u32(1))]))),
    ]);
    expect(whole.events.filter((e) => e.subtype === 'status').map((e) => e.remoteId)).toEqual(['111']);
    expect(whole.frames.filter((f) => f.error !== undefined)).toHaveLength(1);
  });
});
