/**
 * Translates an IMSpector configuration (`key=value` lines, `#` comments) into an imspect configuration object,
 * and says what it could not translate and why. Pure: no I/O; the command reads and writes the files.
 */
import path from 'node:path';

export interface ImportNote {
  /** Line in the IMSpector file; 0 for an option the file does not set (IMSpector's default applies). */
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
  /** True when the configuration holds a password (the SQL logger's URL): keep the file private. */
  containsSecret: boolean;
}

export interface ImportOptions {
  /** Folder of the IMSpector file: its relative paths are made absolute against it. */
  baseDir: string;
  /** Names of the installed plugins (plugin sections are only written for those: others would not load). */
  installed: ReadonlySet<string>;
}

/** IMSpector protocol switch -> imspect protocol plugin, or why there is none. */
const PROTOCOLS: Record<string, { plugin: string } | { none: string }> = {
  irc: { plugin: 'irc' },
  msn: { plugin: 'msn' },
  yahoo: { plugin: 'yahoo' },
  jabber: { plugin: 'xmpp' },
  icq: { plugin: 'oscar' },
  gg: { plugin: 'gadu-gadu' },
};
const PRIVATE_NETWORKS = ['127.0.0.0/8', '::1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'];
/** IMSpector's default `port`, which is also imspect's transparent listener's. */
const DEFAULT_PORT = 16667;
/** Folders that hold the system's CA certificates, which imspect trusts anyway. */
const SYSTEM_CA_DIRS = new Set(['/etc/ssl/certs', '/usr/lib/ssl/certs', '/etc/pki/tls/certs', '/usr/share/ca-certificates', '/usr/local/share/certs', '/etc/ssl']);

const IGNORED: Record<string, string> = {
  plugin_dir: "imspect finds its plugins in node_modules and in pluginFolders; IMSpector's .so plugins do not apply",
  responder_filename: 'imspect keeps the notice state in its data folder (state/monitoring-notice.json)',
  ssl_cert_dir: 'imspect keeps the certificates it signs in its data folder (tls-cache); nothing to set',
  db_filter_filename: "IMSpector's SQLite-backed filter (automatic whitelisting) has no imspect equivalent; use filter-acl's file",
  censord: 'censord is not supported',
  debug: 'use imspect start --debug',
};

/** IMSpector's SQL logging options, by backend (the first backend found is translated). */
const SQL_BACKENDS = [
  { prefix: 'mysql', scheme: 'mysql' },
  { prefix: 'postgresql', scheme: 'postgres' },
  { prefix: 'pgsql', scheme: 'postgres' },
  { prefix: 'sqlite', scheme: 'sqlite' },
] as const;
const SQL_KEYS = /^(mysql|postgresql|pgsql|sqlite)_/;

function isOn(value: string): boolean {
  return /^(on|yes|true|1)$/i.test(value);
}

function parsePort(value: string): number | undefined {
  const port = Number(value);
  return /^\d+$/.test(value) && port >= 1 && port <= 65535 ? port : undefined;
}

function setPath(target: Record<string, unknown>, keys: string[], value: unknown): void {
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next === 'object' && next !== null && !Array.isArray(next)) node = next as Record<string, unknown>;
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
    const key = line.slice(0, eq).trim().toLowerCase();
    entries.delete(key); // keep the map in the order of the lines that count
    entries.set(key, { value: line.slice(eq + 1).trim(), line: index + 1 });
  });
  return { entries, broken };
}

