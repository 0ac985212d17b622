import type { Static, TSchema } from '@sinclair/typebox';
import type { ImEvent } from './event.js';
import type { ProtocolHooks } from './protocol.js';

export type PluginKind = 'protocol' | 'logger' | 'filter' | 'content';

export const PLUGIN_KINDS: readonly PluginKind[] = ['protocol', 'logger', 'filter', 'content'];

/** Brand that marks a plugin object. `Symbol.for` so a plugin bundling its own copy of the SDK is still recognised. */
export const PLUGIN_BRAND: unique symbol = Symbol.for('imspect.plugin') as never;

export interface Verdict {
  action: 'pass' | 'block';
  /** Policy categories (logged with the event), e.g. `2 badwords`. */
  categories?: string[];
  /** Why, for the operational log. */
  reason?: string;
  /** Text sent back to the local user when the frame is blocked (where the protocol can answer). */
  respond?: string;
  /**
   * New text for the event's message when the frame passes (e.g. bad words masked): what reaches the other
   * side, re-encoded by the protocol. Content plugins then see this text.
   */
  text?: string;
  /**
   * With `block`: after the reply, close the connection (a client or protocol that is not allowed at all; its
   * login frame was dropped, so it would otherwise wait).
   */
  disconnect?: boolean;
}

export interface FilterHooks {
  /** Judge one event. The first `block` of all filters wins. */
  check(event: Readonly<ImEvent>): Verdict | Promise<Verdict>;
  /**
   * The event types this filter judges now: an event of any other type passes it without `check` being called
   * (nor the event's frozen copy made for it). Read for every event, so a filter whose rules reload can answer
   * with a getter; an empty set (no rules configured) means the filter is never called. Absent: every event is
   * checked.
   */
  readonly judges?: ReadonlySet<string>;
  /** Re-read the plugin's files (SIGHUP). Throw to report a problem; the last good rules stay in force. */
  reload?(): void | Promise<void>;
  close?(): void | Promise<void>;
}

export interface ContentHooks {
  /** New text for a message event (e.g. with bad words masked), or undefined to leave it. */
  transform(event: Readonly<ImEvent>): string | undefined | Promise<string | undefined>;
  /** Re-read the plugin's files (SIGHUP). Throw to report a problem; the last good rules stay in force. */
  reload?(): void | Promise<void>;
  close?(): void | Promise<void>;
}

export interface LoggerHooks {
  /**
   * Store a batch of events. Resolve only once they are stored: a rejected batch is retried by core, so
   * writing must be idempotent by `event.id`.
   */
  write(events: readonly ImEvent[]): Promise<void>;
  /** Push anything buffered to storage. */
  flush?(): Promise<void>;
  /** Release files and connections; called once at shutdown after the last write. */
  close?(): Promise<void>;
}

export interface HooksByKind {
  protocol: ProtocolHooks;
  logger: LoggerHooks;
  filter: FilterHooks;
  content: ContentHooks;
}

/** The logging interface plugins receive: a pino child logger bound to the plugin's name. */
export interface PluginLogger {
  trace(obj: unknown, msg?: string): void;
  debug(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
  child(bindings: Record<string, unknown>): PluginLogger;
}

export interface PluginContext<Options> {
  /** The plugin's name, as configured. */
  name: string;
  logger: PluginLogger;
  /** Options from the plugin's configuration section, validated against its schema, defaults applied. */
  options: Options;
  /** Version of @imspect/core that hosts the plugin. */
  hostVersion: string;
  /** imspect's data folder (absolute); a plugin keeps its files below it. */
  dataDir: string;
  /** Folder of the configuration file, for resolving relative paths in options (absolute). */
  configDir: string;
}

export type OptionsOf<S> = S extends TSchema ? Static<S> : Record<string, unknown>;

export interface PluginDefinition<K extends PluginKind, S extends TSchema | undefined = undefined> {
  /** Short name, used as the plugin's configuration key and in every error (e.g. `irc`, `logger-csv`). */
  name: string;
  kind: K;
  version?: string;
  /** JSON Schema of the plugin's options (TypeBox `Type.Object(...)` or a plain JSON Schema object). */
  options?: S;
  setup(ctx: PluginContext<OptionsOf<S>>): HooksByKind[K] | Promise<HooksByKind[K]>;
}

export interface ImspectPlugin<K extends PluginKind = PluginKind, S extends TSchema | undefined = TSchema | undefined> extends PluginDefinition<K, S> {
  readonly [PLUGIN_BRAND]: true;
}

/**
 * Declares a plugin. The returned object is what the package's main module exports as default.
 *
 * ```ts
 * export default definePlugin({
 *   name: 'logger-stdout', kind: 'logger',
 *   options: Type.Object({ prefix: Type.String({ default: '' }) }),
 *   setup: ({ options }) => ({ async write(events) { for (const e of events) console.log(options.prefix, e.text); } }),
 * });
 * ```
 */
export function definePlugin<K extends PluginKind, S extends TSchema | undefined = undefined>(definition: PluginDefinition<K, S>): ImspectPlugin<K, S> {
  if (typeof definition?.name !== 'string' || definition.name.length === 0) {
    throw new TypeError('definePlugin: name must be a non-empty string');
  }
  if (!PLUGIN_KINDS.includes(definition.kind)) {
    throw new TypeError(`definePlugin(${definition.name}): kind must be one of ${PLUGIN_KINDS.join(', ')}`);
  }
  if (typeof definition.setup !== 'function') {
    throw new TypeError(`definePlugin(${definition.name}): setup must be a function`);
  }
  return Object.freeze({ ...definition, [PLUGIN_BRAND]: true as const });
}

export function isPlugin(value: unknown): value is ImspectPlugin {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[PLUGIN_BRAND] === true;
}
