import { createRequire } from 'node:module';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { LISTENER_SCHEMAS, TOP_LEVEL_SCHEMA } from '../src/config/config-schemas.js';
import { configValidators, listenerExport } from '../src/config/config-validators.js';
import { AJV_OPTIONS, validateWith, type ValidationProblem } from '../src/config/validate.js';
import { configValidatorSource } from '../src/config/validator-source.js';

/** The standalone source loaded as a CommonJS module (its `require`s resolved from core, where Ajv's runtime is). */
function loadSource(source: string): Record<string, unknown> {
  const module = { exports: {} as Record<string, unknown> };
  new Function('module', 'exports', 'require', source)(module, module.exports, createRequire(import.meta.url));
  return module.exports;
}

const BAD_CONFIGS: unknown[] = [
  {},
  { listners: [], colour: 'red', destinations: { allowNetwork: [] }, plugins: { x: { enabeld: false, optional: 'yes' } } },
  { dataDir: 7, pipeline: { failMode: 'ajar', hookTimeoutMs: 0 }, loggers: { journal: { onFull: 'explode' } } },
  { log: { level: 'loud', format: 'xml' }, connections: { maxConnections: -1 }, tls: { intercept: 'sometimes' } },
];
const BAD_LISTENERS: Array<[string, unknown]> = [
  ['socks5', { type: 'socks5', alow: ['10.0.0.0/8'], port: 70000 }],
  ['forward', { type: 'forward', port: 1 }],
  ['http-connect', { type: 'http-connect', host: 5 }],
  ['transparent', { type: 'transparent', port: 'x' }],
];

describe('precompiled configuration validators', () => {
  it('are what the tests and the build use: standalone code, not Ajv compiling at start-up', () => {
    expect(configValidators().origin).toBe('precompiled');
    expect(Object.keys(configValidators().listeners).sort()).toEqual(Object.keys(LISTENER_SCHEMAS).sort());
  });

  it('give the same problems, suggestions and defaults as the schema compiled at run time', () => {
    const generated = loadSource(configValidatorSource());
    const ajv = new Ajv(AJV_OPTIONS);
    const runtimeTop = ajv.compile(TOP_LEVEL_SCHEMA);
    const problems = (validate: Parameters<typeof validateWith>[0], value: unknown, prefix = '') => {
      const copy = structuredClone(value);
      return { problems: validateWith(validate, copy, prefix), withDefaults: copy };
    };
    for (const config of BAD_CONFIGS) {
      const ours = problems(generated['topLevel'] as never, config);
      expect(ours).toEqual(problems(runtimeTop, config));
    }
    // Not vacuous: the bad configurations do have problems, with suggestions.
    const found = problems(generated['topLevel'] as never, BAD_CONFIGS[1]).problems as ValidationProblem[];
    expect(found).toContainEqual({ key: 'listners', message: 'is not a known key; did you mean "listeners"?' });
    expect(problems(generated['topLevel'] as never, {}).withDefaults).toMatchObject({ dataDir: 'imspect-data', pipeline: { failMode: 'open' } });
    for (const [type, listener] of BAD_LISTENERS) {
      const ours = problems(generated[listenerExport(type)] as never, listener, 'listeners[0]');
      expect(ours.problems.length, type).toBeGreaterThan(0);
      expect(ours).toEqual(problems(ajv.compile(LISTENER_SCHEMAS[type]!), listener, 'listeners[0]'));
    }
  });
});
