/**
 * Protocol aliases in the configuration (`jabber` for `xmpp`, see the SDK's PROTOCOL_ALIASES): a plugin section,
 * a forward listener's `protocol` and the `ports` map may use either name; after loading they all say the
 * protocol's own name, the one its plugin is known by and its events carry.
 */
// The module alone, not the SDK's index (TypeBox and all): loading the configuration stays quick.
import { PROTOCOL_ALIASES, canonicalProtocol } from '@imspect/sdk/protocol-names';
import type { Config } from './schema.js';
import type { ValidationProblem } from './validate.js';

export function applyProtocolAliases(config: Config): ValidationProblem[] {
  const problems: ValidationProblem[] = [];
  for (const alias of Object.keys(config.plugins)) {
    const name = PROTOCOL_ALIASES[alias.toLowerCase()];
    if (name === undefined) continue;
    if (config.plugins[name] !== undefined) {
      problems.push({ key: `plugins.${alias}`, message: `"${alias}" is another name for the ${name} plugin, which has its own section: keep one (plugins.${name})` });
      continue;
    }
    config.plugins[name] = config.plugins[alias]!;
    delete config.plugins[alias];
  }
  for (const listener of config.listeners) {
    if ('protocol' in listener && typeof listener.protocol === 'string') listener.protocol = canonicalProtocol(listener.protocol);
  }
  for (const [port, protocol] of Object.entries(config.ports)) config.ports[port] = canonicalProtocol(protocol);
  return problems;
}
