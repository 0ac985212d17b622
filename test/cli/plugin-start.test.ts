/**
 * A configured logger or filter that cannot start stops `imspect start` (exit 2, one line naming the plugin, the
 * step and the cause) instead of leaving imspect running with no archive or less policy than configured,
 * unless its section says `optional: true`. Filters with no configuration start on their embedded defaults.
 * `imspect replay` loads no logger unless told to, so a broken logger does not stop it.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NGIRCD_CAPTURE } from '../support/captures.js';
import { runCli } from '../support/cli-run.js';
import { startImspect } from '../support/imspect-process.js';
import { freePort } from '../support/ngircd.js';

/** A `start` that should refuse but runs is killed after this long (and the test fails on its exit code). */
const START_TIMEOUT_MS = 20_000;

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-plugin-start-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A folder with a configuration: a forward listener on a free port plus the given plugin sections (YAML lines). */
async function configured(name: string, pluginLines: string[]): Promise<string> {
  const home = path.join(dir, name);
  const port = await freePort();
  await mkdir(home);
  await writeFile(
    path.join(home, 'imspect.config.yaml'),
    ['listeners:', `  - { type: forward, port: ${port}, upstream: { host: 127.0.0.1, port: 9 }, protocol: irc }`, 'plugins:', ...pluginLines.map((l) => `  ${l}`), ''].join('\n'),
  );
  return home;
}

describe('imspect start with a logger or filter that cannot start', () => {
  it('refuses to start on a bad logger-sql URL: exit 2, the plugin, the step and the cause, no password', async () => {
    const home = await configured('bad-url', ['logger-sql: { options: { url: "ftp://archiver:s3cret@db.example/imspect" } }']);
    const result = await runCli(['start', '--allow-root'], home, 'utf8', START_TIMEOUT_MS);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('imspect: logger plugin "logger-sql" failed to start (setup):');
    expect(result.stderr).toContain('is not a postgres://, mysql://, mariadb:// or sqlite: URL');
    expect(result.stderr).toContain('optional: true');
    expect(result.stdout).not.toContain('Press Ctrl-C to stop.');
    expect(result.stdout + result.stderr).not.toContain('s3cret');
    expect(result.stderr).not.toMatch(/^\s+at .*\.js:\d+/m);
  });

  it('refuses to start on logger-sql options its schema rejects', async () => {
    const home = await configured('bad-option', ['logger-sql: { options: { poolSize: 1000 } }']);
    const result = await runCli(['start', '--allow-root'], home, 'utf8', START_TIMEOUT_MS);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('logger plugin "logger-sql" failed to start');
    expect(result.stderr).toContain('plugins.logger-sql.options.poolSize');
  });

  it('refuses to start when filter-badwords cannot read its word list', async () => {
    const home = await configured('missing-words', ['filter-badwords: { options: { file: missing-words.txt } }']);
    const result = await runCli(['start', '--allow-root'], home, 'utf8', START_TIMEOUT_MS);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('imspect: filter plugin "filter-badwords" failed to start (setup):');
    expect(result.stderr).toContain(`cannot read the word list ${path.join(home, 'missing-words.txt')}`);
  });

  it('runs without a failing plugin marked optional, and says so loudly; unconfigured filters start on their defaults', async () => {
    const home = await configured('optional', [
      'logger-sql: { optional: true, options: { url: "ftp://db.example/imspect" } }',
      'filter-badwords: { optional: true, options: { file: missing-words.txt } }',
    ]);
    const proxy = await startImspect(['--log-format', 'json'], { cwd: home });
    try {
      expect(proxy.stdout()).toMatch(/failed: .*logger-sql: .*is not a postgres:\/\//);
      expect(proxy.stdout()).toContain('filter-badwords: ');
      expect(proxy.stderr()).toContain('plugin \\"logger-sql\\" not loaded (optional: imspect runs without it)');
      // The filters nobody configured are loaded (and do nothing), as is the CSV logger.
      expect(proxy.stdout()).toMatch(/plugins: .*filter-acl \(filter\)/);
      expect(proxy.stdout()).toMatch(/plugins: .*filter-policy \(filter\)/);
      expect(proxy.stdout()).toMatch(/plugins: .*logger-csv \(logger\)/);
    } finally {
      expect(await proxy.stop(), proxy.stderr()).toBe(0);
    }
  });

  it('starts when the broken logger is disabled', async () => {
    const home = await configured('disabled', ['logger-sql: { enabled: false, options: { url: "ftp://db.example/imspect" } }']);
    const proxy = await startImspect([], { cwd: home });
    expect(proxy.stdout()).not.toContain('failed:');
    expect(await proxy.stop(), proxy.stderr()).toBe(0);
  });
});

const capture = NGIRCD_CAPTURE;
describe('imspect replay with a broken logger', () => {
  it('replays without --to-loggers (no logger is loaded), and refuses with --to-loggers', async () => {
    const home = await configured('replay', ['logger-sql: { options: { url: "ftp://db.example/imspect" } }']);
    const plain = await runCli(['replay', capture, '--json'], home);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toContain('"summary"');
    const toLoggers = await runCli(['replay', capture, '--to-loggers'], home, 'utf8', START_TIMEOUT_MS);
    expect(toLoggers.code, toLoggers.stderr).toBe(2);
    expect(toLoggers.stderr).toContain('logger plugin "logger-sql" failed to start (setup):');
  });
});
