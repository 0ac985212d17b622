import { mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PluginSection } from '../src/config/schema.js';
import { discoverPlugins, pluginNameFromPackage, type DiscoveredPlugin } from '../src/runtime/discovery.js';
import { loadPlugins, resolveEntry, type LoadPluginsOptions, type PluginRecord } from '../src/runtime/loader.js';
import { recordingLogger, removeTempDirs, tempDir, writeTree } from './helpers.js';

afterAll(removeTempDirs);

const HOST = '0.1.0';

interface FakePlugin {
  /** Package name, e.g. `@imspect/plugin-x`. */
  pkg: string;
  version?: string;
  /** `imspect` field of package.json; `null` leaves it out. */
  manifest?: Record<string, unknown> | null;
  keywords?: string[];
  /** Source of index.js; default: a valid plugin of the manifest's kind. */
  index?: string;
  /** Extra package.json fields. */
  extra?: Record<string, unknown>;
}

const HOOKS_BY_KIND: Record<string, string> = {
  protocol: '{ ports: [6667], createSession() { return { push: (d, c) => [{ raw: c }] }; } }',
  filter: "{ check() { return { action: 'pass' }; } }",
  content: '{ transform() { return undefined; } }',
  logger: '{ async write() {} }',
};

/** index.js of a plugin: plain JS, no imports, so it needs no node_modules. */
function pluginSource(name: string, kind: string, opts: { setup?: string; options?: unknown; exportName?: string } = {}): string {
  const setup =
    opts.setup ??
    `(ctx) => { globalThis.__imspectSetups = (globalThis.__imspectSetups ?? []); globalThis.__imspectSetups.push({ name: ctx.name, options: ctx.options, hostVersion: ctx.hostVersion }); return ${HOOKS_BY_KIND[kind]}; }`;
  return [
    `const definition = {`,
    `  [Symbol.for('imspect.plugin')]: true,`,
    `  name: ${JSON.stringify(name)},`,
    `  kind: ${JSON.stringify(kind)},`,
    opts.options === undefined ? '' : `  options: ${JSON.stringify(opts.options)},`,
    `  setup: ${setup},`,
    `};`,
    opts.exportName ? `export const ${opts.exportName} = definition;` : `export default definition;`,
    '',
  ].join('\n');
}

async function writePlugin(dir: string, plugin: FakePlugin): Promise<void> {
  const manifest = plugin.manifest === undefined ? { kind: 'filter', host: '^0.1.0' } : plugin.manifest;
  const pkg: Record<string, unknown> = {
    name: plugin.pkg,
    version: plugin.version ?? '1.0.0',
    type: 'module',
    main: 'index.js',
    keywords: plugin.keywords ?? ['imspect-plugin'],
    ...(manifest === null ? {} : { imspect: manifest }),
    ...plugin.extra,
  };
  const kind = typeof manifest?.['kind'] === 'string' ? (manifest['kind'] as string) : 'filter';
  await writeTree(dir, {
    'package.json': JSON.stringify(pkg, null, 2),
    'index.js': plugin.index ?? pluginSource(pluginNameFromPackage(plugin.pkg), kind),
  });
}

function loadOptions(sections: Record<string, Partial<PluginSection>> = {}, extra: Partial<LoadPluginsOptions> = {}) {
  const logger = recordingLogger();
  const options: LoadPluginsOptions = {
    hostVersion: HOST,
    sections: sections as Record<string, PluginSection>,
    logger,
    dataDir: '/tmp/imspect-data-unused',
    configDir: '/tmp',
    ...extra,
  };
  return { options, logger };
}

function byName(records: readonly PluginRecord[], name: string): PluginRecord {
  const found = records.filter((r) => r.name === name);
  expect(found, `records named ${name}`).toHaveLength(1);
  return found[0]!;
}

