import { ConfigSchema, ListenerSchemas } from './schema.js';

/**
 * The schemas the configuration is validated against. Listeners are checked one by one against the schema their
 * `type` names (a union's errors would list every alternative and hide the one mistake), so the top level only
 * says `listeners` is an array (with its default).
 */
const { listeners: _listeners, ...topLevelProperties } = ConfigSchema.properties;
export const TOP_LEVEL_SCHEMA: object = {
  ...ConfigSchema,
  properties: { ...topLevelProperties, listeners: { type: 'array', default: ConfigSchema.properties.listeners.default } },
};

export const LISTENER_SCHEMAS: Readonly<Record<string, object>> = ListenerSchemas;
