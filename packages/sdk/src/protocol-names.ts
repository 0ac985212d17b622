/**
 * Other names people use for a protocol, accepted wherever a protocol is named (configuration, policy files, the
 * command line) and turned into the name its plugin reports in every event. `jabber` is XMPP's older name (and
 * the name of its plugin package, @imspect/plugin-jabber); events always say `xmpp`.
 */
export const PROTOCOL_ALIASES: Readonly<Record<string, string>> = Object.freeze(Object.assign(Object.create(null) as Record<string, string>, { jabber: 'xmpp' }));

/** The protocol's own name for `name` (`jabber` -> `xmpp`, any case), or `name` itself when it is no alias. */
export function canonicalProtocol(name: string): string {
  return PROTOCOL_ALIASES[name.toLowerCase()] ?? name;
}

/**
 * A `protocol:localid` key (as filter policies key users) with its protocol part made canonical; a key with no
 * known alias before its first `:` is returned as it is.
 */
export function canonicalProtocolKey(key: string): string {
  const colon = key.indexOf(':');
  if (colon <= 0) return key;
  const alias = PROTOCOL_ALIASES[key.slice(0, colon).toLowerCase()];
  return alias === undefined ? key : `${alias}${key.slice(colon)}`;
}
