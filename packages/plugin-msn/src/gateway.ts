/**
 * MSN Messenger's HTTP gateway, as documented (hypothetic.org "HTTP Connections", the MSNP wiki "HTTP Gateway"):
 * when port 1863 is unreachable, the client POSTs its MSNP commands to `/gateway/gateway.dll` on port 80 (through
 * the browser's proxy if there is one) and reads the server's commands from the response bodies.
 *
 * - `POST /gateway/gateway.dll?Action=open&Server=NS|SB&IP=<server>`: a new session to the notification server or a
 *   switchboard `IP` names (the address the client would have connected to over TCP); the body is the first
 *   command (`VER`, or `USR`/`ANS` on a switchboard).
 * - `POST /gateway/gateway.dll?SessionID=<id>`: more commands of that session in the body.
 * - `POST /gateway/gateway.dll?Action=poll&SessionID=<id>`: an empty body; the response carries what the server
 *   queued.
 * - Every response: `X-MSN-Messenger: SessionID=<id>; GW-IP=<address>` (the id and the gateway address for the
 *   next request; the id may change with every response), `Session=close` when the session ended, and
 *   `Content-Type: application/x-msn-messenger`.
 *
 * Parsing only: no I/O.
 */

/** What a gateway request's target says; undefined for any other request. */
export interface GatewayRequest {
  /** `open`, `poll`, or undefined for a plain send (commands in the body). */
  action: 'open' | 'poll' | undefined;
  /** `NS` or `SB` (open requests). */
  server: 'NS' | 'SB' | undefined;
  /** The server the session goes to (open requests): `host` or `host:port`, as the client wrote it. */
  ip: string | undefined;
  sessionId: string | undefined;
  /** The target as sent, and where its query starts (for rewriting a send into a poll). */
  target: string;
}

/** The path of the gateway, compared without case (the gateway ran on IIS). */
export const GATEWAY_PATH = '/gateway/gateway.dll';

/** A gateway request's target, in origin form (`/gateway/...`) or absolute form (`http://host/gateway/...`). */
export function parseGatewayTarget(target: string): GatewayRequest | undefined {
  let path = target;
  const absolute = /^http:\/\/[^/?#\s]+/i.exec(target);
  if (absolute) path = target.slice(absolute[0].length);
  const question = path.indexOf('?');
  const pathOnly = question < 0 ? path : path.slice(0, question);
  if (pathOnly.toLowerCase() !== GATEWAY_PATH) return undefined;
  const params = new Map<string, string>();
  if (question >= 0) {
    for (const pair of path.slice(question + 1).split('&')) {
      const eq = pair.indexOf('=');
      const name = (eq < 0 ? pair : pair.slice(0, eq)).toLowerCase();
      if (name === '' || params.has(name)) continue;
      params.set(name, decodeParam(eq < 0 ? '' : pair.slice(eq + 1)));
    }
  }
  const action = params.get('action')?.toLowerCase();
  const server = params.get('server')?.toUpperCase();
  const request: GatewayRequest = {
    action: action === 'open' || action === 'poll' ? action : undefined,
    server: server === 'NS' || server === 'SB' ? server : undefined,
    ip: params.get('ip') || undefined,
    sessionId: params.get('sessionid') || undefined,
    target,
  };
  // Neither a new session nor one named: not a request this parser can place.
  if (request.action !== 'open' && request.sessionId === undefined) return undefined;
  return request;
}

/** The target of a send turned into a poll (the commands it carried were all blocked, so its body is empty). */
export function pollTarget(request: GatewayRequest): string {
  const question = request.target.indexOf('?');
  return `${request.target.slice(0, question + 1)}Action=poll&${request.target.slice(question + 1)}`;
}

/** What an `X-MSN-Messenger` response header says. */
export interface MessengerHeader {
  sessionId: string | undefined;
  gatewayIp: string | undefined;
  /** `Session=close`: the gateway ended the session. */
  close: boolean;
}

/** `SessionID=954547325.13160; GW-IP=207.46.110.18` (fields in any order, `Session=close` when it ended). */
export function parseMessengerHeader(value: string): MessengerHeader {
  const header: MessengerHeader = { sessionId: undefined, gatewayIp: undefined, close: false };
  for (const part of value.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim().toLowerCase();
    const field = part.slice(eq + 1).trim();
    if (name === 'sessionid' && field !== '') header.sessionId = field;
    else if (name === 'gw-ip' && field !== '') header.gatewayIp = field;
    else if (name === 'session' && field.toLowerCase() === 'close') header.close = true;
  }
  return header;
}

function decodeParam(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}
