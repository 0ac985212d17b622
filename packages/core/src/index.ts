/**
 * @imspect/core: the runtime (listeners, sessions, loader, engine). The plugin contract lives in
 * `@imspect/sdk` and is re-exported here so existing imports keep working; plugins depend on the SDK alone.
 * The runtime itself is exported from `@imspect/core/runtime`.
 */
export * from '@imspect/sdk';
