/**
 * imspect imports the plugin's entry point at start and keeps what it loads: the policy file's reader (YAML and
 * TypeBox's checker) is loaded only when a policy file is configured.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));

/** The URLs a fresh Node process loads while it sets the plugin up with `options`. */
function loadedWith(options: object): string[] {
  const program = `
    import { registerHooks } from 'node:module';
    import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
    import { tmpdir } from 'node:os';
    import { join } from 'node:path';
    const loaded = [];
    registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });
    const dir = mkdtempSync(join(tmpdir(), 'imspect-policy-entry-'));
    writeFileSync(join(dir, 'policy.yaml'), 'block:\\n  file: true\\n');
    const logger = { info() {}, warn() {}, error() {}, debug() {}, child() { return logger; } };
    const { default: plugin } = await import(${JSON.stringify(DIST)} + 'index.js');
    const hooks = await plugin.setup({ name: 'filter-policy', logger, options: ${JSON.stringify(options)}, dataDir: dir, configDir: dir, hostVersion: '0.1.0' });
    await hooks.close?.();
    rmSync(dir, { recursive: true, force: true });
    process.stdout.write(JSON.stringify(loaded));
  `;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', program], { encoding: 'utf8' })) as string[];
}

// (value/guard is part of the type builder, always loaded.)
const reader = (url: string) => /\/yaml\/|typebox\/build\/esm\/value\/(index|value\/)|\/policy-file\.js$/.test(url);

describe('the entry point', () => {
  it('loads no YAML parser nor value checker for inline rules', () => {
    const loaded = loadedWith({ watch: false, block: { file: true } });
    expect(loaded.some((url) => url.endsWith('/filter-policy/dist/index.js'))).toBe(true);
    expect(loaded.filter(reader)).toEqual([]);
  });

  it('loads the policy file reader when a file is configured', () => {
    expect(loadedWith({ file: 'policy.yaml', watch: false }).some(reader)).toBe(true);
  });
});
