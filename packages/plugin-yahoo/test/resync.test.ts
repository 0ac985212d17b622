/**
 * YMSG resynchronisation against the real captures: every connection joined mid-stream at many offsets and
 * with bytes lost (test/support/capture-resync.ts).
 */
import { describeCaptureResync } from '../../../test/support/capture-resync.js';
import { YahooSession } from '../src/session.js';

/** Left out: the login (only the start can tell it). */

describeCaptureResync({
  protocol: 'YMSG',
  cases: [{ file: 'escargot-ymsg10.pcap', port: 5050 }],
  createSession: (context) => new YahooSession(context),
  skip: (e) => e.type === 'login',
});
