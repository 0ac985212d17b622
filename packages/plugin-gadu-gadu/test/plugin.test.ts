import { describe, expect, it } from 'vitest';
import { isPlugin } from '@imspect/sdk';
import plugin, { DEFAULT_PORTS, GgSession } from '../src/index.js';
import { sniffGaduGadu } from '../src/sniff.js';
import { gg, u32, u8, zeros } from './helpers.js';

const ctx = (options: Record<string, unknown>) => ({ name: 'gadu-gadu', options, hostVersion: '0.1.0', dataDir: '/tmp', configDir: '/tmp', logger: undefined as never }) as never;
const endpoint = { client: { ip: '192.0.2.1', port: 1 }, server: { host: '91.214.237.10', port: 8074 } };

describe('the plugin', () => {
  it('is the protocol plugin "gadu-gadu" on port 8074 with a 1 MiB packet limit', async () => {
    expect(isPlugin(plugin)).toBe(true);
    expect(plugin.name).toBe('gadu-gadu');
    expect(plugin.kind).toBe('protocol');
    const hooks = await plugin.setup(ctx({}));
    expect(hooks.ports).toEqual(DEFAULT_PORTS);
    expect(hooks.ports).toEqual([8074]);
    expect(hooks.maxFrameSize).toBe(1024 * 1024);
    const session = hooks.createSession({ ...endpoint, maxFrameSize: 4096 });
    expect(session).toBeInstanceOf(GgSession);
    expect((session as GgSession).maxPacketBytes).toBe(4096);
    expect((await plugin.setup(ctx({ ports: [8074, 443] }))).ports).toEqual([8074, 443]);
  });

  it('keeps the packet limit at least a header', () => {
    expect(new GgSession({ ...endpoint, maxFrameSize: 1 }).maxPacketBytes).toBe(8);
    expect(new GgSession({ ...endpoint, maxFrameSize: Number.NaN }).maxPacketBytes).toBe(1024 * 1024);
  });
});

describe('sniff', () => {
  it("claims a server's GG_WELCOME and a client's login packet, nothing else", () => {
    expect(sniffGaduGadu(gg(0x01, u32(0x1234)), 'incoming')).toBe(true);
    expect(sniffGaduGadu(gg(0x31, zeros(139)), 'outgoing')).toBe(true);
    expect(sniffGaduGadu(gg(0x19, zeros(92)), 'outgoing')).toBe(true);
    expect(sniffGaduGadu(gg(0x83, zeros(200)), 'outgoing')).toBe(true);
    expect(sniffGaduGadu(gg(0x01, u32(1), u8(0)), 'incoming')).toBe(false); // a welcome has a 4-byte body
    expect(sniffGaduGadu(gg(0x31, zeros(10)), 'outgoing')).toBe(false); // too short for a login
    expect(sniffGaduGadu(gg(0x0b, zeros(20)), 'outgoing')).toBe(false); // a message is not how a session starts
    for (const no of ['GET / HTTP/1.1\r\n', 'YMSG\0\x10\0\0', '\x16\x03\x01\x02\x00\x01\x00\x01', '', '\x01\0\0']) {
      expect(sniffGaduGadu(Buffer.from(no, 'latin1'), 'incoming'), JSON.stringify(no)).toBe(false);
      expect(sniffGaduGadu(Buffer.from(no, 'latin1'), 'outgoing'), JSON.stringify(no)).toBe(false);
    }
  });
});
