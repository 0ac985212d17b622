import { Type, type Static } from '@sinclair/typebox';
import { TlsSchema } from '../tls/schema.js';

const Port = Type.Integer({ minimum: 0, maximum: 65535 });
const Host = Type.String({ minLength: 1, description: 'IP address or host name' });
const Cidr = Type.String({ minLength: 1, description: 'An address or network in CIDR form, e.g. 127.0.0.0/8 or ::1/128' });

export const LOOPBACK_NETWORKS = ['127.0.0.0/8', '::1/128'];

export const Socks5ListenerSchema = Type.Object(
  {
    type: Type.Literal('socks5'),
    host: Type.String({ default: '127.0.0.1', description: 'Address to listen on' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 1080 }),
    allow: Type.Array(Cidr, {
      default: LOOPBACK_NETWORKS,
      description: 'Client networks allowed to use the proxy. Loopback only by default: never an open proxy.',
    }),
    users: Type.Optional(
      Type.Array(Type.Object({ username: Type.String({ minLength: 1, maxLength: 255 }), password: Type.String({ maxLength: 255 }) }, { additionalProperties: false }), {
        description: 'Username/password authentication (RFC 1929). When set, clients must authenticate.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const ForwardListenerSchema = Type.Object(
  {
    type: Type.Literal('forward'),
    host: Type.String({ default: '127.0.0.1', description: 'Address to listen on' }),
    port: Port,
    upstream: Type.Object({ host: Host, port: Port }, { additionalProperties: false, description: 'The real server every connection goes to' }),
    protocol: Type.Optional(Type.String({ description: 'Protocol plugin to use; default: by upstream port, then by sniffing' })),
    allow: Type.Array(Cidr, {
      default: ['0.0.0.0/0', '::/0'],
      description: 'Client networks allowed to connect. The upstream is fixed, so this is no open proxy.',
    }),
  },
  { additionalProperties: false },
);

export const TransparentListenerSchema = Type.Object(
  {
    type: Type.Literal('transparent'),
    host: Type.String({ default: '::', description: 'Address to listen on; the default "::" takes IPv4 and IPv6' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 16667, description: 'The port the firewall redirects IM ports to' }),
    allow: Type.Array(Cidr, {
      default: ['0.0.0.0/0', '::/0'],
      description: 'Client networks allowed. Each connection goes only where its client was already going, so this is no open proxy.',
    }),
  },
  { additionalProperties: false, description: 'Connections redirected by the gateway firewall (iptables/nftables REDIRECT); see `imspect firewall`' },
);

export const HttpConnectListenerSchema = Type.Object(
  {
    type: Type.Literal('http-connect'),
    host: Type.String({ default: '127.0.0.1', description: 'Address to listen on' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
    allow: Type.Array(Cidr, {
      default: LOOPBACK_NETWORKS,
      description: 'Client networks allowed to use the proxy. Loopback only by default: never an open proxy.',
    }),
    users: Type.Optional(
      Type.Array(Type.Object({ username: Type.String({ minLength: 1, maxLength: 255 }), password: Type.String({ maxLength: 255 }) }, { additionalProperties: false }), {
        description: 'Basic authentication (Proxy-Authorization). When set, clients must authenticate.',
      }),
    ),
    plainRequests: Type.Optional(
      Type.Boolean({
        default: true,
        description:
          "Also relay plain requests with an absolute URI (POST http://host/path), as browsers and MSN Messenger's HTTP gateway send them through a proxy; each goes where its URI says, through the destination policy. false: CONNECT only (others get 405)",
      }),
    ),
  },
  { additionalProperties: false, description: 'An explicit HTTP proxy: tunnels (CONNECT host:port) and plain requests with an absolute URI' },
);

export const ListenerSchemas = {
  socks5: Socks5ListenerSchema,
  forward: ForwardListenerSchema,
  transparent: TransparentListenerSchema,
  'http-connect': HttpConnectListenerSchema,
} as const;
export const ListenerSchema = Type.Union([Socks5ListenerSchema, ForwardListenerSchema, TransparentListenerSchema, HttpConnectListenerSchema]);

const PortOrRange = Type.Union([Port, Type.String({ pattern: '^\\d{1,5}-\\d{1,5}$', description: 'An inclusive range, e.g. "6660-6669"' })]);

export const DestinationsSchema = Type.Object(
  {
    allowNetworks: Type.Array(Cidr, {
      default: [],
      description:
        'Private, link-local or reserved networks clients may be connected to (e.g. an internal XMPP server in 10.1.0.0/16). ' +
        "Refused by default; the gateway's own addresses and loopback stay refused to clients that are not on the gateway",
    }),
    denyNetworks: Type.Array(Cidr, { default: [], description: 'Networks no client may be connected to, whatever else allows them' }),
    ports: Type.Union([Type.Literal('protocols'), Type.Literal('any'), Type.Array(PortOrRange)], {
      default: 'protocols',
      description:
        'Destination ports clients may be connected to: "protocols" = the enabled protocol plugins\' ports and TLS ports, the `ports` section, and 80 and 443; ' +
        '"any" = no port limit; or a list of ports and ranges',
    }),
    extraPorts: Type.Array(PortOrRange, { default: [], description: 'Ports allowed in addition to `ports`' }),
    localClientsReachGateway: Type.Boolean({
      default: true,
      description:
        "A client on the gateway itself (loopback or one of the gateway's addresses) may be connected to the gateway's own addresses on any port: it could connect there directly anyway",
    }),
  },
  {
    additionalProperties: false,
    default: {},
    description:
      "Where listeners may connect clients (SOCKS5 and HTTP CONNECT requests, transparent destinations, servers a protocol names on a forward listener). A forward listener's own upstream is not checked",
  },
);
export type DestinationsConfig = Static<typeof DestinationsSchema>;

export const PluginSectionSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true, description: 'Load this plugin (every discovered plugin is enabled by default)' }),
    options: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: "The plugin's own options" })),
    maxFrameSize: Type.Optional(Type.Integer({ minimum: 64, description: 'Protocol plugins: largest frame buffered, in bytes' })),
    optional: Type.Boolean({
      default: false,
      description: 'Loggers, filters, content plugins: when it fails to load or set up, run without it (logged as an error) instead of refusing to start',
    }),
  },
  { additionalProperties: false },
);

