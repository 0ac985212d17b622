/**
 * MSN resynchronisation against the real captures: every connection joined mid-stream at many offsets and
 * with bytes lost (test/support/capture-resync.ts).
 */
import { describeCaptureResync } from '../../../test/support/capture-resync.js';
import { MsnSession } from '../src/session.js';

/**
 * Left out: the login (only the start can tell it), and the end of a switchboard session: whether an `OUT` is a
 * logout or leaving a conversation depends on what the connection is, which a stream joined after its
 * `USR`/`ANS` and participants cannot always tell.
 */
const SKIPPED = new Set(['login', 'logout', 'leave']);

describeCaptureResync({
  protocol: 'MSN',
  cases: [
    { file: 'escargot-msnp8.pcap', port: 1863 },
    { file: 'escargot-msnp8.pcap', port: 1864 },
  ],
  createSession: (context) => new MsnSession(context),
  skip: (e) => SKIPPED.has(e.type),
});
