/**
 * The policy: what kinds of action are blocked (globally, per protocol, per user), which protocols each user
 * may use, and which clients are too old. The same shape is accepted inline in the plugin's options and in a
 * policy file (YAML or JSON).
 */
import { Type, type Static } from '@sinclair/typebox';
import { canonicalProtocol, canonicalProtocolKey } from '@imspect/sdk';

export const BLOCKABLE = ['file', 'webcam', 'contact', 'emoticon', 'display-picture'] as const;
export type Blockable = (typeof BLOCKABLE)[number];

const BlockSet = Type.Object(
  {
    file: Type.Optional(Type.Boolean({ description: 'File transfers (offers)' })),
    webcam: Type.Optional(Type.Boolean({ description: 'Webcam invitations' })),
    contact: Type.Optional(Type.Boolean({ description: 'Adding a contact to the contact list' })),
    emoticon: Type.Optional(Type.Boolean({ description: 'Custom emoticon transfers' })),
    'display-picture': Type.Optional(Type.Boolean({ description: 'Display picture (avatar) transfers' })),
  },
  { additionalProperties: false, description: 'true blocks, false allows (overriding a wider rule)' },
);

const ClientRule = Type.Object(
  {
    protocol: Type.Optional(Type.String({ description: 'Protocol the rule is about (default: every protocol)' })),
    client: Type.Optional(Type.String({ description: 'Client program the rule is about (the `client=` the protocol reports), ignoring case' })),
    minVersion: Type.Optional(Type.String({ description: 'Oldest client version allowed, e.g. 8.1' })),
    denyVersions: Type.Optional(Type.Array(Type.String(), { description: 'Client versions denied; a trailing * matches a prefix (7.*)' })),
    denyProtocolVersions: Type.Optional(Type.Array(Type.String(), { description: 'Protocol dialects denied, e.g. MSNP8 (MSN VER)' })),
    message: Type.Optional(Type.String({ description: 'What the client is told; default names the client and the rule' })),
  },
  { additionalProperties: false },
);

export const PolicyRulesSchema = Type.Object(
  {
    block: Type.Optional(BlockSet),
    protocols: Type.Optional(
      Type.Record(Type.String(), Type.Object({ block: Type.Optional(BlockSet) }, { additionalProperties: false }), { description: 'Per protocol: what is blocked' }),
    ),
    users: Type.Optional(
      Type.Record(
        Type.String(),
        Type.Object(
          {
            block: Type.Optional(BlockSet),
            protocols: Type.Optional(Type.Array(Type.String(), { description: 'The only protocols this user may use' })),
          },
          { additionalProperties: false },
        ),
        { description: 'Per user, keyed by local id or protocol:localid (the more specific wins)' },
      ),
    ),
    clients: Type.Optional(Type.Array(ClientRule, { description: 'Clients denied by version or protocol dialect' })),
  },
  { additionalProperties: false },
);

export type PolicyRules = Static<typeof PolicyRulesSchema>;
export type ClientRule = Static<typeof ClientRule>;
export type BlockSet = Static<typeof BlockSet>;

/** The policy, indexed for lookups per event. */
export interface CompiledPolicy {
  block: BlockSet;
  protocols: Map<string, BlockSet>;
  /** Keys lower-cased: `protocol:localid` and `localid`. */
  users: Map<string, { block: BlockSet; protocols: Set<string> | undefined }>;
  /** `protocol` and `client` lower-cased, so that an event is compared without re-casing the rules. */
  clients: ClientRule[];
}

export function compilePolicy(rules: PolicyRules): CompiledPolicy {
  const protocols = new Map<string, BlockSet>();
  // Protocols may be named by an alias (`jabber`): compared by the name events carry (`xmpp`).
  const protocolName = (name: string) => canonicalProtocol(name).toLowerCase();
  for (const [name, section] of Object.entries(rules.protocols ?? {})) protocols.set(protocolName(name), section.block ?? {});
  const users = new Map<string, { block: BlockSet; protocols: Set<string> | undefined }>();
  for (const [id, section] of Object.entries(rules.users ?? {})) {
    users.set(canonicalProtocolKey(id).toLowerCase(), {
      block: section.block ?? {},
      protocols: section.protocols ? new Set(section.protocols.map(protocolName)) : undefined,
    });
  }
  const clients = (rules.clients ?? []).map((rule) => ({
    ...rule,
    ...(rule.protocol !== undefined ? { protocol: protocolName(rule.protocol) } : {}),
    ...(rule.client !== undefined ? { client: rule.client.toLowerCase() } : {}),
  }));
  return { block: rules.block ?? {}, protocols, users, clients };
}

/**
 * Compares dotted versions part by part, numerically where both parts are numbers (`8.10` > `8.9`), else as
 * text; a missing part counts as 0 (`8` = `8.0`).
 */
export function compareVersions(a: string, b: string): number {
  const pa = a.trim().split(/[.\-_ ]+/);
  const pb = b.trim().split(/[.\-_ ]+/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '0';
    const y = pb[i] ?? '0';
    const nx = /^\d+$/.test(x) ? Number(x) : NaN;
    const ny = /^\d+$/.test(y) ? Number(y) : NaN;
    if (!Number.isNaN(nx) && !Number.isNaN(ny)) {
      if (nx !== ny) return nx < ny ? -1 : 1;
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  return 0;
}

export function versionListed(version: string, list: readonly string[]): boolean {
  const v = version.toLowerCase();
  return list.some((entry) => {
    const e = entry.toLowerCase();
    return e.endsWith('*') ? v.startsWith(e.slice(0, -1)) : v === e;
  });
}
