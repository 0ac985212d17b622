/**
 * YMSG 15/16 conversations written from public protocol documentation (the libpurple and libyahoo2 YMSG
 * implementations, Wireshark's YMSG dissector): login, private messages with and without key 97, offline
 * messages, typing, webcam invitations, conferences, and the three file-transfer services. Every transcript is
 * also checked at every cut and in random chunk sizes.
 */
import { describe, expect, it } from 'vitest';
import { expectSplitInvariant, inc, out, ymsg, type Step } from './helpers.js';

const V16 = [0, 16, 0, 0] as const;
const SESSION = 0x5a5a0001;
const p = (service: number, pairs: ReadonlyArray<readonly [number, string | Uint8Array]>, status = 0) => ymsg({ service, status, sessionId: SESSION, version: V16, pairs });

/** The login of alice as a YMSG 16 client does it: AUTH, AUTHRESP, then the server's LIST and LOGON. */
const login: Step[] = [
  out(p(0x57, [[1, 'alice']])),
  inc(
    p(
      0x57,
      [
        [1, 'alice'],
        [94, 'challenge=='],
        [13, '2'],
      ],
      1,
    ),
  ),
  out(
    p(
      0x54,
      [
        [1, 'alice'],
        [0, 'alice'],
        [277, 'crumb'],
        [307, 'hash'],
        [244, '4194239'],
        [2, 'alice'],
        [2, '1'],
        [135, '9.0.0.2162'],
      ],
      0,
    ),
  ),
  inc(
    p(0x55, [
      [89, 'alice'],
      [59, 'Y\tv=1'],
      [59, 'T\tz=1'],
      [3, 'alice'],
      [90, '1'],
    ]),
  ),
  inc(
    p(0x01, [
      [0, 'alice'],
      [1, 'alice'],
      [8, '2'],
      [7, 'bob'],
      [10, '0'],
      [7, 'carol'],
      [10, '2'],
    ]),
  ),
];
const CLIENT = { version: '9.0.0.2162', 'protocol-version': 'YMSG16' };
/** The AUTHRESP says the client's version (key 135) before the login; the login repeats it. */
const clientEvent = { direction: 'outgoing', type: 'other', subtype: 'client', localId: 'alice', remoteId: 'scs.msg.yahoo.com', data: CLIENT };
const loginEvent = { direction: 'incoming', type: 'login', localId: 'alice', remoteId: 'scs.msg.yahoo.com', data: CLIENT };
/** The LOGON's buddy records: bob available (10 = 0), carol busy (10 = 2). */
const buddyEvents = [
  { direction: 'incoming', type: 'contact', subtype: 'status', localId: 'alice', remoteId: 'bob', data: { status: 'online', 'protocol-status': '0' } },
  { direction: 'incoming', type: 'contact', subtype: 'status', localId: 'alice', remoteId: 'carol', data: { status: 'busy', 'protocol-status': '2' } },
];
/** How many events the login gives: the client report, the login, the buddies' statuses. */
const AFTER_LOGIN = 2 + buddyEvents.length;

