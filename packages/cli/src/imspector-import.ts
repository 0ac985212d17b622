/**
 * Translates an IMSpector configuration (`key=value` lines, `#` comments) into an imspect configuration object,
 * and says what it could not translate and why. Pure: no I/O; the command reads and writes the files.
 */
import path from 'node:path';

export interface ImportNote {
  line: number;
  key: string;
  /** What became of it, or why nothing did. */
  message: string;
}

export interface ImportResult {
  config: Record<string, unknown>;
  /** Options carried over (some with a remark). */
  translated: ImportNote[];
  /** Options with no imspect equivalent, or that need a person to decide. */
  untranslated: ImportNote[];
}

export interface ImportOptions {
  /** Folder of the IMSpector file: its relative paths are made absolute against it. */
  baseDir: string;
  /** Names of the installed plugins (protocol sections are only written for those). */
  installed: ReadonlySet<string>;
}

/** IMSpector protocol switch -> imspect protocol plugin name. */
const PROTOCOLS: Record<string, string> = { irc: 'irc', msn: 'msn', yahoo: 'yahoo', jabber: 'jabber', icq: 'icq', gg: 'gg', https: 'https' };
const PRIVATE_NETWORKS = ['127.0.0.0/8', '::1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'];

const IGNORED: Record<string, string> = {
  plugin_dir: "imspect finds its plugins in node_modules and in pluginFolders; IMSpector's .so plugins do not apply",
  user: 'run imspect as an unprivileged user from the service manager (systemd User=)',
  group: 'run imspect with the group from the service manager (systemd Group=)',
  pidfilename: 'imspect runs in the foreground under a service manager; no PID file',
  log_typing_events: 'imspect always logs typing events (type 3) where the protocol reports them',
  http_port: 'HTTP proxying of IM traffic is not available in imspect',
  responder_filename: 'imspect keeps the notice state in its data folder (state/monitoring-notice.json)',
  ssl: 'TLS interception is not available yet: encrypted connections are passed through and marked encrypted',
  ssl_key: 'TLS interception is not available yet',
  ssl_cert: 'TLS interception is not available yet',
  ssl_ca_key: 'TLS interception is not available yet',
  ssl_ca_cert: 'TLS interception is not available yet',
  ssl_cert_dir: 'TLS interception is not available yet',
  ssl_verify: 'TLS interception is not available yet',
  ssl_verify_dir: 'TLS interception is not available yet',
  db_filter_filename: "IMSpector's SQLite-backed ACL has no imspect equivalent; use filter-acl's file",
  censord: 'censord is not supported',
  debug: 'use imspect start --debug',
};

const SQL_KEYS = /^(mysql|postgresql|sqlite)_/;

function isOn(value: string): boolean {
  return /^(on|yes|true|1)$/i.test(value);
}

function setPath(target: Record<string, unknown>, keys: string[], value: unknown): void {
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next === 'object' && next !== null) node = next as Record<string, unknown>;
    else {
      const created: Record<string, unknown> = {};
      node[key] = created;
      node = created;
    }
  }
  node[keys[keys.length - 1]!] = value;
}

/** Reads `key=value` lines; the last occurrence of a key wins, as in IMSpector. */
export function parseImspectorConf(text: string): { entries: Map<string, { value: string; line: number }>; broken: ImportNote[] } {
  const entries = new Map<string, { value: string; line: number }>();
  const broken: ImportNote[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line.length === 0 || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq <= 0) {
      broken.push({ line: index + 1, key: line.slice(0, 40), message: 'not a key=value line; ignored' });
      return;
    }
    entries.set(line.slice(0, eq).trim().toLowerCase(), { value: line.slice(eq + 1).trim(), line: index + 1 });
  });
  return { entries, broken };
}

