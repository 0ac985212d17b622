/**
 * A bench's command line: `node:util` parseArgs with the benches' conventions. `pnpm bench:x -- --quick` hands
 * the `--` on, so it is dropped; a bad flag prints the error and the usage (exit 2); `--help` the usage (exit 0).
 */
import { parseArgs } from 'node:util';

export function failBench(message) {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

export function benchArgs(options, usage) {
  let parsed;
  try {
    const args = process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--'));
    parsed = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h', default: false } }, allowPositionals: false });
  } catch (error) {
    failBench(`${error.message}\n${usage}`);
  }
  if (parsed.values.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  return parsed.values;
}
