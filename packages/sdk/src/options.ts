/**
 * A plugin's options with the SDK alone: declare them with `Type` (TypeBox, re-exported here), then
 * `resolveOptions` applies the schema's defaults and validates, as imspect does when it loads the plugin. Errors
 * are values (a list of problems naming the key), never exceptions, so a plugin or its tests can report them.
 *
 * imspect itself validates with a JSON Schema validator, so a plugin may also declare plain JSON Schema; only
 * TypeBox schemas can be checked here (a plain schema is reported, not guessed at).
 */
import { Kind, type Static, type TSchema } from '@sinclair/typebox';

type ValueModule = typeof import('@sinclair/typebox/value');
/** TypeBox's checker, loaded on first use: importing the SDK (as imspect itself does at start) stays cheap. */
let valueModule: Promise<ValueModule> | undefined;
const loadValue = (): Promise<ValueModule> => (valueModule ??= import('@sinclair/typebox/value'));

/** One thing wrong with the options: the dotted key (e.g. `rules[2].word`) and what is wrong with it. */
export interface OptionsProblem {
  key: string;
  message: string;
}

export type ResolvedOptions<S extends TSchema> = { ok: true; options: Static<S> } | { ok: false; problems: OptionsProblem[] };

/**
 * `input` (the plugin's configuration section; undefined for none) with the schema's defaults applied, and
 * checked against the schema. `input` is not modified. Asynchronous only because the checker is loaded on first
 * use.
 *
 * ```ts
 * const schema = Type.Object({ mask: Type.String({ default: '*', maxLength: 1 }) }, { additionalProperties: false });
 * await resolveOptions(schema, {});            // { ok: true, options: { mask: '*' } }
 * await resolveOptions(schema, { mask: 'ab' }); // { ok: false, problems: [{ key: 'mask', message: 'Expected string length less or equal to 1' }] }
 * ```
 */
export async function resolveOptions<S extends TSchema>(schema: S, input: unknown): Promise<ResolvedOptions<S>> {
  if (!isTypeBoxSchema(schema)) {
    return { ok: false, problems: [{ key: '(root)', message: 'the options schema is plain JSON Schema; resolveOptions checks TypeBox schemas (declare it with Type.*)' }] };
  }
  const { Value } = await loadValue();
  const value: unknown = input === undefined ? {} : Value.Clone(input);
  applyDefaults(Value, schema, value);
  if (Value.Check(schema, value)) return { ok: true, options: value as Static<S> };
  const problems: OptionsProblem[] = [];
  for (const error of Value.Errors(schema, value)) problems.push({ key: pointerToKey(error.path), message: error.message });
  return { ok: false, problems };
}

/**
 * Fills in missing values from `default`s in place, where imspect's validator does (Ajv's `useDefaults`): a
 * property of an object that is absent or undefined, in `properties` (also inside `allOf`), recursively into
 * objects and array items that are present. A value of the wrong type is left for validation to report (TypeBox's
 * `Value.Default` would replace it with the default, accepting options imspect refuses).
 */
function applyDefaults(Value: ValueModule['Value'], schema: unknown, value: unknown): void {
  if (typeof schema !== 'object' || schema === null) return;
  const node = schema as { properties?: Record<string, unknown>; items?: unknown; allOf?: unknown[] };
  if (node.properties !== undefined && typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const object = value as Record<string, unknown>;
    for (const [key, sub] of Object.entries(node.properties)) {
      const fallback = (sub as { default?: unknown } | undefined)?.default;
      if (object[key] === undefined && fallback !== undefined) object[key] = Value.Clone(fallback);
      if (object[key] !== undefined) applyDefaults(Value, sub, object[key]);
    }
  }
  if (Array.isArray(value) && typeof node.items === 'object' && node.items !== null && !Array.isArray(node.items)) {
    for (const item of value) applyDefaults(Value, node.items, item);
  }
  for (const part of node.allOf ?? []) applyDefaults(Value, part, value);
}

/** True when `schema` was built with TypeBox's `Type` (every node carries its kind). */
export function isTypeBoxSchema(schema: unknown): schema is TSchema {
  return typeof schema === 'object' && schema !== null && Kind in schema;
}

/** `/rules/2/word` -> `rules[2].word`, the key format of imspect's configuration errors. */
function pointerToKey(pointer: string): string {
  if (pointer === '') return '(root)';
  let key = '';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(part)) key += `[${part}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(part)) key += key === '' ? part : `.${part}`;
    else key += `[${JSON.stringify(part)}]`;
  }
  return key;
}