describe('pluginNameFromPackage', () => {
  it('derives the configuration key from the package name', () => {
    expect(pluginNameFromPackage('@imspect/plugin-irc')).toBe('irc');
    expect(pluginNameFromPackage('@imspect/logger-csv')).toBe('logger-csv');
    expect(pluginNameFromPackage('imspect-plugin-foo')).toBe('foo');
    expect(pluginNameFromPackage('@acme/imspect-plugin-bar')).toBe('bar');
  });
});

describe('discovery', () => {
  let root: string;
  let cwd: string;
  let folder: string;

  beforeAll(async () => {
    root = await tempDir();
    cwd = path.join(root, 'site', 'deep', 'er');
    folder = path.join(root, 'extra-plugins');
    await writeTree(cwd, { '.keep': '' });
    const nm = path.join(root, 'node_modules');
    await writePlugin(path.join(nm, '@imspect/plugin-x'), { pkg: '@imspect/plugin-x', manifest: { kind: 'protocol', host: '^0.1.0' } });
    await writePlugin(path.join(nm, 'imspect-plugin-y'), { pkg: 'imspect-plugin-y', version: '1.0.0', manifest: { kind: 'filter', host: '^0.1.0' } });
    await writePlugin(path.join(nm, '@acme/imspect-plugin-z'), { pkg: '@acme/imspect-plugin-z', manifest: { kind: 'logger', host: '^0.1.0' } });
    // Not plugins by name: never read.
    await writePlugin(path.join(nm, 'left-pad'), { pkg: 'left-pad', manifest: { kind: 'filter' } });
    await writePlugin(path.join(nm, '@acme/other'), { pkg: '@acme/other', manifest: { kind: 'filter' } });
    // A nearer copy of y: it wins.
    await writePlugin(path.join(root, 'site', 'node_modules', 'imspect-plugin-y'), { pkg: 'imspect-plugin-y', version: '2.0.0', manifest: { kind: 'filter', host: '^0.1.0' } });
    // A configured folder: any package with a manifest or the keyword; others ignored.
    await writePlugin(path.join(folder, 'mine'), { pkg: 'my-local-thing', manifest: { kind: 'content', host: '^0.1.0', name: 'masker' } });
    await writePlugin(path.join(folder, 'not-a-plugin'), { pkg: 'not-a-plugin', manifest: null, keywords: [] });
    await writePlugin(path.join(folder, '@scope/scoped'), { pkg: '@scope/scoped', manifest: { kind: 'filter', host: '^0.1.0' } });
  });

  it('finds plugins in ancestor node_modules and configured folders, reading only manifests', async () => {
    const found = (await discoverPlugins({ roots: [cwd], folders: [folder] })).filter((p) => p.dir.startsWith(root));
    const summary = found.map((p) => `${p.name} ${p.packageName} ${p.kind} ${p.version} ${p.problems.length}`).sort();
    expect(summary).toEqual([
      'masker my-local-thing content 1.0.0 0',
      'scoped @scope/scoped filter 1.0.0 0',
      'x @imspect/plugin-x protocol 1.0.0 0',
      'y imspect-plugin-y filter 1.0.0 0',
      'y imspect-plugin-y filter 2.0.0 0',
      'z @acme/imspect-plugin-z logger 1.0.0 0',
    ]);
    // Names and sources, order-independent apart from "nearest first" for y.
    expect(found.map((p) => p.name).sort()).toEqual(['masker', 'scoped', 'x', 'y', 'y', 'z']);
    const ys = found.filter((p) => p.name === 'y');
    expect(ys.map((p) => p.version)).toEqual(['2.0.0', '1.0.0']);
    expect(ys[0]!.source).toBe(path.join(root, 'site', 'node_modules'));
    expect(found.find((p) => p.name === 'masker')!.source).toBe(folder);
    expect(found.find((p) => p.name === 'x')!.hostRange).toBe('^0.1.0');
    expect(found.some((p) => p.packageName === 'left-pad' || p.packageName === '@acme/other' || p.packageName === 'not-a-plugin')).toBe(false);
  });

  it('the nearest copy of a plugin is loaded, the farther one is reported as a duplicate', async () => {
    const found = (await discoverPlugins({ roots: [cwd], folders: [folder] })).filter((p) => p.dir.startsWith(root));
    // Found in node_modules: they run because the configuration names them.
    const { options } = loadOptions({ x: {}, y: {}, z: {} });
    const { records, loaded } = await loadPlugins(found, options);
    const ys = records.filter((r) => r.name === 'y');
    expect(ys.map((r) => [r.version, r.status])).toEqual([
      ['2.0.0', 'loaded'],
      ['1.0.0', 'failed'],
    ]);
    expect(ys[1]!.error?.code).toBe('PLUGIN_DUPLICATE');
    expect(loaded.map((l) => l.name).sort()).toEqual(['masker', 'scoped', 'x', 'y', 'z']);
    expect(loaded.find((l) => l.name === 'y')!.record.dir).toBe(path.join(root, 'site', 'node_modules', 'imspect-plugin-y'));
  });

  it('a root listed twice (cwd and CLI folder) finds each package once', async () => {
    const found = (await discoverPlugins({ roots: [cwd, path.join(root, 'site')] })).filter((p) => p.dir.startsWith(root));
    expect(found.map((p) => `${p.name}@${p.version}`).sort()).toEqual(['x@1.0.0', 'y@1.0.0', 'y@2.0.0', 'z@1.0.0']);
  });
});

