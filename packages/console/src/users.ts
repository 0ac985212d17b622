/**
 * The console's users: a name, a role and an Argon2id hash (@node-rs/argon2, prebuilt, nothing compiled), in
 * one JSON file in the data folder that only its owner may read (`console-users.json`, mode 0600, rewritten by
 * temporary file and rename). Managed with `imspect console user add|list|remove|passwd`; read by the console
 * at every login, so a change applies without a restart.
 */
import { hash, verify } from '@node-rs/argon2';
import { chmod, chown, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';

export type ConsoleRole = 'admin' | 'auditor';
export const ROLES: readonly ConsoleRole[] = ['admin', 'auditor'];

export interface ConsoleUser {
  name: string;
  role: ConsoleRole;
  /** Argon2id PHC string; never logged, never sent to a browser. */
  hash: string;
  created: string;
  changed: string;
}

/** What may be shown of a user: everything but the hash. */
export type ConsoleUserInfo = Omit<ConsoleUser, 'hash'>;

export const USERS_FILE = 'console-users.json';
/** Names are shown in the audit trail and typed at a prompt: letters, digits and `._@-`. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
export const MIN_PASSWORD_CHARS = 10;
const MAX_PASSWORD_CHARS = 1024;

export class ConsoleUserError extends Error {
  constructor(
    message: string,
    readonly code: 'USER_EXISTS' | 'USER_UNKNOWN' | 'USER_NAME_INVALID' | 'PASSWORD_WEAK' | 'ROLE_INVALID' | 'USERS_FILE_INVALID',
  ) {
    super(message);
    this.name = 'ConsoleUserError';
  }
}

export function checkName(name: string): void {
  if (!NAME.test(name)) throw new ConsoleUserError(`"${name}" is not a user name (1-64 letters, digits and . _ @ -, starting with a letter or digit)`, 'USER_NAME_INVALID');
}

export function checkPassword(password: string): void {
  if ([...password].length < MIN_PASSWORD_CHARS) throw new ConsoleUserError(`the password must have at least ${MIN_PASSWORD_CHARS} characters`, 'PASSWORD_WEAK');
  if (password.length > MAX_PASSWORD_CHARS) throw new ConsoleUserError(`the password must have at most ${MAX_PASSWORD_CHARS} characters`, 'PASSWORD_WEAK');
}

export function checkRole(role: string): asserts role is ConsoleRole {
  if (!ROLES.includes(role as ConsoleRole)) throw new ConsoleUserError(`"${role}" is not a role (admin or auditor)`, 'ROLE_INVALID');
}

/** Compared against when the name is unknown, so a login takes as long for a name that does not exist. */
let decoyHash: Promise<string> | undefined;

export class ConsoleUsers {
  readonly file: string;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, USERS_FILE);
  }

  async list(): Promise<ConsoleUser[]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new ConsoleUserError(`${this.file}: not JSON (${(error as Error).message})`, 'USERS_FILE_INVALID');
    }
    const users = (parsed as { users?: unknown }).users;
    if (!Array.isArray(users)) throw new ConsoleUserError(`${this.file}: no "users" list`, 'USERS_FILE_INVALID');
    return users.filter((u): u is ConsoleUser => typeof u?.name === 'string' && typeof u?.hash === 'string' && ROLES.includes(u?.role) && typeof u?.created === 'string');
  }

  async find(name: string): Promise<ConsoleUser | undefined> {
    return (await this.list()).find((u) => u.name === name);
  }

  async add(name: string, role: string, password: string): Promise<ConsoleUserInfo> {
    checkName(name);
    checkRole(role);
    checkPassword(password);
    const users = await this.list();
    if (users.some((u) => u.name === name))
      throw new ConsoleUserError(`console user "${name}" exists already (imspect console user passwd ${name} changes the password)`, 'USER_EXISTS');
    const now = new Date().toISOString();
    const user: ConsoleUser = { name, role, hash: await hash(password), created: now, changed: now };
    await this.save([...users, user]);
    return info(user);
  }

  async remove(name: string): Promise<void> {
    const users = await this.list();
    if (!users.some((u) => u.name === name)) throw new ConsoleUserError(`no console user "${name}"`, 'USER_UNKNOWN');
    await this.save(users.filter((u) => u.name !== name));
  }

  async passwd(name: string, password: string): Promise<void> {
    checkPassword(password);
    const users = await this.list();
    const user = users.find((u) => u.name === name);
    if (!user) throw new ConsoleUserError(`no console user "${name}"`, 'USER_UNKNOWN');
    user.hash = await hash(password);
    user.changed = new Date().toISOString();
    await this.save(users);
  }

  /** The user when the password is right; undefined otherwise (unknown name or wrong password, told apart by nobody). */
  async verify(name: string, password: string): Promise<ConsoleUserInfo | undefined> {
    if (password.length > MAX_PASSWORD_CHARS) return undefined;
    const user = await this.find(name);
    if (!user) {
      decoyHash ??= hash('imspect decoy password');
      await verify(await decoyHash, password).catch(() => false);
      return undefined;
    }
    const ok = await verify(user.hash, password).catch(() => false);
    return ok ? info(user) : undefined;
  }

  private async save(users: ConsoleUser[]): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true, mode: 0o750 });
    const temp = `${this.file}.${process.pid}.tmp`;
    // Created 0600 before anything is written: the hashes are never readable by others, not even for a moment.
    const handle = await open(temp, 'w', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify({ version: 1, users }, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await chmod(temp, 0o600);
      // Run as root (`sudo imspect console user add`), the file stays readable by the user imspect runs as after
      // dropping root: it keeps the owner of the file it replaces, else takes the data folder's (handed over at start).
      if (process.getuid?.() === 0) {
        const owner = await stat(this.file).catch(() => stat(path.dirname(this.file)));
        await chown(temp, owner.uid, owner.gid);
      }
      await rename(temp, this.file);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }
}

function info(user: ConsoleUser): ConsoleUserInfo {
  return { name: user.name, role: user.role, created: user.created, changed: user.changed };
}
