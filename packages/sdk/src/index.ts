/**
 * @imspect/sdk: the contract plugins build against (types, `definePlugin`, errors, byte/text helpers, framers,
 * rules files, event data, log columns, option schemas). No runtime: importing it loads no sockets, no
 * configuration machinery and no native code. The test kit is `@imspect/sdk/testing`.
 */
export * from './event.js';
export * from './protocol.js';
export * from './protocol-names.js';
export * from './plugin.js';
export * from './errors.js';
export * from './bytes.js';
export * from './byte-queue.js';
export * from './framer.js';
export * from './line-framer.js';
export * from './length-prefixed-framer.js';
export * from './http-message.js';
export * from './http-framer.js';
export * from './rules-file.js';
export * from './event-data.js';
export * from './presence.js';
export * from './log-columns.js';
export * from './options.js';
export { Type } from '@sinclair/typebox';
export type { Static, TSchema } from '@sinclair/typebox';
