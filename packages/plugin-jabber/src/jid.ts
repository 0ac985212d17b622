/** JID helpers (RFC 7622): `local@domain/resource`. Only what logging needs: no stringprep. */

/** `local@domain` (lower-cased: both parts compare case-insensitively), without the resource. */
export function bareJid(jid: string): string {
  const slash = jid.indexOf('/');
  return (slash < 0 ? jid : jid.slice(0, slash)).toLowerCase();
}

/** The resource (after the first `/`), or undefined. */
export function resourceOf(jid: string): string | undefined {
  const slash = jid.indexOf('/');
  return slash < 0 || slash === jid.length - 1 ? undefined : jid.slice(slash + 1);
}

export function domainOf(jid: string): string {
  const bare = bareJid(jid);
  const at = bare.indexOf('@');
  return at < 0 ? bare : bare.slice(at + 1);
}

/** The JID with its bare part lower-cased and its resource kept as it is. */
export function normaliseJid(jid: string): string {
  const resource = resourceOf(jid);
  return resource === undefined ? bareJid(jid) : `${bareJid(jid)}/${resource}`;
}
