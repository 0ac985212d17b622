/**
 * @imspect/core: the SDK that plugins build against. The runtime (listeners, loader, engine) is exported
 * from `@imspect/core/runtime` so a plugin importing the SDK loads no sockets or config machinery.
 */
export * from './event.js';
export * from './protocol.js';
export * from './protocol-names.js';
export * from './plugin.js';
export * from './errors.js';
export * from './bytes.js';
export * from './byte-queue.js';
export * from './line-reader.js';
export * from './rules-file.js';
export * from './event-data.js';
export * from './log-columns.js';
export { Type } from '@sinclair/typebox';
export type { Static, TSchema } from '@sinclair/typebox';
