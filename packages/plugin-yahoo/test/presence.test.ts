/**
 * Yahoo presence (libpurple's yahoo_process_status): buddy records (key 7, 10, 19, 47, 13, 97) in LOGON,
 * Y6_STATUS_UPDATE (0xC6), ISAWAY (0x03), STATUS_15 (0xF0) and LOGOFF from the server, and the client's own
 * Y6_STATUS_UPDATE; cut at every byte offset and in random chunk sizes.
 */
import { describe, expect, it } from 'vitest';
import { expectSplitInvariant, inc, out, ymsg, type Step } from './helpers.js';

const p = (service: number, pairs: ReadonlyArray<readonly [number, string | Uint8Array]>, status = 0) =>
  ymsg({ service, status, sessionId: 0x5a5a0001, version: [0, 16, 0, 0], pairs });

const login: Step[] = [
  out(p(0x57, [[1, 'alice']])),
  out(
    p(0x54, [
      [1, 'alice'],
      [0, 'alice'],
      [135, '9.0.0.2162'],
    ]),
  ),
  inc(
    p(0x01, [
      [0, 'alice'],
      [1, 'alice'],
      [8, '0'],
    ]),
  ),
];

const presence = (steps: Step[]) =>
  expectSplitInvariant([...login, ...steps])
    .events.filter((e) => e.subtype === 'status')
    .map((e) => [e.direction, e.type, e.localId, e.remoteId, e.data]);

describe('Yahoo presence', () => {
  it("contacts' statuses: numbers, custom texts with the away flag, several buddies in one packet, sign-off", () => {
    const hostile = '<script>alert(1)</script> \u202Egnp.exe 😀';
    expect(
      presence([
        inc(
          p(0xc6, [
            [7, 'bob'],
            [10, '99'],
            [19, hostile],
            [47, '1'],
            [97, '1'],
            [13, '1'],
          ]),
        ),
        inc(
          p(0xf0, [
            [7, 'carol'],
            [10, '6'],
            [13, '1'],
            [7, 'dave'],
            [10, '999'],
            [13, '1'],
            [7, 'erin'],
            [10, '99'],
            [19, 'coding'],
            [47, '2'],
            [13, '1'],
          ]),
        ),
        inc(
          p(0x03, [
            [7, 'frank'],
            [10, '12345'],
            [13, '1'],
          ]),
        ),
        inc(
          p(0x02, [
            [7, 'bob'],
            [10, '0'],
          ]),
        ),
      ]),
    ).toEqual([
      ['incoming', 'contact', 'alice', 'bob', { status: 'away', 'protocol-status': '99', description: hostile }],
      ['incoming', 'contact', 'alice', 'carol', { status: 'on-the-phone', 'protocol-status': '6' }],
      ['incoming', 'contact', 'alice', 'dave', { status: 'idle', 'protocol-status': '999' }],
      ['incoming', 'contact', 'alice', 'erin', { status: 'busy', 'protocol-status': '99', description: 'coding' }],
      ['incoming', 'contact', 'alice', 'frank', { status: 'unknown', 'protocol-status': '12345' }],
      ['incoming', 'contact', 'alice', 'bob', { status: 'offline', 'protocol-status': '0' }],
    ]);
  });

  it('the user own status from Y6_STATUS_UPDATE (no key 7, or key 7 naming the user)', () => {
    expect(
      presence([
        out(
          p(0xc6, [
            [10, '99'],
            [19, 'In a meeting'],
            [47, '1'],
            [97, '1'],
          ]),
        ),
        out(p(0xc6, [[10, '12']])),
        out(
          p(0xc6, [
            [7, 'alice'],
            [10, '0'],
          ]),
        ),
      ]),
    ).toEqual([
      ['outgoing', 'other', 'alice', 'scs.msg.yahoo.com', { status: 'away', 'protocol-status': '99', description: 'In a meeting' }],
      ['outgoing', 'other', 'alice', 'scs.msg.yahoo.com', { status: 'invisible', 'protocol-status': '12' }],
      ['outgoing', 'other', 'alice', 'scs.msg.yahoo.com', { status: 'online', 'protocol-status': '0' }],
    ]);
  });

  it('a record without a status number says nothing; an old client text in Windows-1252', () => {
    expect(
      presence([
        inc(
          p(0xc6, [
            [7, 'bob'],
            [19, 'no number'],
          ]),
        ),
        inc(
          p(0xc6, [
            [7, 'carol'],
            [10, '99'],
            [19, Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0x80])],
            [47, '0'],
          ]),
        ),
      ]),
    ).toEqual([['incoming', 'contact', 'alice', 'carol', { status: 'online', 'protocol-status': '99', description: 'café €' }]]);
  });
});