const UnreadableAction = Type.Union([Type.Literal('allow'), Type.Literal('log'), Type.Literal('block')]);

export const ConfigSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    dataDir: Type.String({ default: 'imspect-data', description: 'Folder for logs and state; relative to the config file (or the working directory)' }),
    listeners: Type.Array(ListenerSchema, {
      default: [{ type: 'socks5', host: '127.0.0.1', port: 1080, allow: LOOPBACK_NETWORKS }],
      description: 'Where imspect accepts client connections',
    }),
    ports: Type.Record(Type.String({ pattern: '^[0-9]+$' }), Type.String(), {
      // A pattern-keyed record allows any other key unless told not to.
      additionalProperties: false,
      default: {},
      description: 'Destination port -> protocol plugin name, added to (and overriding) the ports plugins declare',
    }),
    pluginFolders: Type.Array(Type.String(), { default: [], description: 'Extra folders to search for plugin packages' }),
    plugins: Type.Record(Type.String(), PluginSectionSchema, { default: {}, description: 'Per-plugin sections, keyed by plugin name' }),
    pipeline: Type.Object(
      {
        failMode: Type.Union([Type.Literal('open'), Type.Literal('closed')], {
          default: 'open',
          description: 'When a filter fails or times out: open forwards the frame, closed blocks it',
        }),
        hookTimeoutMs: Type.Integer({ minimum: 1, default: 2000, description: 'Longest a filter or content hook may take' }),
      },
      { additionalProperties: false, default: {} },
    ),
    loggers: Type.Object(
      {
        batchSize: Type.Integer({ minimum: 1, default: 200 }),
        maxBatchSize: Type.Integer({
          minimum: 1,
          default: 1000,
          description: 'Most events per write to a logger that is behind (more pending than batchSize): fewer, larger writes let it catch up',
        }),
        flushIntervalMs: Type.Integer({ minimum: 1, default: 250 }),
        retryMaxDelayMs: Type.Integer({ minimum: 10, default: 30_000 }),
        writeTimeoutMs: Type.Integer({ minimum: 10, default: 30_000, description: 'A logger write taking longer counts as failed and is retried' }),
        shutdownTimeoutMs: Type.Integer({
          minimum: 0,
          default: 0,
          description: 'How long stopping waits for loggers to store queued events; 0 = until all are stored (a second Ctrl-C stops waiting)',
        }),
        journal: Type.Object(
          {
            enabled: Type.Boolean({
              default: true,
              description: 'Journal accepted events on disk before the loggers get them, so that none is lost when a logger fails or imspect is killed',
            }),
            dir: Type.String({ default: 'journal', minLength: 1, description: 'Folder of the journal; relative to the data folder' }),
            maxBytes: Type.Integer({ minimum: 1024, default: 1024 * 1024 * 1024, description: 'Disk limit of the journal in bytes; when reached, onFull applies' }),
            segmentBytes: Type.Integer({ minimum: 1024, default: 16 * 1024 * 1024, description: 'Size of one journal segment file; delivered segments are deleted whole' }),
            fsyncIntervalMs: Type.Integer({ minimum: 1, default: 100, description: 'How often the journal is synced to disk (what a power loss can take at most)' }),
            onFull: Type.Union([Type.Literal('forward'), Type.Literal('block')], {
              default: 'forward',
              description:
                'When the journal is full (its limit reached, or the disk refuses writes: ENOSPC, EDQUOT, EIO, EFBIG): forward keeps relaying chats; a logger further behind than the limit loses its oldest events (counted per logger) while the others get every event, and events the disk refuses are dropped (counted); block pauses relaying until the loggers catch up or the disk has room again',
            }),
            memoryEvents: Type.Integer({ minimum: 1, default: 50_000, description: 'Most events kept in memory for delivery; a logger further behind reads from disk' }),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    connections: Type.Object(
      {
        connectTimeoutMs: Type.Integer({ minimum: 1, default: 10_000 }),
        idleTimeoutMs: Type.Integer({
          minimum: 0,
          default: 2 * 3600_000,
          description: 'Close a relayed connection after this long with no traffic either way (IM clients send keepalives every few minutes); 0 = never',
        }),
        sniffTimeoutMs: Type.Integer({ minimum: 0, default: 2_000, description: 'How long to wait for the first client bytes when the port names no protocol' }),
        handshakeTimeoutMs: Type.Integer({
          minimum: 1,
          default: 15_000,
          description:
            'Longest a new connection may take to finish its proxy handshake (SOCKS5, HTTP CONNECT) or, on forward and transparent listeners, to send its first bytes; it is closed otherwise',
        }),
        maxConnections: Type.Union([Type.Literal('auto'), Type.Integer({ minimum: 1 })], {
          default: 'auto',
          description:
            'Most connections relayed at once over all listeners (each holds a client and an upstream socket); more are refused at once. auto: half of the open-file limit (ulimit -n) left after a reserve for the journal, archive, logs and CSV files',
        }),
        maxPerClient: Type.Integer({ minimum: 0, default: 256, description: 'Most connections at once from one client address; more are refused at once; 0 = no limit' }),
      },
      { additionalProperties: false, default: {} },
    ),
    destinations: DestinationsSchema,
    policy: Type.Object(
      {
        unreadable: Type.Union([UnreadableAction, Type.Record(Type.String({ minLength: 1 }), UnreadableAction)], {
          default: 'log',
          description:
            "Traffic imspect cannot read: TLS it does not intercept, IM it recognises but does not parse (qq), HTTP on an IM port, a CONNECT to an IM port through a proxy imspect does not run. allow: relay it, no event; log: relay it, one event per connection; block: one event marked blocked, connection closed. One action for all, or per protocol: { default: log, qq: block, xmpp: allow, tls: log, unknown: block, proxy: block } (a plugin's name, qq, or the kinds tls, unknown and proxy)",
        }),
      },
      { additionalProperties: false, default: {}, description: 'What imspect does with traffic beyond its protocol plugins' },
    ),
    user: Type.Optional(Type.String({ minLength: 1, description: 'Started as root: after binding the listeners, drop to this user (name or uid) for good' })),
    group: Type.Optional(Type.String({ minLength: 1, description: "Group (name or gid) to drop to; default: the user's primary group" })),
    workers: Type.Union([Type.Literal('auto'), Type.Integer({ minimum: 1, maximum: 256 })], {
      default: 1,
      description:
        'Relay threads: each binds every listener (SO_REUSEPORT, the kernel spreads new connections) and parses, judges and journals its own connections; the loggers run in the main thread. auto: one per core. Forward listeners are served by the first thread only (protocol hand-offs such as MSN switchboards stay in one thread)',
    }),
    allowRoot: Type.Boolean({ default: false, description: 'Keep running as root when started as root with no `user` (refused otherwise)' }),
    pidFile: Type.Optional(Type.String({ minLength: 1, description: 'Write the process id to this file while running' })),
    responses: Type.Object(
      {
        prefix: Type.String({ default: '', description: 'Put before every reply and notice imspect sends (IMSpector response_prefix)' }),
        suffix: Type.String({ default: '', description: 'Put after every reply and notice (IMSpector response_postfix)' }),
        blocked: Type.Object(
          {
            enabled: Type.Boolean({ default: true, description: 'Answer the sender of a blocked message or action' }),
            text: Type.String({
              default: 'Blocked ({category}): {what}',
              description:
                "Reply when the filter gives none of its own. Placeholders: {what} (what was stopped: the message's first 40 characters, the file name, the channel joined), {category} (the filters' categories), {reason} (the blocking filter's reason)",
            }),
            rateLimitSeconds: Type.Integer({ minimum: 0, default: 60, description: 'At most one reply per user in this many seconds; 0 = every time' }),
          },
          { additionalProperties: false, default: {} },
        ),
        notice: Type.Object(
          {
            enabled: Type.Boolean({ default: false, description: 'Tell each user, once every everyDays, that their activities are logged' }),
            text: Type.String({ default: 'Your activities are being logged', description: 'The notice; each line is sent as its own message' }),
            file: Type.Optional(Type.String({ description: 'Read the notice from this file instead (a legal notice); relative to the config file' })),
            everyDays: Type.Number({ exclusiveMinimum: 0, default: 7, description: 'Days between two notices to the same user (kept in the data folder across restarts)' }),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {}, description: 'What imspect says to users: blocked-message replies and the monitoring notice' },
    ),
    tls: TlsSchema,
    console: Type.Object(
      {
        enabled: Type.Boolean({ default: false, description: 'Serve the web console (imspect start says where); users come from `imspect console user add`' }),
        host: Type.String({
          default: '127.0.0.1',
          minLength: 1,
          description: 'Address the console listens on; loopback by default. Any other address requires `tls` (HTTPS)',
        }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 8440 }),
        tls: Type.Optional(
          Type.Object(
            {
              cert: Type.Optional(Type.String({ minLength: 1, description: 'PEM certificate (chain) file; relative to the config file' })),
              key: Type.Optional(Type.String({ minLength: 1, description: 'PEM private key file; relative to the config file' })),
              name: Type.Optional(
                Type.String({
                  minLength: 1,
                  description: "Without cert and key: the host name to mint a certificate for from imspect's CA (`imspect ca init`); default the console's host",
                }),
              ),
            },
            { additionalProperties: false, description: "HTTPS for the console: certificate files, or a certificate minted from imspect's CA" },
          ),
        ),
        sessionIdleMinutes: Type.Integer({ minimum: 1, default: 30, description: 'A console session unused this long ends' }),
        sessionMaxHours: Type.Integer({ minimum: 1, default: 12, description: 'A console session ends this long after its login, used or not' }),
      },
      { additionalProperties: false, default: {}, description: 'The web console (see docs/console.md)' },
    ),
    log: Type.Object(
      {
        level: Type.Union(
          ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
          { default: 'info' },
        ),
        format: Type.Union([Type.Literal('auto'), Type.Literal('pretty'), Type.Literal('json')], { default: 'auto' }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
export type ListenerConfig = Static<typeof ListenerSchema>;
export type Socks5ListenerConfig = Static<typeof Socks5ListenerSchema>;
export type ForwardListenerConfig = Static<typeof ForwardListenerSchema>;
export type TransparentListenerConfig = Static<typeof TransparentListenerSchema>;
export type HttpConnectListenerConfig = Static<typeof HttpConnectListenerSchema>;
export type PluginSection = Static<typeof PluginSectionSchema>;
export type ResponsesConfig = Config['responses'];
export type ConsoleConfig = Config['console'];
