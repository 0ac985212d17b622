/**
 * The standalone code of the configuration's validators, which the build writes next to `config-validators.js`
 * (`packages/core/scripts/build-validators.js`). Never imported at run time: it loads Ajv's compiler.
 */
import { Ajv } from 'ajv';
import standalone from 'ajv/dist/standalone/index.js';
import { LISTENER_SCHEMAS, TOP_LEVEL_SCHEMA } from './config-schemas.js';
import { listenerExport } from './config-validators.js';
import { AJV_OPTIONS } from './validate.js';

export function configValidatorSource(): string {
  const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true } });
  const exports: Record<string, string> = { topLevel: 'imspect-config' };
  ajv.addSchema(TOP_LEVEL_SCHEMA, 'imspect-config');
  for (const [type, schema] of Object.entries(LISTENER_SCHEMAS)) {
    ajv.addSchema(schema, `imspect-listener-${type}`);
    exports[listenerExport(type)] = `imspect-listener-${type}`;
  }
  // The listener types travel with their validators: loading them needs no schema.
  const types = `exports.listenerTypes = ${JSON.stringify(Object.keys(LISTENER_SCHEMAS))};`;
  return `// Generated from the configuration schema (packages/core/src/config/validator-source.ts); do not edit.\n${standalone.default(ajv, exports)}\n${types}\n`;
}
