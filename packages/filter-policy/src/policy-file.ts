/** Reads a policy file: YAML (JSON is YAML too), checked against the policy's schema with errors that name the key. */
import { Value } from '@sinclair/typebox/value';
import { parse } from 'yaml';
import { PolicyRulesSchema, type PolicyRules } from './rules.js';

export function parsePolicyFile(text: string): PolicyRules {
  let value: unknown;
  try {
    value = parse(text);
  } catch (error) {
    throw new Error(`not valid YAML or JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (value === null || value === undefined) return {};
  const first = Value.Errors(PolicyRulesSchema, value).First();
  if (first) {
    const key = first.path.replace(/^\//, '').replace(/\//g, '.') || '(root)';
    throw new Error(`${key}: ${first.message}`);
  }
  return value as PolicyRules;
}
