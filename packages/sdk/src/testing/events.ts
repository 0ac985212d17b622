import type { ImEvent } from '../event.js';

/**
 * A complete event as core hands it to filters, content plugins and loggers: an outgoing IRC message from
 * alice to bob, with documentation addresses, changed by `over`. For testing those hooks without a proxy.
 */
export function testEvent(over: Partial<ImEvent> = {}): ImEvent {
  return {
    id: '00000000-0000-7000-8000-000000000000',
    at: new Date(0).toISOString(),
    protocol: 'irc',
    direction: 'outgoing',
    type: 'message',
    localId: 'alice',
    remoteId: 'bob',
    client: { ip: '192.0.2.1', port: 40000 },
    server: { host: 'irc.example.net', port: 6667 },
    filtered: false,
    categories: [],
    ...over,
  };
}
