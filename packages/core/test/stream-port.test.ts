/**
 * StreamPort's shared listeners find their port through back-references on the streams: a stream is read by one
 * port and written by the other, and TLS takeover moves both ports to new streams. Every event must reach the
 * right flow, and none from a stream a port has left.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Flow } from '../src/proxy/flow.js';
import { StreamPort } from '../src/proxy/stream-port.js';

/** The flow's side of a port: what reached it, as `name:event[:bytes]`. */
function recordingFlow(name: string, log: string[], unprocessed: Buffer[] = []): Flow {
  return {
    receive: (chunk: Buffer) => log.push(`${name}:data:${chunk.toString()}`),
    sourceEnded: () => log.push(`${name}:end`),
    drained: () => log.push(`${name}:drain`),
    detach: () => {
      log.push(`${name}:detach`);
      return unprocessed;
    },
    attached: () => log.push(`${name}:attached`),
  } as unknown as Flow;
}

/** A connection's two ports over a client and a server stream, as ProxyConnection makes them. */
function pair(tag: string, log: string[], unprocessed: Buffer[] = []) {
  const client = new PassThrough();
  const server = new PassThrough();
  const outgoing = new StreamPort(client, server);
  const incoming = new StreamPort(server, client);
  outgoing.connect(recordingFlow(`${tag}-out`, log, unprocessed));
  incoming.connect(recordingFlow(`${tag}-in`, log));
  return { client, server, outgoing, incoming };
}

describe('StreamPort (listeners shared by every port)', () => {
  it('routes each stream event to the port that reads or writes that stream', () => {
    const log: string[] = [];
    const one = pair('one', log);
    const two = pair('two', log);
    one.client.emit('data', Buffer.from('a'));
    two.server.emit('data', Buffer.from('b'));
    // The client stream is written by the incoming port: its drain is the incoming flow's.
    one.client.emit('drain');
    one.server.emit('drain');
    two.client.emit('end');
    expect(log).toEqual(['one-out:data:a', 'two-in:data:b', 'one-in:drain', 'one-out:drain', 'two-out:end']);
  });

  it('after detach keeps what arrives, and once attached hears only the new streams', () => {
    const log: string[] = [];
    const { client, server, outgoing, incoming } = pair('c', log, [Buffer.from('unprocessed')]);
    outgoing.detach();
    incoming.detach();
    client.emit('data', Buffer.from('hello'));
    server.emit('drain');
    client.emit('drain');
    expect(log).toEqual(['c-out:detach', 'c-in:detach']);
    expect(outgoing.release().map((b) => b.toString())).toEqual(['unprocessed', 'hello']);
    expect(incoming.release()).toEqual([]);

    const tlsClient = new PassThrough();
    const tlsServer = new PassThrough();
    outgoing.attach(tlsClient, tlsServer);
    incoming.attach(tlsServer, tlsClient);
    log.length = 0;
    // The plain streams are no longer the ports': nothing they emit reaches a flow.
    client.emit('data', Buffer.from('late'));
    client.emit('end');
    server.emit('drain');
    client.emit('drain');
    tlsClient.emit('data', Buffer.from('x'));
    tlsServer.emit('data', Buffer.from('y'));
    tlsClient.emit('drain');
    tlsServer.emit('drain');
    tlsServer.emit('end');
    expect(log).toEqual(['c-out:data:x', 'c-in:data:y', 'c-in:drain', 'c-out:drain', 'c-in:end']);
    expect(client.listenerCount('data')).toBe(0);
    expect(client.listenerCount('end')).toBe(0);
    expect(client.listenerCount('drain')).toBe(0);
    expect(server.listenerCount('drain')).toBe(0);
  });

  it('detaching one connection leaves another connection on the same listeners untouched', () => {
    const log: string[] = [];
    const one = pair('one', log);
    const two = pair('two', log);
    one.outgoing.detach();
    one.incoming.detach();
    two.client.emit('data', Buffer.from('still'));
    two.client.emit('drain');
    expect(log).toEqual(['one-out:detach', 'one-in:detach', 'two-out:data:still', 'two-in:drain']);
  });
});
