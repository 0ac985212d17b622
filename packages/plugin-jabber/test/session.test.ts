import { describe, expect, it } from 'vitest';
import type { ImEvent } from '@imspect/sdk';
import { testEvent } from '@imspect/sdk/testing';
import { parseElement, defaultScope, textOf, type XElement } from '../src/xml.js';
import { dec, enc, newSession, run, script, utf8, type Step } from './helpers.js';
import { expectSplitInvariant } from './invariance.js';
import { AFTER_LOGIN, LOGIN_EVENTS, juliet, login, romeo } from './transcripts.js';

const intercept = { onUpgrade: (s: { tlsIntercepted(): void }) => s.tlsIntercepted() };

function withLogin(...lines: Array<['>' | '<', string]>): Step[] {
  return [...login(), ...script(...lines)];
}

describe('login (RFC 6120): STARTTLS, SASL, stream restarts, binding', () => {
  it('reads the whole login through TLS interception, and the stream close is a logout', () => {
    const result = expectSplitInvariant(
      withLogin(['>', "<message to='juliet@capulet.example' type='chat'><body>Wherefore art thou, Romeo?</body></message>"], ['>', '</stream:stream>'], ['<', '</stream:stream>']),
      intercept,
    );
    expect(result.events).toEqual([
      ...LOGIN_EVENTS,
      { direction: 'outgoing', type: 'message', localId: romeo, remoteId: juliet, text: 'Wherefore art thou, Romeo?' },
      { direction: 'outgoing', type: 'logout', localId: romeo, remoteId: 'montague.example' },
    ]);
    expect(result.frames.filter((f) => f.upgrade).map((f) => f.raw)).toEqual(["<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"]);
    expect(result.frames.filter((f) => f.error)).toEqual([]);
    expect(result.session.streamTo).toBe('montague.example');
    expect(result.session.boundJid).toBe('romeo@montague.example/home');
  });

  it('knows the user from SASL before binding (PLAIN, SCRAM, DIGEST-MD5)', () => {
    const steps = login({ tls: false });
    const beforeBind = steps.findIndex((s) => dec(s.data).includes('<bind xmlns') && s.direction === 'outgoing');
    const session = newSession();
    for (const step of steps.slice(0, beforeBind)) session.push(step.direction, step.data);
    expect(session.localId).toBe(romeo);
    expect(session.boundJid).toBeUndefined();

    const scram = newSession();
    scram.push('outgoing', enc(`<stream:stream to='Example.COM' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`));
    // base64("n,,n=user=2Cname,r=fyko+d2lbbFgONRv9qkxdawL")
    scram.push(
      'outgoing',
      enc(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>${Buffer.from('n,,n=user=2Cname,r=fyko+d2lbbFgONRv9qkxdawL').toString('base64')}</auth>`),
    );
    expect(scram.localId).toBe('user,name@example.com');
    expect(scram.streamTo).toBe('example.com');

    const digest = newSession();
    digest.push('outgoing', enc(`<stream:stream to='cs-xmpp.lan' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`));
    digest.push('outgoing', enc(`<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>${Buffer.from('username="tom",realm="cs-xmpp.lan",nonce="1"').toString('base64')}</response>`));
    expect(digest.localId).toBe('tom@cs-xmpp.lan');
  });

  it('without interception, nothing after <proceed/> is parsed, even if it looks like XMPP', () => {
    const result = run(withLogin(['>', "<message to='juliet@capulet.example' type='chat'><body>secret</body></message>"]));
    expect(result.events).toEqual([]);
    expect(result.session.passthrough).toBe(true);
    expect(Buffer.from(result.output.outgoing).equals(Buffer.from(result.input.outgoing))).toBe(true);
    expect(Buffer.from(result.output.incoming).equals(Buffer.from(result.input.incoming))).toBe(true);
  });

  it('returns the bytes after <proceed/> in the same chunk unparsed', () => {
    const session = newSession();
    session.push(
      'outgoing',
      enc(`<stream:stream to='a.example' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`),
    );
    const frames = session.push('incoming', enc("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>\x16\x03\x03<message><body>x</body></message>"));
    expect([dec(frames[0]!.raw), frames[0]!.upgrade]).toEqual(["<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", 'tls']);
    expect(
      frames
        .slice(1)
        .map((f) => dec(f.raw))
        .join(''),
    ).toBe('\x16\x03\x03<message><body>x</body></message>');
    expect(frames.slice(1).every((f) => !f.events && !f.error && !f.rewrite && !f.upgrade)).toBe(true);
  });
});

describe('messages (RFC 6121)', () => {
  it('chat, normal, headline and messages without a type; error messages are not logged', () => {
    const result = expectSplitInvariant(
      withLogin(
        [
          '<',
          "<message from='Juliet@Capulet.example/balcony' to='romeo@montague.example/home' type='chat' id='a1'><body>Art thou not Romeo, and a Montague?</body><thread>e0ffe42b28561960c6b12b944a092794b9683a38</thread></message>",
        ],
        ['>', "<message to='juliet@capulet.example/balcony'><body>Neither, fair saint, if either thee dislike.</body></message>"],
        ['<', "<message from='news.example' type='headline'><subject>News</subject><body>Verona &amp; Mantua: &lt;peace&gt; &#233;&#x1F600;</body></message>"],
        [
          '<',
          "<message from='juliet@capulet.example/balcony' type='error'><body>x</body><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>",
        ],
        ['>', "<message to='juliet@capulet.example' type='chat'><body xml:lang='fr'>Bonjour</body><body>Hello</body></message>"],
      ),
      intercept,
    );
    expect(result.events.slice(AFTER_LOGIN)).toEqual([
      // With an id: the key that makes the copies of this message on the user's other devices one message.
      {
        direction: 'incoming',
        type: 'message',
        localId: romeo,
        remoteId: juliet,
        text: 'Art thou not Romeo, and a Montague?',
        messageKey: `xmpp incoming ${juliet}/balcony ${romeo} id=a1`,
        data: { device: 'home' },
      },
      { direction: 'outgoing', type: 'message', localId: romeo, remoteId: juliet, text: 'Neither, fair saint, if either thee dislike.' },
      { direction: 'incoming', type: 'message', subtype: 'headline', localId: romeo, remoteId: 'news.example', text: 'Verona & Mantua: <peace> é😀' },
      { direction: 'outgoing', type: 'message', localId: romeo, remoteId: juliet, text: 'Hello' },
    ]);
  });

  it('chat states (XEP-0085) without a body are typing events; with a body only the message', () => {
    const result = expectSplitInvariant(
      withLogin(
        ['>', "<message to='juliet@capulet.example' type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>"],
        ['<', "<message from='juliet@capulet.example/balcony' type='chat'><paused xmlns='http://jabber.org/protocol/chatstates'/></message>"],
        ['>', "<message to='juliet@capulet.example' type='chat'><body>Hi</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>"],
        ['>', "<message to='juliet@capulet.example' type='chat'><gone xmlns='http://jabber.org/protocol/chatstates'/></message>"],
        ['>', "<message to='juliet@capulet.example' type='chat'><composing xmlns='urn:example:not-chatstates'/></message>"],
      ),
      intercept,
    );
    expect(result.events.slice(AFTER_LOGIN).map((e) => [e.direction, e.type, e.subtype ?? null, e.text ?? null])).toEqual([
      ['outgoing', 'typing', 'composing', null],
      ['incoming', 'typing', 'paused', null],
      ['outgoing', 'message', null, 'Hi'],
      ['outgoing', 'typing', 'gone', null],
    ]);
  });

  it('resolves namespaces: prefixed stanzas count, a body in another namespace does not', () => {
    const result = expectSplitInvariant(
      withLogin(
        ['>', "<cl:message xmlns:cl='jabber:client' to='juliet@capulet.example' type='chat'><cl:body>prefixed</cl:body></cl:message>"],
        ['>', "<message to='juliet@capulet.example' type='chat'><body xmlns='urn:example:other'>not a body</body></message>"],
        ['>', "<message xmlns='urn:example:other' to='juliet@capulet.example'><body>not a stanza</body></message>"],
      ),
      intercept,
    );
    expect(result.events.slice(AFTER_LOGIN).map((e) => e.text)).toEqual(['prefixed']);
  });
});

describe('rewrite and respond', () => {
  it('rewrite replaces every body (escaped) and drops the XHTML-IM copy, keeping every other byte', () => {
    const stanza =
      "<message to='juliet@capulet.example' type='chat' id='x1'><body>bad  word</body><body xml:lang='de'>schlechtes Wort</body>" +
      "<html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'><p>bad <b>word</b></p></body></html>" +
      "<active xmlns='http://jabber.org/protocol/chatstates'/></message>";
    const result = run(withLogin(['>', stanza]), undefined, intercept);
    const frame = result.rawFrames.find((f) => f.frame.events?.some((e) => e.type === 'message'))!.frame;
    const rewritten = utf8(frame.rewrite!(`<*> & 'masked' "x" \u0001 😀`));
    expect(rewritten).toBe(
      "<message to='juliet@capulet.example' type='chat' id='x1'><body>&lt;*&gt; &amp; &apos;masked&apos; &quot;x&quot;  😀</body><body xml:lang='de'>&lt;*&gt; &amp; &apos;masked&apos; &quot;x&quot;  😀</body>" +
        "<active xmlns='http://jabber.org/protocol/chatstates'/></message>",
    );
    const reparsed = parseElement(enc(rewritten), defaultScope());
    expect(reparsed.error).toBeUndefined();
    expect(textOf(reparsed.root!.children[0] as XElement)).toBe(`<*> & 'masked' "x"  😀`);
  });

  it('respond sends a chat message from the server domain to the full JID, once the stream is up', () => {
    const early = newSession();
    expect(early.respond('too early')).toBeUndefined();
    const result = run(login(), undefined, intercept);
    const bytes = result.session.respond("Policy: <file transfers> & 'links' are logged");
    const parsed = parseElement(bytes!, defaultScope());
    expect(parsed.error).toBeUndefined();
    const msg = parsed.root!;
    expect([msg.local, msg.attrs.get('from'), msg.attrs.get('to'), msg.attrs.get('type')]).toEqual(['message', 'montague.example', 'romeo@montague.example/home', 'chat']);
    expect(textOf(msg.children[0] as XElement)).toBe("Policy: <file transfers> & 'links' are logged");
  });

  it('respond about a message the user sent comes from the peer (chat) or the room (groupchat), escaped', () => {
    const result = run(login(), undefined, intercept);
    const reply = (about: Partial<ImEvent>) =>
      parseElement(
        result.session.respond(
          `Blocked (acl): message "</body><x a='1'>&amp;"`,
          testEvent({ protocol: 'xmpp', direction: 'outgoing', type: 'message', localId: 'romeo@montague.example', ...about }),
        )!,
        defaultScope(),
      );
    let parsed = reply({ remoteId: "juliet@capulet.example'/><evil" });
    expect(parsed.error).toBeUndefined();
    expect([parsed.root!.attrs.get('from'), parsed.root!.attrs.get('type')]).toEqual(["juliet@capulet.example'/><evil", 'chat']);
    expect(textOf(parsed.root!.children[0] as XElement)).toBe(`Blocked (acl): message "</body><x a='1'>&amp;"`);
    parsed = reply({ remoteId: 'room@conference.example', conversation: 'room@conference.example' });
    expect([parsed.root!.attrs.get('from'), parsed.root!.attrs.get('type')]).toEqual(['room@conference.example', 'groupchat']);
    parsed = reply({ type: 'login', remoteId: 'montague.example' });
    expect([parsed.root!.attrs.get('from'), parsed.root!.attrs.get('type')]).toEqual(['montague.example', 'chat']);
  });
});

describe('carbons (XEP-0280)', () => {
  const received =
    "<message xmlns='jabber:client' from='romeo@montague.example' to='romeo@montague.example/home' type='chat'>" +
    "<received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>" +
    "<message xmlns='jabber:client' from='juliet@capulet.example/balcony' to='romeo@montague.example/garden' type='chat'>" +
    "<body>What man art thou that, thus bescreen'd in night, so stumblest on my counsel?</body><thread>0e3141cd80894871a68e6fe6b1ec56fa</thread></message></forwarded></received></message>";
  const sent =
    "<message xmlns='jabber:client' from='romeo@montague.example' to='romeo@montague.example/home' type='chat'>" +
    "<sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>" +
    "<message xmlns='jabber:client' to='juliet@capulet.example/balcony' from='romeo@montague.example/garden' type='chat'>" +
    '<body>Neither, fair saint, if either thee dislike.</body><thread>0e3141cd80894871a68e6fe6b1ec56fa</thread></message></forwarded></sent></message>';
  const forged = sent.replace("from='romeo@montague.example' to=", "from='mallory@evil.example' to=");

  it('logs the forwarded message once, with the direction it really had; forged carbons are ignored', () => {
    const result = expectSplitInvariant(
      withLogin(
        ['>', "<iq type='set' id='enable1'><enable xmlns='urn:xmpp:carbons:2'/></iq>"],
        ['<', "<iq type='result' id='enable1'/>"],
        ['<', received],
        ['<', sent],
        ['<', forged],
      ),
      intercept,
    );
    expect(result.events.slice(AFTER_LOGIN)).toEqual([
      { direction: 'incoming', type: 'message', localId: romeo, remoteId: juliet, text: "What man art thou that, thus bescreen'd in night, so stumblest on my counsel?" },
      { direction: 'outgoing', type: 'message', localId: romeo, remoteId: juliet, text: 'Neither, fair saint, if either thee dislike.' },
    ]);
    // The carbon arrives from the server but is the user's own message.
    expect(result.rawFrames.find((f) => f.frame.events?.[0]?.text?.startsWith('Neither'))!.direction).toBe('incoming');
  });

  it('a carbon can be rewritten like any message', () => {
    const result = run(withLogin(['<', sent]), undefined, intercept);
    const frame = result.rawFrames.find((f) => f.frame.events?.length)!.frame;
    expect(frame.events![0]!.type).toBe('login');
    const carbon = result.rawFrames.filter((f) => f.frame.events?.length).at(-1)!.frame;
    expect(utf8(carbon.rewrite!('***'))).toBe(sent.replace('Neither, fair saint, if either thee dislike.', '***'));
  });

  it('archive results (XEP-0313) are history, not new messages', () => {
    const mam =
      "<message to='romeo@montague.example/home'><result xmlns='urn:xmpp:mam:2' queryid='f27' id='28482-98726-73623'><forwarded xmlns='urn:xmpp:forward:0'>" +
      "<delay xmlns='urn:xmpp:delay' stamp='2010-07-10T23:08:25Z'/><message xmlns='jabber:client' from='juliet@capulet.example/balcony' to='romeo@montague.example/orchard' type='chat'>" +
      '<body>Call me but love, and I will be new baptized.</body></message></forwarded></result></message>';
    expect(run(withLogin(['<', mam]), undefined, intercept).events).toEqual(LOGIN_EVENTS);
  });
});

describe('multi-user chat (XEP-0045)', () => {
  const room = 'coven@chat.shakespeare.lit';
  it('join, room messages both ways (own echo once), private messages, nick change, leave and kick', () => {
    const result = expectSplitInvariant(
      withLogin(
        ['>', `<presence to='${room}/thirdwitch'><x xmlns='http://jabber.org/protocol/muc'/></presence>`],
        [
          '<',
          `<presence from='${room}/firstwitch' to='romeo@montague.example/home'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='owner' role='moderator'/></x></presence>`,
        ],
        [
          '<',
          `<presence from='${room}/thirdwitch' to='romeo@montague.example/home'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='member' role='participant'/><status code='110'/></x></presence>`,
        ],
        ['<', `<message from='${room}/secondwitch' to='romeo@montague.example/home' type='groupchat'><body>Thrice the brinded cat hath mew'd.</body></message>`],
        ['>', `<message to='${room}' type='groupchat'><body>Harpier cries! 'Tis time, 'tis time.</body></message>`],
        ['<', `<message from='${room}/thirdwitch' to='romeo@montague.example/home' type='groupchat'><body>Harpier cries! 'Tis time, 'tis time.</body></message>`],
        ['>', `<message to='${room}/firstwitch' type='chat'><body>I'll give thee a wind.</body></message>`],
        [
          '<',
          `<presence from='${room}/thirdwitch' type='unavailable'><x xmlns='http://jabber.org/protocol/muc#user'><item nick='oldhag' role='participant'/><status code='303'/><status code='110'/></x></presence>`,
        ],
        ['<', `<presence from='${room}/oldhag'><x xmlns='http://jabber.org/protocol/muc#user'><item role='participant'/><status code='110'/></x></presence>`],
        ['<', `<message from='${room}/oldhag' type='groupchat'><body>echo after the nick change</body></message>`],
        ['<', `<message from='${room}' type='groupchat'><subject>Fire Burn and Cauldron Bubble!</subject></message>`],
        ['>', `<presence to='${room}/oldhag' type='unavailable'/>`],
        [
          '<',
          `<presence from='${room}/oldhag' type='unavailable'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='member' role='none'/><status code='110'/></x></presence>`,
        ],
        ['>', "<presence to='heath@chat.shakespeare.lit/romeo'><x xmlns='http://jabber.org/protocol/muc'/></presence>"],
        ['<', "<presence from='heath@chat.shakespeare.lit/romeo'><x xmlns='http://jabber.org/protocol/muc#user'><item role='participant'/></x></presence>"],
        [
          '<',
          "<presence from='heath@chat.shakespeare.lit/romeo' type='unavailable'><x xmlns='http://jabber.org/protocol/muc#user'><item role='none'><actor nick='Fluellen'/></item><status code='307'/></x></presence>",
        ],
      ),
      intercept,
    );
    expect(result.events.slice(AFTER_LOGIN)).toEqual([
      // The request is reported (a policy can stop it before the room sees it); the room's answer is the join.
      { direction: 'outgoing', type: 'join', subtype: 'request', localId: romeo, remoteId: room, conversation: room, data: { nick: 'thirdwitch', request: true } },
      { direction: 'incoming', type: 'join', localId: romeo, remoteId: room, conversation: room, data: { nick: 'thirdwitch' } },
      {
        direction: 'incoming',
        type: 'message',
        subtype: 'groupchat',
        localId: romeo,
        remoteId: room,
        conversation: room,
        data: { from: 'secondwitch' },
        text: "Thrice the brinded cat hath mew'd.",
      },
      { direction: 'outgoing', type: 'message', subtype: 'groupchat', localId: romeo, remoteId: room, conversation: room, text: "Harpier cries! 'Tis time, 'tis time." },
      { direction: 'outgoing', type: 'message', localId: romeo, remoteId: `${room}/firstwitch`, text: "I'll give thee a wind." },
      { direction: 'incoming', type: 'leave', localId: romeo, remoteId: room, conversation: room },
      {
        direction: 'outgoing',
        type: 'join',
        subtype: 'request',
        localId: romeo,
        remoteId: 'heath@chat.shakespeare.lit',
        conversation: 'heath@chat.shakespeare.lit',
        data: { nick: 'romeo', request: true },
      },
      { direction: 'incoming', type: 'join', localId: romeo, remoteId: 'heath@chat.shakespeare.lit', conversation: 'heath@chat.shakespeare.lit', data: { nick: 'romeo' } },
      { direction: 'incoming', type: 'leave', subtype: 'kick', localId: romeo, remoteId: 'heath@chat.shakespeare.lit', conversation: 'heath@chat.shakespeare.lit' },
    ]);
  });
});