export function translateImspectorConf(text: string, options: ImportOptions): ImportResult {
  const { entries, broken } = parseImspectorConf(text);
  const config: Record<string, unknown> = {};
  const translated: ImportNote[] = [];
  const untranslated: ImportNote[] = [...broken];
  const lineOf = (key: string) => entries.get(key)?.line ?? 0;
  const done: Note = (key, message, line = lineOf(key)) => void translated.push({ line, key, message });
  const skip: Note = (key, message, line = lineOf(key)) => void untranslated.push({ line, key, message });
  const value = (key: string) => entries.get(key)?.value;
  const abs = (p: string) => path.resolve(options.baseDir, p);
  const installed = (plugin: string) => options.installed.has(plugin);
  /** Writes into a plugin's section if that plugin is installed (a section for a missing plugin fails `config check`). */
  const pluginOption = (key: string, plugin: string, keys: string[], optionValue: unknown, message: string) => {
    if (installed(plugin)) {
      setPath(config, ['plugins', plugin, ...keys], optionValue);
      done(key, message);
    } else skip(key, `needs the ${plugin} plugin (@imspect/${plugin}), which is not installed: install it and import again`);
  };
  const handled = new Set<string>();
  const take = (key: string) => {
    handled.add(key);
    return value(key);
  };

  translateListeners(config, { take, done, skip });
  translateProcess(config, { take, done, skip, abs });
  translateTls(config, { take, done, skip, abs });
  const sql = translateSql(entries, { done, skip, abs, installed, config });
  for (const key of sql.keys) handled.add(key);
  const enabledProtocols = new Set<string>();

  for (const [key, { value: raw }] of entries) {
    if (handled.has(key)) continue;
    const protocol = /^([a-z0-9]+)_protocol$/.exec(key)?.[1];
    if (protocol !== undefined) {
      const known = PROTOCOLS[protocol];
      if (known === undefined) skip(key, `unknown IMSpector protocol "${protocol}"`);
      else if ('none' in known) {
        if (isOn(raw)) skip(key, `imspect has no ${known.none} plugin: that traffic is not redirected to imspect and not logged`);
        else done(key, `${known.none} is off and imspect has no plugin for it: nothing to do`);
      } else if (!installed(known.plugin)) {
        if (isOn(raw)) skip(key, `the imspect plugin "${known.plugin}" is not installed: ${protocol} traffic is not logged until it is`);
        else done(key, `${protocol} is off and no "${known.plugin}" plugin is installed: nothing to do`);
      } else if (isOn(raw)) {
        enabledProtocols.add(known.plugin);
        done(key, `plugins.${known.plugin} enabled (the default)`);
      } else {
        setPath(config, ['plugins', known.plugin, 'enabled'], false);
        done(key, `plugins.${known.plugin}.enabled: false`);
      }
      continue;
    }
    switch (key) {
      case 'log_typing_events':
        break; // after the loop: it depends on which protocols are on
      case 'badwords_filename':
        pluginOption(key, 'filter-badwords', ['options', 'file'], abs(raw), 'plugins.filter-badwords.options.file');
        break;
      case 'badwords_replace_character':
        if (raw.length === 0) skip(key, 'empty: the default * is used');
        else pluginOption(key, 'filter-badwords', ['options', 'replaceCharacter'], [...raw][0], 'plugins.filter-badwords.options.replaceCharacter');
        break;
      case 'badwords_block_count': {
        const count = Number(raw);
        if (!/^\d+$/.test(raw)) {
          skip(key, `"${raw}" is not a count`);
          break;
        }
        // IMSpector blocks a message with more than N bad words; imspect blocks at blockCount or more.
        pluginOption(
          key,
          'filter-badwords',
          ['options', 'blockCount'],
          count + 1,
          `plugins.filter-badwords.options.blockCount: ${count + 1} (IMSpector blocks above ${count}, imspect from blockCount on)`,
        );
        break;
      }
      case 'acl_filename':
        pluginOption(key, 'filter-acl', ['options', 'file'], abs(raw), 'plugins.filter-acl.options.file (the same acl.txt format)');
        break;
      case 'block_files':
      case 'block_webcams': {
        const kind = key === 'block_files' ? 'file' : 'webcam';
        if (isOn(raw)) pluginOption(key, 'filter-policy', ['options', 'block', kind], true, `plugins.filter-policy.options.block.${kind}: true`);
        else done(key, `${kind} transfers are allowed (the default)`);
        break;
      }
      case 'response_prefix':
        setPath(config, ['responses', 'prefix'], raw);
        done(key, 'responses.prefix');
        break;
      case 'response_postfix':
      case 'response_suffix':
        setPath(config, ['responses', 'suffix'], raw);
        done(key, 'responses.suffix');
        break;
      case 'notice_days': {
        const days = Number(raw);
        if (!(days > 0)) {
          skip(key, `"${raw}" is not a number of days above 0: no monitoring notice`);
          break;
        }
        setPath(config, ['responses', 'notice', 'enabled'], true);
        setPath(config, ['responses', 'notice', 'everyDays'], days);
        done(key, `responses.notice: enabled, every ${days} days`);
        break;
      }
      case 'notice_response':
        setPath(config, ['responses', 'notice', 'text'], raw);
        done(key, 'responses.notice.text');
        break;
      case 'filtered_mins': {
        const minutes = Number(raw);
        if (raw === '' || !(minutes >= 0)) {
          skip(key, `"${raw}" is not a number of minutes`);
          break;
        }
        setPath(config, ['responses', 'blocked', 'rateLimitSeconds'], Math.round(minutes * 60));
        done(key, 'responses.blocked.rateLimitSeconds');
        break;
      }
      case 'filtered_response':
        setPath(config, ['responses', 'blocked', 'text'], raw);
        done(key, 'responses.blocked.text');
        break;
      case 'file_logging_dir':
        pluginOption(key, 'logger-csv', ['options', 'dir'], abs(raw), 'plugins.logger-csv.options.dir (the same folder layout)');
        break;
      default:
        if (IGNORED[key] !== undefined) skip(key, IGNORED[key]);
        else skip(key, 'unknown IMSpector option');
    }
  }

  // Protocols IMSpector was not told to handle, it did not handle.
  for (const [protocol, known] of Object.entries(PROTOCOLS)) {
    if (entries.has(`${protocol}_protocol`) || !('plugin' in known) || !installed(known.plugin)) continue;
    setPath(config, ['plugins', known.plugin, 'enabled'], false);
    translated.push({ line: 0, key: `${protocol}_protocol`, message: `not set (IMSpector's default is off): plugins.${known.plugin}.enabled: false` });
  }
  translateTyping(config, { value, done, skip, enabledProtocols });

  translated.sort((a, b) => a.line - b.line);
  untranslated.sort((a, b) => a.line - b.line);
  return { config, translated, untranslated, containsSecret: sql.containsSecret };
}

