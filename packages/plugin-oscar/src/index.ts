/**
 * @imspect/plugin-oscar: ICQ and AIM (OSCAR) as a protocol plugin. FLAPs in, frames and events out: messages in
 * every charset (HTML kept and reduced to text), typing, file-transfer and direct-connect offers, buddy-list
 * edits, logins with the client's name and version, logouts, ICQ offline messages. Through a forward listener the
 * server addresses the authorizer and service redirects hand out are pointed at imspect, and the cookie's next
 * connection is routed to the real server.
 */
import { definePlugin, Type, type ProtocolHooks, type SessionContext } from '@imspect/sdk';
import { Channel, encodeFlap } from './flap.js';
import { OscarRoutes } from './routes.js';
import { DEFAULT_MAX_FLAP_BYTES, OscarSession } from './session.js';
import { sniffOscar } from './sniff.js';

export { OscarSession, DEFAULT_MAX_FLAP_BYTES, type OscarSessionOptions } from './session.js';
export { OscarRoutes } from './routes.js';
export { FlapReader, type ReaderItem } from './flap-reader.js';
export { Channel, encodeFlap, decodeFlapHeader, FLAP_HEADER_BYTES, MAX_FLAP_BYTES } from './flap.js';
export { sniffOscar } from './sniff.js';
export { normaliseScreenName } from './screen-name.js';
export { htmlToText } from './text.js';

export const DEFAULT_PORTS = [5190];

/** The server's hello on a new connection: channel 1, protocol version 1. */
const SERVER_HELLO = encodeFlap(Channel.SIGNON, 0x0001, Uint8Array.of(0, 0, 0, 1));

export const OscarOptions = Type.Object(
  {
    ports: Type.Optional(
      Type.Array(Type.Integer({ minimum: 1, maximum: 65535 }), { default: DEFAULT_PORTS, description: 'OSCAR server ports (authorizer, BOS and service servers)' }),
    ),
    typing: Type.Optional(Type.Boolean({ default: true, description: 'Report typing notifications as typing events' })),
    noticeName: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, default: 'imspect', description: 'Screen name notices come from when they concern no conversation (a login, the client)' }),
    ),
  },
  { additionalProperties: false },
);

export default definePlugin({
  name: 'oscar',
  kind: 'protocol',
  options: OscarOptions,
  setup({ options }): ProtocolHooks {
    const routes = new OscarRoutes();
    const sessionOptions = { routes, typing: options?.typing ?? true, noticeName: options?.noticeName ?? 'imspect' };
    return {
      ports: [...(options?.ports ?? DEFAULT_PORTS)],
      maxFrameSize: DEFAULT_MAX_FLAP_BYTES,
      sniff: sniffOscar,
      createSession: (ctx: SessionContext) => new OscarSession(ctx, sessionOptions),
      routeForward: (firstBytes, client) => routes.route(firstBytes, client),
      // OSCAR servers speak first and clients (AIM 6 among them) wait for that hello before sending the cookie
      // that routing needs: a routing forward listener says it in the server's place.
      forwardGreeting: SERVER_HELLO,
    };
  },
});