describe('file offers', () => {
  it('Jingle file transfer (XEP-0234), offered and received', () => {
    const offer =
      "<iq from='romeo@montague.example/home' id='nzu25s8' to='juliet@capulet.example/yn0cl4bnw0yr3vym' type='set'>" +
      "<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' initiator='romeo@montague.example/home' sid='851ba2'>" +
      "<content creator='initiator' name='a-file-offer' senders='initiator'><description xmlns='urn:xmpp:jingle:apps:file-transfer:5'>" +
      '<file><date>1969-07-21T02:56:15Z</date><desc>This is a test. If this were a real file...</desc><media-type>text/plain</media-type>' +
      "<name>test.txt</name><range/><size>6144</size><hash xmlns='urn:xmpp:hashes:2' algo='sha-1'>w0mcJylzCn+AfvuGdqkty2+KP48=</hash></file></description>" +
      "<transport xmlns='urn:xmpp:jingle:transports:s5b:1' mode='tcp' sid='vj3hs98y'><candidate cid='hft54dqy' host='192.0.2.1' jid='romeo@montague.example/home' port='6539' priority='8257636' type='direct'/></transport>" +
      '</content></jingle></iq>';
    const incoming =
      "<iq from='juliet@capulet.example/balcony' id='j2' to='romeo@montague.example/home' type='set'>" +
      "<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='a73sjjvkla37jfea'><content creator='initiator' name='ex'>" +
      "<description xmlns='urn:xmpp:jingle:apps:file-transfer:3'><offer><file><name>balcony.jpg</name><size>42</size></file></offer></description>" +
      "<transport xmlns='urn:xmpp:jingle:transports:ibb:1' block-size='4096' sid='ch3d9s71'/></content></jingle></iq>";
    const accept = "<iq to='romeo@montague.example/home' type='set' id='j3'><jingle xmlns='urn:xmpp:jingle:1' action='session-accept' sid='851ba2'/></iq>";
    const result = expectSplitInvariant(withLogin(['>', offer], ['<', incoming], ['<', accept]), intercept);
    expect(result.events.slice(AFTER_LOGIN)).toEqual([
      {
        direction: 'outgoing',
        type: 'file',
        subtype: 'jingle',
        localId: romeo,
        remoteId: juliet,
        file: { name: 'test.txt', size: 6144 },
        text: 'This is a test. If this were a real file...',
      },
      { direction: 'incoming', type: 'file', subtype: 'jingle', localId: romeo, remoteId: juliet, file: { name: 'balcony.jpg', size: 42 } },
    ]);
  });

  it('a Jingle request for the peer’s file (XEP-0234 <request>, senders=responder) carries request: true', () => {
    const ask =
      "<iq from='romeo@montague.example/home' id='rq1' to='juliet@capulet.example/balcony' type='set'>" +
      "<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' initiator='romeo@montague.example/home' sid='uj3b2'>" +
      "<content creator='initiator' name='pull' senders='responder'><description xmlns='urn:xmpp:jingle:apps:file-transfer:5'>" +
      '<request><file><name>letter.txt</name><size>99</size></file></request></description></content></jingle></iq>';
    const result = expectSplitInvariant(withLogin(['>', ask]), intercept);
    expect(result.events.slice(AFTER_LOGIN)).toEqual([
      { direction: 'outgoing', type: 'file', subtype: 'jingle', localId: romeo, remoteId: juliet, file: { name: 'letter.txt', size: 99 }, data: { request: true } },
    ]);
  });

  it('stream initiation file transfer (XEP-0096)', () => {
    const si =
      "<iq type='set' id='offer1' to='romeo@montague.example/home' from='juliet@capulet.example/balcony'>" +
      "<si xmlns='http://jabber.org/protocol/si' id='a0' mime-type='text/plain' profile='http://jabber.org/protocol/si/profile/file-transfer'>" +
      "<file xmlns='http://jabber.org/protocol/si/profile/file-transfer' name='test.txt' size='1022' hash='552da749930852c69ae5d2141d3766b1' date='1969-07-21T02:56:15Z'>" +
      '<desc>This is a test. If this were a real file...</desc></file>' +
      "<feature xmlns='http://jabber.org/protocol/feature-neg'><x xmlns='jabber:x:data' type='form'><field var='stream-method' type='list-single'>" +
      '<option><value>http://jabber.org/protocol/bytestreams</value></option></field></x></feature></si></iq>';
    const result = expectSplitInvariant(withLogin(['<', si]), intercept);
    expect(result.events.slice(AFTER_LOGIN)).toEqual([
      {
        direction: 'incoming',
        type: 'file',
        subtype: 'si',
        localId: romeo,
        remoteId: juliet,
        file: { name: 'test.txt', size: 1022 },
        text: 'This is a test. If this were a real file...',
      },
    ]);
  });

  it('HTTP upload (XEP-0363): the shared link is a file event with the name and size of the slot request', () => {
    const url = 'https://download.montague.example/4a771ac1-f0b2-4a4a-9700-f2a26fa2bb67/tr%C3%A8s%20cool.jpg';
    const result = expectSplitInvariant(
      withLogin(
        [
          '>',
          "<iq id='step_03' to='upload.montague.example' type='get'><request xmlns='urn:xmpp:http:upload:0' filename='très cool.jpg' size='23456' content-type='image/jpeg' /></iq>",
        ],
        [
          '<',
          `<iq from='upload.montague.example' id='step_03' to='romeo@montague.example/home' type='result'><slot xmlns='urn:xmpp:http:upload:0'><put url='https://upload.montague.example/4a771ac1-f0b2-4a4a-9700-f2a26fa2bb67/tr%C3%A8s%20cool.jpg'><header name='Authorization'>Basic Base64String==</header></put><get url='${url}' /></slot></iq>`,
        ],
        ['>', `<message to='juliet@capulet.example' type='chat'><body>${url}</body><x xmlns='jabber:x:oob'><url>${url}</url></x></message>`],
        [
          '<',
          "<message from='juliet@capulet.example/balcony' type='chat'><body>look</body><x xmlns='jabber:x:oob'><url>https://files.capulet.example/a/b/rose%20garden.png?x=1</url></x></message>",
        ],
      ),
      intercept,
    );
    expect(result.events.slice(AFTER_LOGIN)).toEqual([
      // Asking for the slot is the start of the transfer: a policy blocking files refuses it.
      { direction: 'outgoing', type: 'file', subtype: 'http-upload-request', localId: romeo, remoteId: 'upload.montague.example', file: { name: 'très cool.jpg', size: 23456 } },
      {
        direction: 'outgoing',
        type: 'file',
        subtype: 'http-upload',
        localId: romeo,
        remoteId: juliet,
        text: url,
        file: { name: 'très cool.jpg', size: 23456 },
        data: { url },
      },
      {
        direction: 'incoming',
        type: 'file',
        subtype: 'oob',
        localId: romeo,
        remoteId: juliet,
        text: 'look',
        file: { name: 'rose garden.png' },
        data: { url: 'https://files.capulet.example/a/b/rose%20garden.png?x=1' },
      },
    ]);
  });
});

