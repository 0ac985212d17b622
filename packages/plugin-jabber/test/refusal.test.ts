/**
 * Frame.refusal: the stanza error that ends a blocked request for its sender, so a client's file offer or room
 * join fails at once instead of waiting for the client's own timeout.
 */
import type { Frame } from '@imspect/sdk';
import { describe, expect, it } from 'vitest';
import { defaultScope, parseElement, type XElement } from '../src/xml.js';
import { dec, enc, newSession } from './helpers.js';
import { juliet, login, romeo } from './transcripts.js';

function loggedIn() {
  const session = newSession();
  for (const step of login()) {
    const frames = session.push(step.direction, step.data);
    if (frames.some((f) => f.upgrade)) session.tlsIntercepted();
  }
  return session;
}

function refusalOf(frames: Frame[]): XElement | undefined {
  const withEvents = frames.filter((f) => f.events && f.events.length > 0);
  expect(withEvents).toHaveLength(1);
  const bytes = withEvents[0]!.refusal?.();
  if (bytes === undefined) return undefined;
  const parsed = parseElement(bytes, defaultScope());
  expect(parsed.error, dec(bytes)).toBeUndefined();
  return parsed.root;
}

const errorCondition = (root: XElement) => {
  const error = root.children.find((c): c is XElement => typeof c !== 'string' && 'local' in c && c.local === 'error');
  return error?.children.filter((c): c is XElement => typeof c !== 'string' && 'local' in c).map((c) => c.local);
};

describe('refusal of blocked stanzas', () => {
  it('a file offer (SI, an iq set) is answered with an iq error from the addressee, with the same id', () => {
    const session = loggedIn();
    const offer = `<iq type='set' id='offer1' to='${juliet}/balcony'><si xmlns='http://jabber.org/protocol/si' id='s5b' profile='http://jabber.org/protocol/si/profile/file-transfer'><file xmlns='http://jabber.org/protocol/si/profile/file-transfer' name='plans.pdf' size='1024'/></si></iq>`;
    const root = refusalOf(session.push('outgoing', enc(offer)))!;
    expect(root.local).toBe('iq');
    expect(Object.fromEntries(root.attrs)).toEqual({ type: 'error', id: 'offer1', from: `${juliet}/balcony`, to: `${romeo}/home` });
    expect(errorCondition(root)).toEqual(['not-allowed', 'text']);
  });

  it('an incoming request goes back to the server, addressed to the remote sender', () => {
    const session = loggedIn();
    const offer = `<iq type='set' id='in7' from='${juliet}/balcony' to='${romeo}/home'><si xmlns='http://jabber.org/protocol/si' id='s5b' profile='http://jabber.org/protocol/si/profile/file-transfer'><file xmlns='http://jabber.org/protocol/si/profile/file-transfer' name='a.txt' size='3'/></si></iq>`;
    const root = refusalOf(session.push('incoming', enc(offer)))!;
    expect(Object.fromEntries(root.attrs)).toEqual({ type: 'error', id: 'in7', from: `${romeo}/home`, to: `${juliet}/balcony` });
  });

  it('a room join is answered with a presence error from the room', () => {
    const session = loggedIn();
    const room = 'coven@chat.shakespeare.lit';
    const root = refusalOf(session.push('outgoing', enc(`<presence to='${room}/thirdwitch'><x xmlns='http://jabber.org/protocol/muc'/></presence>`)))!;
    expect(root.local).toBe('presence');
    expect(Object.fromEntries(root.attrs)).toEqual({ type: 'error', from: `${room}/thirdwitch`, to: `${romeo}/home` });
    expect(errorCondition(root)).toEqual(['not-allowed', 'text']);
  });

  it('an HTTP upload slot request (XEP-0363, an iq get) is answered with an iq error from the upload service', () => {
    const session = loggedIn();
    const request = `<iq type='get' id='slot1' to='upload.montague.example'><request xmlns='urn:xmpp:http:upload:0' filename='plans.pdf' size='1024'/></iq>`;
    const root = refusalOf(session.push('outgoing', enc(request)))!;
    expect(Object.fromEntries(root.attrs)).toEqual({ type: 'error', id: 'slot1', from: 'upload.montague.example', to: `${romeo}/home` });
    expect(errorCondition(root)).toEqual(['not-allowed', 'text']);
  });

  it('a message gets none (the blocked reply tells the user)', () => {
    const session = loggedIn();
    expect(refusalOf(session.push('outgoing', enc(`<message to='${juliet}' type='chat'><body>hi</body></message>`)))).toBeUndefined();
  });

  it('an id with quotes is escaped, never breaking out of the attribute', () => {
    const session = loggedIn();
    const offer = `<iq type='set' id='a&apos;b&lt;' to='${juliet}/balcony'><si xmlns='http://jabber.org/protocol/si' id='s' profile='http://jabber.org/protocol/si/profile/file-transfer'><file xmlns='http://jabber.org/protocol/si/profile/file-transfer' name='x' size='1'/></si></iq>`;
    const root = refusalOf(session.push('outgoing', enc(offer)))!;
    expect(root.attrs.get('id')).toBe("a'b<");
  });
});
