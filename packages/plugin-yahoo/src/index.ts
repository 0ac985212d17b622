/**
 * @imspect/plugin-yahoo: Yahoo Messenger (YMSG) as a protocol plugin. Packets in, frames and events out:
 * private and conference messages, typing, file offers, webcam invitations, login and logout.
 */
import { definePlugin, Type, type ProtocolHooks, type SessionContext } from '@imspect/sdk';
import { DEFAULT_MAX_PACKET_BYTES, YahooSession } from './session.js';
import { sniffYmsg } from './sniff.js';

export { YahooSession, DEFAULT_MAX_PACKET_BYTES, CONFERENCE_NOTICE_SENDER } from './session.js';
export { sniffYmsg } from './sniff.js';
export { decodeHeader, decodeBody, encodePacket, Service, HEADER_BYTES, MAX_BODY_BYTES, MAX_PACKET_BYTES, type YmsgHeader, type YmsgPair, type PairBytes } from './packet.js';
export { ymsgFramer, type YmsgFramer } from './framer.js';

export const DEFAULT_PORTS = [5050];

export const YahooOptions = Type.Object(
  {
    ports: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: 65535 }), { default: DEFAULT_PORTS, description: 'YMSG server ports' })),
  },
  { additionalProperties: false },
);

export default definePlugin({
  name: 'yahoo',
  kind: 'protocol',
  options: YahooOptions,
  setup({ options }): ProtocolHooks {
    return {
      ports: [...(options?.ports ?? DEFAULT_PORTS)],
      maxFrameSize: DEFAULT_MAX_PACKET_BYTES,
      sniff: sniffYmsg,
      createSession: (ctx: SessionContext) => new YahooSession(ctx),
    };
  },
});
