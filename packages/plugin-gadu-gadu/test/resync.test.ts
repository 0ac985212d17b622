/**
 * Gadu-Gadu resynchronisation against the real captures: every connection joined mid-stream at many offsets and
 * with bytes lost (test/support/capture-resync.ts).
 */
import { describeCaptureResync } from '../../../test/support/capture-resync.js';
import { GgSession } from '../src/session.js';

/**
 * Left out: the login (only the start can tell it) and the logout, reported once by whichever comes first of
 * the client's status change and the server's disconnect: a stream that lost the first reports the second.
 */
const SKIPPED = new Set(['login', 'logout']);

describeCaptureResync({
  protocol: 'Gadu-Gadu',
  cases: [{ file: 'pygadu-libgadu-gg.pcapng', port: 8074 }],
  createSession: (context) => new GgSession(context),
  skip: (e) => SKIPPED.has(e.type),
});
