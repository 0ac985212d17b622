/**
 * @imspect/filter-acl: who may talk to whom, in IMSpector's acl.txt format (see acl.ts). A denied event is
 * blocked with category `acl`; the sender gets the configured reply.
 */
import path from 'node:path';
import { definePlugin, isPresenceEvent, RulesFile, Type, type EventType, type FilterHooks, type ImEvent, type Verdict } from '@imspect/sdk';
import { firstMatch, parseAcl, type AclRule } from './acl.js';

export { parseAcl, firstMatch, idMatches, type AclRule } from './acl.js';

/** What a conversation ACL judges by default: not logins, logouts or encryption notes, which have no peer. */
export const DEFAULT_TYPES: EventType[] = ['message', 'file', 'typing', 'webcam', 'contact', 'join', 'emoticon', 'display-picture'];

export const AclOptions = Type.Object(
  {
    file: Type.Optional(
      Type.String({ description: 'The ACL file (IMSpector acl.txt format, optional [protocol] sections); relative to the config file. Without it everything is allowed' }),
    ),
    types: Type.Array(Type.String(), { default: DEFAULT_TYPES, description: 'Event types the ACL applies to' }),
    watch: Type.Boolean({ default: true, description: 'Reload the ACL when the file changes (SIGHUP reloads it too)' }),
    respond: Type.Optional(Type.String({ description: 'Reply to the sender of a denied message instead of the configured responses.blocked.text' })),
  },
  { additionalProperties: false },
);

export function aclVerdict(rules: readonly AclRule[], event: Readonly<ImEvent>, types: ReadonlySet<string>, respond?: string): Verdict {
  // A contact's presence is no conversation: a blocked contact's status is logged, not refused.
  if (!types.has(event.type) || isPresenceEvent(event)) return PASS;
  const rule = firstMatch(rules, event);
  if (rule === undefined || rule.action === 'allow') return PASS;
  const verdict: Verdict = { action: 'block', categories: ['acl'], reason: `ACL line ${rule.line}: ${rule.text}` };
  if (respond !== undefined) verdict.respond = respond;
  return verdict;
}

const PASS: Verdict = Object.freeze({ action: 'pass' }) as Verdict;

export default definePlugin({
  name: 'filter-acl',
  kind: 'filter',
  options: AclOptions,
  async setup({ options, configDir, logger }): Promise<FilterHooks> {
    if (options.file === undefined) {
      logger.debug('no ACL configured (options.file): everything is allowed');
      return { check: () => PASS, judges: new Set() };
    }
    const rules = await RulesFile.open({
      file: path.resolve(configDir, options.file),
      what: 'ACL',
      logger,
      watch: options.watch,
      parse: parseAcl,
      onReload: (next) => logger.info({ rules: next.length }, 'ACL in force'),
    });
    logger.info({ file: rules.file, rules: rules.current.length }, 'ACL loaded');
    const types = new Set<string>(options.types);
    return {
      check: (event) => aclVerdict(rules.current, event, types, options.respond),
      judges: types,
      reload: () => rules.reloadOrThrow(),
      close: () => rules.close(),
    };
  },
});
