/**
 * Many busy connections at once: far more bytes arrive in one event-loop turn than the shared parse budget,
 * so flows defer chunks to later turns (the relay's budget counts it: the test fails if nothing ever waited).
 * Nothing may be lost, reordered or mixed between connections, with or without an asynchronous policy.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Verdict } from '@imspect/sdk';
import { rng, waitFor } from './helpers.js';
import { lineProtocol, relayClient, startRelay, upstreamServer } from './relay-harness.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

/** About `bytes` of message lines naming their connection and sequence, plus long non-message lines. */
function bulk(connection: number, bytes: number, random: () => number): { data: Buffer; messages: string[] } {
  const parts: Buffer[] = [];
  const messages: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line =
      random() < 0.8 ? `MSG peer${connection} c${connection}-${i} ${'x'.repeat(Math.floor(random() * 120))}\n` : `DATA ${'y'.repeat(1000 + Math.floor(random() * 3000))}\n`;
    if (line.startsWith('MSG ')) messages.push(`c${connection}-${i}`);
    parts.push(Buffer.from(line));
    size += line.length;
  }
  return { data: Buffer.concat(parts), messages };
}

describe('relay: many busy connections share the parse budget of a turn', () => {
  for (const [label, policy] of [
    ['no policy', {}],
    ['an async pass filter', { filters: [{ name: 'later', hooks: { check: async (): Promise<Verdict> => ({ action: 'pass' }) } }] }],
  ] as const) {
    it(`every byte crosses in order and every message is an event, ${label}`, async () => {
      const server = await upstreamServer();
      cleanups.push(() => server.close());
      const r = await startRelay(server.port, { protocol: lineProtocol(), ...policy });
      cleanups.push(() => r.close());
      const random = rng(7);
      const count = 24;
      const streams = Array.from({ length: count }, (_, i) => bulk(i, 300 * 1024, random));
      const clients = await Promise.all(streams.map(() => relayClient(r.port)));
      for (const c of clients) cleanups.push(() => void c.socket.destroy());
      // All at once, each ended right behind its data.
      clients.forEach((c, i) => c.socket.end(streams[i]!.data));
      const back = await Promise.all(clients.map((c) => c.ended));
      for (let i = 0; i < count; i++) {
        expect(md5(back[i]!), `connection ${i} echoed`).toBe(md5(streams[i]!.data));
      }
      const atServer = server.received.map((chunks) => md5(Buffer.concat(chunks))).sort();
      expect(atServer).toEqual(streams.map((s) => md5(s.data)).sort());
      expect(r.turnBudget.deferrals, 'chunks that waited for a later turn').toBeGreaterThan(0);
      const total = streams.reduce((n, s) => n + s.messages.length, 0);
      await waitFor(() => r.events.length === 2 * total, 10_000, 'events');
      for (let i = 0; i < count; i++) {
        for (const direction of ['outgoing', 'incoming'] as const) {
          const seen = r.events.filter((e) => e.direction === direction && e.remoteId === `peer${i}`).map((e) => e.text!.split(' ')[0]);
          expect(seen, `connection ${i} ${direction}`).toEqual(streams[i]!.messages);
        }
      }
    });
  }
});