describe('encrypted messages', () => {
  it('OMEMO (XEP-0384, current and legacy), OpenPGP and OTR are logged as encrypted, without their fallback text', () => {
    const result = expectSplitInvariant(
      withLogin(
        [
          '<',
          "<message to='romeo@montague.example' from='juliet@capulet.example/balcony' id='send1' type='chat'><encrypted xmlns='urn:xmpp:omemo:2'><header sid='27183'><keys jid='romeo@montague.example'><key rid='31415'>Tm90IGFjdHVhbGx5IEJhc2U2NCwgYnV0IGl0J3MganVzdCBhbiBleGFtcGxlLg==</key></keys></header><payload>VGhpcyBpcyBhIHRlc3Qu</payload></encrypted><store xmlns='urn:xmpp:hints'/></message>",
        ],
        [
          '>',
          "<message to='juliet@capulet.example' type='chat'><encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='1'><key rid='2'>MwohA</key><iv>aXY=</iv></header><payload>cGF5</payload></encrypted><body>I sent you an OMEMO encrypted message but your client doesn't seem to support that.</body><encryption xmlns='urn:xmpp:eme:0' namespace='eu.siacs.conversations.axolotl'/></message>",
        ],
        ['>', "<message to='juliet@capulet.example' type='chat'><body>?OTRv23?</body></message>"],
        ['<', "<message from='juliet@capulet.example/balcony' type='chat'><body>?OTR:AAMDJ+MVmSfjFZcAAAAAAQAAAAIAAADA</body></message>"],
        [
          '<',
          "<message from='juliet@capulet.example/balcony' type='chat'><body>This message is encrypted.</body><x xmlns='jabber:x:encrypted'>qANQR1DBwU4DX7jmYZnncmUQB</x></message>",
        ],
      ),
      intercept,
    );
    expect(result.events.slice(AFTER_LOGIN)).toEqual([
      {
        direction: 'incoming',
        type: 'encrypted',
        subtype: 'omemo',
        localId: romeo,
        remoteId: juliet,
        messageKey: `xmpp incoming ${juliet}/balcony ${romeo} id=send1`,
        data: { device: 'home' },
      },
      { direction: 'outgoing', type: 'encrypted', subtype: 'omemo', localId: romeo, remoteId: juliet },
      { direction: 'outgoing', type: 'encrypted', subtype: 'otr', localId: romeo, remoteId: juliet },
      { direction: 'incoming', type: 'encrypted', subtype: 'otr', localId: romeo, remoteId: juliet },
      { direction: 'incoming', type: 'encrypted', subtype: 'pgp', localId: romeo, remoteId: juliet },
    ]);
    expect(result.frames.filter((f) => f.rewritable)).toEqual([]);
  });
});

