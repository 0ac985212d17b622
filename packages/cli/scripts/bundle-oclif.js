// Writes dist/vendor/oclif-core.cjs: @oclif/core and the packages it requires, as one file. Loading oclif's
// ~160 CommonJS files one by one (resolving, reading and wrapping each) is most of the start-up of a short
// command; bin/oclif-bundle.js points every `@oclif/core` import of the process at this file instead. The
// licences of everything inside go beside it (oclif-core.licences.txt), since the copy ships in the package.
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const cliDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(cliDir, 'dist/vendor');
const outfile = path.join(outDir, 'oclif-core.cjs');

export async function bundleOclif() {
  const entry = createRequire(path.join(cliDir, 'package.json')).resolve('@oclif/core');
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    metafile: true,
    // Read only in oclif's development mode (TypeScript sources), which imspect does not use: required where it is.
    external: ['typescript'],
    legalComments: 'eof',
    logLevel: 'warning',
    banner: { js: '// @oclif/core and its dependencies in one file for a quicker start-up (scripts/bundle-oclif.js); licences in oclif-core.licences.txt.' },
  });
  writeFileSync(path.join(outDir, 'oclif-core.licences.txt'), licences(Object.keys(result.metafile.inputs)));
  // Which @oclif/core it holds: after an upgrade without a build, bin/oclif-bundle.js uses the installed one.
  const version = JSON.parse(readFileSync(path.join(path.dirname(entry), '..', 'package.json'), 'utf8')).version;
  writeFileSync(path.join(outDir, 'oclif-core.json'), `${JSON.stringify({ version })}\n`);
  return outfile;
}

/** The licence text of every package a bundled file comes from. */
function licences(inputs) {
  const roots = new Set();
  for (const input of inputs) {
    const absolute = path.resolve(cliDir, input);
    let dir = path.dirname(absolute);
    while (dir !== path.dirname(dir) && !existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
    // A nested package.json that only sets "type" (dist/commonjs/package.json) is not the package's root.
    while (!JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).name) {
      dir = path.dirname(dir);
      while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
    }
    roots.add(dir);
  }
  const parts = [];
  for (const dir of [...roots].sort()) {
    const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
    const file = readdirSync(dir).find((name) => /^(licen[cs]e|copying)(\.|$)/i.test(name));
    const text = file ? readFileSync(path.join(dir, file), 'utf8').trim() : `(no licence file; package.json says ${manifest.license ?? 'nothing'})`;
    parts.push(`${manifest.name}@${manifest.version} (${manifest.license ?? 'unknown'})\n\n${text}\n`);
  }
  return `${parts.join(`\n${'-'.repeat(78)}\n\n`)}`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = await bundleOclif();
  console.log(`oclif bundle: ${path.relative(process.cwd(), file) || file}`);
}
