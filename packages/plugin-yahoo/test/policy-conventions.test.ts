/**
 * What the plugin reports for policy (docs/writing-plugins.md, "What protocol plugins report for policy"): the
 * client's version and YMSG dialect on the AUTHRESP (other/client) and the login, contact additions and
 * removals (ADDBUDDY, REMBUDDY), conferences as group chats, `data` values kept whole, and no answer before the
 * login. Checked with filter-policy and isGroupChat where a verdict is the point.
 */
import { describe, expect, it } from 'vitest';
import { dataValue, isGroupChat, type EventDraft, type ImEvent } from '@imspect/sdk';
// The first-party policy filter, from its build (a test-only use, not a dependency of the plugin).
import { testEvent } from '@imspect/sdk/testing';
import { compilePolicy, policyVerdict } from '../../filter-policy/dist/index.js';
import { expectSplitInvariant, inc, newSession, out, readYmsg, run, ymsg, type Step } from './helpers.js';

const V16 = [0, 16, 0, 0] as const;
const p = (service: number, pairs: ReadonlyArray<readonly [number, string]>, status = 0, version: readonly [number, number, number, number] = V16) =>
  ymsg({ service, status, sessionId: 7, version, pairs });

const asEvent = (draft: EventDraft & { direction?: 'incoming' | 'outgoing' }): ImEvent =>
  testEvent({ protocol: 'yahoo', server: { host: 'scs.msg.yahoo.com', port: 5050 }, ...draft });

const auth = (version: string): Step[] => [
  out(p(0x57, [[1, 'alice']])),
  inc(
    p(
      0x57,
      [
        [1, 'alice'],
        [94, 'challenge'],
      ],
      1,
    ),
  ),
  out(
    p(0x54, [
      [0, 'alice'],
      [2, 'alice'],
      [1, 'alice'],
      [135, version],
    ]),
  ),
];
const logon: Step = inc(
  p(
    0x01,
    [
      [0, 'alice'],
      [1, 'alice'],
    ],
    0,
  ),
);

describe('client versions', () => {
  it('the AUTHRESP carries other/client (version from key 135, commas or dots; dialect from the header); filter-policy denies an old one there', () => {
    const whole = expectSplitInvariant([...auth('6, 0, 0, 1710'), logon]);
    const [client, login] = whole.events;
    expect(client).toEqual({
      direction: 'outgoing',
      type: 'other',
      subtype: 'client',
      localId: 'alice',
      remoteId: 'scs.msg.yahoo.com',
      data: { version: '6.0.0.1710', 'protocol-version': 'YMSG16' },
    });
    expect(login).toMatchObject({ type: 'login', data: { version: '6.0.0.1710', 'protocol-version': 'YMSG16' } });
    const authresp = whole.frames.find((f) => f.events?.[0]?.type === 'other')!;
    expect(readYmsg(Buffer.from(authresp.raw, 'latin1')).service).toBe(0x54);

    const deny = compilePolicy({ clients: [{ protocol: 'yahoo', minVersion: '8.0' }] });
    const verdict = policyVerdict(deny, asEvent(client!));
    expect(verdict).toMatchObject({ action: 'block', disconnect: true, categories: ['policy client'] });
    expect(verdict.respond).toBe('Your IM client (6.0.0.1710) is not allowed here: version 8.0 or newer is required. Please upgrade.');
    expect(policyVerdict(compilePolicy({ clients: [{ protocol: 'yahoo', denyProtocolVersions: ['YMSG16'] }] }), asEvent(client!)).action).toBe('block');
    expect(policyVerdict(deny, asEvent(run([...auth('9.0.0.2162'), logon]).events[0]!)).action).toBe('pass');
  });

  it('no answer before the server logged the user in; after it, notices about the connection come from imspect', () => {
    const before = newSession();
    for (const step of auth('6, 0, 0, 1710')) before.push(step.direction, step.data);
    expect(before.localId).toBe('alice');
    expect(before.respond('denied', asEvent({ type: 'other', subtype: 'client', localId: 'alice', remoteId: 'scs.msg.yahoo.com' }))).toBeUndefined();
    before.push('incoming', logon.data);
    const notice = before.respond('You are monitored', asEvent({ type: 'login', direction: 'incoming', localId: 'alice', remoteId: 'scs.msg.yahoo.com' }))!;
    expect(readYmsg(notice).pairs).toEqual([
      ['5', 'alice'],
      ['4', 'imspect'],
      ['14', 'You are monitored'],
      ['97', '1'],
    ]);
    const reply = before.respond('blocked', asEvent({ type: 'message', localId: 'alice', remoteId: 'bob' }))!;
    expect(readYmsg(reply).pairs[1]).toEqual(['4', 'bob']);
  });
});

