/**
 * @imspect/plugin-jabber: XMPP (Jabber) client connections as a protocol plugin. Stanzas in, frames and events
 * out: one-to-one and group chat messages, chat states, file offers, room joins and leaves, carbons, encrypted
 * messages, login and logout; STARTTLS hands the connection over to TLS.
 */
import { definePlugin, Type, type ProtocolHooks, type SessionContext } from '@imspect/sdk';
import { DEFAULT_MAX_STANZA_BYTES, MIN_MAX_STANZA_BYTES, XmppSession } from './session.js';
import { sniffXmpp } from './sniff.js';

export { XmppSession, DEFAULT_MAX_STANZA_BYTES, MIN_MAX_STANZA_BYTES } from './session.js';
export { StanzaFramer, type FramerItem, type ItemKind } from './framer.js';
export { parseElement, parseStartTag, escapeXml, decodeEntities, type XElement, type XNode } from './xml.js';
export { sniffXmpp } from './sniff.js';

export const DEFAULT_PORTS = [5222];
export const DEFAULT_TLS_PORTS = [5223];

export const XmppOptions = Type.Object(
  {
    maxStanzaBytes: Type.Optional(
      Type.Integer({
        minimum: MIN_MAX_STANZA_BYTES,
        maximum: 16 * 1024 * 1024,
        default: DEFAULT_MAX_STANZA_BYTES,
        description: 'Largest stanza (or stream header) the parser buffers; a larger one passes through unparsed with a frame-too-large error',
      }),
    ),
    ports: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: 65535 }), { default: DEFAULT_PORTS, description: 'XMPP client ports (plain, with STARTTLS)' })),
    tlsPorts: Type.Optional(
      Type.Array(Type.Integer({ minimum: 1, maximum: 65535 }), { default: DEFAULT_TLS_PORTS, description: 'Ports where XMPP runs inside TLS from the first byte' }),
    ),
  },
  { additionalProperties: false },
);

export default definePlugin({
  name: 'xmpp',
  kind: 'protocol',
  options: XmppOptions,
  setup({ options }): ProtocolHooks {
    return {
      ports: [...(options?.ports ?? DEFAULT_PORTS)],
      tlsPorts: [...(options?.tlsPorts ?? DEFAULT_TLS_PORTS)],
      maxFrameSize: options?.maxStanzaBytes ?? DEFAULT_MAX_STANZA_BYTES,
      sniff: sniffXmpp,
      createSession: (ctx: SessionContext) => new XmppSession(ctx),
    };
  },
});
