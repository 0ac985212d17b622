/**
 * XMPP resynchronisation against the real captures: every connection joined mid-stream at many offsets and
 * with bytes lost (test/support/capture-resync.ts).
 */
import { describeCaptureResync } from '../../../test/support/capture-resync.js';
import { XmppSession } from '../src/session.js';

/**
 * Left out: the login (only the start can tell it); the logout: a stream joined after the server refused the
 * login cannot know that nobody was logged in when the client closes it; and a contact's status: the server's
 * copy of the user's own presence reads as a contact's when neither the binding nor the client's presence
 * (whose id the copy repeats) was seen.
 */
const SKIPPED = new Set(['login', 'logout']);

describeCaptureResync({
  protocol: 'XMPP',
  cases: [
    { file: 'prosody-xmpp.pcap', port: 15222 },
    { file: 'ndpi-jabber.pcap', port: 5222 },
  ],
  createSession: (context) => new XmppSession(context),
  skip: (e) => SKIPPED.has(e.type) || (e.type === 'contact' && e.subtype === 'status'),
});
