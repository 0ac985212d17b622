/**
 * What imspect writes: rewritten messages (new body length, everything else byte for byte, key 97 when needed)
 * and notices injected towards the local client (well-formed packets the plugin itself parses back).
 */
import { describe, expect, it } from 'vitest';
import type { ImEvent } from '@imspect/sdk';
import { testEvent } from '@imspect/sdk/testing';
import { inc, newSession, out, readYmsg, run, ymsg, type Step } from './helpers.js';

const login: Step[] = [
  out(ymsg({ service: 0x57, pairs: [[1, 'alice']] })),
  inc(
    ymsg({
      service: 0x01,
      version: [0, 16, 0, 7],
      sessionId: 0xcafe0001,
      pairs: [
        [0, 'alice'],
        [1, 'alice'],
      ],
    }),
  ),
];

function frameOf(steps: Step[]) {
  const result = run(steps);
  const last = result.rawFrames.at(-1)!.frame;
  return { result, frame: last };
}

function about(partial: Partial<ImEvent>): ImEvent {
  return testEvent({ protocol: 'yahoo', client: { ip: '127.0.0.1', port: 1 }, server: { host: '127.0.0.1', port: 5050 }, filtered: true, ...partial });
}

describe('rewrite', () => {
  it('replaces the text of a private message, fixes the length, keeps every other pair and the header', () => {
    const original = ymsg({
      service: 0x06,
      status: 0x5a55aa56,
      sessionId: 0xcafe0001,
      version: [0, 16, 0, 0],
      pairs: [
        [1, 'alice'],
        [5, 'bob'],
        [14, 'my password is hunter2'],
        [97, '1'],
        [63, ';0'],
        [64, '0'],
      ],
    });
    const { frame } = frameOf([...login, out(original)]);
    expect(frame.rewrite).toBeDefined();
    const rewritten = frame.rewrite!('my password is ******* ✓');
    const read = readYmsg(rewritten);
    expect(read.pairs).toEqual([
      ['1', 'alice'],
      ['5', 'bob'],
      ['14', 'my password is ******* ✓'],
      ['97', '1'],
      ['63', ';0'],
      ['64', '0'],
    ]);
    expect(Buffer.from(rewritten.subarray(0, 8)).equals(original.subarray(0, 8))).toBe(true);
    expect(Buffer.from(rewritten.subarray(10, 20)).equals(original.subarray(10, 20))).toBe(true);
    // The plugin reads its own output back as the same message with the new text.
    const back = run([...login, out(rewritten)]);
    expect(back.events.at(-1)).toMatchObject({ type: 'message', localId: 'alice', remoteId: 'bob', text: 'my password is ******* ✓' });
  });

  it('adds 97=1 after the text when non-ASCII text replaces a message that did not say UTF-8', () => {
    const original = ymsg({
      service: 0x06,
      pairs: [
        [5, 'alice'],
        [4, 'bob'],
        [14, 'old'],
        [63, ';0'],
      ],
    });
    const { frame } = frameOf([...login, inc(original)]);
    expect(readYmsg(frame.rewrite!('ascii only')).pairs).toEqual([
      ['5', 'alice'],
      ['4', 'bob'],
      ['14', 'ascii only'],
      ['63', ';0'],
    ]);
    expect(readYmsg(frame.rewrite!('naïve')).pairs).toEqual([
      ['5', 'alice'],
      ['4', 'bob'],
      ['14', 'naïve'],
      ['97', '1'],
      ['63', ';0'],
    ]);
  });

  it('rewrites conference messages the same way', () => {
    const original = ymsg({
      service: 0x1d,
      pairs: [
        [1, 'alice'],
        [53, 'bob'],
        [57, 'room'],
        [14, 'x'],
        [97, '1'],
      ],
    });
    const { frame } = frameOf([...login, out(original)]);
    expect(readYmsg(frame.rewrite!('y'.repeat(300))).pairs).toEqual([
      ['1', 'alice'],
      ['53', 'bob'],
      ['57', 'room'],
      ['14', 'y'.repeat(300)],
      ['97', '1'],
    ]);
  });

  it('cuts text that would overflow the 16-bit body length at a character boundary', () => {
    const original = ymsg({
      service: 0x06,
      pairs: [
        [1, 'alice'],
        [5, 'bob'],
        [14, 'short'],
        [97, '1'],
      ],
    });
    const { frame } = frameOf([...login, out(original)]);
    const rewritten = frame.rewrite!('€'.repeat(40_000)); // 120,000 bytes of UTF-8
    const read = readYmsg(rewritten);
    expect(read.length).toBeLessThanOrEqual(0xffff);
    const text = read.pairs.find(([k]) => k === '14')![1];
    expect(text).toBe('€'.repeat(text.length));
    expect(text.length).toBeGreaterThan(21_000);
  });

  it('offers no rewrite for frames without exactly one message, or with a malformed body', () => {
    const typing = frameOf([
      ...login,
      out(
        ymsg({
          service: 0x4b,
          pairs: [
            [49, 'TYPING'],
            [1, 'alice'],
            [5, 'bob'],
            [13, '1'],
          ],
        }),
      ),
    ]).frame;
    expect(typing.rewrite).toBeUndefined();
    const broken = Buffer.concat([
      ymsg({
        service: 0x06,
        pairs: [
          [1, 'alice'],
          [5, 'bob'],
        ],
      }).subarray(0, 20),
      Buffer.from('14\xc0\x80no end', 'latin1'),
    ]);
    broken.writeUInt16BE(broken.length - 20, 8);
    const frame = frameOf([...login, out(broken)]).frame;
    expect(frame.error?.code).toBe('malformed-body');
    expect(frame.events?.[0]?.text).toBe('no end');
    expect(frame.rewrite).toBeUndefined();
  });
});

describe('respond', () => {
  it('is a private message from the other party to the local user, in the server header layout and session', () => {
    const { result } = frameOf(login);
    const bytes = result.session.respond('imspect: this message was blocked ✋', about({ remoteId: 'bob' }))!;
    const read = readYmsg(bytes);
    expect(read.service).toBe(0x06);
    expect(read.sessionId).toBe(0xcafe0001);
    expect(read.versionBytes).toEqual([0, 16, 0, 7]);
    expect(read.pairs).toEqual([
      ['5', 'alice'],
      ['4', 'bob'],
      ['14', 'imspect: this message was blocked ✋'],
      ['97', '1'],
    ]);
    // What the client receives parses as an incoming message for alice.
    const session = newSession();
    session.push('outgoing', login[0]!.data);
    const frames = session.push('incoming', Buffer.concat([login[1]!.data, bytes]));
    expect(frames.at(-1)!.events).toEqual([{ type: 'message', localId: 'alice', remoteId: 'bob', text: 'imspect: this message was blocked ✋' }]);
  });

  it('answers in the conference a blocked conference message belonged to', () => {
    const { result } = frameOf(login);
    const bytes = result.session.respond('blocked', about({ remoteId: 'room-1', conversation: 'room-1', subtype: 'conference' }))!;
    expect(readYmsg(bytes).pairs).toEqual([
      ['1', 'alice'],
      ['57', 'room-1'],
      ['3', 'imspect'],
      ['14', 'blocked'],
      ['97', '1'],
    ]);
  });

  it('says nothing before the local user is known, and survives hostile text', () => {
    expect(newSession().respond('x', about({ localId: '*' }))).toBeUndefined();
    const { result } = frameOf(login);
    const huge = result.session.respond('a'.repeat(200_000), about({}))!;
    expect(readYmsg(huge).length).toBeLessThanOrEqual(0xffff);
  });
});
