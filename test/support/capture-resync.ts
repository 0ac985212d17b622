/**
 * Resynchronisation against real traffic, the same for every protocol plugin: each connection of a capture is
 * joined at (many) offsets as a stream whose start was lost, and loses bytes at them; the events from the first
 * whole frame on (and on both sides of each hole) must be those of the full parse (`checkMidstreamResync`, ids
 * compared unless marked). Skips with the reason when ../shared/captures is not beside the checkout.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { captureTranscripts } from '../../packages/core/dist/testing/index.js';
import type { EventDraft } from '../../packages/sdk/dist/index.js';
import { checkMidstreamResync, type TestedSession } from '../../packages/sdk/dist/testing/index.js';
import { describeWithService } from './e2e.js';

const CAPTURES = fileURLToPath(new URL('../../../shared/captures/', import.meta.url));

/** What a plugin's session is built from: the context a connection of the capture gives it. */
export interface ResyncSessionContext {
  client: { ip: string; port: number };
  server: { host: string; port: number };
  maxFrameSize: number;
  midstream: boolean;
}

export interface CaptureResyncSuite {
  /** The protocol's name for the suite's title (`IRC`, `MSN`, ...). */
  protocol: string;
  /** Captures in ../shared/captures and the server port whose connections are checked. */
  cases: Array<{ file: string; port: number }>;
  createSession(context: ResyncSessionContext): TestedSession;
  /** Events only a connection's start can decide, left out of the comparison (say why where it is called). */
  skip(event: EventDraft): boolean;
}

export function describeCaptureResync({ protocol, cases, createSession, skip }: CaptureResyncSuite): void {
  describeWithService(`${protocol}: mid-stream starts and gaps in real captures`, existsSync(CAPTURES) ? undefined : `the captures are missing: ${CAPTURES}`, () => {
    for (const { file, port } of cases) {
      it(`${file} port ${port}: every offset joined mid-stream and with bytes lost`, async () => {
        const transcripts = await captureTranscripts(CAPTURES + file, { port });
        expect(transcripts.length).toBeGreaterThan(0);
        for (const { connection, steps } of transcripts) {
          const create = (midstream: boolean) =>
            createSession({
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
}
