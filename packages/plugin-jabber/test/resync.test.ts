/**
 * Resynchronisation against real traffic: each connection of the captures is joined at (many) offsets as a
 * stream whose start was lost, and loses bytes at them; the events from the first whole frame on (and on both
 * sides of each hole) must be those of the full parse (`checkMidstreamResync`, ids compared unless marked).
 */
import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';
import { describeWithService } from '../../../test/support/e2e.js';
import { captureTranscripts } from '@imspect/core/testing';
import type { EventDraft } from '@imspect/sdk';
import { checkMidstreamResync } from '@imspect/sdk/testing';
import { XmppSession } from '../src/session.js';

/**
 * Left out: the login (only the start can tell it); the logout: a stream joined after the server refused the
 * login cannot know that nobody was logged in when the client closes it; and a contact's status: the server's
 * copy of the user's own presence reads as a contact's when neither the binding nor the client's presence
 * (whose id the copy repeats) was seen.
 */
const SKIPPED = new Set(['login', 'logout']);
const skip = (e: EventDraft) => SKIPPED.has(e.type) || (e.type === 'contact' && e.subtype === 'status');
const CAPTURES = new URL('../../../../shared/captures/', import.meta.url).pathname;
const CASES: Array<{ file: string; port: number }> = [
  { file: 'prosody-xmpp.pcap', port: 15222 },
  { file: 'ndpi-jabber.pcap', port: 5222 },
];

describeWithService('XMPP: mid-stream starts and gaps in real captures', existsSync(CAPTURES) ? undefined : `the captures are missing: ${CAPTURES}`, () => {
  for (const { file, port } of CASES) {
    it(`${file} port ${port}: every offset joined mid-stream and with bytes lost`, async () => {
      const transcripts = await captureTranscripts(CAPTURES + file, { port });
      expect(transcripts.length).toBeGreaterThan(0);
      for (const { connection, steps } of transcripts) {
        const create = (midstream: boolean) =>
          new XmppSession({
            client: { ip: connection.client.ip, port: connection.client.port },
            server: { host: connection.server.ip, port },
            maxFrameSize: 1 << 20,
            midstream: midstream || connection.midstream,
          });
        const runs = checkMidstreamResync(create, steps, { everyOffsetUpTo: 1500, samples: 150, skip });
        expect(runs).toBeGreaterThan(0);
      }
    });
  }
});
