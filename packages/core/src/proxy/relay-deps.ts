/**
 * What a proxied connection is given: its dependencies (the engine's or a replay's) and the facts of the
 * connection. Types only, in a module of their own, so that the connection's parts (flow, TLS takeover, event
 * completion) can name them without importing the connection.
 */
import type { Endpoint, PluginLogger, ServerEndpoint } from '@imspect/sdk';
import type { EventSink } from './event-sink.js';
import type { IdentityRecords } from './identity-records.js';
import type { Policy } from './policy.js';
import type { ProtocolRegistry } from './protocols.js';
import type { TlsInterceptor } from '../tls/interceptor.js';
import type { TurnBudget } from './turn-budget.js';
import type { UnreadablePolicyConfig } from './unreadable.js';

export interface RelayOptions {
  idleTimeoutMs: number;
  sniffTimeoutMs: number;
  /** Frame-level detail in the operational log. */
  debug: boolean;
  /** A replay: a policy `disconnect` is logged, but the recorded connection goes on to its end. */
  keepDisconnected?: boolean;
  /** `policy.unreadable`: what happens to traffic imspect cannot read (default: log). */
  unreadable?: UnreadablePolicyConfig;
}

export interface RelayDeps {
  /** Time for new events, in ms since the epoch: the wall clock live, the capture's time when replaying. */
  now?: () => number;
  registry: ProtocolRegistry;
  policy: Policy;
  sink: EventSink;
  log: PluginLogger;
  options: RelayOptions;
  /** TLS interception (live connections); without it, TLS is relayed unread as in a replay. */
  tls?: TlsInterceptor;
  /** Logins seen per client address, offered to sessions (`SessionContext.identity`) and fed by login events. */
  identity?: IdentityRecords;
  /** The parse budget per event-loop turn shared by the flows reading sockets; without one they are not paced. */
  turnBudget?: TurnBudget;
}

export interface ConnectionInfo {
  id: string;
  client: Endpoint;
  server: ServerEndpoint;
  /** Protocol forced by the listener; otherwise chosen by port, then by sniffing. */
  protocol?: string;
  /** Client bytes already read (e.g. sent right behind a SOCKS request). */
  initialClientData?: Uint8Array;
  /** The stream is joined mid-way (a capture that missed the start). */
  midstream?: boolean;
  /** The address the client reached imspect at (forward listeners), for protocols that redirect clients. */
  listener?: ServerEndpoint;
  /** The forward listener sent the client the protocol's greeting in the server's place. */
  greeted?: boolean;
  /** The client came through imspect's proxy listeners: a SOCKS5 or HTTP CONNECT tunnel, or a plain HTTP proxy request. */
  via?: 'socks5' | 'http-connect' | 'http-proxy';
}
