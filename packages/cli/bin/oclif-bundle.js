// oclif's runtime is about 160 small CommonJS files; finding, reading and wrapping each one is most of a short
// command's start-up. The build writes them as one file (scripts/bundle-oclif.js); when it is there and holds the
// @oclif/core version installed beside it, every import of `@oclif/core` in this process (imspect's commands and
// oclif's own plugins alike, so there is one copy) gets it. Otherwise (no build yet, oclif upgraded since the
// last build) nothing changes.
import { readFileSync } from 'node:fs';
import module from 'node:module';

const VENDOR = new URL('../dist/vendor/', import.meta.url);

/** The bundle in `vendorDir` (a file URL ending in /) was built from the @oclif/core that `cliRoot` resolves. */
export function bundleMatchesInstalled(vendorDir = VENDOR, cliRoot = import.meta.url) {
  try {
    const bundled = JSON.parse(readFileSync(new URL('oclif-core.json', vendorDir), 'utf8')).version;
    const installed = module.createRequire(cliRoot)('@oclif/core/package.json').version;
    return typeof bundled === 'string' && bundled === installed;
  } catch {
    return false;
  }
}

/** Serves `@oclif/core` from the bundle for the rest of the process, when it may; says whether it does. */
export function useOclifBundle() {
  if (typeof module.registerHooks !== 'function' || !bundleMatchesInstalled()) return false;
  const bundle = new URL('oclif-core.cjs', VENDOR).href;
  module.registerHooks({
    resolve(specifier, context, nextResolve) {
      if (specifier === '@oclif/core') return { url: bundle, format: 'commonjs', shortCircuit: true };
      return nextResolve(specifier, context);
    },
  });
  return true;
}
