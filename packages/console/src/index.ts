/**
 * @imspect/console: the web console. `startConsole` is called by `imspect start` with the live state, the
 * archive and the policy files; it listens on the configured address (HTTPS when given certificate material)
 * and returns where it is. See docs/console.md.
 */
import type { FastifyInstance } from 'fastify';
import { buildConsoleServer, type ConsoleServerOptions } from './server.js';

export { buildConsoleServer, searchQuery, SESSION_COOKIE, type ConsoleServerOptions } from './server.js';
export { ConsoleUsers, ConsoleUserError, ROLES, MIN_PASSWORD_CHARS, USERS_FILE, type ConsoleRole, type ConsoleUser, type ConsoleUserInfo } from './users.js';
export { LiveHub, liveItem, matches, LIVE_TEXT_CHARS, MAX_LIVE_STREAMS, type LiveFilter, type LiveItem } from './live.js';
export { LoginThrottle } from './login-throttle.js';
export { SessionStore, type ConsoleSession } from './sessions.js';
export { csvField, csvRow, csvHeader, jsonlRow, CSV_COLUMNS } from './export.js';
export type {
  LiveSource,
  PluginState,
  OnlineSession,
  LoggerHealth,
  JournalUse,
  TlsState,
  PolicyFile,
  PolicyAccess,
  UserPolicyAccess,
  UserPolicyEntry,
  BlockedContactsAccess,
  ConsoleLogger,
  ArchiveAccess,
} from './source.js';

export interface RunningConsole {
  url: string;
  close(): Promise<void>;
  app: FastifyInstance;
}

export class ConsoleStartError extends Error {
  readonly code = 'CONSOLE_LISTEN_FAILED';
}

/** Builds the console and listens; a port that cannot be bound is a {@link ConsoleStartError} naming the address. */
export async function startConsole(options: ConsoleServerOptions & { host: string; port: number }): Promise<RunningConsole> {
  const app = await buildConsoleServer(options);
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    await app.close().catch(() => undefined);
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'EADDRINUSE' ? 'the port is in use' : code === 'EACCES' ? 'permission denied' : code === 'EADDRNOTAVAIL' ? 'no such local address' : (error as Error).message;
    throw new ConsoleStartError(`console: cannot listen on ${options.host}:${options.port}: ${why} (console.host / console.port in the configuration)`);
  }
  // After start the console's failures stay its own: a server error or an unexpected close is logged, and
  // relaying and archiving (which never wait on the console) go on.
  let closing = false;
  app.server.on('error', (error: NodeJS.ErrnoException) =>
    options.log.error({ err: { message: error.message, code: error.code } }, 'console: its HTTP server failed; relaying and archiving go on'),
  );
  app.server.on('close', () => {
    if (!closing) options.log.error({}, 'console: its HTTP server closed unexpectedly; the console is unreachable until imspect restarts; relaying and archiving go on');
  });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const close = async () => {
    closing = true;
    // A server that closed by itself has nothing left to stop; the rest (streams, sessions) still closes.
    await app.close().catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ERR_SERVER_NOT_RUNNING') throw error;
    });
  };
  return { url: `${options.secure ? 'https' : 'http'}://${host}:${port}/`, close, app };
}
