import net from 'node:net';
import { ImspectError, describeError } from '@imspect/sdk';
import type { PluginLogger } from '@imspect/sdk';
import { holdWhileConnecting } from './connection-limits.js';
import { DestinationRefusedError, type DestinationPolicy, type ResolvedAddress } from './destination-policy.js';

/** Connects to the real server; fails with the system error code (ECONNREFUSED, ETIMEDOUT, ...) on failure. */
export function connectUpstream(host: string, port: number, timeoutMs: number, addresses?: readonly ResolvedAddress[]): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    // With `addresses` (a name already resolved and checked), Node tries exactly those (happy eyeballs across
    // families): its lookup is answered from the list, so no second DNS query can change them.
    const socket =
      addresses && addresses.length > 0 ? net.connect({ host, port, allowHalfOpen: true, lookup: fixedLookup(addresses) }) : net.connect({ host, port, allowHalfOpen: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new ImspectError(`connect to ${host}:${port} timed out after ${timeoutMs} ms`, { code: 'ETIMEDOUT' }), { errno: 0 }));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    });
  });
}

/**
 * Connects a client to `host:port` if the destination policy allows it: the name is resolved once, the address
 * is judged, and that very address is connected to (never resolved again). Fails with a
 * {@link DestinationRefusedError} (code `DESTINATION_REFUSED`) when refused, else like {@link connectUpstream};
 * the whole (lookup and connect) takes at most `timeoutMs`.
 */
export async function connectAllowed(policy: DestinationPolicy, host: string, port: number, clientIp: string, timeoutMs: number): Promise<net.Socket> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new ImspectError(`resolving ${host} timed out after ${timeoutMs} ms`, { code: 'ETIMEDOUT' }), { errno: 0 })), timeoutMs);
  });
  let verdict;
  try {
    verdict = await Promise.race([policy.resolve(host, port, clientIp), timeout]);
  } finally {
    clearTimeout(timer);
  }
  if (!verdict.allowed) throw new DestinationRefusedError(`${host}:${port}`, verdict);
  const remaining = Math.max(1, timeoutMs - (Date.now() - started));
  return verdict.alternatives ? connectUpstream(host, port, remaining, verdict.alternatives) : connectUpstream(verdict.address, port, remaining);
}

/** A `lookup` for `net.connect` that answers from addresses resolved (and checked) before. */
function fixedLookup(addresses: readonly ResolvedAddress[]): net.LookupFunction {
  return (_hostname, options, callback) => {
    const all = (options as { all?: boolean }).all === true;
    if (all) (callback as unknown as (error: null, list: ResolvedAddress[]) => void)(null, [...addresses]);
    else callback(null, addresses[0]!.address, addresses[0]!.family);
  };
}

/**
 * What every listener does once it knows the destination: when the upstream connect succeeds and the paused
 * client is still there, `connected` hands the pair on and the client is resumed (a client gone meanwhile has its
 * upstream closed); when it fails, the failure is logged with `context` and `failed` answers the client.
 */
export function handOver(
  client: net.Socket,
  connecting: Promise<net.Socket>,
  log: PluginLogger,
  context: Record<string, unknown>,
  connected: (upstream: net.Socket) => void,
  failed: (error: NodeJS.ErrnoException) => void,
): void {
  // The upstream socket counts against the client's connection slot from now until it is closed.
  holdWhileConnecting(client, connecting);
  connecting.then(
    (upstream) => {
      if (client.destroyed) {
        upstream.destroy();
        return;
      }
      connected(upstream);
      client.resume();
    },
    (error: NodeJS.ErrnoException) => {
      logConnectFailure(log, context, error);
      failed(error);
    },
  );
}

/** A refused or failed upstream connect, logged with `context`: a refusal with its rule and the address resolved. */
export function logConnectFailure(log: PluginLogger, context: Record<string, unknown>, error: NodeJS.ErrnoException): void {
  if (error instanceof DestinationRefusedError) {
    const { rule, reason, address } = error.verdict;
    log.warn({ ...context, code: error.code, rule, ...(address ? { resolved: address } : {}) }, `destination ${error.requested} refused by rule ${rule}: ${reason}`);
  } else log.warn({ ...context, code: error.code }, `upstream connect failed: ${describeError(error)}`);
}
