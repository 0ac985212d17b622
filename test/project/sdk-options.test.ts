/**
 * A plugin author checks options with the SDK alone (`resolveOptions`, TypeBox); imspect checks them with its
 * JSON Schema validator when it loads the plugin. The two must agree, or a plugin's tests would pass options that
 * imspect refuses (or fill in other defaults): checked on every built-in plugin's schema. Needs `pnpm build`.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/imspect-process.js';

const PACKAGES = path.join(REPO_ROOT, 'packages');
const load = async <T>(file: string): Promise<T> => (await import(pathToFileURL(path.join(PACKAGES, file)).href)) as T;

interface Problem {
  key: string;
}
type Resolve = (schema: unknown, input: unknown) => Promise<{ ok: true; options: unknown } | { ok: false; problems: Problem[] }>;
type Validate = (schema: object, value: unknown) => Problem[];

/** Inputs each schema is tried with: none, an unknown key, and wrong types for every declared key. */
function inputs(schema: { properties?: Record<string, unknown> }): unknown[] {
  const keys = Object.keys(schema.properties ?? {});
  return [undefined, {}, { notAnOption: 1 }, Object.fromEntries(keys.map((key) => [key, { wrong: true }])), Object.fromEntries(keys.map((key) => [key, 12345]))];
}

describe('option schemas: the SDK and the host agree', async () => {
  const { resolveOptions, isTypeBoxSchema } = await load<{ resolveOptions: Resolve; isTypeBoxSchema: (s: unknown) => boolean }>('sdk/dist/index.js');
  const { validateAgainst } = await load<{ validateAgainst: Validate }>('core/dist/runtime/index.js');
  const plugins = (await readdir(PACKAGES)).filter((name) => /^(plugin|filter|logger)-/.test(name));

  it('finds the built-in plugins', () => expect(plugins.length).toBeGreaterThanOrEqual(8));

  it.each(plugins)('%s', async (name) => {
    const { default: plugin } = await load<{ default: { options?: object } }>(`${name}/dist/index.js`);
    if (plugin.options === undefined) return;
    expect(isTypeBoxSchema(plugin.options), `${name} declares its options with Type`).toBe(true);
    for (const input of inputs(plugin.options as { properties?: Record<string, unknown> })) {
      const sdk = await resolveOptions(plugin.options, input);
      const hostValue = structuredClone(input ?? {});
      const host = validateAgainst(plugin.options, hostValue);
      const label = `${name} with ${JSON.stringify(input)}`;
      expect({ label, ok: sdk.ok }).toEqual({ label, ok: host.length === 0 });
      if (sdk.ok) expect({ label, options: sdk.options }).toEqual({ label, options: hostValue });
      else expect({ label, keys: [...new Set(sdk.problems.map((p) => p.key))].sort() }).toEqual({ label, keys: [...new Set(host.map((p) => p.key))].sort() });
    }
  });
});
