/**
 * Dropping root: imspect may be started as root to bind its ports and write its pid file, then becomes an
 * unprivileged user for good before it handles any connection.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { access, chmod, chown, lstat, readdir, realpath, stat as statFollow } from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import { ImspectError } from '@imspect/sdk';

export interface Identity {
  user: string;
  uid: number;
  group: string;
  gid: number;
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * Why imspect may not go on as root, or undefined when it may: started as root, it must either drop to a
 * configured `user` or be told to stay (`allowRoot`, `--allow-root`).
 */
export function rootRefusal(config: { user?: string | undefined; allowRoot?: boolean }, allowRootFlag = false): string | undefined {
  if (!isRoot() || config.user !== undefined || config.allowRoot === true || allowRootFlag) return undefined;
  return 'imspect is running as root with no `user` configured: set `user` (e.g. user: nobody) so it drops root after binding its ports, or set `allowRoot: true` (or pass --allow-root) to keep running as root';
}

/** Looks up the user and group (names or numeric ids) in the system databases (NSS via getent, else /etc files). */
export function resolveIdentity(user: string, group: string | undefined): Identity {
  const passwd = lookup('passwd', user);
  if (!passwd) throw new ImspectError(`user "${user}" does not exist`, { code: 'USER_UNKNOWN', key: 'user' });
  const [userName = user, , uidText, gidText] = passwd;
  const uid = Number(uidText);
  let gid = Number(gidText);
  let groupName = lookup('group', String(gid))?.[0] ?? String(gid);
  if (group !== undefined) {
    const entry = lookup('group', group);
    if (!entry) throw new ImspectError(`group "${group}" does not exist`, { code: 'GROUP_UNKNOWN', key: 'group' });
    groupName = entry[0] ?? group;
    gid = Number(entry[2]);
  }
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new ImspectError(`cannot read the ids of user "${user}"`, { code: 'USER_UNKNOWN', key: 'user' });
  return { user: userName, uid, group: groupName, gid };
}

function lookup(database: 'passwd' | 'group', key: string): string[] | undefined {
  try {
    const line = execFileSync('getent', [database, key], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0];
    if (line) return line.split(':');
  } catch (error) {
    // Exit code 2 is "not found"; anything else (no getent) falls back to the files.
    if ((error as { status?: number }).status === 2) return undefined;
  }
  try {
    const numeric = /^\d+$/.test(key);
    for (const line of readFileSync(`/etc/${database}`, 'utf8').split('\n')) {
      const fields = line.split(':');
      if (fields[0] === key || (numeric && fields[2] === key)) return fields;
    }
  } catch {
    // no such file
  }
  return undefined;
}

/** The data folder when it holds the CA: root's, the user's group may write, nobody may rename what is not theirs. */
export const SHARED_DATA_DIR_MODE = 0o1770;

/**
 * Gives `identity` the data folder and everything already in it, so logs stay writable after the drop. Entries
 * already owned by the user are left as they are. The paths in `keep` (the CA key, its certificate and the
 * folders between the data folder and them) stay root's, not writable by group or others, so the unprivileged
 * process can neither read the key nor write another in its place; the data folder itself then stays root's too,
 * writable by the user's group with the sticky bit (as /tmp), so the user cannot rename the CA's folder away
 * either. Other entries inside a kept folder are left as they are. Returns the kept entries that were not root's
 * (an older version handed them over).
 */
