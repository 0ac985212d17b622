/**
 * A private prosody for the XMPP tests: its own config in a temp folder, loopback ports, encryption required,
 * one certificate per virtual host, users registered with prosodyctl. Stopped by its PID.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { canConnect, freePort } from './ngircd.js';

export interface ProsodyHost {
  domain: string;
  certFile: string;
  keyFile: string;
  users: Array<{ username: string; password: string }>;
}

export interface RunningProsody {
  /** c2s with STARTTLS (as 5222). */
  port: number;
  /** c2s with TLS from the first byte (as 5223). */
  tlsPort: number;
  /** The multi-user chat component of the first host: `conference.<domain>`. */
  mucDomain: string;
  /** With `httpUpload`: the XEP-0363 upload service of the first host (`upload.<domain>`, mod_http_file_share). */
  uploadDomain?: string;
  stop(): Promise<void>;
}

export interface ProsodyOptions {
  /** Runs mod_http_file_share as `upload.<first domain>`, its HTTP on a loopback port of its own. */
  httpUpload?: boolean;
}

export async function startProsody(executable: string, prosodyctl: string, hosts: ProsodyHost[], options: ProsodyOptions = {}): Promise<RunningProsody> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-prosody-'));
  await mkdir(path.join(dir, 'data'));
  await mkdir(path.join(dir, 'certs'));
  const port = await freePort();
  const tlsPort = await freePort();
  const first = hosts[0]!;
  const mucDomain = `conference.${first.domain}`;
  const uploadDomain = options.httpUpload ? `upload.${first.domain}` : undefined;
  const httpPort = options.httpUpload ? await freePort() : undefined;
  const lua = (text: string) => JSON.stringify(text);
  const config = path.join(dir, 'prosody.cfg.lua');
  await writeFile(
    config,
    [
      `pidfile = ${lua(path.join(dir, 'prosody.pid'))}`,
      `data_path = ${lua(path.join(dir, 'data'))}`,
      `certificates = ${lua(path.join(dir, 'certs'))}`,
      'run_as_root = true',
      'log = { { levels = { min = "info" }, to = "console" } }',
      'interfaces = { "127.0.0.1" }',
      `c2s_ports = { ${port} }`,
      `c2s_direct_tls_ports = { ${tlsPort} }`,
      's2s_ports = { }',
      httpPort === undefined ? 'http_ports = { }' : `http_ports = { ${httpPort} }`,
      'http_interfaces = { "127.0.0.1" }',
      'https_ports = { }',
      'c2s_require_encryption = true',
      'authentication = "internal_plain"',
      // @xmpp/client 0.13's SCRAM-SHA-1 response is refused by prosody 0.12 as malformed; PLAIN inside TLS is fine.
      'disable_sasl_mechanisms = { "SCRAM-SHA-1", "SCRAM-SHA-256", "DIGEST-MD5" }',
      'storage = "internal"',
      'modules_enabled = { "roster"; "saslauth"; "tls"; "disco"; "ping"; "carbons" }',
      'modules_disabled = { "s2s" }',
      `ssl = { certificate = ${lua(first.certFile)}; key = ${lua(first.keyFile)} }`,
      ...hosts.flatMap((host) => [`VirtualHost ${lua(host.domain)}`, `  ssl = { certificate = ${lua(host.certFile)}; key = ${lua(host.keyFile)} }`]),
      `Component ${lua(mucDomain)} "muc"`,
      // New rooms open at once (no configuration form for the creator to submit first).
      '  muc_room_locking = false',
      `  ssl = { certificate = ${lua(first.certFile)}; key = ${lua(first.keyFile)} }`,
      ...(uploadDomain === undefined ? [] : [`Component ${lua(uploadDomain)} "http_file_share"`, `  ssl = { certificate = ${lua(first.certFile)}; key = ${lua(first.keyFile)} }`]),
      '',
    ].join('\n'),
  );
  const run = promisify(execFile);
  for (const host of hosts) {
    for (const user of host.users) await run(prosodyctl, ['--config', config, 'register', user.username, host.domain, user.password]);
  }
  const child: ChildProcess = spawn(executable, ['--config', config, '-F'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prosody exited (${child.exitCode}):\n${output}`);
    if ((await canConnect(port)) && (await canConnect(tlsPort))) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`prosody did not listen on ${port} within 15 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    tlsPort,
    mucDomain,
    ...(uploadDomain === undefined ? {} : { uploadDomain }),
    async stop() {
      if (child.exitCode === null && child.pid) {
        const exited = new Promise((r) => child.once('exit', r));
        process.kill(child.pid, 'SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) process.kill(child.pid, 'SIGKILL');
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
