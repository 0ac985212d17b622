/**
 * Resynchronisation against real traffic: each connection of the captures is joined at (many) offsets as a
 * stream whose start was lost, and loses bytes at them; the events from the first whole frame on (and on both
 * sides of each hole) must be those of the full parse (`checkMidstreamResync`, ids compared unless marked).
 */
import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';
import { describeWithService } from '../../../test/support/e2e.js';
import { captureTranscripts } from '@imspect/core/testing';
import { checkMidstreamResync } from '@imspect/sdk/testing';
import { GgSession } from '../src/session.js';

/**
 * Left out: the login (only the start can tell it) and the logout, reported once by whichever comes first of
 * the client's status change and the server's disconnect: a stream that lost the first reports the second.
 */
const SKIPPED = new Set(['login', 'logout']);
const CAPTURES = new URL('../../../../shared/captures/', import.meta.url).pathname;
const CASES: Array<{ file: string; port: number }> = [{ file: 'pygadu-libgadu-gg.pcapng', port: 8074 }];

describeWithService('Gadu-Gadu: mid-stream starts and gaps in real captures', existsSync(CAPTURES) ? undefined : `the captures are missing: ${CAPTURES}`, () => {
  for (const { file, port } of CASES) {
    it(`${file} port ${port}: every offset joined mid-stream and with bytes lost`, async () => {
      const transcripts = await captureTranscripts(CAPTURES + file, { port });
      expect(transcripts.length).toBeGreaterThan(0);
      for (const { connection, steps } of transcripts) {
        const create = (midstream: boolean) =>
          new GgSession({
            client: { ip: connection.client.ip, port: connection.client.port },
            server: { host: connection.server.ip, port },
            maxFrameSize: 1 << 20,
            midstream: midstream || connection.midstream,
          });
        const runs = checkMidstreamResync(create, steps, { everyOffsetUpTo: 1500, samples: 150, skip: (e) => SKIPPED.has(e.type) });
        expect(runs).toBeGreaterThan(0);
      }
    });
  }
});
