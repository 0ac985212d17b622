/**
 * Console sessions: a random id in an HttpOnly cookie, the rest in memory (a restart logs everyone out). A
 * session ends after `idleMs` unused or `maxMs` after its login, at logout, and when its user is removed or
 * their password or role changes (checked against the users file at each request through `stillValid`).
 */
import { randomBytes } from 'node:crypto';
import type { ConsoleRole } from './users.js';

export interface ConsoleSession {
  id: string;
  user: string;
  role: ConsoleRole;
  /** The users file's `changed` time of this user at login: a later change ends the session. */
  userChanged: string;
  source: string;
  createdMs: number;
  lastSeenMs: number;
}

/** More sessions than this at once: the least recently used ones end. */
const MAX_SESSIONS = 1000;

export class SessionStore {
  private readonly sessions = new Map<string, ConsoleSession>();

  constructor(
    private readonly idleMs: number,
    private readonly maxMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  create(user: string, role: ConsoleRole, userChanged: string, source: string): ConsoleSession {
    const id = randomBytes(32).toString('base64url');
    const at = this.now();
    const session: ConsoleSession = { id, user, role, userChanged, source, createdMs: at, lastSeenMs: at };
    this.sessions.set(id, session);
    while (this.sessions.size > MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    return session;
  }

  /** The live session with this id (its idle time restarted), or undefined. */
  touch(id: string | undefined): ConsoleSession | undefined {
    if (id === undefined || id.length > 100) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    const at = this.now();
    if (at - session.lastSeenMs > this.idleMs || at - session.createdMs > this.maxMs) {
      this.sessions.delete(id);
      return undefined;
    }
    session.lastSeenMs = at;
    // Most recently used last: eviction takes the first.
    this.sessions.delete(id);
    this.sessions.set(id, session);
    return session;
  }

  end(id: string): void {
    this.sessions.delete(id);
  }

  /** Seconds a new session's cookie is kept by the browser. */
  get cookieMaxAgeSeconds(): number {
    return Math.ceil(this.maxMs / 1000);
  }
}
