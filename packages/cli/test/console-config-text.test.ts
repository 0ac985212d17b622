/** The console's edits of texts kept in the configuration file: YAML edited in place, JSON rewritten, programs refused. */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '@imspect/core/runtime';
import { configText } from '../dist/console-config-text.js';

const KEY = ['responses', 'blocked', 'text'] as const;
const NOBODY = 65534;
const execFileAsync = promisify(execFile);

describe('configuration texts the console edits', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-config-text-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const loadedFrom = (file: string | undefined, raw: object) => resolveConfig(raw, file, dir);

  it('edits a YAML configuration in place: comments, order and other keys kept', async () => {
    const file = path.join(dir, 'imspect.config.yaml');
    await writeFile(file, '# the office proxy\ndataDir: data # kept here\nresponses:\n  blocked:\n    rateLimitSeconds: 5\n');
    const text = configText(loadedFrom(file, { dataDir: 'data' }), KEY, () => 'default');
    expect(text.refusal).toBeUndefined();
    expect(await text.read()).toBe('default');
    await text.write('Stopped: {what}');
    expect(await readFile(file, 'utf8')).toBe('# the office proxy\ndataDir: data # kept here\nresponses:\n  blocked:\n    rateLimitSeconds: 5\n    text: "Stopped: {what}"\n');
    expect(await text.read()).toBe('Stopped: {what}');
  });

  it('refuses a change that would make the configuration invalid, and leaves the file alone', async () => {
    const file = path.join(dir, 'imspect.config.json');
    const before = '{"dataDir": "data"}';
    await writeFile(file, before);
    // responses.blocked has no key `nope`: the whole configuration is validated before it is written.
    const text = configText(loadedFrom(file, { dataDir: 'data' }), ['responses', 'blocked', 'nope'], () => '');
    await expect(text.write('x')).rejects.toThrow(/would not be valid.*nope/s);
    expect(await readFile(file, 'utf8')).toBe(before);
    await configText(loadedFrom(file, { dataDir: 'data' }), KEY, () => '').write('Stopped');
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ dataDir: 'data', responses: { blocked: { text: 'Stopped' } } });
  });

  it('refuses to rewrite a program, package.json, or no file at all, saying why', () => {
    expect(configText(loadedFrom(path.join(dir, 'imspect.config.js'), {}), KEY, () => '').refusal).toMatch(/is a program, which imspect does not rewrite/);
    expect(configText(loadedFrom(path.join(dir, 'package.json'), {}), KEY, () => '').refusal).toMatch(/"imspect" key of .*package\.json/);
    expect(configText(loadedFrom(undefined, {}), KEY, () => '').refusal).toMatch(/without a configuration file/);
  });

  it('says so when the file cannot be written', async () => {
    const sub = await mkdtemp(path.join(dir, 'ro-'));
    const file = path.join(sub, 'imspect.config.json');
    await writeFile(file, '{}\n');
    await chmod(sub, 0o555);
    try {
      if (process.getuid?.() === 0) {
        // Root writes anywhere: the same write is tried by an unprivileged user (nobody) in a child process.
        await chmod(dir, 0o755);
        const message = await writeAsNobody(file);
        expect(message).toMatch(/cannot write .*permission denied.*by hand/);
      } else {
        const text = configText(loadedFrom(file, {}), KEY, () => '');
        await expect(text.write('Stopped')).rejects.toThrow(/cannot write .*permission denied.*by hand/);
      }
      expect(await readFile(file, 'utf8')).toBe('{}\n');
    } finally {
      await chmod(sub, 0o700);
      await chmod(dir, 0o700);
    }
  });
});

/** Runs configText(...).write as the user nobody; returns the error message it rejected with (or says it did not). */
async function writeAsNobody(file: string): Promise<string> {
  const script = [
    "import { resolveConfig } from '@imspect/core/runtime';",
    "import { configText } from './dist/console-config-text.js';",
    `const file = ${JSON.stringify(file)};`,
    `const text = configText(resolveConfig({}, file, ${JSON.stringify(path.dirname(file))}), ['responses', 'blocked', 'text'], () => '');`,
    "try { await text.write('Stopped'); console.log('written'); } catch (error) { console.log(error.message); }",
  ].join('\n');
  const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: path.resolve(import.meta.dirname, '..'),
    uid: NOBODY,
    gid: NOBODY,
  });
  return stdout.trim();
}
