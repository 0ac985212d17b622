import { createHash } from 'node:crypto';
import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import type { ImEvent } from '@imspect/sdk';
import type { Verdict } from '@imspect/sdk';
import { randomChunks, rng, sleep, waitFor } from './helpers.js';
import { lineProtocol, relayFixtures } from './relay-harness.js';

const { upstream, relay, client, cleanups } = relayFixtures();

/** An upstream that collects and never answers (until the test writes). */
const collect = () => undefined;

/** Writes `chunks` one by one, yielding to the event loop between some of them so they cross as separate reads. */
async function writeChunks(socket: net.Socket, chunks: Uint8Array[], random: () => number): Promise<void> {
  for (const chunk of chunks) {
    if (!socket.write(chunk)) await new Promise((r) => socket.once('drain', r));
    if (random() < 0.3) await sleep(random() < 0.5 ? 0 : 1);
  }
}

/** Mixed traffic: message lines, other lines, long lines, UTF-8, binary, a partial line at the end. */
function traffic(random: () => number, lines: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < lines; i++) {
    const r = random();
    if (r < 0.4) parts.push(Buffer.from(`MSG peer${i % 7} hello ${i} ✓ ${'x'.repeat(Math.floor(random() * 50))}\n`));
    else if (r < 0.6) parts.push(Buffer.from(`PING ${i}\r\n`));
    else if (r < 0.7) parts.push(Buffer.from(`DATA ${'y'.repeat(2000 + Math.floor(random() * 5000))}\n`));
    else if (r < 0.9) {
      const bin = Buffer.alloc(1 + Math.floor(random() * 40));
      for (let j = 0; j < bin.length; j++) bin[j] = j % 10 === 9 ? 10 : Math.floor(random() * 256);
      parts.push(bin);
    } else parts.push(Buffer.from(`\n`));
  }
  parts.push(Buffer.from('MSG tail no newline'));
  return Buffer.concat(parts);
}

function countMessages(data: Buffer): number {
  return data
    .toString('utf8')
    .split('\n')
    .slice(0, -1)
    .filter((l) => /^MSG \S+ /s.test(l)).length;
}

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

describe('relay: bytes pass intact', () => {
  for (const [label, policy] of [
    ['no policy', {}],
    ['a sync pass filter', { filters: [{ name: 'pass', hooks: { check: (): Verdict => ({ action: 'pass' }) } }] }],
    ['an async pass filter', { filters: [{ name: 'later', hooks: { check: async (): Promise<Verdict> => ({ action: 'pass' }) } }] }],
  ] as const) {
    it(`both directions, random chunkings, ${label}`, async () => {
      for (const seed of [1, 2, 3]) {
        const random = rng(seed);
        const server = await upstream();
        const r = await relay(server.port, { protocol: lineProtocol(), ...policy });
        const c = await client(r.port);
        const clientPort = c.socket.localPort;
        const data = traffic(random, 300);
        await writeChunks(c.socket, randomChunks(data, random, 3000), random);
        c.socket.end();
        const back = await c.ended;
        const atServer = Buffer.concat(server.received[0]!);
        expect(atServer.length, `seed ${seed}`).toBe(data.length);
        expect(md5(atServer), `seed ${seed}`).toBe(md5(data));
        expect(back.length).toBe(data.length);
        expect(md5(back)).toBe(md5(data));
        const messages = countMessages(data);
        expect(messages).toBeGreaterThan(50);
        await waitFor(() => r.events.length === 2 * messages, 2_000, 'events');
        expect(r.events.filter((e) => e.direction === 'outgoing')).toHaveLength(messages);
        expect(r.events.filter((e) => e.direction === 'incoming')).toHaveLength(messages);
        expect(r.events.every((e) => e.protocol === 'lines' && e.type === 'message' && !e.filtered)).toBe(true);
        expect(r.events.filter((e) => e.direction === 'outgoing').map((e) => e.text!.split(' ')[1])).toEqual(
          data
            .toString('utf8')
            .split('\n')
            .slice(0, -1)
            .filter((l) => /^MSG \S+ /s.test(l))
            .map((l) => l.split(' ')[3]),
        );
        const first = r.events[0]!;
        expect(first.client).toEqual({ ip: '127.0.0.1', port: clientPort });
        expect(first.server).toEqual({ host: '127.0.0.1', port: server.port });
        for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
      }
    });
  }

  it('without a protocol plugin the connection is relayed unparsed', async () => {
    const server = await upstream();
    const r = await relay(server.port);
    const c = await client(r.port);
    const data = traffic(rng(9), 200);
    c.socket.end(data);
    const back = await c.ended;
    expect(md5(back)).toBe(md5(data));
    expect(r.events).toEqual([]);
  });
});