export function translateImspectorConf(text: string, options: ImportOptions): ImportResult {
  const { entries, broken } = parseImspectorConf(text);
  const config: Record<string, unknown> = {};
  const translated: ImportNote[] = [];
  const untranslated: ImportNote[] = [...broken];
  const done = (key: string, message: string) => translated.push({ line: entries.get(key)!.line, key, message });
  const skip = (key: string, message: string) => untranslated.push({ line: entries.get(key)!.line, key, message });
  const abs = (p: string) => path.resolve(options.baseDir, p);
  const sql = new Map<string, string>();

  for (const [key, { value }] of entries) {
    const protocol = /^([a-z]+)_protocol$/.exec(key)?.[1];
    if (protocol !== undefined) {
      const plugin = PROTOCOLS[protocol];
      if (plugin === undefined) skip(key, `unknown protocol "${protocol}"`);
      else if (!options.installed.has(plugin)) {
        if (isOn(value)) skip(key, `no imspect plugin "${plugin}" is installed: ${protocol} traffic will be relayed without being logged`);
        else done(key, `${protocol} is off and no "${plugin}" plugin is installed: nothing to do`);
      } else if (isOn(value)) done(key, `plugins.${plugin} enabled (the default)`);
      else {
        setPath(config, ['plugins', plugin, 'enabled'], false);
        done(key, `plugins.${plugin}.enabled: false`);
      }
      continue;
    }
    switch (key) {
      case 'port': {
        const port = Number(value);
        if (!Number.isInteger(port) || port < 1 || port > 65535) {
          skip(key, `"${value}" is not a port number`);
          break;
        }
        config['listeners'] = [{ type: 'socks5', host: '0.0.0.0', port, allow: PRIVATE_NETWORKS }];
        done(key, `listeners[0]: a SOCKS5 listener on port ${port} for private networks. IMSpector took firewall-redirected connections; imspect's transparent listener is not available yet, so clients must be set to use this SOCKS5 proxy`);
        break;
      }
      case 'badwords_filename':
        setPath(config, ['plugins', 'filter-badwords', 'options', 'file'], abs(value));
        done(key, 'plugins.filter-badwords.options.file');
        break;
      case 'badwords_replace_character':
        if (value.length === 0) skip(key, 'empty: the default * is used');
        else {
          setPath(config, ['plugins', 'filter-badwords', 'options', 'replaceCharacter'], [...value][0]);
          done(key, 'plugins.filter-badwords.options.replaceCharacter');
        }
        break;
      case 'badwords_block_count': {
        const count = Number(value);
        if (!Number.isInteger(count) || count < 0) {
          skip(key, `"${value}" is not a count`);
          break;
        }
        // IMSpector blocks a message with more than N bad words; imspect blocks at blockCount or more.
        setPath(config, ['plugins', 'filter-badwords', 'options', 'blockCount'], count + 1);
        done(key, `plugins.filter-badwords.options.blockCount: ${count + 1} (IMSpector blocks above ${count}, imspect from blockCount on)`);
        break;
      }
      case 'acl_filename':
        setPath(config, ['plugins', 'filter-acl', 'options', 'file'], abs(value));
        done(key, 'plugins.filter-acl.options.file (the same acl.txt format)');
        break;
      case 'block_files':
      case 'block_webcams': {
        const kind = key === 'block_files' ? 'file' : 'webcam';
        if (isOn(value)) {
          setPath(config, ['plugins', 'filter-policy', 'options', 'block', kind], true);
          done(key, `plugins.filter-policy.options.block.${kind}: true`);
        } else done(key, `${kind} transfers are allowed (the default)`);
        break;
      }
      case 'response_prefix':
        setPath(config, ['responses', 'prefix'], value);
        done(key, 'responses.prefix');
        break;
      case 'response_postfix':
      case 'response_suffix':
        setPath(config, ['responses', 'suffix'], value);
        done(key, 'responses.suffix');
        break;
      case 'notice_days': {
        const days = Number(value);
        if (!(days > 0)) {
          skip(key, `"${value}" is not a number of days above 0: no monitoring notice`);
          break;
        }
        setPath(config, ['responses', 'notice', 'enabled'], true);
        setPath(config, ['responses', 'notice', 'everyDays'], days);
        done(key, `responses.notice: enabled, every ${days} days`);
        break;
      }
      case 'notice_response':
        setPath(config, ['responses', 'notice', 'text'], value);
        done(key, 'responses.notice.text');
        break;
      case 'filtered_mins': {
        const minutes = Number(value);
        if (!(minutes >= 0)) {
          skip(key, `"${value}" is not a number of minutes`);
          break;
        }
        setPath(config, ['responses', 'blocked', 'rateLimitSeconds'], Math.round(minutes * 60));
        done(key, 'responses.blocked.rateLimitSeconds');
        break;
      }
      case 'filtered_response':
        setPath(config, ['responses', 'blocked', 'text'], value);
        done(key, 'responses.blocked.text');
        break;
      case 'file_logging_dir':
        setPath(config, ['plugins', 'logger-csv', 'options', 'dir'], abs(value));
        done(key, 'plugins.logger-csv.options.dir (the same folder layout)');
        break;
      default:
        if (SQL_KEYS.test(key)) sql.set(key, value);
        else if (IGNORED[key] !== undefined) skip(key, IGNORED[key]);
        else skip(key, 'unknown IMSpector option');
    }
  }
  // Protocols IMSpector was not told to handle, it did not handle.
  for (const [protocol, plugin] of Object.entries(PROTOCOLS)) {
    if (entries.has(`${protocol}_protocol`) || !options.installed.has(plugin)) continue;
    setPath(config, ['plugins', plugin, 'enabled'], false);
    translated.push({ line: 0, key: `${protocol}_protocol`, message: `not set (IMSpector's default is off): plugins.${plugin}.enabled: false` });
  }
  if (sql.size > 0) {
    const keys = [...sql.keys()];
    const hint = sqlHint(sql);
    untranslated.push({
      line: Math.min(...keys.map((k) => entries.get(k)!.line)),
      key: keys.join(', '),
      message: `SQL logging needs the @imspect/logger-sql plugin; configure it by hand${hint ? ` (database URL: ${hint})` : ''}`,
    });
  }
  translated.sort((a, b) => a.line - b.line);
  untranslated.sort((a, b) => a.line - b.line);
  return { config, translated, untranslated };
}

/** A database URL from IMSpector's SQL options, passwords left out. */
function sqlHint(sql: Map<string, string>): string | undefined {
  if (sql.has('sqlite_file')) return `sqlite:${sql.get('sqlite_file')}`;
  for (const [prefix, scheme] of [
    ['mysql', 'mysql'],
    ['postgresql', 'postgres'],
  ] as const) {
    const host = sql.get(`${prefix}_server`) ?? sql.get(`${prefix}_host`);
    const database = sql.get(`${prefix}_database`);
    if (host === undefined && database === undefined) continue;
    const user = sql.get(`${prefix}_username`) ?? sql.get(`${prefix}_user`);
    const port = sql.get(`${prefix}_port`);
    return `${scheme}://${user ? `${encodeURIComponent(user)}:PASSWORD@` : ''}${host ?? 'localhost'}${port ? `:${port}` : ''}/${database ?? ''}`;
  }
  return undefined;
}
