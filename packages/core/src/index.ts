/**
 * @imspect/core: the SDK that plugins build against. The runtime (listeners, loader, engine) is exported
 * from `@imspect/core/runtime` so a plugin importing the SDK loads no sockets or config machinery.
 */
export * from './sdk/event.js';
export * from './sdk/protocol.js';
export * from './sdk/plugin.js';
export * from './sdk/errors.js';
export * from './sdk/bytes.js';
export * from './sdk/line-reader.js';
export * from './sdk/rules-file.js';
export * from './sdk/event-data.js';
export * from './sdk/log-columns.js';
export { Type } from '@sinclair/typebox';
export type { Static, TSchema } from '@sinclair/typebox';
