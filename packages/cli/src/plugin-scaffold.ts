/**
 * `imspect plugins new`: a ready plugin package from the templates in packages/cli/templates/plugin (shipped in
 * the CLI's `files`). The package.json is written here, not templated, because its fields depend on the name
 * (scoped or not), the kind and the language; the sources, tests, README and licence are template files with
 * `__PLACEHOLDER__`s.
 */
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { builtinModules, createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type ScaffoldKind = 'protocol' | 'logger' | 'filter' | 'content';
export const SCAFFOLD_KINDS: readonly ScaffoldKind[] = ['protocol', 'logger', 'filter', 'content'];

export const TEMPLATES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../templates/plugin');

/** The toolchain a TypeScript plugin builds with: the versions imspect itself is built and tested with. */
export const TYPESCRIPT_DEV_DEPENDENCIES = { typescript: '~7.0.2', '@types/node': '^24.19.4' };

export class ScaffoldError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'ScaffoldError';
    this.code = code;
  }
}

/**
 * Problems with `name` as the name of a new npm package (npm's rules for new packages), or an empty list.
 * Scoped names (`@scope/name`) are allowed.
 */
export function npmNameProblems(name: string): string[] {
  const problems: string[] = [];
  if (name.length === 0) return ['it is empty'];
  if (name.length > 214) problems.push('it is longer than 214 characters');
  if (name.trim() !== name) problems.push('it has spaces at its start or end');
  if (name !== name.toLowerCase()) problems.push('it has capital letters (npm names are lower case)');
  const scoped = /^@([^/]+)\/([^/]+)$/.exec(name);
  if (name.startsWith('@') && !scoped) problems.push('a scoped name is @scope/name, with one slash');
  const bare = scoped ? scoped[2]! : name;
  const parts = scoped ? [scoped[1]!, scoped[2]!] : [name];
  if (bare.startsWith('.') || bare.startsWith('_')) problems.push('it starts with a dot or an underscore');
  if (/[~'!()*]/.test(name)) problems.push("it has one of the characters ~'!()*");
  if (!scoped && name.includes('/')) problems.push('only a scoped name (@scope/name) may have a slash');
  for (const part of parts) {
    if (encodeURIComponent(part) !== part) {
      problems.push(`"${part}" has characters that are not allowed in a URL (spaces, %, :, non-ASCII, ...)`);
      break;
    }
  }
  if (!scoped && (builtinModules.includes(name) || ['node_modules', 'favicon.ico'].includes(name))) problems.push('it is the name of a Node.js module or reserved');
  return problems;
}

/**
 * The package name for NAME: NAME itself when it is a plugin package name imspect looks for
 * (`imspect-plugin-*`, `@scope/imspect-plugin-*`, first-party `@imspect/<kind>-*`), else `imspect-plugin-NAME`
 * for a bare NAME. A scoped name without the prefix is refused with the name to use instead.
 */
export function pluginPackageName(name: string): string {
  const problems = npmNameProblems(name);
  if (problems.length > 0) throw new ScaffoldError('SCAFFOLD_BAD_NAME', `"${name}" is not a valid npm package name: ${problems.join('; ')}`);
  if (/^imspect-plugin-./.test(name) || /^@[^/]+\/imspect-plugin-./.test(name) || /^@imspect\/(plugin|logger|filter|content)-./.test(name)) return name;
  const scoped = /^@([^/]+)\/(.+)$/.exec(name);
  if (scoped) {
    throw new ScaffoldError(
      'SCAFFOLD_BAD_NAME',
      `"${name}": imspect looks for plugins named imspect-plugin-* or @scope/imspect-plugin-*: use @${scoped[1]}/imspect-plugin-${scoped[2]}`,
    );
  }
  if (name.startsWith('imspect-plugin')) throw new ScaffoldError('SCAFFOLD_BAD_NAME', `"${name}": give the plugin a name after the prefix (imspect-plugin-NAME)`);
  const full = `imspect-plugin-${name}`;
  const fullProblems = npmNameProblems(full);
  if (fullProblems.length > 0) throw new ScaffoldError('SCAFFOLD_BAD_NAME', `"${full}" is not a valid npm package name: ${fullProblems.join('; ')}`);
  return full;
}

/** The plugin's configuration key: the package name without scope and prefix (as imspect derives it). */
export function pluginKey(packageName: string): string {
  return packageName
    .replace(/^@[^/]+\//, '')
    .replace(/^imspect-plugin-/, '')
    .replace(/^plugin-/, '');
}

/** The versions of the imspect this CLI runs (host) and of its SDK, for the new package's ranges. */
export function hostVersions(): { host: string; sdk: string } {
  const require = createRequire(import.meta.url);
  const corePackage = require.resolve('@imspect/core/package.json');
  const host = (JSON.parse(readFileSync(corePackage, 'utf8')) as { version: string }).version;
  // The SDK is core's dependency: resolved from core, as Node would for core itself (pnpm and npm layouts).
  const sdkPackage = createRequire(corePackage).resolve('@imspect/sdk/package.json');
  const sdk = (JSON.parse(readFileSync(sdkPackage, 'utf8')) as { version: string }).version;
  return { host, sdk };
}

/** A caret range that allows what a 0.x version's caret allows: `^0.1.0` accepts 0.1.x only, as semver does. */
const caret = (version: string) => `^${version.replace(/-.*$/, '')}`;

export interface ScaffoldOptions {
  name: string;
  kind: ScaffoldKind;
  typescript: boolean;
  /** Folder the package folder is created in. */
  dir: string;
  /** Overrides for tests; default: this CLI's imspect and SDK versions. */
  versions?: { host: string; sdk: string };
}

export interface ScaffoldResult {
  packageName: string;
  pluginName: string;
  dir: string;
  files: string[];
}

const SUMMARIES: Record<ScaffoldKind, string> = {
  protocol: 'parses a small line protocol (`LOGIN user`, `MSG peer :text`) into frames and events.',
  logger: 'appends every event to a JSON Lines file under the data folder.',
  filter: 'blocks messages that name one of a list of words and tells the sender.',
  content: 'expands shortcuts (`brb`) in messages before they reach the other side.',
};

const OPTIONS_YAML: Record<ScaffoldKind, string> = {
  protocol: '      ports: [7777]',
  logger: '      file: archive/events.jsonl',
  filter: '      words: [confidential]',
  content: "      shortcuts: { brb: 'be right back' }",
};

export function packageJson(options: { packageName: string; kind: ScaffoldKind; typescript: boolean; host: string; sdk: string }): Record<string, unknown> {
  const { packageName, kind, typescript, host, sdk } = options;
  const sdkRange = caret(sdk);
  const pkg: Record<string, unknown> = {
    name: packageName,
    version: '0.1.0',
    description: `imspect ${kind} plugin`,
    type: 'module',
    license: 'MIT',
    keywords: ['imspect-plugin', 'imspect', kind],
    engines: { node: '>=24' },
  };
  if (typescript) {
    Object.assign(pkg, {
      main: './dist/index.js',
      types: './dist/index.d.ts',
      exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' }, './package.json': './package.json' },
      // The sources ship next to the build: the source maps point at them.
      files: ['dist', 'src', 'README.md'],
      scripts: { build: 'tsc', test: 'tsc && tsc -p test && node --test', prepack: 'tsc' },
    });
  } else {
    Object.assign(pkg, {
      main: './src/index.js',
      exports: { '.': './src/index.js', './package.json': './package.json' },
      files: ['src', 'README.md'],
      scripts: { test: 'node --test' },
    });
  }
  pkg['imspect'] = { kind, host: caret(host) };
  pkg['peerDependencies'] = { '@imspect/sdk': sdkRange };
  pkg['devDependencies'] = { '@imspect/sdk': sdkRange, ...(typescript ? TYPESCRIPT_DEV_DEPENDENCIES : {}) };
  if (packageName.startsWith('@')) pkg['publishConfig'] = { access: 'public' };
  return pkg;
}

async function listFiles(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(full, base)));
    else out.push(path.relative(base, full));
  }
  return out.sort();
}

