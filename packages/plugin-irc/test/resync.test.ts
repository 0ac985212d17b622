/**
 * IRC resynchronisation against the real captures: every connection joined mid-stream at many offsets and
 * with bytes lost (test/support/capture-resync.ts).
 */
import { describeCaptureResync } from '../../../test/support/capture-resync.js';
import { IrcSession } from '../src/session.js';

/**
 * Left out: the login (only the start can tell it), and the user's own JOIN and PART when the client asked for
 * them before the cut (a session joined mid-way tells the user's by the server echoing what the client asked).
 */
const SKIPPED = new Set(['login', 'join', 'leave']);

describeCaptureResync({
  protocol: 'IRC',
  cases: [
    { file: 'ngircd-irc.pcap', port: 16667 },
    { file: 'zeek-irc-basic.pcap', port: 6667 },
    { file: 'zeek-irc-more-commands.pcap', port: 6667 },
    { file: 'zeek-irc-dcc-send.pcapng', port: 6667 },
  ],
  createSession: (context) => new IrcSession(context),
  skip: (e) => SKIPPED.has(e.type),
});
