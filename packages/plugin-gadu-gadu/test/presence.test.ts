/**
 * Contacts' statuses (libgadu's protocol.html: GG_STATUS, GG_STATUS60/77, GG_NOTIFY_REPLY60/77, GG_STATUS80,
 * GG_NOTIFY_REPLY80) and the user's own (GG_NEW_STATUS80): presence events in the normalised words, the raw
 * number as `protocol-status`, the description as data; cut at every byte offset and in random chunk sizes.
 */
import { describe, expect, it } from 'vitest';
import { cp1250, expectSplitInvariant, gg, inc, out, u16, u32, u8, zeros } from './helpers.js';

const login = [
  inc(gg(0x01, u32(0x1234abcd))),
  // GG_LOGIN60 (0x15) for uin 1001.
  out(gg(0x15, u32(1001), u32(0xdeadbeef), u32(0x02), u32(0x20), u8(0), u32(0), u16(0), u32(0), u16(0), u8(0), u8(0xbe))),
  inc(gg(0x03)),
];

/** A GG_STATUS80 / GG_NOTIFY_REPLY80 record. */
function record80(uin: number, status: number, description = ''): Buffer {
  const text = Buffer.from(description, 'utf8');
  return Buffer.concat([u32(uin), u32(status), u32(0), u32(0), u16(0), u8(0), u8(0), u32(0), u32(text.length), text]);
}

/** A 6.0 record: uin (flags in the top byte), status byte, ip, port, version, image size, a byte. */
const fixed60 = (uin: number, status: number) => Buffer.concat([u32(uin | 0x40000000), u8(status), u32(0), u16(0), u8(0x2a), u8(0), u8(0)]);

function presence(steps: Parameters<typeof expectSplitInvariant>[0]) {
  const result = expectSplitInvariant(steps);
  return { result, events: result.events.filter((e) => e.subtype === 'status').map((e) => [e.direction, e.type, e.remoteId, e.data]) };
}

describe('Gadu-Gadu presence', () => {
  it('8.0 records: several contacts in one reply, UTF-8 descriptions kept as text', () => {
    const hostile = '<b onmouseover=alert(1)>hi</b> \u202Eexe.txt 😀';
    const { events, result } = presence([
      ...login,
      inc(gg(0x37, record80(2002, 0x02), record80(3003, 0x4005, hostile))),
      inc(gg(0x36, record80(2002, 0x22, 'nie przeszkadzać'))),
      inc(gg(0x36, record80(3003, 0x01))),
    ]);
    expect(events).toEqual([
      ['incoming', 'contact', '2002', { status: 'online', 'protocol-status': '0x0002' }],
      ['incoming', 'contact', '3003', { status: 'away', 'protocol-status': '0x4005', description: hostile }],
      ['incoming', 'contact', '2002', { status: 'busy', 'protocol-status': '0x0022', description: 'nie przeszkadzać' }],
      ['incoming', 'contact', '3003', { status: 'offline', 'protocol-status': '0x0001' }],
    ]);
    expect(result.events.every((e) => e.localId === '1001' && e.text === undefined)).toBe(true);
  });

  it('6.0 / 7.7 and the old GG_STATUS: the uin without its flag byte, CP1250 descriptions', () => {
    const desc = cp1250('zaraz wracam, żółw');
    const { events } = presence([
      ...login,
      inc(gg(0x11, fixed60(2002, 0x02), fixed60(3003, 0x05), u8(desc.length), desc)),
      inc(gg(0x18, fixed60(4004, 0x16), zeros(4), u8(3), Buffer.from('abc'))),
      inc(gg(0x0f, fixed60(2002, 0x17))),
      inc(gg(0x17, fixed60(2002, 0x14), zeros(4))),
      inc(gg(0x02, u32(5005), u32(0x04), Buffer.from('jestem\0'))),
    ]);
    expect(events).toEqual([
      ['incoming', 'contact', '2002', { status: 'online', 'protocol-status': '0x0002' }],
      ['incoming', 'contact', '3003', { status: 'away', 'protocol-status': '0x0005', description: 'zaraz wracam, żółw' }],
      ['incoming', 'contact', '4004', { status: 'invisible', 'protocol-status': '0x0016', description: 'abc' }],
      ['incoming', 'contact', '2002', { status: 'free-for-chat', 'protocol-status': '0x0017' }],
      ['incoming', 'contact', '2002', { status: 'invisible', 'protocol-status': '0x0014' }],
      ['incoming', 'contact', '5005', { status: 'online', 'protocol-status': '0x0004', description: 'jestem' }],
    ]);
  });

  it('the user own status (GG_NEW_STATUS80) with its description as data, not as text', () => {
    const text = Buffer.from('w pracy', 'utf8');
    const { events } = presence([...login, out(gg(0x38, u32(0x4004), u32(0), u32(text.length), text))]);
    expect(events).toEqual(
      [['outgoing', 'other', '91.214.237.10', { status: 'online', 'protocol-status': '0x4004', description: 'w pracy' }]].map((e) => [e[0], e[1], expect.any(String), e[3]]),
    );
  });

  it('a record cut short: the records before it count, the packet gets an error', () => {
    const whole = record80(3003, 0x4004, 'opis');
    const { events, result } = presence([...login, inc(gg(0x37, record80(2002, 0x02), whole.subarray(0, whole.length - 2)))]);
    expect(events).toEqual([['incoming', 'contact', '2002', { status: 'online', 'protocol-status': '0x0002' }]]);
    expect(result.frames.map((f) => f.error).filter((e) => e !== undefined)).toEqual(['malformed-packet']);
  });
});
