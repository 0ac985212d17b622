/**
 * Bytes imspect itself puts into a connection: a response to the local client (a policy reply, the monitoring
 * notice) and a blocked frame's refusal to its sender. Built by the protocol's hooks, written between two frames
 * of the flow towards that side, so they are ordered with what already went there.
 */
import { opposite, type Direction, type Frame, type ImEvent, type PluginLogger, type ProtocolSession } from '@imspect/sdk';
import type { PluginHost } from '../runtime/plugin-host.js';
import type { RegisteredProtocol } from './protocols.js';

/** What replies need of a connection (ProxyConnection). */
export interface ReplyTarget {
  readonly protocol: RegisteredProtocol | undefined;
  readonly session: ProtocolSession | undefined;
  /** Set when the content is encrypted: nothing can be put into it. */
  readonly encrypted: string | undefined;
  readonly host: PluginHost;
  readonly log: PluginLogger;
  flow(direction: Direction): { inject(bytes: Uint8Array): void };
}

/** Bytes for the local client, e.g. a policy notice; false when the protocol cannot answer (now). */
export function respond(conn: ReplyTarget, text: string, about: ImEvent): boolean {
  const session = conn.session;
  if (session?.respondLater && conn.protocol && !conn.encrypted && later(conn, session, text, about)) return true;
  if (!session?.respond) return false;
  return injectBuilt(conn, () => conn.host.call('session', conn.protocol!.name, session, 'respond', text, about), 'respond', 'incoming', 'could not build a response');
}

/** The session takes `text` to deliver inside what the server sends next (HTTP transports); false: it cannot. */
function later(conn: ReplyTarget, session: ProtocolSession, text: string, about: ImEvent): boolean {
  try {
    return conn.host.call('session', conn.protocol!.name, session, 'respondLater', text, about) === true;
  } catch (error) {
    conn.log.error({ plugin: conn.protocol?.name, hook: 'respondLater', err: error }, 'could not queue a response');
    return false;
  }
}

/**
 * A blocked frame's refusal goes back to its sender (the client for an outgoing frame, the server for an
 * incoming one), through the flow towards that side so it is ordered with what already went there.
 */
export function refuse(conn: ReplyTarget, frame: Frame, direction: Direction): void {
  if (!frame.refusal) return;
  injectBuilt(conn, () => conn.host.call('frame', conn.protocol!.name, frame, 'refusal'), 'refusal', opposite(direction), 'could not build the refusal of a blocked frame');
}

/**
 * Bytes a plugin hook builds (a response, a refusal) written between two frames of the flow `towards`; false
 * when there is nothing to write: no protocol, encrypted, the hook failed or built no bytes.
 */
function injectBuilt(conn: ReplyTarget, build: () => Uint8Array | undefined, hook: 'respond' | 'refusal', towards: Direction, failure: string): boolean {
  if (!conn.protocol || conn.encrypted) return false;
  let bytes: Uint8Array | undefined;
  try {
    bytes = build();
  } catch (error) {
    conn.log.error({ plugin: conn.protocol.name, hook, err: error }, failure);
    return false;
  }
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) return false;
  conn.flow(towards).inject(bytes);
  return true;
}