describe('relay: protocol by sniffing', () => {
  const sniffing = () => ({ ...lineProtocol(), sniff: (first: Uint8Array) => Buffer.from(first).toString('latin1').startsWith('MSG ') });

  it('recognised from the first client bytes: nothing is forwarded before the decision, then everything is parsed', async () => {
    const server = await upstream();
    const r = await relay(server.port, { protocol: sniffing(), sniffTimeoutMs: 2_000 });
    const c = await client(r.port);
    c.socket.write('MS');
    await sleep(30);
    expect(server.received[0] ?? []).toEqual([]);
    c.socket.end('G bob hi\nPING\n');
    expect((await c.ended).toString()).toBe('MSG bob hi\nPING\n');
    expect(r.events.filter((e) => e.type === 'message').map((e) => `${e.direction} ${e.text}`)).toEqual(['outgoing hi', 'incoming hi']);
    // Recognised on a port that names no protocol: one event says IM went by on an odd port.
    expect(r.events.filter((e) => e.type === 'other').map((e) => `${e.subtype} ${e.protocol} ${e.data?.['how']}`)).toEqual(['circumvention lines odd-port']);
  });

  it('not recognised in time: relayed unparsed, nothing lost', async () => {
    const server = await upstream();
    const r = await relay(server.port, { protocol: sniffing(), sniffTimeoutMs: 50 });
    const c = await client(r.port);
    c.socket.write('HELLO\n');
    await sleep(100);
    c.socket.end('MSG bob hi\n');
    expect((await c.ended).toString()).toBe('HELLO\nMSG bob hi\n');
    expect(r.events).toEqual([]);
  });

  it('the client ends before anything is recognised: its bytes still cross', async () => {
    const server = await upstream();
    const r = await relay(server.port, { protocol: sniffing(), sniffTimeoutMs: 2_000 });
    const c = await client(r.port);
    c.socket.end('HEL');
    expect((await c.ended).toString()).toBe('HEL');
  });
});

describe('relay: half-close', () => {
  it('client end reaches the server, which can still reply', async () => {
    const server = await upstream((socket) => {
      socket.on('end', () => {
        socket.write('MSG me thanks\n');
        setTimeout(() => socket.end('BYE\n'), 20);
      });
    });
    const r = await relay(server.port, { protocol: lineProtocol() });
    const c = await client(r.port);
    c.socket.end('MSG bob hi\nunterminated');
    const back = await c.ended;
    expect(back.toString()).toBe('MSG me thanks\nBYE\n');
    expect(Buffer.concat(server.received[0]!).toString()).toBe('MSG bob hi\nunterminated');
    expect(server.ended[0]).toBe(true);
    await waitFor(() => r.events.length === 2);
    expect(r.events.map((e) => [e.direction, e.remoteId, e.text])).toEqual([
      ['outgoing', 'bob', 'hi'],
      ['incoming', 'me', 'thanks'],
    ]);
  });

  it('server end reaches the client, which can still send', async () => {
    const server = await upstream((socket) => socket.end('WELCOME\n'));
    const r = await relay(server.port, { protocol: lineProtocol() });
    const c = await client(r.port);
    await c.ended;
    expect(c.received().toString()).toBe('WELCOME\n');
    c.socket.end('MSG bob late\n');
    await waitFor(() => server.ended[0] === true, 2_000, 'server sees end');
    expect(Buffer.concat(server.received[0]!).toString()).toBe('MSG bob late\n');
  });
});

