import { describe, expect, it } from 'vitest';
import { isPlugin } from '@imspect/sdk';
import plugin, { DEFAULT_PORTS, YahooSession } from '../src/index.js';
import { sniffYmsg } from '../src/sniff.js';
import { decodeHeader } from '../src/packet.js';
import { ymsg } from './helpers.js';

const ctx = (options: Record<string, unknown>) => ({ name: 'yahoo', options, hostVersion: '0.1.0', dataDir: '/tmp', configDir: '/tmp', logger: undefined as never }) as never;
const endpoint = { client: { ip: '192.0.2.1', port: 1 }, server: { host: 'scs.msg.yahoo.com', port: 5050 } };

describe('the plugin', () => {
  it('is a protocol plugin on port 5050 whose frame limit holds the largest YMSG packet', async () => {
    expect(isPlugin(plugin)).toBe(true);
    expect(plugin.name).toBe('yahoo');
    expect(plugin.kind).toBe('protocol');
    const hooks = await plugin.setup(ctx({}));
    expect(hooks.ports).toEqual(DEFAULT_PORTS);
    expect(hooks.ports).toEqual([5050]);
    expect(hooks.maxFrameSize).toBe(20 + 0xffff);
    const session = hooks.createSession({ ...endpoint, maxFrameSize: 4096 });
    expect(session).toBeInstanceOf(YahooSession);
    expect((session as YahooSession).maxPacketBytes).toBe(4096);
  });

  it('takes its ports option', async () => {
    expect((await plugin.setup(ctx({ ports: [5050, 5101] }))).ports).toEqual([5050, 5101]);
  });

  it('keeps the packet limit between a header and the largest packet', () => {
    expect(new YahooSession({ ...endpoint, maxFrameSize: 1 }).maxPacketBytes).toBe(20);
    expect(new YahooSession({ ...endpoint, maxFrameSize: 1e9 }).maxPacketBytes).toBe(65555);
    expect(new YahooSession({ ...endpoint, maxFrameSize: Number.NaN }).maxPacketBytes).toBe(65555);
  });
});

describe('sniff', () => {
  it('claims streams that start with "YMSG", from either side', () => {
    expect(sniffYmsg(ymsg({ service: 0x4c }), 'outgoing')).toBe(true);
    expect(sniffYmsg(ymsg({ service: 0x4c }), 'incoming')).toBe(true);
    for (const no of ['YMS', 'GET / HTTP/1.1\r\n', 'ymsg', 'NICK bob\r\n', '']) expect(sniffYmsg(Buffer.from(no), 'outgoing'), no).toBe(false);
  });
});

describe('header', () => {
  it('reads the version from two bytes or from the first byte alone', () => {
    expect(decodeHeader(ymsg({ service: 1, version: [0, 16, 0, 0] })).version).toBe(16);
    expect(decodeHeader(ymsg({ service: 1, version: [0x0a, 0, 0, 0] })).version).toBe(10);
    expect(decodeHeader(ymsg({ service: 1, version: [0, 0, 0, 0] })).version).toBe(0);
    const h = decodeHeader(ymsg({ service: 0xdc, status: 0x5a55aa56, sessionId: 0xb07072b5, version: [0, 15, 0, 0x22], pairs: [[1, 'a']] }));
    expect(h).toEqual({ version: 15, vendor: 0x22, bodyLength: 6, service: 0xdc, status: 0x5a55aa56, sessionId: 0xb07072b5 });
  });
});
