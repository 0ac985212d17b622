/**
 * @imspect/plugin-gadu-gadu: Gadu-Gadu as a protocol plugin. Packets in, frames and events out: messages (the
 * CP1250 packets before 8.0, the HTML and plain parts of 8.0, the protocol buffers of 11.0), conference
 * recipients, typing, status, contact lists, DCC7 file offers, images, login and logout.
 */
import { definePlugin, Type, type ProtocolHooks, type SessionContext } from '@imspect/sdk';
import { DEFAULT_MAX_PACKET_BYTES, GgSession } from './session.js';
import { sniffGaduGadu } from './sniff.js';

export { GgSession, DEFAULT_MAX_PACKET_BYTES } from './session.js';
export { sniffGaduGadu } from './sniff.js';
export { GgFramer, type FramerItem, type PacketHeader } from './framer.js';
export { In, Out, HEADER_BYTES } from './packet-types.js';

export const DEFAULT_PORTS = [8074];

export const GaduGaduOptions = Type.Object(
  {
    ports: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: 65535 }), { default: DEFAULT_PORTS, description: 'Gadu-Gadu server ports' })),
  },
  { additionalProperties: false },
);

export default definePlugin({
  name: 'gadu-gadu',
  kind: 'protocol',
  options: GaduGaduOptions,
  setup({ options }): ProtocolHooks {
    return {
      ports: [...(options?.ports ?? DEFAULT_PORTS)],
      maxFrameSize: DEFAULT_MAX_PACKET_BYTES,
      sniff: sniffGaduGadu,
      createSession: (ctx: SessionContext) => new GgSession(ctx),
    };
  },
});
