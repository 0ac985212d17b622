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
import { OscarSession } from '../src/session.js';

const CAPTURES = new URL('../../../../shared/captures/', import.meta.url).pathname;
const CASES: Array<{ file: string; port: number }> = [{ file: 'lmg-aim-evidence01.pcap', port: 443 }];

describeWithService('OSCAR: mid-stream starts and gaps in real captures', existsSync(CAPTURES) ? undefined : `the captures are missing: ${CAPTURES}`, () => {
  for (const { file, port } of CASES) {
    it(`${file} port ${port}: every offset joined mid-stream and with bytes lost`, async () => {
      const transcripts = await captureTranscripts(CAPTURES + file, { port });
      expect(transcripts.length).toBeGreaterThan(0);
      for (const { connection, steps } of transcripts) {
        const create = (midstream: boolean) =>
          new OscarSession({
            client: { ip: connection.client.ip, port: connection.client.port },
            server: { host: connection.server.ip, port },
            maxFrameSize: 1 << 20,
            midstream: midstream || connection.midstream,
          });
        const runs = checkMidstreamResync(create, steps, { everyOffsetUpTo: 1500, samples: 150, skip: (e) => e.type === 'login' });
        expect(runs).toBeGreaterThan(0);
      }
    });
  }
});
