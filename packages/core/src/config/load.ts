import { applyProtocolAliases } from './protocol-aliases.js';
import { cosmiconfig } from 'cosmiconfig';
import { isIP } from 'node:net';
import path from 'node:path';
import { ImspectError, describeError } from '@imspect/sdk/errors';
import type { Config } from './schema.js';
import { configValidators } from './config-validators.js';
import { ConfigError, validateWith, type ValidationProblem } from './validate.js';

export const MODULE_NAME = 'imspect';

/**
 * Where the search looks, in order. cosmiconfig's defaults lack `imspect.config.{json,yaml}`, and put
 * package.json first, where a plugin package's `imspect` manifest would hide a configuration file next to it.
 */
export const SEARCH_PLACES = [
  ...['json', 'yaml', 'yml', 'js', 'mjs', 'cjs', 'ts'].map((ext) => `${MODULE_NAME}.config.${ext}`),
  ...['', '.json', '.yaml', '.yml', '.js', '.mjs', '.cjs', '.ts'].map((ext) => `.${MODULE_NAME}rc${ext}`),
  ...['', '.json', '.yaml', '.yml', '.js', '.mjs', '.cjs', '.ts'].map((ext) => `.config/${MODULE_NAME}rc${ext}`),
  'package.json',
];

export interface LoadedConfig {
  config: Config;
  /** Absolute path of the file read, or undefined when running on the embedded defaults. */
  file: string | undefined;
  /** Folder relative paths in the configuration resolve against. */
  baseDir: string;
  /** `dataDir`, absolute. */
  dataDir: string;
}

export interface LoadConfigOptions {
  /** An explicit file (`--config`): no search. */
  file?: string;
  /** Where the search starts (default: the working directory). */
  cwd?: string;
}

/**
 * Finds and validates the configuration. Without a file, the embedded defaults apply, so `imspect start`
 * runs with none at all.
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const explorer = cosmiconfig(MODULE_NAME, { searchStrategy: 'none', searchPlaces: SEARCH_PLACES });
  let raw: unknown = {};
  let file: string | undefined;
  try {
    const result = options.file ? await explorer.load(path.resolve(cwd, options.file)) : await explorer.search(cwd);
    if (result && !result.isEmpty && !isPluginManifest(result.filepath, result.config)) {
      raw = result.config;
      file = result.filepath;
    } else if (result && options.file) {
      file = result.filepath;
    }
  } catch (error) {
    // cosmiconfig sets `filepath` on errors from a file it found but could not parse.
    const found = (error as { filepath?: unknown }).filepath;
    const target = typeof found === 'string' ? found : options.file ? path.resolve(cwd, options.file) : cwd;
    const code = (error as { code?: string }).code === 'ENOENT' ? 'CONFIG_NOT_FOUND' : 'CONFIG_UNREADABLE';
    const what = code === 'CONFIG_NOT_FOUND' ? 'not found' : `cannot be read: ${describeError(error)}`;
    throw new ImspectError(`${target}: configuration file ${what}`, { code, file: target, cause: error });
  }
  return resolveConfig(raw, file, file ? path.dirname(file) : cwd);
}

/** Validates a configuration object (applying defaults) and resolves its paths. */
export function resolveConfig(raw: unknown, file: string | undefined, baseDir: string): LoadedConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError([{ key: '(root)', message: 'must be an object (a mapping of keys to values)' }], file);
  }
  const config = structuredClone(raw) as Record<string, unknown>;
  const problems = validateConfigObject(config);
  if (problems.length > 0) throw new ConfigError(problems, file);
  const valid = config as unknown as Config;
  const aliasProblems = applyProtocolAliases(valid);
  if (aliasProblems.length > 0) throw new ConfigError(aliasProblems, file);
  // Relative folders mean relative to the configuration file: resolved once here, for every user of the config.
  valid.pluginFolders = valid.pluginFolders.map((folder) => path.resolve(baseDir, folder));
  if (valid.pidFile) valid.pidFile = path.resolve(baseDir, valid.pidFile);
  if (valid.responses.notice.file !== undefined) valid.responses.notice.file = path.resolve(baseDir, valid.responses.notice.file);
  return { config: valid, file, baseDir, dataDir: path.resolve(baseDir, valid.dataDir) };
}

function validateConfigObject(config: Record<string, unknown>): ValidationProblem[] {
  // Listeners are checked one by one against the schema their `type` names: a union's errors would list
  // every alternative and hide the one mistake.
  const listeners = config['listeners'];
  const problems: ValidationProblem[] = [];
  problems.push(...validateWith(configValidators().topLevel, config));
  if (Array.isArray(listeners)) {
    listeners.forEach((listener: unknown, index) => problems.push(...validateListener(listener, `listeners[${index}]`)));
  }
  // Checked even when the schema found problems, so that one run lists every mistake.
  problems.push(...semanticProblems(config));
  return problems;
}

function validateListener(listener: unknown, key: string): ValidationProblem[] {
  const type = (listener as { type?: unknown } | null)?.type;
  const validators = configValidators().listeners;
  const validate = typeof type === 'string' && Object.hasOwn(validators, type) ? validators[type] : undefined;
  if (!validate) {
    return [
      {
        key: `${key}.type`,
        message: `must be one of ${Object.keys(validators)
          .map((t) => JSON.stringify(t))
          .join(', ')}`,
      },
    ];
  }
  return validateWith(validate, listener, key);
}

