import { Type, type Static } from '@sinclair/typebox';

const Action = Type.Union([Type.Literal('intercept'), Type.Literal('passthrough'), Type.Literal('block')], {
  description:
    'intercept: decrypt with a certificate from the CA and log; passthrough: relay the encrypted bytes unread (an `encrypted` event records it); block: refuse the connection',
});

const UpstreamVerify = Type.Union([Type.Literal('verify'), Type.Literal('allow-self-signed'), Type.Literal('off')], {
  description:
    "How the real server's certificate is checked when intercepting. verify: trusted chain and matching name, else the connection is refused with a logged reason; allow-self-signed: also accept a self-signed certificate (the name must still match); off: accept any certificate",
});

export const TlsRuleSchema = Type.Object(
  {
    protocol: Type.Optional(Type.String({ minLength: 1, description: 'Protocol plugin name, e.g. xmpp or irc' })),
    host: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Destination host name or address, or the server name asked for inside the protocol (XMPP domain); `*.example.org` matches its sub-domains',
      }),
    ),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    action: Action,
    upstreamVerify: Type.Optional(UpstreamVerify),
  },
  { additionalProperties: false },
);

export const TlsSchema = Type.Object(
  {
    ca: Type.Object(
      {
        cert: Type.String({ default: 'ca/imspect-ca.crt', description: 'CA certificate (PEM), relative to dataDir; `imspect ca init` creates it' }),
        key: Type.String({ default: 'ca/imspect-ca.key', description: 'CA private key (PEM, mode 0600), relative to dataDir; an enterprise CA may be used instead' }),
      },
      { additionalProperties: false, default: {} },
    ),
    action: Type.Union([Type.Literal('intercept'), Type.Literal('passthrough'), Type.Literal('block')], {
      default: 'intercept',
      description:
        'What happens to TLS (STARTTLS and TLS ports) when no rule matches. intercept needs the CA: without one, connections pass through unread until `imspect ca init` is run',
    }),
    upstreamVerify: Type.Union([Type.Literal('verify'), Type.Literal('allow-self-signed'), Type.Literal('off')], {
      default: 'verify',
      description: UpstreamVerify.description,
    }),
    upstreamCa: Type.Optional(Type.String({ description: 'Extra CA certificates (PEM file) trusted for real servers, beside the system ones; relative to the config file' })),
    rules: Type.Array(TlsRuleSchema, { default: [], description: 'First matching rule wins (protocol, host and port: every one given must match)' }),
    handshakeTimeoutMs: Type.Integer({ minimum: 100, default: 15_000, description: 'Longest a TLS handshake (either side) may take' }),
  },
  { additionalProperties: false, default: {} },
);

export type TlsConfig = Static<typeof TlsSchema>;
export type TlsRule = Static<typeof TlsRuleSchema>;
export type TlsAction = TlsRule['action'];
export type UpstreamVerifyMode = TlsConfig['upstreamVerify'];