/** Records a note; `line` defaults to the line of `key` (0 when the file does not set it). */
type Note = (key: string, message: string, line?: number) => void;

/** `port` (the redirect target) -> a transparent listener; `http_port` -> an HTTP CONNECT listener; `listenaddr` -> their address. */
function translateListeners(config: Record<string, unknown>, at: { take: (key: string) => string | undefined; done: Note; skip: Note }): void {
  const listenaddr = at.take('listenaddr');
  const host = listenaddr && listenaddr.length > 0 ? listenaddr : '::';
  if (listenaddr !== undefined) at.done('listenaddr', `host of the listeners: ${host}`);
  const listeners: Record<string, unknown>[] = [];
  const portValue = at.take('port');
  let port = DEFAULT_PORT;
  if (portValue !== undefined && parsePort(portValue) === undefined) at.skip('port', `"${portValue}" is not a port number: the default ${DEFAULT_PORT} is used`);
  else port = parsePort(portValue ?? '') ?? DEFAULT_PORT;
  listeners.push({ type: 'transparent', host, port });
  at.done(
    'port',
    `${portValue === undefined ? `not set (IMSpector's default is ${DEFAULT_PORT}): ` : ''}listeners[0]: a transparent listener on port ${port}, where the firewall redirects IM ports (\`imspect firewall --apply\` installs the rules for the enabled protocols)`,
  );
  const httpValue = at.take('http_port');
  if (httpValue !== undefined) {
    const httpPort = parsePort(httpValue);
    if (httpPort === undefined) at.skip('http_port', `"${httpValue}" is not a port number: no HTTP CONNECT listener`);
    else if (httpPort === port) at.skip('http_port', `${httpPort} is also the transparent listener's port: no HTTP CONNECT listener`);
    else {
      listeners.push({ type: 'http-connect', host, port: httpPort, allow: PRIVATE_NETWORKS });
      at.done(
        'http_port',
        `listeners[1]: an HTTP CONNECT listener on port ${httpPort}, restricted to private networks (${PRIVATE_NETWORKS.join(', ')}): IMSpector checked no client address, imspect never runs an open proxy; widen allow or add users (Basic authentication) if clients elsewhere need it`,
      );
    }
  }
  config['listeners'] = listeners;
}

/** `user`, `group`, `pidfilename`. */
function translateProcess(config: Record<string, unknown>, at: { take: (key: string) => string | undefined; done: Note; skip: Note; abs: (p: string) => string }): void {
  const user = at.take('user');
  const group = at.take('group');
  const pid = at.take('pidfilename');
  if (user !== undefined && user.length > 0) {
    config['user'] = user;
    at.done('user', `user: ${user} (imspect drops to it after binding its listeners when started as root)`);
  } else {
    // IMSpector kept running as whoever started it; imspect refuses to keep root without being told.
    at.skip('user', 'not set: IMSpector kept running as whoever started it, root included; imspect started as root refuses to run without `user` (set it, or allowRoot: true)');
  }
  if (group !== undefined && group.length > 0) {
    config['group'] = group;
    at.done('group', `group: ${group}`);
  } else if (group !== undefined) at.skip('group', "empty: the user's primary group is used");
  if (pid !== undefined && pid.length > 0) {
    config['pidFile'] = at.abs(pid);
    at.done('pidfilename', 'pidFile (written before privileges are dropped, as IMSpector did)');
  } else if (pid !== undefined) at.skip('pidfilename', 'empty: no PID file');
}

/** IMSpector's `ssl*` options -> the `tls` section. */
function translateTls(config: Record<string, unknown>, at: { take: (key: string) => string | undefined; done: Note; skip: Note; abs: (p: string) => string }): void {
  const ssl = at.take('ssl');
  const caCert = at.take('ssl_ca_cert');
  const caKey = at.take('ssl_ca_key');
  const cert = at.take('ssl_cert');
  const key = at.take('ssl_key');
  const verify = at.take('ssl_verify');
  const verifyDir = at.take('ssl_verify_dir');
  const tls: Record<string, unknown> = {};
  config['tls'] = tls;
  if (ssl === undefined || !isOn(ssl)) {
    tls['action'] = 'passthrough';
    at.done(
      'ssl',
      `${ssl === undefined ? "not set (IMSpector's default is off)" : 'off'}: tls.action: passthrough (encrypted connections are relayed unread and logged as encrypted; set intercept after \`imspect ca init\` to read them)`,
    );
    for (const [name, v] of [
      ['ssl_ca_cert', caCert],
      ['ssl_ca_key', caKey],
      ['ssl_cert', cert],
      ['ssl_key', key],
      ['ssl_verify', verify],
      ['ssl_verify_dir', verifyDir],
    ] as const) {
      if (v !== undefined) at.skip(name, 'ssl is off: not used');
    }
    return;
  }
  tls['action'] = 'intercept';
  at.done('ssl', 'tls.action: intercept (the default)');
  if (caCert !== undefined && caKey !== undefined) {
    tls['ca'] = { cert: at.abs(caCert), key: at.abs(caKey) };
    at.done('ssl_ca_cert', "tls.ca.cert: IMSpector's CA signs imspect's per-server certificates, so clients that trust it need nothing new");
    at.done('ssl_ca_key', 'tls.ca.key (PEM, RSA or EC; imspect refuses a key file that group or others can read: chmod 600)');
    if (cert !== undefined) at.skip('ssl_cert', 'not needed: imspect signs a certificate per server with the CA (tls.ca)');
    if (key !== undefined) at.skip('ssl_key', 'not needed: imspect signs a certificate per server with the CA (tls.ca)');
  } else {
    const missing = caCert !== undefined ? 'ssl_ca_key' : caKey !== undefined ? 'ssl_ca_cert' : undefined;
    if (missing !== undefined) at.skip(caCert !== undefined ? 'ssl_ca_cert' : 'ssl_ca_key', `${missing} is not set: a CA needs its certificate and its key`);
    const fixed =
      'imspect has no fixed-certificate mode: it signs a certificate per server with a CA. Run `imspect ca init` and install the certificate of `imspect ca export` on the clients; until then TLS passes through unread';
    if (cert !== undefined) at.skip('ssl_cert', fixed);
    if (key !== undefined) at.skip('ssl_key', fixed);
    if (cert === undefined && key === undefined && missing === undefined) {
      at.skip('ssl', 'no CA is configured: run `imspect ca init` and install the certificate of `imspect ca export` on the clients; until then TLS passes through unread');
    }
  }
  if (verify === undefined) {
    at.done(
      'ssl_verify',
      "not set: IMSpector accepted any server certificate; imspect checks them (tls.upstreamVerify: verify, the default) and refuses servers whose certificate fails, with the reason logged; set upstreamVerify: off to keep IMSpector's behaviour",
    );
  } else if (/^block$/i.test(verify)) {
    tls['upstreamVerify'] = 'verify';
    at.done('ssl_verify', 'tls.upstreamVerify: verify (a server certificate that fails the check refuses the connection)');
  } else if (/^self-?signed$/i.test(verify)) {
    tls['upstreamVerify'] = 'allow-self-signed';
    at.done('ssl_verify', 'tls.upstreamVerify: allow-self-signed (the name must still match)');
  } else at.skip('ssl_verify', `"${verify}" is not block or selfsigned: imspect verifies server certificates (the default)`);
  if (verifyDir !== undefined) {
    if (SYSTEM_CA_DIRS.has(path.posix.normalize(verifyDir).replace(/\/$/, ''))) at.done('ssl_verify_dir', "the system's CA certificates: imspect trusts them anyway");
    else {
      at.skip(
        'ssl_verify_dir',
        `imspect trusts the system's CA certificates plus tls.upstreamCa, one PEM file: put the certificates of ${verifyDir} in one file (cat ${verifyDir}/*.pem > upstream-ca.pem) and set tls.upstreamCa to it`,
      );
    }
  }
}

/** IMSpector's SQL logging options -> the logger-sql plugin's `url`. */
function translateSql(
  entries: Map<string, { value: string; line: number }>,
  at: { done: Note; skip: Note; abs: (p: string) => string; installed: (plugin: string) => boolean; config: Record<string, unknown> },
): { keys: string[]; containsSecret: boolean } {
  const keys = [...entries.keys()].filter((k) => SQL_KEYS.test(k));
  const get = (k: string) => entries.get(k)?.value;
  const found: Array<{ keys: string[]; url: string; shown: string; secret: boolean; what: string }> = [];
  for (const { prefix, scheme } of SQL_BACKENDS) {
    const own = keys.filter((k) => k.startsWith(`${prefix}_`));
    if (own.length === 0) continue;
    if (scheme === 'sqlite') {
      const file = get('sqlite_file');
      if (file === undefined || file === '') continue;
      const url = `sqlite:${at.abs(file)}`;
      found.push({ keys: own, url, shown: url, secret: false, what: 'SQLite' });
      continue;
    }
    const conninfo = prefix === 'pgsql' || prefix === 'postgresql' ? parseConninfo(get(`${prefix}_connect`) ?? '') : {};
    const host = get(`${prefix}_server`) ?? get(`${prefix}_host`) ?? conninfo['host'] ?? conninfo['hostaddr'];
    const database = get(`${prefix}_database`) ?? get(`${prefix}_dbname`) ?? conninfo['dbname'];
    const user = get(`${prefix}_username`) ?? get(`${prefix}_user`) ?? conninfo['user'];
    const password = get(`${prefix}_password`) ?? conninfo['password'];
    const port = get(`${prefix}_port`) ?? conninfo['port'];
    if (host === undefined && database === undefined) continue;
    const auth = (pass: string | undefined) => (user ? `${encodeURIComponent(user)}${pass ? `:${pass}` : ''}@` : '');
    const hostPart = host && host.length > 0 ? (host.includes(':') && !host.startsWith('[') ? `[${host}]` : host) : 'localhost';
    const rest = `${hostPart}${port ? `:${port}` : ''}/${encodeURIComponent(database ?? '')}`;
    found.push({
      keys: own,
      url: `${scheme}://${auth(password ? encodeURIComponent(password) : undefined)}${rest}`,
      shown: `${scheme}://${auth(password ? '***' : undefined)}${rest}`,
      secret: Boolean(password),
      what: scheme === 'mysql' ? 'MySQL' : 'PostgreSQL',
    });
  }
  // A group of options gets one note, at the line of the first of them.
  const noteKey = (ks: string[]) => ks.join(', ');
  const lineOf = (ks: string[]) => Math.min(...ks.map((k) => entries.get(k)?.line ?? 0));
  const chosen = found[0];
  const usedKeys = new Set(found.flatMap((f) => f.keys));
  const leftover = keys.filter((k) => !usedKeys.has(k));
  if (leftover.length > 0) at.skip(noteKey(leftover), 'incomplete SQL logging options (no server, database or file): nothing to translate', lineOf(leftover));
  if (chosen === undefined) return { keys, containsSecret: false };
  const existing = "if that database still holds IMSpector's own `messages` table, imspect cannot create its table there: use a new database, or rename IMSpector's table first";
  if (!at.installed('logger-sql')) {
    at.skip(
      noteKey(chosen.keys),
      `${chosen.what} logging needs the logger-sql plugin (@imspect/logger-sql), which is not installed; its url would be ${chosen.shown}`,
      lineOf(chosen.keys),
    );
  } else {
    setPath(at.config, ['plugins', 'logger-sql', 'options', 'url'], chosen.url);
    at.done(
      noteKey(chosen.keys),
      `plugins.logger-sql.options.url: ${chosen.shown}${chosen.secret ? ' (the written configuration contains the database password: keep it readable by imspect only)' : ''}; ${existing}`,
      lineOf(chosen.keys),
    );
  }
  for (const other of found.slice(1)) {
    at.skip(noteKey(other.keys), `${other.what} logging too: logger-sql writes to one database, and ${chosen.what} was chosen (${other.shown} was not)`, lineOf(other.keys));
  }
  return { keys, containsSecret: chosen.secret && at.installed('logger-sql') };
}

/** libpq's `key=value key='quoted value'` connection string. */
function parseConninfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const match of text.matchAll(/(\w+)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|(\S*))/g)) {
    out[match[1]!] = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : (match[3] ?? '');
  }
  return out;
}

