/**
 * OSCAR resynchronisation against the real captures: every connection joined mid-stream at many offsets and
 * with bytes lost (test/support/capture-resync.ts).
 */
import { describeCaptureResync } from '../../../test/support/capture-resync.js';
import { OscarSession } from '../src/session.js';

/** Left out: the login (only the start can tell it). */

describeCaptureResync({
  protocol: 'OSCAR',
  cases: [{ file: 'lmg-aim-evidence01.pcap', port: 443 }],
  createSession: (context) => new OscarSession(context),
  skip: (e) => e.type === 'login',
});