describe('plugin origins', () => {
  let root: string;
  let cli: string;
  let pluginDir: string;
  let cwd: string;

  beforeAll(async () => {
    root = await tempDir();
    // The CLI's package: its plugin dependencies are the built-in ones, wherever Node would find them.
    cli = path.join(root, 'lib', 'node_modules', '@imspect', 'cli');
    await writeTree(cli, { 'package.json': JSON.stringify({ name: '@imspect/cli', dependencies: { '@imspect/plugin-b': '^0.1.0', yaml: '^2.0.0' } }) });
    await writePlugin(path.join(root, 'lib', 'node_modules', '@imspect', 'plugin-b'), { pkg: '@imspect/plugin-b', manifest: { kind: 'protocol', host: '^0.1.0' } });
    // Next to the CLI but not its dependency: found, not built in.
    await writePlugin(path.join(root, 'lib', 'node_modules', 'imspect-plugin-stray'), { pkg: 'imspect-plugin-stray', manifest: { kind: 'filter', host: '^0.1.0' } });
    // imspect's plugin folder: two installed plugins, one of them also linked (the link comes first), and a
    // dependency of one of them named like a plugin, which is not installed on purpose and not listed.
    pluginDir = path.join(root, 'data', 'plugins');
    await writeTree(pluginDir, {
      'package.json': JSON.stringify({ dependencies: { '@imspect/sdk': 'file:/nowhere', 'imspect-plugin-i': '1.0.0', 'imspect-plugin-dev': '1.0.0' } }),
    });
    // Installed plugins import the SDK through the folder's link to the host's SDK (here a stand-in).
    await writeTree(path.join(pluginDir, 'node_modules', '@imspect', 'sdk'), { 'package.json': JSON.stringify({ name: '@imspect/sdk', version: '0.1.0' }) });
    await writePlugin(path.join(pluginDir, 'node_modules', 'imspect-plugin-i'), { pkg: 'imspect-plugin-i', manifest: { kind: 'logger', host: '^0.1.0' } });
    await writePlugin(path.join(pluginDir, 'node_modules', 'imspect-plugin-dev'), { pkg: 'imspect-plugin-dev', manifest: { kind: 'filter', host: '^0.1.0' } });
    await writePlugin(path.join(pluginDir, 'node_modules', 'imspect-plugin-transitive'), { pkg: 'imspect-plugin-transitive', manifest: { kind: 'filter', host: '^0.1.0' } });
    await writePlugin(path.join(root, 'src', 'imspect-plugin-dev'), { pkg: 'imspect-plugin-dev', version: '1.1.0-dev', manifest: { kind: 'filter', host: '^0.1.0' } });
    await mkdir(path.join(pluginDir, 'linked'), { recursive: true });
    await symlink(path.join(root, 'src', 'imspect-plugin-dev'), path.join(pluginDir, 'linked', 'imspect-plugin-dev'));
    // A project the command runs in, with a plugin some other tool put into its node_modules.
    cwd = path.join(root, 'project');
    await writePlugin(path.join(cwd, 'node_modules', 'imspect-plugin-f'), { pkg: 'imspect-plugin-f', manifest: { kind: 'filter', host: '^0.1.0' } });
  });

  async function discoverAll() {
    return (await discoverPlugins({ roots: [cwd, cli], builtinFrom: cli, pluginDir })).filter((p) => p.dir.startsWith(root));
  }

  it('tells built-in, installed, linked and found plugins apart; only direct dependencies of the plugin folder are installed', async () => {
    const found = await discoverAll();
    expect(found.map((p) => `${p.name} ${p.version} ${p.origin}`)).toEqual([
      'b 1.0.0 built-in',
      'dev 1.1.0-dev linked',
      'dev 1.0.0 installed',
      'i 1.0.0 installed',
      'f 1.0.0 found',
      'stray 1.0.0 found',
    ]);
  });

  it('a found plugin is listed but not enabled unless the configuration names it, and says how to enable it', async () => {
    const { options } = loadOptions();
    const { records } = await loadPlugins(await discoverAll(), options);
    const f = byName(records, 'f');
    expect(f).toMatchObject({ enabled: false, status: 'disabled', origin: 'found' });
    expect(f.reason).toContain('not enabled');
    expect(f.reason).toContain(`imspect plugins install ${path.join(cwd, 'node_modules', 'imspect-plugin-f')}`);
    expect(f.reason).toContain('plugins: { "f": { enabled: true } }');
    expect(byName(records, 'b')).toMatchObject({ enabled: true, status: 'loaded' });
    expect(byName(records, 'i')).toMatchObject({ enabled: true, status: 'loaded' });
    // The link wins over the installed copy of the same plugin.
    const devs = records.filter((r) => r.name === 'dev');
    expect(devs.map((r) => [r.origin, r.status, r.error?.code])).toEqual([
      ['linked', 'loaded', undefined],
      ['installed', 'failed', 'PLUGIN_DUPLICATE'],
    ]);
    const named = await loadPlugins(await discoverAll(), loadOptions({ f: { enabled: true } }).options);
    expect(byName(named.records, 'f')).toMatchObject({ enabled: true, status: 'loaded' });
    expect(byName(named.records, 'f').reason).toBeUndefined();
  });

  it('importCheck limits which plugins are imported when nothing is set up', async () => {
    // A built-in plugin whose code would not even parse, in a CLI of its own (a module once imported stays cached).
    const other = await tempDir();
    const otherCli = path.join(other, 'cli');
    await writeTree(otherCli, { 'package.json': JSON.stringify({ name: '@imspect/cli', dependencies: { '@imspect/plugin-broken': '^0.1.0' } }) });
    await writePlugin(path.join(other, 'node_modules', '@imspect', 'plugin-broken'), { pkg: '@imspect/plugin-broken', index: 'export default {{{' });
    const discovered = await discoverPlugins({ roots: [], builtinFrom: otherCli });
    const unchecked = await loadPlugins(discovered, loadOptions({}, { setup: false, importCheck: (record) => record.origin !== 'built-in' }).options);
    expect(byName(unchecked.records, 'broken')).toMatchObject({ origin: 'built-in', status: 'loaded' });
    const checked = await loadPlugins(discovered, loadOptions({}, { setup: false }).options);
    expect(byName(checked.records, 'broken').error?.code).toBe('PLUGIN_IMPORT_FAILED');
  });
});

