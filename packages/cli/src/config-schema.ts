/**
 * The configuration's JSON Schema for editors: core's schema with each discovered plugin's options schema
 * placed under `plugins.<name>.options`.
 */
export async function buildConfigJsonSchema(roots: string[], configFile?: string, builtinFrom?: string): Promise<object> {
  const { ConfigSchema, PluginSectionSchema, discoverPlugins, loadConfig, resolveEntry } = await import('@imspect/core/runtime');
  const { isPlugin } = await import('@imspect/core');
  const { pathToFileURL } = await import('node:url');
  const loaded = await loadConfig(configFile ? { file: configFile } : {});
  // Every plugin the configuration may name: built-in, installed, linked, in plugin folders, and found ones.
  const { pluginDirOf } = await import('@imspect/core/plugins');
  const discovered = await discoverPlugins({ roots, builtinFrom, pluginDir: pluginDirOf(loaded.dataDir), folders: loaded.config.pluginFolders });
  const schema = JSON.parse(JSON.stringify(ConfigSchema)) as Record<string, unknown> & { properties: Record<string, Record<string, unknown>> };
  const pluginSection = PluginSectionSchema as unknown as Record<string, unknown>;
  const pluginProperties: Record<string, unknown> = {};
  for (const found of discovered) {
    if (found.problems.length > 0) continue;
    let options: unknown;
    try {
      const mod = (await import(pathToFileURL(await resolveEntry(found.dir)).href)) as Record<string, unknown>;
      const plugin = [mod['default'], mod['plugin']].find(isPlugin);
      options = plugin?.options;
    } catch {
      continue;
    }
    const section = JSON.parse(JSON.stringify(pluginSection)) as { properties: Record<string, unknown>; description?: string };
    if (options) section.properties['options'] = JSON.parse(JSON.stringify(options));
    section.description = `${found.kind} plugin ${found.packageName}`;
    pluginProperties[found.name] = section;
  }
  schema.properties['plugins'] = { ...schema.properties['plugins'], properties: pluginProperties };
  return { $schema: 'http://json-schema.org/draft-07/schema#', title: 'imspect configuration', ...optionalWhereDefaulted(schema) };
}

/**
 * TypeBox lists every non-optional property as required, but a property with a default may be left out of a
 * file: drop those from `required`, so editors do not flag a configuration imspect accepts.
 */
function optionalWhereDefaulted<T>(node: T): T {
  if (Array.isArray(node)) return node.map(optionalWhereDefaulted) as T;
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) out[key] = optionalWhereDefaulted(value);
  const properties = out['properties'] as Record<string, { default?: unknown }> | undefined;
  if (Array.isArray(out['required']) && properties) {
    const required = (out['required'] as string[]).filter((name) => properties[name]?.default === undefined);
    if (required.length > 0) out['required'] = required;
    else delete out['required'];
  }
  return out as T;
}