/** Creates `dir/<package name without scope>` with a ready plugin package. */
export async function scaffoldPlugin(options: ScaffoldOptions): Promise<ScaffoldResult> {
  if (!SCAFFOLD_KINDS.includes(options.kind)) {
    throw new ScaffoldError('SCAFFOLD_BAD_KIND', `unknown kind "${options.kind}": use one of ${SCAFFOLD_KINDS.join(', ')}`);
  }
  const packageName = pluginPackageName(options.name);
  const pluginName = pluginKey(packageName);
  const target = path.resolve(options.dir, packageName.replace(/^@[^/]+\//, ''));
  if (existsSync(target)) {
    const entries = await readdir(target).catch(() => {
      throw new ScaffoldError('SCAFFOLD_TARGET_EXISTS', `${target} exists and is not a folder`);
    });
    if (entries.length > 0) throw new ScaffoldError('SCAFFOLD_TARGET_EXISTS', `${target} exists and is not empty: nothing was written (choose another name or --dir)`);
  }
  const versions = options.versions ?? hostVersions();
  const language = options.typescript ? 'ts' : 'js';
  const kindTemplate = path.join(TEMPLATES_DIR, language, options.kind);
  if (!existsSync(kindTemplate)) throw new ScaffoldError('SCAFFOLD_NO_TEMPLATE', `the templates are missing from this imspect (${kindTemplate})`);

  await mkdir(target, { recursive: true });
  await cp(kindTemplate, target, { recursive: true });
  await cp(path.join(TEMPLATES_DIR, 'common'), target, { recursive: true });
  if (options.typescript) {
    await cp(path.join(TEMPLATES_DIR, 'ts/tsconfig.json'), path.join(target, 'tsconfig.json'));
    // The tests are type-checked against the build's declarations, not compiled (Node runs them as they are).
    await cp(path.join(TEMPLATES_DIR, 'ts/test-tsconfig.json'), path.join(target, 'test/tsconfig.json'));
  }
  // Kept as `gitignore` in the templates: npm drops `.gitignore` files from the tarballs it packs.
  await rename(path.join(target, 'gitignore'), path.join(target, '.gitignore'));

  const replacements: Record<string, string> = {
    __PACKAGE_NAME__: packageName,
    __PLUGIN_NAME__: pluginName,
    __KIND__: options.kind,
    __SUMMARY__: SUMMARIES[options.kind],
    __OPTIONS_YAML__: OPTIONS_YAML[options.kind],
    __TEST_SUMMARY__: options.typescript ? 'builds (tsc), type-checks the tests, runs them on the build (node --test)' : 'node --test',
    __YEAR__: String(new Date().getFullYear()),
    __BUILD_NOTE__: options.typescript ? ' (after `npm run build`)' : '',
    __PUBLISH_NOTE__: packageName.startsWith('@') ? 'public, through publishConfig.access in package.json' : 'to the registry npm is logged in to (npm login)',
  };
  const files = await listFiles(target);
  for (const file of files) {
    const full = path.join(target, file);
    const text = await readFile(full, 'utf8');
    const replaced = text.replace(/__[A-Z_]+__/g, (token) => replacements[token] ?? token);
    if (replaced !== text) await writeFile(full, replaced);
  }
  const pkg = packageJson({ packageName, kind: options.kind, typescript: options.typescript, host: versions.host, sdk: versions.sdk });
  await writeFile(path.join(target, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  return { packageName, pluginName, dir: target, files: [...files, 'package.json'].sort() };
}