describe('loader', () => {
  /** Builds one plugin per case in its own node_modules, discovers them, returns the discovered list. */
  async function discover(plugins: FakePlugin[]): Promise<DiscoveredPlugin[]> {
    const root = await tempDir();
    for (const plugin of plugins) await writePlugin(path.join(root, 'node_modules', plugin.pkg), plugin);
    // A configured plugin folder: every plugin in it is enabled unless its section says otherwise.
    return (await discoverPlugins({ roots: [], folders: [path.join(root, 'node_modules')] })).filter((p) => p.dir.startsWith(root));
  }

  it('loads a valid plugin and calls setup with its context', async () => {
    const found = await discover([{ pkg: 'imspect-plugin-good', manifest: { kind: 'logger', host: '>=0.1.0 <2' } }]);
    const { options } = loadOptions({ good: { enabled: true, options: { a: 1 } } });
    const { records, loaded } = await loadPlugins(found, options);
    expect(byName(records, 'good').status).toBe('loaded');
    expect(loaded).toHaveLength(1);
    expect(loaded[0]!.kind).toBe('logger');
    expect(typeof (loaded[0]!.hooks as { write: unknown }).write).toBe('function');
    const setups = (globalThis as { __imspectSetups?: Array<{ name: string; options: unknown; hostVersion: string }> }).__imspectSetups ?? [];
    expect(setups.filter((s) => s.name === 'good')).toEqual([{ name: 'good', options: { a: 1 }, hostVersion: HOST }]);
  });

  it('manifest problems: missing kind, bad kind, bad host type', async () => {
    const found = await discover([
      { pkg: 'imspect-plugin-nokind', manifest: { host: '^0.1.0' } },
      { pkg: 'imspect-plugin-badkind', manifest: { kind: 'parser', host: '^0.1.0' } },
      { pkg: 'imspect-plugin-badhost', manifest: { kind: 'filter', host: 1 } },
      { pkg: 'imspect-plugin-nomanifest', manifest: null, keywords: ['imspect-plugin'] },
      { pkg: 'imspect-plugin-fine', manifest: { kind: 'filter', host: '^0.1.0' } },
    ]);
    const { options } = loadOptions();
    const { records, loaded } = await loadPlugins(found, options);
    const nokind = byName(records, 'nokind');
    expect(nokind.status).toBe('failed');
    expect(nokind.error).toMatchObject({ code: 'PLUGIN_MANIFEST_INVALID', hook: 'manifest' });
    expect(nokind.error!.message).toContain('"imspect.kind" must be one of protocol, logger, filter, content (got undefined)');
    const badkind = byName(records, 'badkind');
    expect(badkind.error).toMatchObject({ code: 'PLUGIN_MANIFEST_INVALID' });
    expect(badkind.error!.message).toContain('(got "parser")');
    expect(byName(records, 'badhost').error!.message).toContain('"imspect.host" must be a semver range string');
    expect(byName(records, 'nomanifest').error!.message).toContain('package.json has no "imspect" field');
    expect(byName(records, 'fine').status).toBe('loaded');
    expect(loaded.map((l) => l.name)).toEqual(['fine']);
  });

  it('checks the host range before importing', async () => {
    const found = await discover([
      // A syntax error: importing it would fail with PLUGIN_IMPORT_FAILED, not a host mismatch.
      { pkg: 'imspect-plugin-future', manifest: { kind: 'filter', host: '^1.0.0' }, index: 'export default {{{ not javascript' },
      { pkg: 'imspect-plugin-badrange', manifest: { kind: 'filter', host: 'not a range' }, index: 'export default {{{ not javascript' },
    ]);
    const { options } = loadOptions();
    const { records } = await loadPlugins(found, options);
    expect(byName(records, 'future').error).toEqual({ code: 'PLUGIN_HOST_MISMATCH', message: 'needs imspect core ^1.0.0, this is 0.1.0', hook: 'manifest' });
    expect(byName(records, 'badrange').error).toMatchObject({ code: 'PLUGIN_MANIFEST_INVALID', hook: 'manifest' });
  });

  it('import failures, missing export and kind mismatch are reported per plugin', async () => {
    const found = await discover([
      { pkg: 'imspect-plugin-broken', index: 'export default {{{ not javascript' },
      { pkg: 'imspect-plugin-throws', index: 'throw new Error("boom at import");' },
      { pkg: 'imspect-plugin-noexport', index: 'export const helper = 1;\nexport default { name: "noexport", kind: "filter", setup() {} };' },
      { pkg: 'imspect-plugin-named', index: pluginSource('named', 'filter', { exportName: 'plugin' }) },
      { pkg: 'imspect-plugin-wrongkind', manifest: { kind: 'filter', host: '^0.1.0' }, index: pluginSource('wrongkind', 'logger') },
      { pkg: 'imspect-plugin-noentry', extra: { main: 'missing.js' } },
    ]);
    const { options } = loadOptions();
    const { records, loaded } = await loadPlugins(found, options);
    expect(byName(records, 'broken').error).toMatchObject({ code: 'PLUGIN_IMPORT_FAILED', hook: 'import' });
    const throws = byName(records, 'throws').error!;
    expect(throws.code).toBe('PLUGIN_IMPORT_FAILED');
    expect(throws.message).toContain('boom at import');
    expect(byName(records, 'noexport').error).toMatchObject({ code: 'PLUGIN_INVALID_EXPORT', hook: 'import' });
    expect(byName(records, 'wrongkind').error).toMatchObject({
      code: 'PLUGIN_KIND_MISMATCH',
      hook: 'import',
      message: 'package.json says kind "filter", the plugin says "logger"',
    });
    expect(byName(records, 'noentry').error).toMatchObject({ code: 'PLUGIN_IMPORT_FAILED' });
    expect(byName(records, 'named').status).toBe('loaded');
    expect(loaded.map((l) => l.name)).toEqual(['named']);
  });

  it('validates options against the plugin schema, naming plugins.<name>.options.<key>', async () => {
    const schema = {
      type: 'object',
      properties: { port: { type: 'integer', maximum: 65535 }, mode: { type: 'string', default: 'fast' } },
      additionalProperties: false,
    };
    const found = await discover([
      { pkg: 'imspect-plugin-strict', index: pluginSource('strict', 'filter', { options: schema }) },
      { pkg: 'imspect-plugin-strict2', index: pluginSource('strict2', 'filter', { options: schema }) },
      { pkg: 'imspect-plugin-strict3', index: pluginSource('strict3', 'filter', { options: schema }) },
    ]);
    const { options } = loadOptions(
      { strict: { enabled: true, options: { port: 'x' } }, strict2: { enabled: true, options: { porrt: 1 } }, strict3: { enabled: true, options: { port: 7 } } },
      { configFile: '/etc/imspect.yaml' },
    );
    const { records } = await loadPlugins(found, options);
    expect(byName(records, 'strict').error).toMatchObject({
      code: 'CONFIG_INVALID',
      message: '/etc/imspect.yaml: plugins.strict.options.port: must be integer',
    });
    expect(byName(records, 'strict2').error!.message).toBe('/etc/imspect.yaml: plugins.strict2.options.porrt: is not a known key; did you mean "port"?');
    expect(byName(records, 'strict3').status).toBe('loaded');
    const setups = (globalThis as { __imspectSetups?: Array<{ name: string; options: unknown }> }).__imspectSetups ?? [];
    expect(setups.filter((s) => s.name === 'strict3').map((s) => s.options)).toEqual([{ port: 7, mode: 'fast' }]);
  });

  it('setup failures name the plugin and the hook', async () => {
    const found = await discover([
      { pkg: 'imspect-plugin-setupthrows', index: pluginSource('setupthrows', 'filter', { setup: '() => { throw new Error("no database"); }' }) },
      { pkg: 'imspect-plugin-setuprejects', index: pluginSource('setuprejects', 'filter', { setup: 'async () => { throw new Error("later"); }' }) },
      { pkg: 'imspect-plugin-nohooks', index: pluginSource('nohooks', 'filter', { setup: '() => undefined' }) },
      { pkg: 'imspect-plugin-wronghooks', index: pluginSource('wronghooks', 'filter', { setup: '() => ({ transform() {} })' }) },
      {
        pkg: 'imspect-plugin-badports',
        manifest: { kind: 'protocol', host: '^0.1.0' },
        index: pluginSource('badports', 'protocol', { setup: '() => ({ ports: [70000], createSession() {} })' }),
      },
      { pkg: 'imspect-plugin-slow', index: pluginSource('slow', 'filter', { setup: '() => new Promise(() => {})' }) },
      { pkg: 'imspect-plugin-ok', manifest: { kind: 'content', host: '^0.1.0' } },
    ]);
    const { options } = loadOptions({}, { setupTimeoutMs: 100 });
    const { records, loaded } = await loadPlugins(found, options);
    expect(byName(records, 'setupthrows').error).toEqual({
      code: 'PLUGIN_HOOK_FAILED',
      hook: 'setup',
      message: 'plugin "setupthrows" failed in setup: no database',
      cause: 'no database',
    });
    expect(byName(records, 'setuprejects').error).toMatchObject({ code: 'PLUGIN_HOOK_FAILED', hook: 'setup', message: 'plugin "setuprejects" failed in setup: later' });
    expect(byName(records, 'nohooks').error).toMatchObject({ code: 'PLUGIN_INVALID_HOOKS', hook: 'setup', message: 'setup() returned no hooks object' });
    expect(byName(records, 'wronghooks').error).toMatchObject({ code: 'PLUGIN_INVALID_HOOKS', message: 'setup() returned no check() function' });
    expect(byName(records, 'badports').error).toMatchObject({ code: 'PLUGIN_INVALID_HOOKS', message: 'setup() returned no valid ports array' });
    expect(byName(records, 'slow').error).toMatchObject({ code: 'PLUGIN_HOOK_TIMEOUT', hook: 'setup' });
    expect(byName(records, 'ok').status).toBe('loaded');
    expect(loaded.map((l) => l.name)).toEqual(['ok']);
  });

  it('a plugin disabled by configuration is not imported', async () => {
    const found = await discover([
      { pkg: 'imspect-plugin-off', index: 'export default {{{ not javascript' },
      { pkg: 'imspect-plugin-on', manifest: { kind: 'logger', host: '^0.1.0' } },
    ]);
    const { options, logger } = loadOptions({ off: { enabled: false }, ghost: { enabled: true } });
    const { records, loaded } = await loadPlugins(found, options);
    const off = byName(records, 'off');
    expect(off.status).toBe('disabled');
    expect(off.enabled).toBe(false);
    expect(off.error).toBeUndefined();
    expect(byName(records, 'on').status).toBe('loaded');
    expect(loaded.map((l) => l.name)).toEqual(['on']);
    // A section for a plugin that does not exist is worth a warning.
    expect(logger.records.some((r) => r.level === 'warn' && (r.obj as { plugin?: string }).plugin === 'ghost')).toBe(true);
  });

  it('setup: false checks everything but does not call setup', async () => {
    const found = await discover([{ pkg: 'imspect-plugin-nosetup', index: pluginSource('nosetup', 'filter', { setup: '() => { throw new Error("must not run"); }' }) }]);
    const { options } = loadOptions({}, { setup: false });
    const { records, loaded } = await loadPlugins(found, options);
    expect(byName(records, 'nosetup').status).toBe('loaded');
    expect(loaded).toEqual([]);
  });
});

describe('resolveEntry', () => {
  it('follows exports conditions and refuses entries outside the package', async () => {
    const dir = await tempDir();
    await writeTree(dir, { 'package.json': JSON.stringify({ exports: { '.': { types: './x.d.ts', import: './esm/index.js', require: './cjs/index.js' } } }) });
    expect(await resolveEntry(dir)).toBe(path.join(dir, 'esm', 'index.js'));
    await writeTree(dir, { 'package.json': JSON.stringify({ main: '../elsewhere.js' }) });
    await expect(resolveEntry(dir)).rejects.toThrow(/outside the package/);
    await writeTree(dir, { 'package.json': JSON.stringify({}) });
    expect(await resolveEntry(dir)).toBe(path.join(dir, 'index.js'));
  });
});
