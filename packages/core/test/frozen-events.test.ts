/**
 * Filters and content plugins get deeply frozen events: whatever they assign to (the text, the data, the file,
 * the addresses, the categories), what the loggers store is the event as the protocol reported it. An assignment
 * throws a TypeError, which is that hook failing: logged naming plugin and hook, then `failMode` decides.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ImEvent, Verdict } from '@imspect/sdk';
import { waitFor } from './helpers.js';
import type { NamedContent, NamedFilter } from '../src/proxy/policy.js';
import { lineProtocol, relayClient, startRelay, upstreamServer, type Relay } from './relay-harness.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Every way a filter could try to change an event; each attempt's error is kept. */
function tamper(event: Readonly<ImEvent>, errors: unknown[]): void {
  const e = event as ImEvent & Record<string, unknown>;
  const attempts: Array<() => void> = [
    () => (e.text = 'rewritten by a filter'),
    () => ((e.data as Record<string, unknown>)['port'] = 1),
    () => ((e.data as Record<string, unknown>)['injected'] = 'x'),
    () => delete (e.data as Record<string, unknown>)['address'],
    () => (e.file!.name = 'evil.exe'),
    () => e.categories.push('forged'),
    () => (e.client.ip = '0.0.0.0'),
    () => (e.server.port = 1),
    () => (e.filtered = true),
    () => (e['extra'] = 1),
  ];
  for (const attempt of attempts) {
    try {
      attempt();
    } catch (error) {
      errors.push(error);
    }
  }
}

async function run(options: { failMode: 'open' | 'closed'; filters: readonly NamedFilter[]; contents?: readonly NamedContent[] }) {
  const upstream = await upstreamServer(() => undefined); // collects, never echoes
  cleanups.push(() => upstream.close());
  const stored: ImEvent[] = [];
  const relay: Relay = await startRelay(upstream.port, {
    protocol: lineProtocol(),
    failMode: options.failMode,
    filters: options.filters,
    ...(options.contents ? { contents: options.contents } : {}),
    loggers: [{ name: 'rec', hooks: { write: async (events) => void stored.push(...structuredClone(events)) } }],
  });
  cleanups.push(() => relay.close());
  const client = await relayClient(relay.port);
  cleanups.push(() => void client.socket.destroy());
  client.socket.write('MSGDATA bob hello there\n');
  await waitFor(() => stored.length === 1, 5_000, 'the stored event');
  return { relay, stored, upstream };
}

describe('frozen events for filters and content plugins', () => {
  it('a filter that tries to change the event changes nothing the logger stores; every attempt throws a TypeError', async () => {
    const errors: unknown[] = [];
    const seen: Array<Readonly<ImEvent>> = [];
    const catching = (event: Readonly<ImEvent>): Verdict => {
      seen.push(event);
      tamper(event, errors);
      return { action: 'pass' };
    };
    const { stored, relay } = await run({ failMode: 'open', filters: [{ name: 'tamperer', hooks: { check: catching } }] });
    expect(errors).toHaveLength(10);
    for (const error of errors) expect(error).toBeInstanceOf(TypeError);
    expect(Object.isFrozen(seen[0])).toBe(true);
    expect(stored[0]).toMatchObject({
      type: 'message',
      text: 'hello there',
      file: { name: 'a.txt', size: 42 },
      data: { address: '192.0.2.7', port: 5000, groupchat: false },
      filtered: false,
      categories: [],
      client: { ip: '127.0.0.1' },
    });
    expect(stored[0]).not.toHaveProperty('extra');
    expect(Object.keys(stored[0]!.data!)).toEqual(['address', 'port', 'groupchat']);
    expect(relay.logs.filter((r) => r.level === 'error')).toEqual([]);
  });

  it('an assignment a filter does not catch is that filter failing: logged naming plugin and hook; fail-open passes, fail-closed blocks', async () => {
    const assigning = (event: Readonly<ImEvent>): Verdict => {
      (event as ImEvent).text = 'changed';
      return { action: 'pass' };
    };
    const open = await run({ failMode: 'open', filters: [{ name: 'assigner', hooks: { check: assigning } }] });
    expect(open.stored[0]).toMatchObject({ text: 'hello there', filtered: false, categories: [] });
    const failure = open.relay.logs.find((r) => r.level === 'error' && (r.obj as { plugin?: string }).plugin === 'assigner');
    expect(failure?.obj).toMatchObject({ plugin: 'assigner', hook: 'check' });
    expect(String((failure!.obj as { err: Error }).err.message)).toMatch(/plugin "assigner" failed in check: .*read.only property 'text'/);
    await waitFor(() => Buffer.concat(open.upstream.received[0] ?? []).includes('hello there'), 5_000, 'the message forwarded');

    const closed = await run({ failMode: 'closed', filters: [{ name: 'assigner', hooks: { check: assigning } }] });
    expect(closed.stored[0]).toMatchObject({ text: 'hello there', filtered: true, categories: ['error assigner'] });
  });

  it('a content plugin gets a frozen event too: only its returned text changes what goes out', async () => {
    const errors: unknown[] = [];
    const { stored, upstream } = await run({
      failMode: 'open',
      filters: [],
      contents: [
        {
          name: 'rewriter',
          hooks: {
            transform: (event: Readonly<ImEvent>) => {
              tamper(event, errors);
              return event.text?.toUpperCase();
            },
          },
        },
      ],
    });
    expect(errors).toHaveLength(10);
    expect(stored[0]).toMatchObject({ text: 'hello there', deliveredText: 'HELLO THERE', data: { address: '192.0.2.7', port: 5000, groupchat: false } });
    await waitFor(() => Buffer.concat(upstream.received[0] ?? []).includes('HELLO THERE'), 5_000, 'the rewritten message forwarded');
  });
});
