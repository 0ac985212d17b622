import { createRequire } from 'node:module';
import type { Ajv, ErrorObject, Options, ValidateFunction } from 'ajv';
import { ImspectError } from '@imspect/sdk/errors';
import { closestMatch } from './suggest.js';

/**
 * JSON Schema validation with defaults applied in place. One Ajv instance for every plugin's options (and the
 * configuration, when its validators were not precompiled by the build: see `config-validators.ts`), so a plugin
 * can declare its options as TypeBox or as plain JSON Schema.
 */
// `verbose` puts the schema beside each error: its `properties` are the keys a misspelt one is compared with.
export const AJV_OPTIONS: Options = { allErrors: true, useDefaults: true, strict: false, coerceTypes: false, verbose: true };

// Ajv and its compiler take tens of milliseconds to load: loaded on first use only, so commands that validate
// nothing but the configuration (with its precompiled validators) never pay for them.
const require = createRequire(import.meta.url);
let ajv: Ajv | undefined;
export function sharedAjv(): Ajv {
  if (!ajv) {
    const { Ajv: AjvClass } = require('ajv') as typeof import('ajv');
    ajv = new AjvClass(AJV_OPTIONS);
  }
  return ajv;
}
const compiled = new WeakMap<object, ValidateFunction>();

export interface ValidationProblem {
  /** Dotted key, e.g. `listeners[0].port`. */
  key: string;
  message: string;
}

export function validateAgainst(schema: object, value: unknown, keyPrefix = ''): ValidationProblem[] {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = sharedAjv().compile(schema);
    compiled.set(schema, validate);
  }
  return validateWith(validate, value, keyPrefix);
}

/** A validating function's problems with `value` (defaults applied in place), as {@link validateAgainst} gives them. */
export function validateWith(validate: ValidateFunction, value: unknown, keyPrefix = ''): ValidationProblem[] {
  if (validate(value)) return [];
  return (validate.errors ?? []).map((error) => toProblem(error, keyPrefix));
}

function toProblem(error: ErrorObject, keyPrefix: string): ValidationProblem {
  let key = pointerToKey(error.instancePath, keyPrefix);
  let message = error.message ?? 'is invalid';
  if (error.keyword === 'additionalProperties') {
    const unknown = String(error.params['additionalProperty']);
    key = joinKey(key, unknown);
    const allowed = (error.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
    const suggestion = allowed ? closestMatch(unknown, Object.keys(allowed)) : undefined;
    message = suggestion === undefined ? 'is not a known key' : `is not a known key; did you mean "${suggestion}"?`;
  } else if (error.keyword === 'required') {
    key = joinKey(key, String(error.params['missingProperty']));
    message = 'is required';
  } else if (error.keyword === 'enum' || error.keyword === 'const') {
    const allowed = (error.params['allowedValues'] ?? [error.params['allowedValue']]) as unknown[];
    message = `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return { key: key || '(root)', message };
}

function pointerToKey(pointer: string, prefix: string): string {
  if (!pointer) return prefix;
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((key, part) => (/^\d+$/.test(part) ? `${key}[${part}]` : joinKey(key, part)), prefix);
}

function joinKey(prefix: string, part: string): string {
  const safe = /^[A-Za-z_$][\w$-]*$/.test(part) ? part : JSON.stringify(part);
  if (!prefix) return safe;
  return safe.startsWith('"') ? `${prefix}[${safe}]` : `${prefix}.${safe}`;
}

export function formatProblems(problems: readonly ValidationProblem[], file: string | undefined): string {
  const where = file ?? 'configuration';
  return problems.map((p) => `${where}: ${p.key}: ${p.message}`).join('\n');
}

/** A configuration error: names the file and the key, so the administrator knows what to fix. */
export class ConfigError extends ImspectError {
  readonly problems: readonly ValidationProblem[];
  constructor(problems: readonly ValidationProblem[], file: string | undefined, plugin?: string) {
    super(formatProblems(problems, file), {
      code: 'CONFIG_INVALID',
      ...(file === undefined ? {} : { file }),
      ...(problems[0] ? { key: problems[0].key } : {}),
      ...(plugin === undefined ? {} : { plugin }),
    });
    this.name = 'ConfigError';
    this.problems = problems;
  }
}