export async function handOver(folder: string, identity: Identity, keep: readonly string[] = []): Promise<{ reclaimed: string[] }> {
  const kept = new Set(keep.map((file) => path.resolve(file)));
  const reclaimed: string[] = [];
  const visit = async (target: string): Promise<void> => {
    let stat;
    try {
      // Links inside the folder are not followed (a link could point anywhere).
      stat = await lstat(target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // gone meanwhile
      throw error;
    }
    if (stat.isSymbolicLink()) return;
    if (kept.has(target)) {
      if (stat.uid !== 0 || stat.gid !== 0) {
        reclaimed.push(target);
        await chown(target, 0, 0);
      }
      if ((stat.mode & 0o022) !== 0) await chmod(target, stat.mode & 0o7755);
      // Inside a kept folder only the kept entries are visited; anything else there is left as it is.
      if (stat.isDirectory()) for (const entry of await readdir(target)) if (kept.has(path.join(target, entry))) await visit(path.join(target, entry));
      return;
    }
    if (stat.uid !== identity.uid || stat.gid !== identity.gid) await chown(target, identity.uid, identity.gid);
    if (stat.isDirectory()) for (const entry of await readdir(target)) await visit(path.join(target, entry));
  };
  // The folder itself may be a link (to /srv/..., say).
  const top = await realpath(folder);
  const holdsKept = [...kept].some((entry) => entry.startsWith(folder + path.sep));
  const info = await statFollow(top);
  if (holdsKept) {
    if (info.uid !== 0 || info.gid !== identity.gid) await chown(top, 0, identity.gid);
    if ((info.mode & 0o7777) !== SHARED_DATA_DIR_MODE) await chmod(top, SHARED_DATA_DIR_MODE);
  } else if (info.uid !== identity.uid || info.gid !== identity.gid) {
    await chown(top, identity.uid, identity.gid);
  }
  for (const entry of await readdir(top)) await visit(path.join(folder, entry));
  return { reclaimed };
}

/**
 * What {@link handOver} keeps root's for a CA: each CA file inside `dataDir` and every folder between `dataDir`
 * and it (files elsewhere are not handed over at all).
 */
export function caKeepers(dataDir: string, files: readonly string[]): string[] {
  const keep = new Set<string>();
  const root = path.resolve(dataDir);
  for (const file of files.map((f) => path.resolve(f))) {
    const relative = path.relative(root, file);
    if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) continue;
    for (let entry = file; entry !== root; entry = path.dirname(entry)) keep.add(entry);
  }
  return [...keep];
}

/**
 * Drops root for good: supplementary groups cleared, then the group, then the user (in this order, since
 * after setuid nothing else may change). Checks that root cannot be regained.
 */
export function dropPrivileges(identity: Identity): void {
  if (!isRoot()) {
    const uid = process.getuid?.();
    if (uid === identity.uid) return;
    throw new ImspectError(`cannot switch to user "${identity.user}": imspect is not running as root (uid ${uid})`, { code: 'PRIVILEGE_DROP_FAILED', key: 'user' });
  }
  try {
    process.setgroups!([]);
    process.setgid!(identity.gid);
    process.setuid!(identity.uid);
  } catch (error) {
    throw new ImspectError(`cannot drop root to ${identity.user}:${identity.group}: ${(error as Error).message}`, { code: 'PRIVILEGE_DROP_FAILED', key: 'user', cause: error });
  }
  const groups = process.getgroups!().filter((g) => g !== identity.gid);
  if (process.getuid!() !== identity.uid || process.geteuid!() !== identity.uid || process.getgid!() !== identity.gid || process.getegid!() !== identity.gid || groups.length > 0) {
    throw new ImspectError(`dropping root to ${identity.user}:${identity.group} left other ids in place`, { code: 'PRIVILEGE_DROP_FAILED', key: 'user' });
  }
  if (identity.uid !== 0) {
    let regained = false;
    try {
      process.setuid!(0);
      regained = true;
    } catch {
      // expected: root is gone for good
    }
    if (regained) throw new ImspectError('root could be regained after dropping privileges', { code: 'PRIVILEGE_DROP_FAILED', key: 'user' });
  }
}

/** After the drop: the folders imspect writes to must still be writable. */
export async function checkWritable(folders: readonly string[], identity: Identity): Promise<void> {
  for (const folder of folders) {
    try {
      await access(folder, constants.W_OK | constants.X_OK);
    } catch {
      throw new ImspectError(
        `${folder} is not writable by ${identity.user} after dropping root: every folder above it must be searchable by that user (chmod o+x), or choose a dataDir under /var/lib`,
        { code: 'DATA_DIR_NOT_WRITABLE', key: 'dataDir' },
      );
    }
  }
}
