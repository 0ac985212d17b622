/**
 * IMSpector's ACL grammar, one rule per line, first match wins, default allow:
 *
 *     allow|deny <localid>|all [groupchat|<remoteid> ...]
 *
 * An empty remote list matches every remote id; `groupchat` matches every group conversation. A line starting
 * with `#` is a comment (only a whole line: `#` also starts IRC channel names). imspect adds protocol sections: after a line `[irc]` the rules apply to IRC only, until the next
 * section; `[all]` (or the rules before any section) apply to every protocol.
 *
 * Ids match whole, ignoring case (`bob` never matches `xbob` or `bob2`); an XMPP resource (`/laptop`) is
 * ignored; an entry that is a domain (`company.com`, no `@`) matches every id at that domain or below it.
 */
import { canonicalProtocol, isGroupChat, type ImEvent } from '@imspect/sdk';

export interface AclRule {
  action: 'allow' | 'deny';
  /** Lower-cased local id, or undefined for `all`. */
  local: string | undefined;
  /** Lower-cased remote ids; empty = every remote id. */
  remotes: string[];
  groupchat: boolean;
  /** Protocol the rule is limited to (its section), or undefined for all. */
  protocol: string | undefined;
  line: number;
  /** The rule as written, for messages. */
  text: string;
}

const SECTION = /^\[([A-Za-z0-9_.-]+)\]$/;

export function parseAcl(text: string): AclRule[] {
  const rules: AclRule[] = [];
  let protocol: string | undefined;
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lines = body.split(/\r?\n|\r/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    // Only whole lines are comments: `#` also starts IRC channel names.
    if (line.length === 0 || line.startsWith('#')) continue;
    const section = SECTION.exec(line);
    if (section) {
      // `[jabber]` is the `xmpp` section: the name events carry.
      const name = canonicalProtocol(section[1]!).toLowerCase();
      protocol = name === 'all' ? undefined : name;
      continue;
    }
    const [action, local, ...remotes] = line.split(/\s+/);
    if (action !== 'allow' && action !== 'deny') throw new Error(`line ${n + 1}: "${line}": a rule starts with allow or deny`);
    if (local === undefined) throw new Error(`line ${n + 1}: "${line}": the local id (or all) is missing`);
    const lowered = remotes.map((r) => r.toLowerCase());
    rules.push({
      action,
      local: local.toLowerCase() === 'all' ? undefined : local.toLowerCase(),
      remotes: lowered.filter((r) => r !== 'groupchat'),
      groupchat: lowered.includes('groupchat'),
      protocol,
      line: n + 1,
      text: line,
    });
  }
  return rules;
}

/** An id as compared: lower case, without an XMPP resource. */
function normalise(id: string): string {
  const lower = id.toLowerCase();
  const at = lower.indexOf('@');
  if (at < 0) return lower;
  const slash = lower.indexOf('/', at);
  return slash < 0 ? lower : lower.slice(0, slash);
}

/** Does ACL entry `entry` (lower case) name the id `id` (normalised)? */
export function idMatches(entry: string, id: string): boolean {
  if (entry === id) return true;
  if (entry.includes('@') || !entry.includes('.')) return false;
  const at = id.lastIndexOf('@');
  if (at < 0) return false;
  const domain = id.slice(at + 1);
  return domain === entry || domain.endsWith(`.${entry}`);
}

/** The first rule that applies to the event, or undefined (default allow). */
export function firstMatch(rules: readonly AclRule[], event: Pick<ImEvent, 'protocol' | 'localId' | 'remoteId' | 'conversation' | 'subtype' | 'data'>): AclRule | undefined {
  const protocol = event.protocol.toLowerCase();
  const local = normalise(event.localId);
  const remote = normalise(event.remoteId);
  let group: boolean | undefined;
  for (const rule of rules) {
    if (rule.protocol !== undefined && rule.protocol !== protocol) continue;
    if (rule.local !== undefined && !idMatches(rule.local, local)) continue;
    if (rule.remotes.length === 0 && !rule.groupchat) return rule;
    if (rule.groupchat && (group ??= isGroupChat(event))) return rule;
    if (rule.remotes.some((entry) => idMatches(entry, remote))) return rule;
  }
  return undefined;
}
