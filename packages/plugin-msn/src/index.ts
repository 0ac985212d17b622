/**
 * @imspect/plugin-msn: MSN / Windows Live Messenger (MSNP8 to MSNP18, MSNP21) as a protocol plugin. Command
 * lines and counted payloads in, frames and events out: messages, typing, file and webcam offers, emoticon and
 * display-picture transfers, switchboard joins and leaves, logins, contact-list changes. Through a forward
 * listener, server redirects (`XFR`, `RNG`) are pointed at imspect and routed to the real server.
 */
import { definePlugin, Type, type ProtocolHooks, type SessionContext } from '@imspect/sdk';
import { MsnConnectionSession } from './connection-session.js';
import { GatewaySessions } from './gateway-sessions.js';
import { MsnHttpSession } from './http-session.js';
import { MsnRoutes } from './routes.js';
import { DEFAULT_MAX_LINE_BYTES, DEFAULT_MAX_PAYLOAD_BYTES, MIN_MAX_LINE_BYTES, MsnSession } from './session.js';
import { sniffMsn } from './sniff.js';

export { MsnSession, DEFAULT_MAX_LINE_BYTES, DEFAULT_MAX_PAYLOAD_BYTES, MIN_MAX_LINE_BYTES, type MsnSessionOptions } from './session.js';
export { MsnFramer, type FramerItem, type CommandItem, type PassItem } from './framer.js';
export { payloadLength, splitCommand, bareId, versionNumber } from './commands.js';
export { findSlpInvite, decodeFileContext, decodeMsnObject, EUF_GUID, type SlpInvite } from './slp.js';
export { MsnRoutes, parseHostPort, formatHostPort } from './routes.js';
export { sniffMsn } from './sniff.js';
export { MsnHttpSession, type MsnHttpOptions } from './http-session.js';
export { MsnConnectionSession } from './connection-session.js';
export { GatewaySessions, GatewaySession, type GatewaySessionsOptions } from './gateway-sessions.js';
export { parseGatewayTarget, parseMessengerHeader, pollTarget, GATEWAY_PATH, type GatewayRequest, type MessengerHeader } from './gateway.js';

export const DEFAULT_PORTS = [1863];

export const MsnOptions = Type.Object(
  {
    maxLineBytes: Type.Optional(
      Type.Integer({
        minimum: MIN_MAX_LINE_BYTES,
        maximum: 1024 * 1024,
        default: DEFAULT_MAX_LINE_BYTES,
        description: 'Longest command line the parser buffers; longer lines pass through unparsed with a frame-too-large error',
      }),
    ),
    maxPayloadBytes: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 64 * 1024 * 1024,
        default: DEFAULT_MAX_PAYLOAD_BYTES,
        description: 'Largest command payload (MSG, ADL, SDG, ...) the parser buffers; a larger one passes through unparsed with a payload-too-large error',
      }),
    ),
    typing: Type.Optional(Type.Boolean({ default: true, description: 'Report typing notifications as typing events' })),
    ports: Type.Optional(
      Type.Array(Type.Integer({ minimum: 1, maximum: 65535 }), { default: DEFAULT_PORTS, description: 'MSN server ports (notification and switchboard servers)' }),
    ),
    httpGateway: Type.Optional(
      Type.Boolean({
        default: true,
        description: "Read MSN's HTTP gateway (MSNP in POSTs to /gateway/gateway.dll) on HTTP connections the plugin is given (a port mapped to msn, or recognised by sniffing)",
      }),
    ),
    noticeName: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, default: 'imspect', description: 'Display name of the notices imspect sends to a client when policy blocks a message' }),
    ),
  },
  { additionalProperties: false },
);

export default definePlugin({
  name: 'msn',
  kind: 'protocol',
  options: MsnOptions,
  setup({ options }): ProtocolHooks {
    const maxLineBytes = options?.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    const maxPayloadBytes = options?.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    const routes = new MsnRoutes();
    const sessionOptions = { maxLineBytes, maxPayloadBytes, typing: options?.typing ?? true, routes, noticeName: options?.noticeName ?? 'imspect' };
    // The gateway's MSN sessions outlive the HTTP connections that carry their requests: one map for the plugin.
    const gateway = new GatewaySessions(sessionOptions);
    const httpGateway = options?.httpGateway ?? true;
    return {
      ports: [...(options?.ports ?? DEFAULT_PORTS)],
      maxFrameSize: maxLineBytes + maxPayloadBytes,
      sniff: httpGateway ? sniffMsn : (bytes, direction) => sniffMsn(bytes, direction, { gateway: false }),
      createSession: (ctx: SessionContext) => {
        if (!httpGateway) return new MsnSession(ctx, sessionOptions);
        // A gateway message (head and body) is read whole within the same limit as an MSNP command.
        const maxMessageBytes = Math.min(maxLineBytes + maxPayloadBytes, ctx.maxFrameSize);
        return new MsnConnectionSession(
          () => new MsnSession(ctx, sessionOptions),
          () => new MsnHttpSession(ctx, { sessions: gateway, maxMessageBytes, routes }),
        );
      },
      routeForward: (firstBytes, client) => routes.route(firstBytes, client),
    };
  },
});
