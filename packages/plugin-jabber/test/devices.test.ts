/**
 * One message, several devices: the user's two clients (resources `home` and `garden`) each see their own copy
 * of a message (the sender's original and the XEP-0280 carbon, or a message to the bare JID delivered to both).
 * Every copy carries the same message key and the device it reached, so loggers store it once per participant.
 */
import { describe, expect, it } from 'vitest';
import { dec, enc, script, type Step } from './helpers.js';
import { expectSplitInvariant } from './invariance.js';
import { AFTER_LOGIN, juliet, login, romeo } from './transcripts.js';

const intercept = { onUpgrade: (s: { tlsIntercepted(): void }) => s.tlsIntercepted() };

/** Romeo logged in from the device `resource` (the transcripts' login is the `home` one). */
function loginAs(resource: string): Step[] {
  return login().map((step) => ({
    ...step,
    data: enc(dec(step.data).replace('<resource>home<', `<resource>${resource}<`).replace('montague.example/home<', `montague.example/${resource}<`)),
  }));
}

function eventsOf(resource: string, ...lines: Array<['>' | '<', string]>) {
  return expectSplitInvariant([...loginAs(resource), ...script(...lines)], intercept).events.slice(AFTER_LOGIN);
}

const carbon = (kind: 'sent' | 'received', device: string, inner: string) =>
  `<message xmlns='jabber:client' from='${romeo}' to='${romeo}/${device}' type='chat'><${kind} xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>${inner}</forwarded></${kind}></message>`;

describe('copies of one message on several devices (XEP-0280 carbons)', () => {
  it('the original sent from one device and its carbon on the other have one key, each with its device', () => {
    const original = `<message to='${juliet}/balcony' type='chat' id='m-17'><body>Neither, fair saint</body></message>`;
    const [sent] = eventsOf('home', ['>', original]);
    const [copy] = eventsOf('garden', ['<', carbon('sent', 'garden', original.replace('<message ', `<message xmlns='jabber:client' from='${romeo}/home' `))]);
    expect(sent).toEqual({
      direction: 'outgoing',
      type: 'message',
      localId: romeo,
      remoteId: juliet,
      text: 'Neither, fair saint',
      messageKey: `xmpp outgoing ${romeo} ${juliet} id=m-17`,
      data: { device: 'home' },
    });
    expect(copy).toEqual({ ...sent, data: { device: 'garden' } });
  });

  it('a message received on one device and its carbon (or its copy to the bare JID) on the other have one key', () => {
    const direct = `<message from='${juliet}/balcony' to='${romeo}/home' type='chat' id='j-3'><body>What man art thou?</body></message>`;
    const [first] = eventsOf('home', ['<', direct]);
    const [carbonCopy] = eventsOf('garden', ['<', carbon('received', 'garden', direct.replace('<message ', "<message xmlns='jabber:client' "))]);
    const [bareCopy] = eventsOf('garden', ['<', direct.replace(`to='${romeo}/home'`, `to='${romeo}'`)]);
    expect(first).toMatchObject({ direction: 'incoming', messageKey: `xmpp incoming ${juliet}/balcony ${romeo} id=j-3`, data: { device: 'home' } });
    expect(carbonCopy).toEqual({ ...first, data: { device: 'garden' } });
    expect(bareCopy).toEqual({ ...first, data: { device: 'garden' } });
  });

  it("the sender's origin-id (XEP-0359) wins over the stanza id; other parties, directions and ids are other messages", () => {
    const events = eventsOf(
      'home',
      ['>', `<message to='${juliet}' type='chat' id='a'><body>one</body><origin-id xmlns='urn:xmpp:sid:0' id='origin-1'/></message>`],
      ['>', `<message to='nurse@capulet.example' type='chat' id='a'><body>two</body></message>`],
      ['<', `<message from='${juliet}/balcony' to='${romeo}/home' type='chat' id='a'><body>three</body></message>`],
      ['<', `<message from='${juliet}/balcony' to='${romeo}/home' type='chat'><body>no id: no key, no device</body></message>`],
    );
    expect(events.map((e) => [e.messageKey, e.data])).toEqual([
      [`xmpp outgoing ${romeo} ${juliet} origin-id=origin-1`, { device: 'home' }],
      [`xmpp outgoing ${romeo} nurse@capulet.example id=a`, { device: 'home' }],
      [`xmpp incoming ${juliet}/balcony ${romeo} id=a`, { device: 'home' }],
      [undefined, undefined],
    ]);
  });
});
