/**
 * @imspect/plugin-irc: IRC as a protocol plugin. Lines in, frames and events out (messages, notices,
 * actions, DCC offers, typing, joins/leaves, login/logout); STARTTLS hands the connection over to TLS.
 */
import { definePlugin, Type, type ProtocolHooks, type SessionContext } from '@imspect/sdk';
import { DEFAULT_MAX_LINE_BYTES, IrcSession, MIN_MAX_LINE_BYTES } from './session.js';
import { sniffIrc } from './sniff.js';

export { IrcSession, ircNetwork, DEFAULT_MAX_LINE_BYTES, MIN_MAX_LINE_BYTES, type IrcSessionOptions } from './session.js';
export { sniffIrc } from './sniff.js';
export { parseLine, type IrcMessage, type IrcParam, type IrcPrefix, type ParseResult } from './message.js';
export { parseCtcp, parseDcc, decodeHost, type Ctcp, type DccOffer } from './ctcp.js';
export { buildNotices, rewriteText } from './encoder.js';

export const DEFAULT_PORTS = [6665, 6666, 6667, 6668, 6669, 7000];
export const DEFAULT_TLS_PORTS = [6697];

export const IrcOptions = Type.Object(
  {
    maxLineBytes: Type.Optional(
      Type.Integer({
        minimum: MIN_MAX_LINE_BYTES,
        maximum: 1024 * 1024,
        default: DEFAULT_MAX_LINE_BYTES,
        description: 'Longest line (tags and CR LF included) the parser buffers; longer lines pass through unparsed with a frame-too-large error',
      }),
    ),
    ports: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: 65535 }), { default: DEFAULT_PORTS, description: 'Plain IRC server ports' })),
    tlsPorts: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: 65535 }), { default: DEFAULT_TLS_PORTS, description: 'Ports where IRC runs inside TLS' })),
    redactPasswords: Type.Optional(Type.Boolean({ default: true, description: 'Replace passwords sent to services (NickServ IDENTIFY ...) in logged text' })),
  },
  { additionalProperties: false },
);

export default definePlugin({
  name: 'irc',
  kind: 'protocol',
  options: IrcOptions,
  setup({ options }): ProtocolHooks {
    const maxLineBytes = options?.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    const redactPasswords = options?.redactPasswords ?? true;
    return {
      ports: [...(options?.ports ?? DEFAULT_PORTS)],
      tlsPorts: [...(options?.tlsPorts ?? DEFAULT_TLS_PORTS)],
      maxFrameSize: maxLineBytes,
      sniff: sniffIrc,
      createSession: (ctx: SessionContext) => new IrcSession(ctx, { redactPasswords }),
    };
  },
});
