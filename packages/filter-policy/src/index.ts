/**
 * @imspect/filter-policy: blocks file transfers, webcams, contact additions, custom emoticons and display
 * pictures (globally, per protocol, per user), limits users to protocols, and denies old clients by version
 * or protocol dialect. Rules inline in the options, or in a policy file (YAML or JSON) that is reloaded when it
 * changes.
 */
import path from 'node:path';
import { definePlugin, RulesFile, Type, type FilterHooks } from '@imspect/sdk';
import { judgedTypes, policyVerdict } from './judge.js';
import { compilePolicy, PolicyRulesSchema, type CompiledPolicy } from './rules.js';

export { policyVerdict, blockableKind, judgedTypes } from './judge.js';
export { compilePolicy, compareVersions, versionListed, PolicyRulesSchema, BLOCKABLE, type PolicyRules, type CompiledPolicy } from './rules.js';
// The policy file's reader (YAML and TypeBox's checker, some 120 modules) is `@imspect/filter-policy/file`, loaded
// only when a file is configured: imspect imports this entry point at start and keeps what it loads.

export const PolicyOptions = Type.Composite(
  [
    PolicyRulesSchema,
    Type.Object({
      file: Type.Optional(Type.String({ description: 'Policy file (YAML or JSON, the same keys as these options); replaces the inline rules; reloaded when it changes' })),
      watch: Type.Boolean({ default: true, description: 'Reload the policy file when it changes (SIGHUP reloads it too)' }),
      respond: Type.Optional(Type.String({ description: 'Reply to the sender of a blocked action instead of the configured responses.blocked.text' })),
    }),
  ],
  { additionalProperties: false },
);

export default definePlugin({
  name: 'filter-policy',
  kind: 'filter',
  options: PolicyOptions,
  async setup({ options, configDir, logger }): Promise<FilterHooks> {
    const { file, watch, respond, ...inline } = options;
    if (file === undefined) {
      const policy = compilePolicy(inline);
      return { check: (event) => policyVerdict(policy, event, respond), judges: judgedTypes(policy) };
    }
    const { parsePolicyFile } = await import('./policy-file.js');
    const rules = await RulesFile.open<CompiledPolicy>({
      file: path.resolve(configDir, file),
      what: 'policy',
      logger,
      watch,
      parse: (text) => compilePolicy(parsePolicyFile(text)),
    });
    logger.info({ file: rules.file }, 'policy loaded');
    return {
      check: (event) => policyVerdict(rules.current, event, respond),
      get judges() {
        return judgedTypes(rules.current);
      },
      reload: () => rules.reloadOrThrow(),
      close: () => rules.close(),
    };
  },
});