/**
 * What the schema cannot say. Runs on the configuration as written, whether or not the schema accepted it, so it
 * looks only at values of the right type (the schema reports the others).
 */
function semanticProblems(config: Record<string, unknown>): ValidationProblem[] {
  const problems: ValidationProblem[] = [];
  const seen = new Map<string, number>();
  const listeners = Array.isArray(config['listeners']) ? (config['listeners'] as unknown[]) : [];
  listeners.forEach((value, index) => {
    if (value === null || typeof value !== 'object') return;
    const listener = value as { allow?: unknown; host?: unknown; port?: unknown; type?: unknown };
    if (Array.isArray(listener.allow)) {
      if (listener.allow.length === 0) {
        problems.push({
          key: `listeners[${index}].allow`,
          message:
            'is empty, so every client would be refused: list the client networks (e.g. [192.168.0.0/16]), write [0.0.0.0/0, ::/0] for every client, or leave allow out for the default',
        });
      }
      listener.allow.forEach((network: unknown, n) => {
        if (typeof network === 'string' && network.length > 0 && !parseCidr(network)) {
          problems.push({ key: `listeners[${index}].allow[${n}]`, message: `"${network}" is not an address or CIDR network` });
        }
      });
    }
    if (typeof listener.host === 'string' && Number.isInteger(listener.port) && listener.port !== 0) {
      const where = `${listener.host}:${listener.port as number}`;
      const previous = seen.get(where);
      if (previous !== undefined) problems.push({ key: `listeners[${index}].port`, message: `${where} is already used by listeners[${previous}]` });
      seen.set(where, index);
    }
  });
  problems.push(...destinationProblems(config['destinations']));
  problems.push(...consoleProblems(config['console']));
  const ports = config['ports'];
  if (ports !== null && typeof ports === 'object' && !Array.isArray(ports)) {
    for (const [port, protocol] of Object.entries(ports)) {
      if (!/^[0-9]+$/.test(port)) continue; // the schema names it
      if (Number(port) > 65535) problems.push({ key: `ports.${port}`, message: 'is not a TCP port' });
      if (protocol === '') problems.push({ key: `ports.${port}`, message: 'must name a protocol plugin' });
    }
  }
  return problems;
}

/**
 * The console shows every conversation: on any address but loopback it must be HTTPS, so that passwords and
 * session cookies never cross a network in clear text.
 */
function consoleProblems(value: unknown): ValidationProblem[] {
  if (value === null || typeof value !== 'object') return [];
  const section = value as { enabled?: unknown; host?: unknown; tls?: { cert?: unknown; key?: unknown } | undefined };
  const problems: ValidationProblem[] = [];
  const tls = section.tls !== null && typeof section.tls === 'object' ? section.tls : undefined;
  if (tls && (tls.cert === undefined) !== (tls.key === undefined))
    problems.push({ key: 'console.tls', message: 'needs both cert and key (or neither, for a certificate minted from the CA)' });
  if (section.enabled === true && typeof section.host === 'string' && !tls && !isLoopbackHost(section.host)) {
    problems.push({
      key: 'console.host',
      message: `"${section.host}" is not a loopback address: a console reachable from the network requires HTTPS (console.tls: cert and key files, or {} for a certificate minted from imspect's CA)`,
    });
  }
  return problems;
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/** Networks and port ranges of `destinations`, looking only at values of the right type (the schema reports the others). */
function destinationProblems(value: unknown): ValidationProblem[] {
  const problems: ValidationProblem[] = [];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return problems;
  const destinations = value as Record<string, unknown>;
  const listOf = (key: string): unknown[] => (Array.isArray(destinations[key]) ? (destinations[key] as unknown[]) : []);
  for (const list of ['allowNetworks', 'denyNetworks']) {
    listOf(list).forEach((network, n) => {
      if (typeof network === 'string' && network.length > 0 && !parseCidr(network)) {
        problems.push({ key: `destinations.${list}[${n}]`, message: `"${network}" is not an address or CIDR network (e.g. 10.1.0.0/16 or fd00::/8)` });
      }
    });
  }
  const ranges = [...listOf('ports').map((p, n) => [`ports[${n}]`, p] as const), ...listOf('extraPorts').map((p, n) => [`extraPorts[${n}]`, p] as const)];
  for (const [key, spec] of ranges) {
    if (typeof spec !== 'string' || !/^\s*\d+\s*-\s*\d+\s*$/.test(spec)) continue; // the schema names other shapes
    const [low, high] = spec.split('-').map((part) => Number(part.trim())) as [number, number];
    if (low > 65535 || high > 65535 || low > high) problems.push({ key: `destinations.${key}`, message: `"${spec}" is not a port range (low-high, at most 65535)` });
  }
  return problems;
}

export interface ParsedCidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

export function parseCidr(text: string): ParsedCidr | undefined {
  const [address, prefixText, extra] = text.split('/');
  if (address === undefined || extra !== undefined) return undefined;
  const version = isIP(address);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (prefixText !== undefined && !/^\d+$/.test(prefixText))) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** A plugin package's own package.json carries an `imspect` manifest, which is not a configuration. */
function isPluginManifest(filepath: string, value: unknown): boolean {
  return path.basename(filepath) === 'package.json' && typeof value === 'object' && value !== null && 'kind' in value;
}