describe('relay: policy', () => {
  const blockBad = (respond?: string) => ({
    name: 'badwords',
    hooks: {
      check: (e: Readonly<ImEvent>): Verdict => (e.text?.includes('bad') ? { action: 'block', categories: ['2 badwords'], ...(respond ? { respond } : {}) } : { action: 'pass' }),
    },
  });

  it('a filter drops exactly the blocked frame and the client gets the response', async () => {
    const server = await upstream(collect);
    const r = await relay(server.port, { protocol: lineProtocol(), filters: [blockBad('message blocked')] });
    const c = await client(r.port);
    c.socket.write('MSG bob hello\nMSG bob a bad word\nPING 1\nMSG bob bye\n');
    await waitFor(
      () =>
        Buffer.concat(server.received[0] ?? [])
          .toString()
          .includes('bye'),
      2_000,
      'server data',
    );
    expect(Buffer.concat(server.received[0]!).toString()).toBe('MSG bob hello\nPING 1\nMSG bob bye\n');
    await waitFor(() => c.received().length >= 26, 2_000, 'response');
    expect(c.received().toString()).toBe('NOTICE me message blocked\n');
    await waitFor(() => r.events.length === 3);
    expect(r.events.map((e) => [e.text, e.filtered, e.categories])).toEqual([
      ['hello', false, []],
      ['a bad word', true, ['2 badwords']],
      ['bye', false, []],
    ]);
  });

  it('a session that carries replies in the server’s next message (respondLater) gets them there, none between frames', async () => {
    let serverSocket: net.Socket | undefined;
    const server = await upstream((socket) => {
      serverSocket = socket;
    });
    const r = await relay(server.port, { protocol: lineProtocol({ respondLater: 'queue' }), filters: [blockBad('message blocked')] });
    const c = await client(r.port);
    c.socket.write('MSG bob a bad word\nMSG bob fine\n');
    await waitFor(() => Buffer.concat(server.received[0] ?? []).toString() === 'MSG bob fine\n', 2_000, 'server data');
    // Nothing was written to the client on its own: the reply waits for the server's next message.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(c.received().toString()).toBe('');
    serverSocket!.write('PONG 1\n');
    await waitFor(() => c.received().toString().endsWith('PONG 1\n'), 2_000, 'the reply with the next message');
    expect(c.received().toString()).toBe('LATER message blocked\nPONG 1\n');
  });

  it('a session that cannot take a reply for later, or fails to, answers with respond (the failure logged)', async () => {
    for (const mode of ['decline', 'throw'] as const) {
      const server = await upstream(collect);
      const r = await relay(server.port, { protocol: lineProtocol({ respondLater: mode }), filters: [blockBad('message blocked')] });
      const c = await client(r.port);
      c.socket.write('MSG bob a bad word\n');
      await waitFor(() => c.received().toString() === 'NOTICE me message blocked\n', 2_000, `${mode}: the reply`);
      const failures = r.logs.filter((l) => l.msg === 'could not queue a response');
      expect(failures.length, mode).toBe(mode === 'throw' ? 1 : 0);
    }
  });

  it('an incoming blocked frame: the response comes after the frames before it', async () => {
    const server = await upstream((socket) => socket.write('MSG alice one\nMSG alice bad two\nMSG alice three\n'));
    const r = await relay(server.port, { protocol: lineProtocol(), filters: [blockBad('blocked')] });
    const c = await client(r.port);
    const expected = 'MSG alice one\nNOTICE me blocked\nMSG alice three\n';
    await waitFor(() => c.received().length >= expected.length, 2_000, 'frames');
    expect(c.received().toString()).toBe(expected);
    expect(r.events.map((e) => e.filtered)).toEqual([false, true, false]);
  });

  it('an async filter keeps frame order and still blocks', async () => {
    const random = rng(42);
    const filter = {
      name: 'slow',
      hooks: {
        check: (e: Readonly<ImEvent>) =>
          new Promise<Verdict>((resolve) =>
            setTimeout(() => resolve(e.text?.includes('bad') ? { action: 'block', respond: `no ${e.text}` } : { action: 'pass' }), Math.floor(random() * 4)),
          ),
      },
    };
    const server = await upstream(collect);
    const r = await relay(server.port, { protocol: lineProtocol(), filters: [filter] });
    const c = await client(r.port);
    const lines: string[] = [];
    for (let i = 0; i < 120; i++) lines.push(i % 10 === 3 ? `MSG bob bad ${i}\n` : i % 3 === 0 ? `PLAIN ${i}\n` : `MSG bob good ${i}\n`);
    const data = Buffer.from(lines.join(''));
    await writeChunks(c.socket, randomChunks(data, random, 40), random);
    const expected = lines.filter((l) => !l.includes('bad')).join('');
    await waitFor(() => Buffer.concat(server.received[0] ?? []).length >= expected.length, 10_000, 'all frames');
    expect(Buffer.concat(server.received[0]!).toString()).toBe(expected);
    const notices = lines
      .filter((l) => l.includes('bad'))
      .map((l) => `NOTICE me no ${l.slice(8, -1)}\n`)
      .join('');
    await waitFor(() => c.received().length >= notices.length, 2_000, 'responses');
    expect(c.received().toString()).toBe(notices);
    expect(r.events.filter((e) => e.filtered).map((e) => e.text)).toEqual(lines.filter((l) => l.includes('bad')).map((l) => l.slice(8, -1)));
  });

  it('a content plugin rewrites the text that reaches the server; the event keeps both', async () => {
    const server = await upstream(collect);
    const mask = { name: 'mask', hooks: { transform: (e: Readonly<ImEvent>) => (e.text?.includes('darn') ? e.text.replace(/darn/g, '****') : undefined) } };
    const shout = { name: 'shout', hooks: { transform: async (e: Readonly<ImEvent>) => e.text?.toUpperCase() } };
    const r = await relay(server.port, { protocol: lineProtocol(), contents: [mask, shout] });
    const c = await client(r.port);
    c.socket.write('MSG bob oh darn it\nPING\nMSG bob fine\n');
    await waitFor(
      () =>
        Buffer.concat(server.received[0] ?? [])
          .toString()
          .endsWith('FINE\n'),
      2_000,
      'server data',
    );
    expect(Buffer.concat(server.received[0]!).toString()).toBe('MSG bob OH **** IT\nPING\nMSG bob FINE\n');
    expect(r.events.map((e) => [e.text, e.deliveredText])).toEqual([
      ['oh darn it', 'OH **** IT'],
      ['fine', 'FINE'],
    ]);
  });

  it("puts the session's network on every event, unless the draft names its own; no network, no field", async () => {
    const server = await upstream(collect);
    const r = await relay(server.port, { protocol: lineProtocol({ network: 'irc.example.net' }) });
    const c = await client(r.port);
    c.socket.write('MSG bob hi\nMSGNET other.example bob there\n');
    await waitFor(() => r.events.length === 2, 2_000, 'two events');
    expect(r.events.map((e) => [e.text, e.network])).toEqual([
      ['hi', 'irc.example.net'],
      ['there', 'other.example'],
    ]);
    const plain = await relay(server.port, { protocol: lineProtocol() });
    const d = await client(plain.port);
    d.socket.write('MSG bob global ids\n');
    await waitFor(() => plain.events.length === 1, 2_000, 'one event');
    expect('network' in plain.events[0]!).toBe(false);
  });

  it('a content plugin that leaves the text as it was sets no deliveredText', async () => {
    const server = await upstream(collect);
    const same = { name: 'same', hooks: { transform: (e: Readonly<ImEvent>) => e.text } };
    const r = await relay(server.port, { protocol: lineProtocol(), contents: [same] });
    const c = await client(r.port);
    c.socket.write('MSG bob same\n');
    await waitFor(() => r.events.length === 1);
    expect(r.events[0]!.deliveredText).toBeUndefined();
    await waitFor(() => Buffer.concat(server.received[0] ?? []).length === 13);
    expect(Buffer.concat(server.received[0]!).toString()).toBe('MSG bob same\n');
  });

  for (const mode of ['sync', 'async'] as const) {
    const thrower = {
      name: 'thrower',
      hooks: {
        check:
          mode === 'sync'
            ? (): Verdict => {
                throw new Error('filter exploded');
              }
            : async (): Promise<Verdict> => {
                throw new Error('filter exploded');
              },
      },
    };

    it(`a ${mode} throwing filter is fail-open by default; the error names the plugin`, async () => {
      const server = await upstream(collect);
      const r = await relay(server.port, { protocol: lineProtocol(), filters: [thrower] });
      const c = await client(r.port);
      c.socket.write('MSG bob hi\n');
      await waitFor(() => Buffer.concat(server.received[0] ?? []).length === 11, 2_000, 'forwarded');
      expect(Buffer.concat(server.received[0]!).toString()).toBe('MSG bob hi\n');
      expect(r.events.map((e) => [e.filtered, e.categories])).toEqual([[false, []]]);
      const error = r.logs.find((l) => l.level === 'error' && (l.obj as { plugin?: string }).plugin === 'thrower');
      expect(error).toBeDefined();
      expect((error!.obj as { hook: string }).hook).toBe('check');
      expect(((error!.obj as { err: Error }).err as Error).message).toBe('plugin "thrower" failed in check: filter exploded');
    });

    it(`a ${mode} throwing filter blocks when failMode is closed`, async () => {
      const server = await upstream(collect);
      const r = await relay(server.port, { protocol: lineProtocol(), filters: [thrower], failMode: 'closed' });
      const c = await client(r.port);
      c.socket.write('MSG bob hi\nPING\n');
      await waitFor(() => Buffer.concat(server.received[0] ?? []).length === 5, 2_000, 'forwarded');
      await sleep(20);
      expect(Buffer.concat(server.received[0]!).toString()).toBe('PING\n');
      expect(r.events.map((e) => [e.filtered, e.categories])).toEqual([[true, ['error thrower']]]);
      expect(r.logs.some((l) => l.level === 'error' && (l.obj as { plugin?: string }).plugin === 'thrower')).toBe(true);
    });
  }

  it('a filter that hangs times out (fail-open) and the frame goes on', async () => {
    const server = await upstream(collect);
    const hang = { name: 'hang', hooks: { check: () => new Promise<Verdict>(() => undefined) } };
    const r = await relay(server.port, { protocol: lineProtocol(), filters: [hang], hookTimeoutMs: 50 });
    const c = await client(r.port);
    c.socket.write('MSG bob hi\n');
    await waitFor(() => Buffer.concat(server.received[0] ?? []).length === 11, 2_000, 'forwarded');
    const error = r.logs.find((l) => l.level === 'error' && (l.obj as { plugin?: string }).plugin === 'hang');
    expect((error!.obj as { err: { code: string } }).err.code).toBe('PLUGIN_HOOK_TIMEOUT');
  });
});