/**
 * `log_typing_events` (IMSpector's default: off). The MSN and OSCAR plugins can leave typing out; the others always
 * report it.
 */
function translateTyping(config: Record<string, unknown>, at: { value: (key: string) => string | undefined; done: Note; skip: Note; enabledProtocols: ReadonlySet<string> }): void {
  const raw = at.value('log_typing_events');
  const on = raw !== undefined && isOn(raw);
  const prefix = raw === undefined ? "not set (IMSpector's default is off): " : '';
  const others = ['yahoo', 'xmpp', 'gadu-gadu'].filter((p) => at.enabledProtocols.has(p));
  if (on) {
    at.done('log_typing_events', 'typing events are logged (the default)');
    return;
  }
  const parts: string[] = [];
  for (const plugin of ['msn', 'oscar']) {
    if (!at.enabledProtocols.has(plugin)) continue;
    setPath(config, ['plugins', plugin, 'options', 'typing'], false);
    parts.push(`plugins.${plugin}.options.typing: false`);
  }
  const set = parts.join(', ');
  if (others.length > 0) {
    at.skip(
      'log_typing_events',
      `${prefix}${parts.length > 0 ? `${set}; but ` : ''}the ${others.join(' and ')} plugin${others.length > 1 ? 's have' : ' has'} no such option: ${others.length > 1 ? 'their' : 'its'} typing events (type 3) are logged`,
    );
  } else if (parts.length > 0) at.done('log_typing_events', `${prefix}${set}`);
  else if (raw !== undefined) at.done('log_typing_events', 'no enabled protocol plugin reports typing: nothing to do');
}