describe('subscriptions (RFC 6121)', () => {
  it('subscription requests and answers are contact events', () => {
    const result = run(
      withLogin(
        ['>', "<presence id='xk3h1v69' to='juliet@capulet.example' type='subscribe'/>"],
        ['<', "<presence from='juliet@capulet.example' id='xk3h1v69' to='romeo@montague.example' type='subscribed'/>"],
      ),
      undefined,
      intercept,
    );
    expect(result.events.slice(AFTER_LOGIN).map((e) => [e.direction, e.type, e.subtype, e.remoteId, e.data])).toEqual([
      ['outgoing', 'contact', 'add', juliet, { subscription: 'subscribe' }],
      ['incoming', 'contact', 'accepted', juliet, { subscription: 'subscribed' }],
    ]);
  });

  it('names every subscription in the policy words, each way; the stanza type stays in the data', () => {
    const types = ['subscribe', 'subscribed', 'unsubscribe', 'unsubscribed'];
    const result = run(
      withLogin(
        ...types.map((type): ['>', string] => ['>', `<presence to='juliet@capulet.example' type='${type}'/>`]),
        ...types.map((type): ['<', string] => ['<', `<presence from='juliet@capulet.example/balcony' to='romeo@montague.example' type='${type}'/>`]),
      ),
      undefined,
      intercept,
    );
    expect(result.events.slice(AFTER_LOGIN).map((e) => [e.direction, e.type, e.subtype, e.remoteId, e.data])).toEqual([
      ['outgoing', 'contact', 'add', juliet, { subscription: 'subscribe' }],
      ['outgoing', 'contact', 'add', juliet, { subscription: 'subscribed' }],
      ['outgoing', 'contact', 'remove', juliet, { subscription: 'unsubscribe' }],
      ['outgoing', 'contact', 'remove', juliet, { subscription: 'unsubscribed' }],
      ['incoming', 'contact', 'added-by', juliet, { subscription: 'subscribe' }],
      ['incoming', 'contact', 'accepted', juliet, { subscription: 'subscribed' }],
      ['incoming', 'contact', 'removed-by', juliet, { subscription: 'unsubscribe' }],
      ['incoming', 'contact', 'removed-by', juliet, { subscription: 'unsubscribed' }],
    ]);
  });

  it('roster changes are additions and removals; the roster the server sends is the list', () => {
    const result = expectSplitInvariant(
      withLogin(
        ['>', "<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>"],
        [
          '<',
          "<iq type='result' id='r1' to='romeo@montague.example/home'><query xmlns='jabber:iq:roster' ver='v1'><item jid='juliet@capulet.example' subscription='both'/><item jid='mercutio@verona.example' subscription='from'/></query></iq>",
        ],
        ['>', "<iq type='set' id='r2'><query xmlns='jabber:iq:roster'><item jid='Nurse@capulet.example' name='The Nurse'><group>Servants</group></item></query></iq>"],
        // The server's push only confirms the change the client asked for.
        [
          '<',
          "<iq type='set' id='p1' to='romeo@montague.example/home'><query xmlns='jabber:iq:roster' ver='v2'><item jid='nurse@capulet.example' name='The Nurse' subscription='none'/></query></iq>",
        ],
        ['>', "<iq type='set' id='r3'><query xmlns='jabber:iq:roster'><item jid='mercutio@verona.example' subscription='remove'/></query></iq>"],
      ),
      intercept,
    );
    expect(result.events.slice(AFTER_LOGIN).map((e) => [e.direction, e.type, e.subtype, e.remoteId, e.data])).toEqual([
      ['incoming', 'contact', 'list', 'montague.example', { contacts: 2 }],
      ['outgoing', 'contact', 'add', 'nurse@capulet.example', { roster: true, name: 'The Nurse' }],
      ['outgoing', 'contact', 'remove', 'mercutio@verona.example', { roster: true }],
    ]);
  });
});

