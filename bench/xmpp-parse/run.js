/**
 * Micro-benchmark of XMPP parsing: `XmppSession.push` alone, no sockets, no logger.
 *
 *   pnpm build && node bench/xmpp-parse/run.js [--stanzas 100000] [--runs 7] [--chunk 65536]
 *
 * Builds a session from the built plugin (packages/plugin-jabber/dist), opens a stream and binds a resource,
 * then pushes a fixed, seeded server -> client stream in 64 KiB chunks: mostly chat messages with 40-200
 * bytes of text (some with entities, chat states, XHTML-IM), group chat messages, typing notifications,
 * presence with capabilities, roster pushes and whitespace keep-alives. Prints µs/stanza and MB/s (10^6
 * bytes) per run and the median. Figures only; it asserts nothing.
 */
import { XmppSession } from '../../packages/plugin-jabber/dist/index.js';
import { benchParse, numberFlag, prng, randomText } from '../support.js';

const STANZAS = numberFlag('stanzas', 100_000);
const RUNS = numberFlag('runs', 7);
const CHUNK = numberFlag('chunk', 64 * 1024);
const ME = 'bench@example.org/desk';

const PEERS = ['alice@example.org', 'bob@example.net', 'carol@jabber.example', 'dave@example.org', 'Léa@example.fr'];
const WORDS = (
  'the build is green again after the flaky test was fixed so we can ship the release candidate tonight ' +
  'did anyone look at the patch for the parser it handles split stanzas and over long frames now ' +
  'lunch at noon? sure &amp; the usual place. meeting moved to 3pm &lt;bring the numbers&gt; ' +
  'café déjà vu naïve Zürich 東京 ✓ 👍 https://example.org/issue/1234'
).split(' ');

const text = (rand, min, max) => randomText(rand, WORDS, min, max);

function stanza(rand, n) {
  const r = rand();
  const peer = PEERS[Math.floor(rand() * PEERS.length)];
  if (r < 0.55) {
    const html = rand() < 0.2 ? `<html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'><p>${text(rand, 20, 80)}</p></body></html>` : '';
    return `<message from='${peer}/phone' to='${ME}' type='chat' id='m${n}'><body>${text(rand, 40, 200)}</body><active xmlns='http://jabber.org/protocol/chatstates'/>${html}</message>`;
  }
  if (r < 0.7) return `<message from='room@conference.example.org/${peer.split('@')[0]}' to='${ME}' type='groupchat' id='g${n}'><body>${text(rand, 40, 200)}</body></message>`;
  if (r < 0.85) return `<message from='${peer}/phone' to='${ME}' type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>`;
  if (r < 0.95)
    return `<presence from='${peer}/phone' to='${ME}'><show>away</show><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://conversations.im' ver='${n}'/></presence>`;
  if (r < 0.98)
    return `<iq from='example.org' to='${ME}' type='set' id='push${n}'><query xmlns='jabber:iq:roster'><item jid='${peer}' subscription='both'><group>Friends</group></item></query></iq>`;
  return ' ';
}

const rand = prng(42);
const parts = [];
for (let n = 0; n < STANZAS; n++) parts.push(stanza(rand, n));
const body = Buffer.from(parts.join(''));

const OPEN_OUT = Buffer.from("<stream:stream to='example.org' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>");
const OPEN_IN = Buffer.from(
  "<?xml version='1.0'?><stream:stream from='example.org' id='x' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>" +
    `<iq type='result' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>${ME}</jid></bind></iq>`,
);

benchParse({
  count: STANZAS,
  unit: 'stanza',
  stream: body,
  chunkSize: CHUNK,
  runs: RUNS,
  open() {
    const session = new XmppSession({ client: { ip: '192.0.2.1', port: 1 }, server: { host: 'example.org', port: 5222 }, maxFrameSize: 256 * 1024 });
    session.push('outgoing', OPEN_OUT);
    session.push('incoming', OPEN_IN);
    return session;
  },
});
