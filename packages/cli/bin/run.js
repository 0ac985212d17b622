#!/usr/bin/env node
// imspect needs Node.js 24. This check runs before anything else is loaded (hence no static import: those would
// be evaluated first, and oclif or imspect itself may not even parse on an older Node).
const NEEDED_MAJOR = 24;
const major = Number(process.versions.node.split('.')[0]);

if (major < NEEDED_MAJOR) {
  const { runOnWorkspaceNode } = await import('./node-version.js');
  // A clone's `pnpm install` brings its own Node 24 (the `node` dev dependency): an `imspect` started by an older
  // system Node runs again on that one, as a child whose exit status and signals it passes on.
  const exitCode = await runOnWorkspaceNode(NEEDED_MAJOR);
  process.exit(exitCode);
}

// `--version` alone needs none of oclif: answered from package.json in oclif's own format, in a fraction of the time.
// The root help neither, while the build's stored copy of its list is current (see root-help.js).
const args = process.argv.slice(2);
const asksForRootHelp = args.length === 0 || (args.length === 1 && (args[0] === '--help' || args[0] === 'help'));
if (args.length === 1 && args[0] === '--version') {
  const { printVersion } = await import('./version.js');
  printVersion();
} else if (asksForRootHelp && (await import('./root-help.js')).printRootHelp()) {
  // Printed.
} else {
  const { fileURLToPath } = await import('node:url');
  const { setUpCompileCache } = await import('./compile-cache.js');
  setUpCompileCache(fileURLToPath(new URL('..', import.meta.url)));
  // Every `@oclif/core` import served from the build's one-file copy of it (see there).
  const { useOclifBundle } = await import('./oclif-bundle.js');
  useOclifBundle();
  // Before oclif reads the command manifest: a manifest older than the compiled commands is dropped (see there).
  await import('./manifest-guard.js');
  // Not awaited at the top level: a command that ends the process itself (a closed output, a signal) would leave
  // that await unsettled, and Node 24 then exits with status 13 and a warning instead of the command's own status.
  import('@oclif/core').then(({ execute }) => execute({ dir: import.meta.url }));
}
