/** Checking a privilege drop from outside: what the tests need, and the ids `/proc/PID/status` shows. */
import { findExecutable } from './e2e.js';

/** Why the privilege-drop tests cannot run here (they start imspect as root and chat through ngircd), or undefined. */
export function privilegeDropMissing(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux /proc';
  if (process.getuid?.() !== 0) return 'dropping privileges needs the tests to run as root';
  return findExecutable('ngircd') ? undefined : 'ngircd not found';
}

/** The ids of one `Uid:`/`Gid:`/`Groups:` line of `/proc/PID/status` (real, effective, saved, filesystem). */
export function procIds(status: string, field: string): string[] {
  const line = status.split('\n').find((l) => l.startsWith(`${field}:`));
  if (line === undefined) throw new Error(`no ${field} line in /proc status`);
  return line
    .slice(field.length + 1)
    .trim()
    .split(/\s+/)
    .filter(Boolean);
}
