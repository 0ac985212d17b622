// `imspect --version` without loading oclif: the same line oclif prints (name/version platform-arch node-version).
import { readFileSync } from 'node:fs';

export function printVersion() {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`${manifest.name}/${manifest.version} ${process.platform}-${process.arch} node-${process.version}\n`);
}
