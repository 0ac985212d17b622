/**
 * `imspect config import`: IMSpector's options become an imspect configuration that loads, and everything that
 * could not be translated is reported with its line and the reason.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runCli as imspect } from '../../../test/support/cli-run.js';
import { translateImspectorConf, type ImportResult } from '../src/imspector-import.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE = path.join(HERE, 'fixtures', 'imspector.conf');
const PRIVATE_NETWORKS = ['127.0.0.0/8', '::1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'];
/** Every plugin the fixture's options translate into. */
const ALL_PLUGINS = ['irc', 'msn', 'yahoo', 'xmpp', 'oscar', 'logger-csv', 'logger-sql', 'filter-badwords', 'filter-acl', 'filter-policy'];

/** key -> "line: message", for one list of notes. */
function byKey(notes: ImportResult['translated']): Record<string, string> {
  return Object.fromEntries(notes.map((n) => [n.key, `${n.line}: ${n.message}`]));
}

describe('translateImspectorConf', () => {
  it('translates every option of a full IMSpector file when all the plugins are installed', async () => {
    const text = await readFile(FIXTURE, 'utf8');
    const result = translateImspectorConf(text, { baseDir: '/etc/imspector', installed: new Set(ALL_PLUGINS) });
    expect(result.config).toEqual({
      listeners: [
        { type: 'transparent', host: '0.0.0.0', port: 16667 },
        { type: 'http-connect', host: '0.0.0.0', port: 18080, allow: PRIVATE_NETWORKS },
      ],
      user: 'imspector',
      group: 'imspector',
      pidFile: '/var/run/imspector.pid',
      tls: {
        action: 'intercept',
        ca: { cert: '/usr/etc/imspector/cacert.pem', key: '/usr/etc/imspector/cakey.pem' },
        upstreamVerify: 'allow-self-signed',
      },
      plugins: {
        yahoo: { enabled: false },
        msn: { options: { typing: false } },
        oscar: { options: { typing: false } },
        'logger-csv': { options: { dir: '/var/log/imspector' } },
        // The password keeps its characters, escaped for the URL.
        'logger-sql': { options: { url: 'mysql://imspector:s3cret%3Ap%40ss@db.office.lan/imspector' } },
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
    expect(result.containsSecret).toBe(true);

    const translated = byKey(result.translated);
    expect(translated['port']).toMatch(/^4: listeners\[0\]: a transparent listener on port 16667/);
    expect(translated['http_port']).toMatch(/^5: listeners\[1\]: an HTTP CONNECT listener on port 18080, restricted to private networks/);
    expect(translated['jabber_protocol']).toBe('18: plugins.xmpp enabled (the default)');
    expect(translated['msn_protocol']).toBe('15: plugins.msn enabled (the default)');
    expect(translated['icq_protocol']).toBe('13: plugins.oscar enabled (the default)');
    expect(translated['ssl_verify']).toBe('29: tls.upstreamVerify: allow-self-signed (the name must still match)');
    const sqlNote = translated['mysql_server, mysql_database, mysql_username, mysql_password'];
    expect(sqlNote).toMatch(
      /^36: plugins\.logger-sql\.options\.url: mysql:\/\/imspector:\*\*\*@db\.office\.lan\/imspector \(the written configuration contains the database password/,
    );

    expect(Object.keys(byKey(result.untranslated))).toEqual([
      'plugin_dir',
      'log_typing_events',
      'ssl_key',
      'ssl_cert',
      'ssl_cert_dir',
      'sqlite_file',
      'responder_filename',
      'this line is broken',
      'censord',
    ]);
    const untranslated = byKey(result.untranslated);
    expect(untranslated['log_typing_events']).toMatch(/^20: plugins\.msn\.options\.typing: false, plugins\.oscar\.options\.typing: false; but the xmpp plugin has no such option/);
    expect(untranslated['ssl_cert']).toMatch(/^25: not needed: imspect signs a certificate per server with the CA/);
    expect(untranslated['sqlite_file']).toBe('42: SQLite logging too: logger-sql writes to one database, and MySQL was chosen (sqlite:/etc/imspector/imspector.sqlite was not)');
    expect(untranslated['this line is broken']).toBe('65: not a key=value line; ignored');
    // The password is in the configuration only, never in a report line.
    expect(JSON.stringify([result.translated, result.untranslated])).not.toContain('s3cret');
  });

  it("maps IMSpector's gg_protocol (Gadu-Gadu, port 8074) to the gadu-gadu plugin", () => {
    const on = translateImspectorConf('gg_protocol=on\nlog_typing_events=off\n', { baseDir: '/', installed: new Set(['gadu-gadu']) });
    expect(on.config['plugins']).toBeUndefined();
    expect(byKey(on.translated)['gg_protocol']).toBe('1: plugins.gadu-gadu enabled (the default)');
    expect(byKey(on.untranslated)['log_typing_events']).toMatch(/^2: the gadu-gadu plugin has no such option: its typing events \(type 3\) are logged/);
    const off = translateImspectorConf('gg_protocol=off\n', { baseDir: '/', installed: new Set(['gadu-gadu']) });
    expect(off.config['plugins']).toEqual({ 'gadu-gadu': { enabled: false } });
    const missing = translateImspectorConf('gg_protocol=on\n', { baseDir: '/', installed: new Set() });
    expect(byKey(missing.untranslated)['gg_protocol']).toBe('1: the imspect plugin "gadu-gadu" is not installed: gg traffic is not logged until it is');
  });

  it('writes no section for a plugin that is not installed, and says which plugin is missing', async () => {
    const text = await readFile(FIXTURE, 'utf8');
    const result = translateImspectorConf(text, { baseDir: '/etc/imspector', installed: new Set(['irc']) });
    expect(result.config['plugins']).toBeUndefined();
    expect(result.containsSecret).toBe(false);
    const untranslated = byKey(result.untranslated);
    expect(untranslated['msn_protocol']).toBe('15: the imspect plugin "msn" is not installed: msn traffic is not logged until it is');
    expect(untranslated['jabber_protocol']).toBe('18: the imspect plugin "xmpp" is not installed: jabber traffic is not logged until it is');
    expect(untranslated['badwords_filename']).toBe('45: needs the filter-badwords plugin (@imspect/filter-badwords), which is not installed: install it and import again');
    expect(untranslated['mysql_server, mysql_database, mysql_username, mysql_password']).toBe(
      '36: MySQL logging needs the logger-sql plugin (@imspect/logger-sql), which is not installed; its url would be mysql://imspector:***@db.office.lan/imspector',
    );
    expect(JSON.stringify(result)).not.toContain('s3cret');
  });

  it("applies IMSpector's defaults to what the file does not set, and the last value of a key wins", () => {
    const result = translateImspectorConf('msn_protocol=on\nblock_webcams=on\nblock_webcams=off\nnotice_days=0\n', {
      baseDir: '/',
      installed: new Set(['irc', 'msn', 'xmpp']),
    });
    expect(result.config).toEqual({
      listeners: [{ type: 'transparent', host: '::', port: 16667 }],
      tls: { action: 'passthrough' },
      plugins: { irc: { enabled: false }, xmpp: { enabled: false }, msn: { options: { typing: false } } },
    });
    const translated = byKey(result.translated);
    expect(translated['jabber_protocol']).toBe("0: not set (IMSpector's default is off): plugins.xmpp.enabled: false");
    expect(translated['ssl']).toMatch(/^0: not set \(IMSpector's default is off\): tls\.action: passthrough/);
    expect(translated['log_typing_events']).toBe("0: not set (IMSpector's default is off): plugins.msn.options.typing: false");
    expect(translated['block_webcams']).toBe('3: webcam transfers are allowed (the default)');
    expect(byKey(result.untranslated)).toEqual({
      user: expect.stringMatching(/^0: not set: IMSpector kept running as whoever started it, root included/),
      notice_days: '4: "0" is not a number of days above 0: no monitoring notice',
    });
  });

  it('translates PostgreSQL (pgsql_connect) and SQLite logging, a fixed SSL certificate and typing logged', () => {
    const pg = translateImspectorConf(
      "pgsql_connect=host=db.lan port=5433 dbname=chat user=imspector password='p\\'w d'\nssl=on\nssl_cert=/etc/c.pem\nssl_key=/etc/k.pem\nssl_verify=block\nssl_verify_dir=/etc/imspector/cas\nlog_typing_events=on\nmsn_protocol=on\n",
      { baseDir: '/', installed: new Set(['msn', 'logger-sql']) },
    );
    expect(pg.config['plugins']).toEqual({ 'logger-sql': { options: { url: "postgres://imspector:p'w%20d@db.lan:5433/chat" } } });
    expect(pg.config['tls']).toEqual({ action: 'intercept', upstreamVerify: 'verify' });
    const untranslated = byKey(pg.untranslated);
    expect(untranslated['ssl_cert']).toMatch(/^3: imspect has no fixed-certificate mode: it signs a certificate per server with a CA\. Run `imspect ca init`/);
    expect(untranslated['ssl_verify_dir']).toMatch(/^6: .*tls\.upstreamCa, one PEM file: put the certificates of \/etc\/imspector\/cas in one file/);
    expect(byKey(pg.translated)['log_typing_events']).toBe('7: typing events are logged (the default)');

    const v6 = translateImspectorConf('mysql_server=2001:db8::5\nmysql_database=im\n', { baseDir: '/', installed: new Set(['logger-sql']) });
    expect(v6.config['plugins']).toEqual({ 'logger-sql': { options: { url: 'mysql://[2001:db8::5]/im' } } });

    const sqlite = translateImspectorConf('sqlite_file=logs/imspector.db\n', { baseDir: '/etc/imspector', installed: new Set(['logger-sql']) });
    expect(sqlite.config['plugins']).toEqual({ 'logger-sql': { options: { url: 'sqlite:/etc/imspector/logs/imspector.db' } } });
    expect(sqlite.containsSecret).toBe(false);
  });
});

describe('imspect config import', () => {
  let dir: string;
  let installed: Set<string>;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-import-'));
    // The CLI discovers the plugins of this workspace: the assertions below need every one the fixture uses.
    const list = await imspect(['plugins', 'list', '--json'], dir);
    installed = new Set((JSON.parse(list.stdout) as { plugins: Array<{ name: string }> }).plugins.map((p) => p.name));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes a configuration that imspect config check accepts but for the missing filter files, private because it holds a password', async () => {
    for (const plugin of ALL_PLUGINS) expect(installed, `the workspace plugin ${plugin}`).toContain(plugin);
    const out = path.join(dir, 'imspect.config.yaml');
    const result = await imspect(['config', 'import', FIXTURE, '--output', out], dir);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/translated: imspector\.conf:13: icq_protocol: plugins\.oscar enabled/);
    expect(result.stderr).toMatch(/not translated: imspector\.conf:66: censord: censord is not supported/);
    expect(result.stderr).toMatch(/translated: imspector\.conf:5: http_port: listeners\[1\]: an HTTP CONNECT listener on port 18080, restricted to private networks/);
    expect(result.stderr).toMatch(
      /translated: imspector\.conf:36: mysql_server, .*: plugins\.logger-sql\.options\.url: mysql:\/\/imspector:\*\*\*@db\.office\.lan\/imspector \(the written configuration contains the database password/,
    );
    expect(result.stderr).toMatch(/\d+ option\(s\) translated, 9 not translated; wrote .* \(mode 0600: it contains the database password\)/);
    expect(result.stderr).not.toContain('s3cret');
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    const written = parse(await readFile(out, 'utf8')) as Record<string, any>;
    const expected = translateImspectorConf(await readFile(FIXTURE, 'utf8'), { baseDir: path.dirname(FIXTURE), installed });
    expect(written).toEqual(expected.config);
    expect(written['listeners'].map((l: { type: string }) => l.type)).toEqual(['transparent', 'http-connect']);
    expect(written['plugins']['logger-sql']['options']['url']).toBe('mysql://imspector:s3cret%3Ap%40ss@db.office.lan/imspector');
    expect(written['tls']['ca']).toEqual({ cert: '/usr/etc/imspector/cacert.pem', key: '/usr/etc/imspector/cakey.pem' });
    // The configuration itself is valid; config check also reads the files the filters name, which IMSpector's
    // configuration points at and this machine does not have: those, and only those, are reported.
    const check = await imspect(['config', 'check', '--config', out, '--json'], dir);
    expect(check.code, check.stderr + check.stdout).toBe(2);
    const report = JSON.parse(check.stdout) as { valid: boolean; problems: string[] };
    expect(report.problems).toEqual([
      expect.stringMatching(/^plugin "filter-acl" failed in setup: cannot read the ACL \/etc\/imspector\/acl\.txt: ENOENT/),
      expect.stringMatching(/^plugin "filter-badwords" failed in setup: cannot read the word list .*badwords\.txt: ENOENT/),
    ]);
    const again = await imspect(['config', 'import', FIXTURE, '--output', out], dir);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/exists; use --force/);
  });

  it('prints YAML on standard output, or JSON with --json; a missing file is a clear error', async () => {
    const yaml = await imspect(['config', 'import', FIXTURE], dir);
    expect(yaml.code).toBe(0);
    expect(parse(yaml.stdout)).toMatchObject({ responses: { notice: { enabled: true } }, user: 'imspector' });
    const json = await imspect(['config', 'import', FIXTURE, '--json'], dir);
    const body = JSON.parse(json.stdout) as { untranslated: Array<{ key: string }>; config: Record<string, unknown>; containsSecret: boolean };
    expect(body.untranslated.some((n) => n.key === 'plugin_dir')).toBe(true);
    expect(body.config['listeners']).toHaveLength(2);
    expect(body.containsSecret).toBe(true);
    const missing = await imspect(['config', 'import', path.join(dir, 'nope.conf')], dir);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.conf: cannot be read: ENOENT/);
  });
});
