/**
 * `imspect config import`: IMSpector's options become an imspect configuration that loads, and everything that
 * could not be translated is reported with its line and the reason.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { translateImspectorConf } from '../src/imspector-import.js';

const execFileAsync = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.resolve(HERE, '../bin/run.js');
const FIXTURE = path.join(HERE, 'fixtures', 'imspector.conf');

async function imspect(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('translateImspectorConf', () => {
  it('translates ports, protocols, bad words, ACL, blocking, responses and file logging', async () => {
    const text = await readFile(FIXTURE, 'utf8');
    const result = translateImspectorConf(text, { baseDir: '/etc/imspector', installed: new Set(['irc', 'yahoo', 'logger-csv']) });
    expect(result.config).toEqual({
      listeners: [{ type: 'socks5', host: '0.0.0.0', port: 16667, allow: ['127.0.0.0/8', '::1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'] }],
      plugins: {
        yahoo: { enabled: false },
        'logger-csv': { options: { dir: '/var/log/imspector' } },
        'filter-badwords': { options: { file: '/etc/imspector/badwords.txt', replaceCharacter: '#', blockCount: 4 } },
        'filter-acl': { options: { file: '/etc/imspector/acl.txt' } },
        'filter-policy': { options: { block: { file: true } } },
      },
      responses: {
        prefix: 'Message from IMSpector: -=',
        suffix: '=-',
        notice: { enabled: true, everyDays: 7, text: 'Your activities are being logged by the company' },
        blocked: { rateLimitSeconds: 900, text: 'Your message was blocked' },
      },
    });
    const untranslated = Object.fromEntries(result.untranslated.map((n) => [n.key, `${n.line}: ${n.message}`]));
    expect(Object.keys(untranslated)).toEqual([
      'http_port', 'plugin_dir', 'user', 'group', 'pidfilename', 'icq_protocol', 'msn_protocol', 'jabber_protocol', 'log_typing_events',
      'mysql_server, mysql_database, mysql_username, mysql_password', 'responder_filename', 'this line is broken', 'censord',
    ]);
    expect(untranslated['msn_protocol']).toBe('14: no imspect plugin "msn" is installed: msn traffic will be relayed without being logged');
    expect(untranslated['mysql_server, mysql_database, mysql_username, mysql_password']).toMatch(/^33: .*mysql:\/\/imspector:PASSWORD@localhost\/imspector/);
    expect(untranslated['this line is broken']).toBe('59: not a key=value line; ignored');
    expect(JSON.stringify(result)).not.toContain('secret');
  });

  it('disables installed protocol plugins IMSpector was not told to handle, and the last value of a key wins', () => {
    const result = translateImspectorConf('msn_protocol=on\nblock_webcams=on\nblock_webcams=off\nsqlite_file=/var/lib/i.sqlite\nnotice_days=0\n', {
      baseDir: '/',
      installed: new Set(['irc', 'msn']),
    });
    expect(result.config).toEqual({ plugins: { irc: { enabled: false } } });
    expect(result.untranslated.map((n) => n.message)).toEqual([
      'SQL logging needs the @imspect/logger-sql plugin; configure it by hand (database URL: sqlite:/var/lib/i.sqlite)',
      '"0" is not a number of days above 0: no monitoring notice',
    ]);
  });
});

describe('imspect config import', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-import-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes a configuration that imspect config check accepts, and reports what it left out', async () => {
    const out = path.join(dir, 'imspect.config.yaml');
    const result = await imspect(['config', 'import', FIXTURE, '--output', out], dir);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/not translated: imspector\.conf:14: msn_protocol: no imspect plugin "msn" is installed/);
    expect(result.stderr).toMatch(/not translated: imspector\.conf:60: censord: censord is not supported/);
    expect(result.stderr).toMatch(/option\(s\) translated, \d+ not translated; wrote /);
    const written = parse(await readFile(out, 'utf8')) as Record<string, any>;
    expect(written['plugins']['filter-badwords']['options']).toEqual({ file: path.join(path.dirname(FIXTURE), 'badwords.txt'), replaceCharacter: '#', blockCount: 4 });
    const check = await imspect(['config', 'check', '--config', out], dir);
    expect(check.code, check.stderr + check.stdout).toBe(0);
    expect(check.stdout).toMatch(/valid/);
    const again = await imspect(['config', 'import', FIXTURE, '--output', out], dir);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/exists; use --force/);
  });

  it('prints YAML on standard output, or JSON with --json; a missing file is a clear error', async () => {
    const yaml = await imspect(['config', 'import', FIXTURE], dir);
    expect(yaml.code).toBe(0);
    expect(parse(yaml.stdout)).toMatchObject({ responses: { notice: { enabled: true } } });
    const json = await imspect(['config', 'import', FIXTURE, '--json'], dir);
    const body = JSON.parse(json.stdout) as { untranslated: Array<{ key: string }>; config: Record<string, unknown> };
    expect(body.untranslated.some((n) => n.key === 'plugin_dir')).toBe(true);
    expect(body.config['listeners']).toHaveLength(1);
    const missing = await imspect(['config', 'import', path.join(dir, 'nope.conf')], dir);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.conf: cannot be read: ENOENT/);
  });
});