describe('YMSG 16 transcripts', () => {
  it('login, private messages both ways (UTF-8 with key 97, Latin-1 without), typing, logout', () => {
    const steps: Step[] = [
      ...login,
      inc(
        p(0x01, [
          [0, 'alice'],
          [7, 'dave'],
          [10, '0'],
        ]),
      ), // a contact comes online: not the login
      out(
        p(
          0x4b,
          [
            [49, 'TYPING'],
            [1, 'alice'],
            [14, ' '],
            [13, '1'],
            [5, 'bob'],
          ],
          0x16,
        ),
      ),
      inc(
        p(
          0x4b,
          [
            [5, 'alice'],
            [4, 'bob'],
            [14, ' '],
            [13, '0'],
            [49, 'TYPING'],
          ],
          0x16,
        ),
      ),
      out(
        p(
          0x06,
          [
            [1, 'alice'],
            [5, 'bob'],
            [14, 'Grüße, ça va? 😀'],
            [97, '1'],
            [63, ';0'],
            [64, '0'],
            [206, '0'],
          ],
          0x5a55aa56,
        ),
      ),
      inc(
        p(
          0x06,
          [
            [5, 'alice'],
            [4, 'bob'],
            [14, 'plain reply'],
            [97, '1'],
          ],
          1,
        ),
      ),
      // An old client: no key 97, Windows-1252 bytes.
      inc(
        p(
          0x06,
          [
            [5, 'alice'],
            [4, 'bob'],
            [14, Uint8Array.of(0x63, 0x61, 0x66, 0xe9, 0x20, 0x80)],
          ],
          1,
        ),
      ),
      out(p(0x02, [])),
    ];
    const whole = expectSplitInvariant(steps);
    expect(whole.events).toEqual([
      clientEvent,
      loginEvent,
      ...buddyEvents,
      // The later LOGON: dave comes online.
      { direction: 'incoming', type: 'contact', subtype: 'status', localId: 'alice', remoteId: 'dave', data: { status: 'online', 'protocol-status': '0' } },
      { direction: 'outgoing', type: 'typing', subtype: 'active', localId: 'alice', remoteId: 'bob' },
      { direction: 'incoming', type: 'typing', subtype: 'done', localId: 'alice', remoteId: 'bob' },
      { direction: 'outgoing', type: 'message', localId: 'alice', remoteId: 'bob', text: 'Grüße, ça va? 😀' },
      { direction: 'incoming', type: 'message', localId: 'alice', remoteId: 'bob', text: 'plain reply' },
      { direction: 'incoming', type: 'message', localId: 'alice', remoteId: 'bob', text: 'café €' },
      { direction: 'outgoing', type: 'logout', localId: 'alice', remoteId: 'scs.msg.yahoo.com' },
    ]);
    expect(whole.session.localId).toBe('alice');
  });

  it('offline messages delivered several to a packet: one event each, in order', () => {
    const steps: Step[] = [
      ...login,
      inc(
        p(
          0x06,
          [
            [31, '6'],
            [32, '6'],
            [4, 'bob'],
            [5, 'alice'],
            [15, '1163000000'],
            [14, 'first'],
            [97, '1'],
            [31, '6'],
            [32, '6'],
            [4, 'carol'],
            [5, 'alice'],
            [15, '1163000001'],
            [14, 'second'],
          ],
          5,
        ),
      ),
    ];
    const whole = expectSplitInvariant(steps);
    expect(whole.events.slice(AFTER_LOGIN)).toEqual([
      { direction: 'incoming', type: 'message', localId: 'alice', remoteId: 'bob', text: 'first' },
      { direction: 'incoming', type: 'message', localId: 'alice', remoteId: 'carol', text: 'second' },
    ]);
    // Two messages in one packet: no single text to rewrite.
    expect(whole.frames.at(-1)!.rewritable).toBeUndefined();
  });

  it('webcam invitations and answers', () => {
    const steps: Step[] = [
      ...login,
      out(
        p(
          0x4b,
          [
            [49, 'WEBCAMINVITE'],
            [1, 'alice'],
            [14, ' '],
            [13, '0'],
            [5, 'bob'],
          ],
          0x11,
        ),
      ),
      inc(
        p(
          0x4b,
          [
            [5, 'alice'],
            [4, 'bob'],
            [49, 'WEBCAMINVITE'],
            [14, '1'],
          ],
          0x11,
        ),
      ),
      inc(
        p(
          0x4b,
          [
            [5, 'alice'],
            [4, 'carol'],
            [49, 'WEBCAMINVITE'],
            [14, ' '],
          ],
          0x11,
        ),
      ),
      out(
        p(
          0x4b,
          [
            [49, 'WEBCAMINVITE'],
            [1, 'alice'],
            [14, '-1'],
            [5, 'carol'],
          ],
          0x11,
        ),
      ),
      out(
        p(
          0x4b,
          [
            [49, 'GAME'],
            [1, 'alice'],
            [14, ' '],
            [5, 'bob'],
          ],
          0x11,
        ),
      ), // other notifications: nothing
    ];
    const whole = expectSplitInvariant(steps);
    expect(whole.events.slice(AFTER_LOGIN)).toEqual([
      { direction: 'outgoing', type: 'webcam', subtype: 'invite', localId: 'alice', remoteId: 'bob' },
      { direction: 'incoming', type: 'webcam', subtype: 'accept', localId: 'alice', remoteId: 'bob' },
      { direction: 'incoming', type: 'webcam', subtype: 'invite', localId: 'alice', remoteId: 'carol' },
      { direction: 'outgoing', type: 'webcam', subtype: 'decline', localId: 'alice', remoteId: 'carol' },
    ]);
  });

  it('a conference: invitation, joins, messages both ways with the room as the remote party, members tracked, leave', () => {
    const room = 'alice-1234';
    const steps: Step[] = [
      ...login,
      // bob invites alice; carol is invited too and dave is already in.
      inc(
        p(0x18, [
          [1, 'alice'],
          [57, room],
          [50, 'bob'],
          [58, 'Join my conference'],
          [52, 'alice'],
          [52, 'carol'],
          [53, 'dave'],
          [13, '0'],
        ]),
      ),
      // alice joins, listing the members she knows.
      out(
        p(0x19, [
          [1, 'alice'],
          [3, 'bob'],
          [3, 'carol'],
          [3, 'dave'],
          [57, room],
        ]),
      ),
      inc(
        p(0x19, [
          [1, 'alice'],
          [57, room],
          [53, 'erin'],
        ]),
      ), // erin joined: no event, now a member
      inc(
        p(0x1d, [
          [1, 'alice'],
          [57, room],
          [3, 'bob'],
          [14, 'hi all ✓'],
          [97, '1'],
        ]),
      ),
      out(
        p(0x1d, [
          [1, 'alice'],
          [53, 'bob'],
          [53, 'carol'],
          [53, 'dave'],
          [53, 'erin'],
          [57, room],
          [14, 'hello'],
          [97, '1'],
        ]),
      ),
      inc(
        p(0x1b, [
          [1, 'alice'],
          [57, room],
          [56, 'carol'],
        ]),
      ), // carol left
      inc(
        p(0x1a, [
          [1, 'alice'],
          [57, room],
          [54, 'dave'],
          [14, 'busy'],
        ]),
      ), // dave declined
      inc(
        p(0x1d, [
          [1, 'alice'],
          [57, room],
          [3, 'erin'],
          [14, 'bye carol'],
        ]),
      ),
      out(
        p(0x1b, [
          [1, 'alice'],
          [3, 'bob'],
          [3, 'erin'],
          [57, room],
        ]),
      ),
      // alice invites frank to a conference of her own, then declines another invitation.
      out(
        p(0x18, [
          [1, 'alice'],
          [50, 'alice'],
          [57, 'alice-2'],
          [58, 'come'],
          [52, 'frank'],
          [13, '0'],
        ]),
      ),
      out(
        p(0x1a, [
          [1, 'alice'],
          [3, 'gina'],
          [57, 'gina-9'],
          [14, 'no thanks'],
        ]),
      ),
    ];
    const whole = expectSplitInvariant(steps);
    const c = { remoteId: room, conversation: room, localId: 'alice' };
    expect(whole.events.slice(AFTER_LOGIN)).toEqual([
      { direction: 'incoming', type: 'other', subtype: 'conference-invite', ...c, text: 'Join my conference', data: { from: 'bob', participants: 'bob,carol,dave' } },
      { direction: 'outgoing', type: 'join', subtype: 'conference', ...c, data: { participants: 'bob,carol,dave' } },
      { direction: 'incoming', type: 'message', subtype: 'conference', ...c, text: 'hi all ✓', data: { from: 'bob', participants: 'bob,carol,dave,erin' } },
      { direction: 'outgoing', type: 'message', subtype: 'conference', ...c, text: 'hello', data: { participants: 'bob,carol,dave,erin' } },
      { direction: 'incoming', type: 'message', subtype: 'conference', ...c, text: 'bye carol', data: { from: 'erin', participants: 'bob,erin' } },
      { direction: 'outgoing', type: 'leave', subtype: 'conference', ...c, data: { participants: 'bob,erin' } },
      {
        direction: 'outgoing',
        type: 'other',
        subtype: 'conference-invite',
        localId: 'alice',
        remoteId: 'alice-2',
        conversation: 'alice-2',
        text: 'come',
        data: { participants: 'frank' },
      },
      {
        direction: 'outgoing',
        type: 'leave',
        subtype: 'conference-decline',
        localId: 'alice',
        remoteId: 'gina-9',
        conversation: 'gina-9',
        text: 'no thanks',
        data: { participants: 'gina' },
      },
    ]);
    // Conference messages can be rewritten like private ones.
    expect(whole.frames.filter((f) => f.rewritable)).toHaveLength(3);
  });

  it('file offers: FILETRANSFER (0x46), P2PFILEXFER (0x4D) and FILETRANS_15 (0xDC) with several files', () => {
    const steps: Step[] = [
      ...login,
      // The old service: the server relays an upload as a URL; name and size in 27/28.
      inc(
        p(0x46, [
          [5, 'alice'],
          [4, 'bob'],
          [14, 'here it is'],
          [38, '1163600000'],
          [20, 'http://fs.example/bob/report%20v2.pdf?tok=1'],
          [27, 'report v2.pdf'],
          [28, '48213'],
        ]),
      ),
      // No name: taken from the URL.
      inc(
        p(0x46, [
          [5, 'alice'],
          [4, 'bob'],
          [20, 'http://fs.example/bob/photo.jpg?x=1'],
          [28, '1000'],
        ]),
      ),
      out(
        p(0x46, [
          [0, 'alice'],
          [5, 'bob'],
          [14, ''],
          [27, 'notes.txt'],
          [28, '12'],
        ]),
      ),
      // P2P: the offer (13 = 1) is logged, the answer (13 = 2) and an IMVironment sharing the service are not.
      out(
        p(0x4d, [
          [5, 'bob'],
          [4, 'alice'],
          [13, '1'],
          [27, 'song.mp3'],
          [28, '4000000'],
          [49, 'FILEXFER'],
        ]),
      ),
      inc(
        p(0x4d, [
          [5, 'alice'],
          [4, 'bob'],
          [13, '2'],
          [27, 'song.mp3'],
          [49, 'FILEXFER'],
        ]),
      ),
      inc(
        p(0x4d, [
          [5, 'alice'],
          [4, 'bob'],
          [13, '0'],
          [49, 'IMVIRONMENT'],
          [63, 'doodle;106'],
        ]),
      ),
      // YMSG 15: an offer of two files; the accept (222 = 3) and a cancel (222 = 2) are not offers.
      inc(
        p(0xdc, [
          [5, 'alice'],
          [4, 'bob'],
          [265, 'ABCdef123$$'],
          [222, '1'],
          [266, '2'],
          [302, '268'],
          [300, '268'],
          [27, 'a.png'],
          [28, '2048'],
          [301, '268'],
          [300, '268'],
          [27, 'b é.zip'],
          [28, '99999'],
          [301, '268'],
          [303, '268'],
        ]),
      ),
      out(
        p(0xdc, [
          [1, 'alice'],
          [5, 'bob'],
          [265, 'ABCdef123$$'],
          [222, '3'],
        ]),
      ),
      out(
        p(0xdc, [
          [1, 'alice'],
          [5, 'carol'],
          [265, 'XYZ$$'],
          [222, '1'],
          [266, '1'],
          [302, '268'],
          [300, '268'],
          [27, 'c.doc'],
          [28, '5'],
          [301, '268'],
          [303, '268'],
        ]),
      ),
      out(
        p(0xdc, [
          [1, 'alice'],
          [5, 'carol'],
          [265, 'XYZ$$'],
          [222, '2'],
        ]),
      ),
    ];
    const whole = expectSplitInvariant(steps);
    expect(whole.events.slice(AFTER_LOGIN)).toEqual([
      {
        direction: 'incoming',
        type: 'file',
        subtype: 'filetransfer',
        localId: 'alice',
        remoteId: 'bob',
        file: { name: 'report v2.pdf', size: 48213 },
        text: 'here it is',
        data: { url: 'http://fs.example/bob/report%20v2.pdf?tok=1' },
      },
      {
        direction: 'incoming',
        type: 'file',
        subtype: 'filetransfer',
        localId: 'alice',
        remoteId: 'bob',
        file: { name: 'photo.jpg', size: 1000 },
        data: { url: 'http://fs.example/bob/photo.jpg?x=1' },
      },
      { direction: 'outgoing', type: 'file', subtype: 'filetransfer', localId: 'alice', remoteId: 'bob', file: { name: 'notes.txt', size: 12 } },
      { direction: 'outgoing', type: 'file', subtype: 'p2p', localId: 'alice', remoteId: 'bob', file: { name: 'song.mp3', size: 4000000 } },
      { direction: 'incoming', type: 'file', subtype: 'filetrans15', localId: 'alice', remoteId: 'bob', file: { name: 'a.png', size: 2048 }, data: { transfer: 'ABCdef123$$' } },
      { direction: 'incoming', type: 'file', subtype: 'filetrans15', localId: 'alice', remoteId: 'bob', file: { name: 'b é.zip', size: 99999 }, data: { transfer: 'ABCdef123$$' } },
      { direction: 'outgoing', type: 'file', subtype: 'filetrans15', localId: 'alice', remoteId: 'carol', file: { name: 'c.doc', size: 5 }, data: { transfer: 'XYZ$$' } },
    ]);
  });

  it('the server ending the session: a LOGOFF naming no one logs the local user out once', () => {
    const steps: Step[] = [
      ...login,
      inc(
        p(0x02, [
          [7, 'bob'],
          [10, '0'],
        ]),
      ), // a contact going offline
      inc(p(0x02, [], 0xffffffff)),
      out(p(0x02, [])),
    ];
    const whole = expectSplitInvariant(steps);
    expect(whole.events.slice(AFTER_LOGIN)).toEqual([
      { direction: 'incoming', type: 'contact', subtype: 'status', localId: 'alice', remoteId: 'bob', data: { status: 'offline', 'protocol-status': '0' } },
      { direction: 'incoming', type: 'logout', localId: 'alice', remoteId: 'scs.msg.yahoo.com' },
    ]);
  });

  it('version in one byte or two, and unknown services pass untouched with no events', () => {
    const steps: Step[] = [
      out(ymsg({ service: 0x57, version: [0x0a, 0, 0, 0], pairs: [[1, 'zed']] })),
      inc(ymsg({ service: 0x01, version: [0, 0x0a, 0, 0], pairs: [[0, 'zed']] })),
      out(
        ymsg({
          service: 0x8a,
          version: [0x0a, 0, 0, 0],
          pairs: [
            [1, 'zed'],
            [14, 'not a message service'],
          ],
        }),
      ),
      inc(ymsg({ service: 0xf1, pairs: [[999, 'x']] })),
    ];
    const whole = expectSplitInvariant(steps);
    // No AUTHRESP, so no client report; the login names the dialect of the client's headers.
    expect(whole.events).toEqual([{ direction: 'incoming', type: 'login', localId: 'zed', remoteId: 'scs.msg.yahoo.com', data: { 'protocol-version': 'YMSG10' } }]);
    expect(whole.frames.map((f) => f.error)).toEqual([undefined, undefined, undefined, undefined]);
  });
});
