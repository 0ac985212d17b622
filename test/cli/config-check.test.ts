/**
 * `imspect config check`: one behaviour for every kind of problem. Valid: exit 0. Invalid: exit 2 with every
 * problem, on standard error or (`--json`) as `{ valid: false, problems }` on standard output. The files filters
 * read at start (word list, ACL, policy rules) are read here too; loggers are checked without their setup.
 */
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli as imspect } from '../support/cli-run.js';

interface CheckJson {
  valid: boolean;
  problems: string[];
}

describe('imspect config check', () => {
  let dir: string;
  const write = (name: string, text: string) => writeFile(path.join(dir, name), text);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-config-check-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('invalid plugin options: exit 2, also with --json, where the problems are on standard output', async () => {
    await write('options.yaml', 'dataDir: data\nplugins:\n  logger-csv:\n    options: { maxOpenFiles: many }\n');
    const plain = await imspect(['config', 'check', '--config', 'options.yaml'], dir);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain('plugins.logger-csv.options.maxOpenFiles');
    const json = await imspect(['config', 'check', '--config', 'options.yaml', '--json'], dir);
    expect(json.code).toBe(2);
    const report = JSON.parse(json.stdout) as CheckJson;
    expect(report.valid).toBe(false);
    expect(report.problems).toEqual([expect.stringContaining('plugins.logger-csv.options.maxOpenFiles: must be integer')]);
  });

  it('schema errors with --json: every one on standard output, exit 2', async () => {
    await write('schema.yaml', 'listners: []\nlisteners:\n  - { type: socks5, port: 99999 }\n');
    const result = await imspect(['config', 'check', '--config', 'schema.yaml', '--json'], dir);
    expect(result.code).toBe(2);
    const report = JSON.parse(result.stdout) as CheckJson;
    expect(report.valid).toBe(false);
    expect(report.problems).toEqual(
      expect.arrayContaining([
        `${path.join(dir, 'schema.yaml')}: listners: is not a known key; did you mean "listeners"?`,
        expect.stringContaining('listeners[0].port: must be <= 65535'),
      ]),
    );
  });

  it('policy.unreadable: allow, log or block (for all or per protocol); anything else is an error naming the key', async () => {
    await write('unreadable-ok.yaml', 'dataDir: data\npolicy:\n  unreadable: { default: log, qq: block, tls: allow }\n');
    const ok = await imspect(['config', 'check', '--config', 'unreadable-ok.yaml'], dir);
    expect(ok.code, ok.stderr).toBe(0);
    for (const [file, text] of [
      ['unreadable-bad.yaml', 'policy:\n  unreadable: deny\n'],
      ['unreadable-bad-protocol.yaml', 'policy:\n  unreadable: { qq: drop }\n'],
    ] as const) {
      await write(file, text);
      const bad = await imspect(['config', 'check', '--config', file, '--json'], dir);
      expect(bad.code).toBe(2);
      const report = JSON.parse(bad.stdout) as CheckJson;
      expect(report.problems.join('\n')).toMatch(/policy\.unreadable/);
    }
  });

  it('a misspelt key gets a suggestion, in config check and in start', async () => {
    await write('typo.yaml', 'listeners:\n  - type: socks5\n    alow: [10.0.0.0/8]\n');
    const check = await imspect(['config', 'check', '--config', 'typo.yaml'], dir);
    expect(check.code).toBe(2);
    expect(check.stderr).toContain('listeners[0].alow: is not a known key; did you mean "allow"?');
    const start = await imspect(['start', '--config', 'typo.yaml'], dir, 'utf8', 60_000);
    expect(start.code).toBe(2);
    expect(start.stderr).toContain('listeners[0].alow: is not a known key; did you mean "allow"?');
  });

  it('files the filters read at start: a missing word list, ACL or policy file is found, every one, exit 2', async () => {
    await write(
      'files.yaml',
      [
        'dataDir: data',
        'plugins:',
        '  filter-badwords: { options: { file: missing-words.txt } }',
        '  filter-acl: { options: { file: missing-acl.txt } }',
        '  filter-policy: { options: { file: missing-policy.yaml } }',
        '  logger-sqll: {}',
        '',
      ].join('\n'),
    );
    const result = await imspect(['config', 'check', '--config', 'files.yaml', '--json'], dir);
    expect(result.code).toBe(2);
    const report = JSON.parse(result.stdout) as CheckJson;
    expect(report.valid).toBe(false);
    expect(report.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/filter-badwords.*setup.*missing-words\.txt/),
        expect.stringMatching(/filter-acl.*setup.*missing-acl\.txt/),
        expect.stringMatching(/filter-policy.*setup.*missing-policy\.yaml/),
        `${path.join(dir, 'files.yaml')}: plugins.logger-sqll: no plugin of that name was found; did you mean "logger-sql"?`,
      ]),
    );
    expect(report.problems).toHaveLength(4);
  });

  it('valid, with the files present: exit 0, and no logger archive or data folder is created by the check', async () => {
    await write('words.txt', 'darn\n');
    await write('acl.txt', 'allow all\n');
    await write('policy.yaml', 'block:\n  file: true\n');
    await write(
      'good.yaml',
      [
        'dataDir: good-data',
        'plugins:',
        '  filter-badwords: { options: { file: words.txt } }',
        '  filter-acl: { options: { file: acl.txt } }',
        '  filter-policy: { options: { file: policy.yaml } }',
        '  logger-sql: { options: { file: archive.sqlite } }',
        '',
      ].join('\n'),
    );
    const result = await imspect(['config', 'check', '--config', 'good.yaml'], dir);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain(`${path.join(dir, 'good.yaml')}: valid`);
    expect(result.code).toBe(0);
    await expect(access(path.join(dir, 'good-data'))).rejects.toMatchObject({ code: 'ENOENT' });
    const json = await imspect(['config', 'check', '--config', 'good.yaml', '--json'], dir);
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as CheckJson).valid).toBe(true);
  });
});
