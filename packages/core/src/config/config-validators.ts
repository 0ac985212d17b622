/**
 * The configuration's validating functions. `pnpm build` generates them as standalone code
 * (`dist/config/config-validators.generated.cjs`, from `validator-source.ts`; not committed; the test run makes one
 * beside the sources): loading that file takes a few milliseconds, where importing Ajv, TypeBox and the schema and
 * compiling it took about 100 ms of every command's start. Without it (a build that skipped the step) the schema
 * is loaded and compiled here, with the same options, so the errors and their suggestions are the same either way.
 * Nothing here imports the schema or Ajv up front: `status` and `plugins list` load neither.
 */
import { createRequire } from 'node:module';
import type { ValidateFunction } from 'ajv';
import type * as Schemas from './config-schemas.js';
import { sharedAjv } from './validate.js';

const require = createRequire(import.meta.url);

export interface ConfigValidators {
  topLevel: ValidateFunction;
  /** By listener `type`. */
  listeners: Readonly<Record<string, ValidateFunction>>;
  /** `precompiled`: the build's standalone code; `compiled`: Ajv at run time. */
  origin: 'precompiled' | 'compiled';
}

export const GENERATED_FILE = 'config-validators.generated.cjs';

/** The export name of a listener type's validator in the generated module. */
export function listenerExport(type: string): string {
  return `listener_${type.replace(/[^A-Za-z0-9]/g, '_')}`;
}

let validators: ConfigValidators | undefined;

export function configValidators(): ConfigValidators {
  validators ??= precompiled() ?? compiled();
  return validators;
}

function precompiled(): ConfigValidators | undefined {
  let generated: Record<string, unknown>;
  try {
    generated = require(`./${GENERATED_FILE}`) as Record<string, unknown>;
  } catch (error) {
    if ((error as { code?: string }).code === 'MODULE_NOT_FOUND') return undefined;
    throw error;
  }
  const types = generated['listenerTypes'];
  if (typeof generated['topLevel'] !== 'function' || !Array.isArray(types)) return undefined;
  const listeners = Object.fromEntries((types as string[]).map((type) => [type, generated[listenerExport(type)] as ValidateFunction]));
  return { topLevel: generated['topLevel'] as ValidateFunction, listeners, origin: 'precompiled' };
}

function compiled(): ConfigValidators {
  // Synchronously, as the rest of this module (`require` of an ES module without top-level await).
  const { LISTENER_SCHEMAS, TOP_LEVEL_SCHEMA } = require('./config-schemas.js') as typeof Schemas;
  const ajv = sharedAjv();
  const listeners = Object.fromEntries(Object.entries(LISTENER_SCHEMAS).map(([type, schema]) => [type, ajv.compile(schema)]));
  return { topLevel: ajv.compile(TOP_LEVEL_SCHEMA), listeners, origin: 'compiled' };
}