describe('client version (XEP-0092, XEP-0115)', () => {
  it('the client’s software version answer and its capabilities node are client events', () => {
    const result = expectSplitInvariant(
      withLogin(
        ['>', "<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://gajim.org' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/></presence>"],
        // Clients repeat the node in every presence: reported once.
        ['>', "<presence><show>away</show><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://gajim.org' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/></presence>"],
        ['<', "<iq type='get' from='juliet@capulet.example/balcony' to='romeo@montague.example/home' id='v1'><query xmlns='jabber:iq:version'/></iq>"],
        [
          '>',
          "<iq type='result' to='juliet@capulet.example/balcony' id='v1'><query xmlns='jabber:iq:version'><name>Gajim</name><version>1.8.4</version><os>Debian GNU/Linux</os></query></iq>",
        ],
      ),
      intercept,
    );
    expect(result.events.slice(AFTER_LOGIN).map((e) => [e.direction, e.type, e.subtype, e.remoteId, e.data])).toEqual([
      ['outgoing', 'other', 'client', 'montague.example', { client: 'https://gajim.org', source: 'caps' }],
      ['outgoing', 'other', 'status', 'montague.example', { status: 'online', 'protocol-status': 'available' }],
      ['outgoing', 'other', 'status', 'montague.example', { status: 'away', 'protocol-status': 'away' }],
      ['outgoing', 'other', 'client', juliet, { client: 'Gajim', version: '1.8.4', os: 'Debian GNU/Linux', source: 'version' }],
    ]);
  });
});