describe('relay: protocol failures never lose bytes', () => {
  it('a parser that throws mid-stream: every byte arrives in order, the rest is relayed raw', async () => {
    const server = await upstream();
    const protocol = lineProtocol();
    const r = await relay(server.port, {
      protocol,
      filters: [{ name: 'f', hooks: { check: (e: Readonly<ImEvent>): Verdict => ({ action: e.text === 'bad' ? 'block' : 'pass' }) } }],
    });
    const c = await client(r.port);
    const random = rng(7);
    const before = 'MSG bob one\nMSG bob tw';
    const after = 'o\nCRASH\nMSG bob bad\nMSG bob three\n' + traffic(random, 100).toString('latin1');
    c.socket.write(before);
    await waitFor(() => Buffer.concat(server.received[0] ?? []).length === 12, 2_000, 'first frame');
    await writeChunks(c.socket, randomChunks(Buffer.from(after, 'latin1'), random, 500), random);
    c.socket.end();
    const back = await c.ended;
    const data = Buffer.from(before + after, 'latin1');
    expect(md5(Buffer.concat(server.received[0]!))).toBe(md5(data));
    expect(md5(back)).toBe(md5(data));
    // Events only from before the crash: nothing after it is parsed (or judged) any more.
    expect(r.events.map((e) => `${e.direction} ${e.text}`)).toEqual(['outgoing one', 'incoming one']);
    expect(r.logs.some((l) => l.level === 'error' && (l.obj as { plugin?: string; hook?: string }).plugin === 'lines' && (l.obj as { hook?: string }).hook === 'push')).toBe(true);
  });

  it('a parser that returns malformed frames is treated as failed, and nothing is lost', async () => {
    const server = await upstream();
    const r = await relay(server.port, { protocol: lineProtocol() });
    const c = await client(r.port);
    c.socket.write('MSG bob one\n');
    await waitFor(() => r.events.length === 2, 2_000, 'events');
    c.socket.end('GARBAGE\nMSG bob two\n');
    const back = await c.ended;
    expect(back.toString()).toBe('MSG bob one\nGARBAGE\nMSG bob two\n');
    expect(Buffer.concat(server.received[0]!).toString()).toBe('MSG bob one\nGARBAGE\nMSG bob two\n');
    expect(r.events.map((e) => e.text)).toEqual(['one', 'one']);
    expect(r.logs.some((l) => l.level === 'error' && (l.obj as { plugin?: string }).plugin === 'lines')).toBe(true);
  });

  it('a parser that holds more than maxFrameSize: every byte arrives in order, memory stays bounded', async () => {
    const server = await upstream();
    const protocol = lineProtocol({ holdAll: true });
    const r = await relay(server.port, { protocol, maxFrameSize: 4096 });
    const c = await client(r.port);
    const random = rng(11);
    const data = Buffer.alloc(512 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = Math.floor(random() * 256);
    await writeChunks(c.socket, randomChunks(data, random, 1500), random);
    c.socket.end();
    const back = await c.ended;
    expect(md5(Buffer.concat(server.received[0]!))).toBe(md5(data));
    expect(md5(back)).toBe(md5(data));
    // The parser was given little more than its limit before the connection went raw.
    expect(protocol.sessions[0]!.pushed.outgoing).toBeLessThan(4096 + 64 * 1024 + 1);
    expect(protocol.sessions[0]!.pushed.outgoing).toBeGreaterThan(4096);
    expect(r.logs.some((l) => /holds more than its frame limit/.test(l.msg ?? ''))).toBe(true);
  });

  it("upgrade: 'tls' - everything after the frame passes untouched, in both directions", async () => {
    const server = await upstream();
    const r = await relay(server.port, {
      protocol: lineProtocol(),
      filters: [{ name: 'f', hooks: { check: (e: Readonly<ImEvent>): Verdict => ({ action: e.text?.includes('bad') ? 'block' : 'pass' }) } }],
      contents: [{ name: 'up', hooks: { transform: (e: Readonly<ImEvent>) => e.text?.toUpperCase() } }],
    });
    const c = await client(r.port);
    const random = rng(5);
    const tlsish = Buffer.alloc(20_000);
    for (let i = 0; i < tlsish.length; i++) tlsish[i] = Math.floor(random() * 256);
    // Same chunk as the TLS line: bytes that look like frames, including one a filter would block, and a
    // partial line.
    const first = Buffer.from('MSG bob plain\nTLS\nMSG bob bad\nMSG bob lower\npartial');
    c.socket.write(first);
    await waitFor(() => Buffer.concat(server.received[0] ?? []).length >= first.length - 14, 2_000, 'first chunk');
    // Later chunks: the parser is not called any more (CRASH would make it throw).
    await writeChunks(c.socket, randomChunks(Buffer.concat([Buffer.from('MSG bob bad\nCRASH\n'), tlsish]), random, 700), random);
    c.socket.end();
    const back = await c.ended;
    const expected = Buffer.concat([Buffer.from('MSG bob PLAIN\n'), first.subarray('MSG bob plain\n'.length), Buffer.from('MSG bob bad\nCRASH\n'), tlsish]);
    const atServer = Buffer.concat(server.received[0]!);
    expect(atServer.subarray(0, 80).toString('latin1')).toBe(expected.subarray(0, 80).toString('latin1'));
    expect(md5(atServer)).toBe(md5(expected));
    expect(md5(back)).toBe(md5(expected));
    // The echo comes back after the switch: nothing in it is parsed.
    expect(r.events.map((e) => `${e.direction} ${e.type} ${e.text} ${e.filtered}`)).toEqual(['outgoing message plain false', 'outgoing encrypted undefined false']);
    expect(r.logs.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('the client resets while an async filter decides: the close is reported after the last events, counted', async () => {
    let release: (() => void) | undefined;
    const gate = new Promise<void>((r) => (release = r));
    const slow = { name: 'slow', hooks: { check: async (): Promise<Verdict> => (await gate, { action: 'pass' }) } };
    let serverSocket: net.Socket | undefined;
    const server = await upstream((socket) => {
      serverSocket = socket;
    });
    const r = await relay(server.port, { protocol: lineProtocol(), filters: [slow] });
    const c = await client(r.port);
    await waitFor(() => serverSocket !== undefined && r.connections.length === 1);
    let eventsAtClose: string[] | undefined;
    const reported: Array<[string, unknown]> = [];
    r.connections[0]!.onClose((closed) => {
      reported.push(['first', closed]);
      eventsAtClose = r.events.map((e) => e.text ?? '');
    });
    // A second listener: each is called, in order, with the connection.
    r.connections[0]!.onClose((closed) => reported.push(['second', closed]));
    c.socket.write('MSG you first\nMSG you last\n');
    await sleep(30);
    // A reset: the relay cuts the server side at once, with both messages still waiting for the filter.
    c.socket.resetAndDestroy();
    const conn = r.connections[0]!;
    await waitFor(() => conn.clientSocket.closed && conn.upstreamSocket.closed, 2_000, 'both of the relay’s sockets closed');
    await sleep(50);
    release!();
    await waitFor(() => eventsAtClose !== undefined, 2_000, 'the close reported');
    expect(eventsAtClose).toEqual(['first', 'last']);
    expect(reported.map(([which]) => which)).toEqual(['first', 'second']);
    for (const [, closed] of reported) expect(closed).toBe(conn);
    const closed = r.logs.find((l) => l.msg === 'connection closed');
    expect((closed?.obj as { events?: number } | undefined)?.events).toBe(2);
  });

  it('a parser failure in one direction while the other waits for an async filter keeps that direction in order', async () => {
    let release: (() => void) | undefined;
    const gate = new Promise<void>((r) => (release = r));
    const slow = {
      name: 'slow',
      hooks: { check: async (e: Readonly<ImEvent>): Promise<Verdict> => (e.text === 'slow' ? (await gate, { action: 'pass' }) : { action: 'pass' }) },
    };
    let serverSocket: net.Socket | undefined;
    const server = await upstream((socket) => {
      serverSocket = socket;
    });
    const r = await relay(server.port, { protocol: lineProtocol(), filters: [slow] });
    const c = await client(r.port);
    await waitFor(() => serverSocket !== undefined);
    // Incoming: a frame held by the slow filter, then the start of the next line, which the parser holds.
    serverSocket!.write('MSG me slow\nMSG me par');
    await sleep(30);
    // Outgoing: the parser crashes; both directions go raw.
    c.socket.write('CRASH\n');
    await waitFor(() => Buffer.concat(server.received[0] ?? []).length === 6, 2_000, 'crash line forwarded');
    release!();
    serverSocket!.end('tial\n');
    const back = await c.ended;
    expect(back.toString()).toBe('MSG me slow\nMSG me partial\n');
  });

  it('a TLS upgrade decided after an async filter: later bytes of the same chunk pass in order', async () => {
    const server = await upstream(collect);
    const r = await relay(server.port, {
      protocol: lineProtocol(),
      filters: [{ name: 'async', hooks: { check: async (e: Readonly<ImEvent>): Promise<Verdict> => ({ action: e.text === 'bad' ? 'block' : 'pass' }) } }],
    });
    const c = await client(r.port);
    c.socket.write('MSG bob hi\nTLS\nMSG bob bad\nabc');
    c.socket.end('def');
    await waitFor(() => server.ended[0] === true, 2_000, 'server end');
    expect(Buffer.concat(server.received[0]!).toString()).toBe('MSG bob hi\nTLS\nMSG bob bad\nabcdef');
  });
});

describe('relay: backpressure', () => {
  for (const withProtocol of [false, true]) {
    it(`a slow server pauses the client side (${withProtocol ? 'parsed' : 'raw'})`, async () => {
      const server = await upstream((socket) => socket.pause());
      const r = await relay(server.port, withProtocol ? { protocol: lineProtocol() } : {});
      const c = await client(r.port);
      const line = Buffer.from(`MSG bob ${'z'.repeat(1000)}\n`);
      const block = Buffer.concat(new Array(64).fill(line));
      const total = 48 * 1024 * 1024;
      let written = 0;
      let maxUpstreamBuffered = 0;
      let sawPaused = false;
      const sample = setInterval(() => {
        const conn = r.connections[0];
        if (!conn) return;
        maxUpstreamBuffered = Math.max(maxUpstreamBuffered, conn.upstreamSocket.writableLength);
        if (conn.clientSocket.isPaused()) sawPaused = true;
      }, 1);
      cleanups.push(() => clearInterval(sample));
      // The client writes without waiting: whatever the relay does not read stays in the client's own buffer.
      while (written < total) {
        c.socket.write(block);
        written += block.length;
      }
      // Once the kernel buffers between relay and server are full, the relay stops reading from the client.
      await waitFor(() => sawPaused, 20_000, 'client side paused');
      await sleep(100);
      const conn = r.connections[0]!;
      maxUpstreamBuffered = Math.max(maxUpstreamBuffered, conn.upstreamSocket.writableLength);
      expect(conn.clientSocket.isPaused()).toBe(true);
      expect(conn.clientSocket.readableLength).toBeLessThanOrEqual(256 * 1024);
      // The relay stops reading once the upstream socket is full: about one read chunk (64 KiB) is buffered.
      expect(maxUpstreamBuffered).toBeLessThanOrEqual(256 * 1024);
      // Nearly everything still waits on the client's side.
      expect(c.socket.writableLength).toBeGreaterThan(total / 2);
      // Now the server reads: everything arrives.
      const before = server.received[0]!.reduce((n, b) => n + b.length, 0);
      let got = 0;
      server.sockets[0]!.on('data', (chunk: Buffer) => (got += chunk.length));
      server.sockets[0]!.resume();
      c.socket.end();
      await waitFor(() => server.ended[0] === true, 30_000, 'server end');
      expect(got + before).toBe(written);
      clearInterval(sample);
      expect(maxUpstreamBuffered).toBeLessThanOrEqual(256 * 1024);
      if (withProtocol) await waitFor(() => r.events.length === written / line.length, 5_000, 'events');
    });
  }
});