describe('contacts', () => {
  it('ADDBUDDY from the client is contact add, REMBUDDY remove (group in data); the server answers are none', () => {
    const steps: Step[] = [
      ...auth('9.0.0.2162'),
      logon,
      out(
        p(0x83, [
          [1, 'alice'],
          [7, 'newbuddy'],
          [14, 'please add me'],
          [65, 'My Friends 100%'],
        ]),
      ),
      inc(
        p(
          0x83,
          [
            [1, 'alice'],
            [7, 'newbuddy'],
            [65, 'My Friends 100%'],
            [66, '0'],
          ],
          1,
        ),
      ),
      out(
        p(0x84, [
          [1, 'alice'],
          [7, 'oldbuddy'],
          [65, 'Friends'],
        ]),
      ),
      inc(
        p(
          0x84,
          [
            [1, 'alice'],
            [7, 'oldbuddy'],
            [65, 'Friends'],
            [66, '0'],
          ],
          1,
        ),
      ),
    ];
    const events = expectSplitInvariant(steps).events.slice(2);
    expect(events).toEqual([
      { direction: 'outgoing', type: 'contact', subtype: 'add', localId: 'alice', remoteId: 'newbuddy', text: 'please add me', data: { group: 'My Friends 100%' } },
      { direction: 'outgoing', type: 'contact', subtype: 'remove', localId: 'alice', remoteId: 'oldbuddy', data: { group: 'Friends' } },
    ]);
    expect(dataValue(events[0]!.data, 'group')).toBe('My Friends 100%');
    const policy = compilePolicy({ block: { contact: true } });
    expect(events.map((e) => policyVerdict(policy, asEvent(e)).action)).toEqual(['block', 'pass']);
  });
});

describe('group chats', () => {
  it('conference events are group chats; private messages are not', () => {
    const steps: Step[] = [
      ...auth('9.0.0.2162'),
      logon,
      out(
        p(0x1d, [
          [1, 'alice'],
          [53, 'bob'],
          [53, 'carol'],
          [57, 'room 7'],
          [14, 'hi all'],
        ]),
      ),
      out(
        p(0x06, [
          [1, 'alice'],
          [5, 'bob'],
          [14, 'just you'],
        ]),
      ),
    ];
    const [conference, direct] = run(steps)
      .events.slice(2)
      .map((e) => asEvent(e));
    expect(isGroupChat(conference!)).toBe(true);
    expect(conference!.data).toEqual({ participants: 'bob,carol' });
    expect(isGroupChat(direct!)).toBe(false);
  });

  it('data values with spaces (an upload URL) are kept whole', () => {
    const steps: Step[] = [
      ...auth('9.0.0.2162'),
      logon,
      inc(
        p(
          0x46,
          [
            [5, 'alice'],
            [4, 'bob'],
            [20, 'http://fs.example/my file.jpg'],
            [28, '10'],
          ],
          1,
        ),
      ),
    ];
    const file = run(steps).events.at(-1)!;
    expect(file.data).toEqual({ url: 'http://fs.example/my file.jpg' });
    expect(dataValue(file.data, 'url')).toBe('http://fs.example/my file.jpg');
  });
});
