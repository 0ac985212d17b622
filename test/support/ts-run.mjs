/**
 * Lets a child process (a peer inside a test's network namespace) run the TypeScript test support modules as
 * they are: `node --experimental-transform-types --import ./ts-run.mjs file.ts`. Node strips the types; this
 * hook resolves the `./x.js` imports the sources use (for the TypeScript compiler) to the `./x.ts` files beside them.
 */
import { register } from 'node:module';

register(
  `data:text/javascript,${encodeURIComponent(`
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    if (/^\\.{1,2}\\//.test(specifier) && specifier.endsWith('.js')) return next(specifier.slice(0, -3) + '.ts', context);
    throw error;
  }
}`)}`,
);
