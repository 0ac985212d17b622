// What `imspect` does when started by a Node.js older than it needs (see run.js). Plain JavaScript that any Node
// since 14 parses and runs: it is loaded before the version is known to be right.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Set in the child so that a workspace Node that turns out to be old too is refused, not started again. */
const REEXEC_MARK = 'IMSPECT_REEXECUTED_BY';
/** Exit status of a refusal: the runtime is wrong, not the command (EX_CONFIG in sysexits.h). */
export const EXIT_WRONG_NODE = 78;

/**
 * The Node.js binary of the workspace this file is in (the `node` package that a clone's `pnpm install` adds as a
 * dev dependency of the workspace root), or undefined when there is none or it is not executable.
 */
export function workspaceNode() {
  try {
    const here = fileURLToPath(import.meta.url);
    const manifest = createRequire(here).resolve('node/package.json');
    const binary = path.join(path.dirname(manifest), 'bin', 'node');
    accessSync(binary, constants.X_OK);
    return binary;
  } catch {
    return undefined;
  }
}

function refuse(neededMajor, reason) {
  process.stderr.write(
    `imspect needs Node.js ${neededMajor} or newer; this is Node.js ${process.versions.node} (${process.execPath})${reason}.\n` +
      `Install Node.js ${neededMajor} (an official build from nodejs.org, or \`npm install -g node@${neededMajor}\`) and run imspect with it;\n` +
      `in a clone of imspect, \`pnpm install\` brings its own Node.js ${neededMajor}: then \`pnpm start\` or \`pnpm imspect <command>\`.\n`,
  );
  return EXIT_WRONG_NODE;
}

/**
 * Runs this same command on the workspace's Node and resolves to the exit status to end with; refuses (with the
 * message above) when there is no such Node. SIGTERM and SIGHUP sent to this process are passed on to the child;
 * SIGINT is not, because Ctrl-C in a terminal reaches the child directly (it is in the same process group), and a
 * second SIGINT would tell imspect to stop waiting for its loggers. A service manager should start the Node 24
 * binary itself, so that no relaying process stands between it and imspect.
 */
export function runOnWorkspaceNode(neededMajor) {
  if (process.env[REEXEC_MARK]) return Promise.resolve(refuse(neededMajor, ` (started again by ${process.env[REEXEC_MARK]})`));
  const binary = workspaceNode();
  if (!binary) return Promise.resolve(refuse(neededMajor, ''));
  const script = process.argv[1];
  return new Promise((resolve) => {
    const child = spawn(binary, [...process.execArgv, script, ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, [REEXEC_MARK]: `${process.execPath} ${process.versions.node}` },
    });
    const forward = (signal) => () => child.kill(signal);
    const relayed = { SIGTERM: forward('SIGTERM'), SIGHUP: forward('SIGHUP'), SIGINT: () => undefined };
    for (const [signal, handler] of Object.entries(relayed)) process.on(signal, handler);
    child.on('error', (error) => {
      process.stderr.write(`imspect: cannot start ${binary}: ${error.message}\n`);
      resolve(refuse(neededMajor, ''));
    });
    child.on('exit', (code, signal) => {
      for (const [name, handler] of Object.entries(relayed)) process.off(name, handler);
      // A child killed by a signal: end the same way, so that the caller sees what the child's caller would.
      if (signal) process.kill(process.pid, signal);
      resolve(code ?? 1);
    });
  });
}
