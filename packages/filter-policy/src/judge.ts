/** Turns one event and the policy into a verdict. */
import { dataValue, type ImEvent, type Verdict } from '@imspect/sdk';
import { BLOCKABLE, compareVersions, versionListed, type Blockable, type BlockSet, type ClientRule, type CompiledPolicy } from './rules.js';

const PASS: Verdict = Object.freeze({ action: 'pass' }) as Verdict;

const WHAT: Record<Blockable, string> = {
  file: 'file transfers',
  webcam: 'webcams',
  contact: 'adding contacts',
  emoticon: 'custom emoticons',
  'display-picture': 'display pictures',
};

/** Which blockable kind an event is, if any. Contact events other than additions (a list, a removal) are not. */
export function blockableKind(event: Pick<ImEvent, 'type' | 'subtype'>): Blockable | undefined {
  switch (event.type) {
    case 'file':
    case 'webcam':
    case 'emoticon':
    case 'display-picture':
      return event.type;
    case 'contact':
      return event.subtype === undefined || event.subtype === 'add' ? 'contact' : undefined;
    default:
      return undefined;
  }
}

const judged = new WeakMap<CompiledPolicy, ReadonlySet<string> | undefined>();

/**
 * The event types `policy` can block (the filter's `judges`), or undefined for every type: a user limited to
 * some protocols is refused whatever the event. Client rules judge logins and client reports; a kind blocked
 * anywhere (globally, for a protocol or a user), events of the blockable types. An empty policy judges nothing.
 */
export function judgedTypes(policy: CompiledPolicy): ReadonlySet<string> | undefined {
  if (judged.has(policy)) return judged.get(policy);
  let types: Set<string> | undefined = new Set<string>();
  const sets = [policy.block, ...policy.protocols.values(), ...[...policy.users.values()].map((u) => u.block)];
  if ([...policy.users.values()].some((u) => u.protocols !== undefined)) types = undefined;
  else {
    if (policy.clients.length > 0) types.add('login').add('other');
    if (sets.some((set) => BLOCKABLE.some((kind) => set[kind] === true))) for (const kind of BLOCKABLE) types.add(kind);
  }
  judged.set(policy, types);
  return types;
}

export function policyVerdict(policy: CompiledPolicy, event: Readonly<ImEvent>, respond?: string): Verdict {
  const protocol = event.protocol.toLowerCase();
  const local = event.localId.toLowerCase();
  const user = policy.users.get(`${protocol}:${local}`) ?? policy.users.get(local);
  if (user?.protocols && !user.protocols.has(protocol)) {
    return { ...block(['policy protocol'], `${event.localId} may not use ${event.protocol}`, respond ?? `You may not use ${event.protocol} here`), disconnect: true };
  }
  if (event.type === 'login' || (event.type === 'other' && event.subtype === 'client')) {
    const denied = deniedClient(policy.clients, protocol, event);
    if (denied) return { ...block(['policy client'], denied.reason, denied.message), disconnect: true };
  }
  const kind = blockableKind(event);
  if (kind === undefined) return PASS;
  const blocked = pick(kind, user?.block, policy.protocols.get(protocol), policy.block);
  if (!blocked) return PASS;
  const verdict = block([`policy ${kind}`], `${WHAT[kind]} are blocked for ${event.localId} on ${event.protocol}`, respond);
  return verdict;
}

/** The most specific setting for `kind`: the user's, else the protocol's, else the global one. */
function pick(kind: Blockable, ...sets: Array<BlockSet | undefined>): boolean {
  for (const set of sets) {
    const value = set?.[kind];
    if (value !== undefined) return value;
  }
  return false;
}

function block(categories: string[], reason: string, respond: string | undefined): Verdict {
  const verdict: Verdict = { action: 'block', categories, reason };
  if (respond !== undefined) verdict.respond = respond;
  return verdict;
}

function deniedClient(rules: readonly ClientRule[], protocol: string, event: Readonly<ImEvent>): { reason: string; message: string } | undefined {
  const client = dataValue(event.data, 'client');
  const version = dataValue(event.data, 'version');
  const dialect = dataValue(event.data, 'protocol-version');
  if (client === undefined && version === undefined && dialect === undefined) return undefined;
  const who = [client, version].filter((x) => x !== undefined).join(' ') || (dialect ?? 'this client');
  const clientKey = client?.toLowerCase();
  for (const rule of rules) {
    // compilePolicy lower-cased the rule's protocol and client.
    if (rule.protocol !== undefined && rule.protocol !== protocol) continue;
    if (rule.client !== undefined && rule.client !== clientKey) continue;
    let why: string | undefined;
    if (dialect !== undefined && rule.denyProtocolVersions && versionListed(dialect, rule.denyProtocolVersions)) why = `protocol ${dialect} is not allowed`;
    else if (version !== undefined && rule.denyVersions && versionListed(version, rule.denyVersions)) why = `version ${version} is not allowed`;
    else if (version !== undefined && rule.minVersion !== undefined && compareVersions(version, rule.minVersion) < 0) why = `version ${rule.minVersion} or newer is required`;
    if (why === undefined) continue;
    const reason = `client ${who} on ${event.protocol} denied: ${why}`;
    return { reason, message: rule.message ?? `Your IM client (${who}) is not allowed here: ${why}. Please upgrade.` };
  }
  return undefined;
}
