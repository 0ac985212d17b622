import { readConnections, type CapturedConnection, type ReplayOptions } from '../capture/connections.js';
import type { TranscriptStep } from '@imspect/sdk/testing';

/** One TCP connection of a capture as a conversation to replay into a session. */
export interface CaptureTranscript {
  connection: Omit<CapturedConnection, 'chunks'>;
  /** The connection's data, both directions, in the order it became available. */
  steps: TranscriptStep[];
}

export interface CaptureTranscriptOptions extends ReplayOptions {
  /** Only connections to this server port. */
  port?: number;
  /** Only connections from this client port. */
  clientPort?: number;
}

/**
 * The TCP connections of a pcap or pcapng file as transcripts, in order of first packet: the real traffic a
 * protocol parser is checked against. Keeps every byte in memory: meant for test-sized captures.
 */
export async function captureTranscripts(path: string, options: CaptureTranscriptOptions = {}): Promise<CaptureTranscript[]> {
  const { port, clientPort, ...replay } = options;
  const connections = await readConnections(path, replay);
  return connections
    .filter((c) => (port === undefined || c.server.port === port) && (clientPort === undefined || c.client.port === clientPort))
    .map(({ chunks, ...connection }) => ({ connection, steps: chunks.map((c) => ({ direction: c.direction, data: c.data })) }));
}
