/**
 * A private InspIRCd with IRCv3 STARTTLS (GnuTLS) on loopback: its own config in a temp folder, stopped by PID.
 * ngircd has TLS ports but no STARTTLS, so the STARTTLS tests use this one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { canConnect, freePort } from './ngircd.js';

export interface RunningInspircd {
  port: number;
  name: string;
  stop(): Promise<void>;
}

export async function startInspircd(executable: string, tls: { certFile: string; keyFile: string }): Promise<RunningInspircd> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-inspircd-'));
  const port = await freePort();
  const name = 'irc.imspect.test';
  const config = path.join(dir, 'inspircd.conf');
  await writeFile(path.join(dir, 'motd.txt'), 'imspect test\n');
  await writeFile(
    config,
    [
      `<server name="${name}" description="imspect test" network="imspect">`,
      '<admin name="imspect tests" nick="admin" email="tests@imspect.invalid">',
      `<bind address="127.0.0.1" port="${port}" type="clients">`,
      '<connect name="main" allow="*" maxchans="20" timeout="20" pingfreq="120" hardsendq="1M" softsendq="8192" recvq="8192" threshold="1000" commandrate="100000" fakelag="off" localmax="1000" globalmax="1000" useident="no" resolvehostnames="no" limit="5000">',
      `<files motd="${path.join(dir, 'motd.txt')}">`,
      `<pid file="${path.join(dir, 'inspircd.pid')}">`,
      `<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="${path.join(dir, 'ircd.log')}">`,
      '<module name="ssl_gnutls">',
      '<module name="starttls">',
      `<sslprofile name="Clients" provider="gnutls" certfile="${tls.certFile}" keyfile="${tls.keyFile}" hash="sha256" requestclientcert="no">`,
      '<starttls provider="Clients">',
      '<dns timeout="1">',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(executable, [`--config=${config}`, '--nofork', '--runasroot'], {
    // Debian's InspIRCd 3 may dump core while shutting down on SIGTERM: keep any core file in the temp folder.
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`inspircd exited (${child.exitCode}):\n${output}`);
    if (await canConnect(port)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`inspircd did not listen on ${port} within 10 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    name,
    async stop() {
      if (child.exitCode === null && child.signalCode === null && child.pid) {
        const exited = new Promise((r) => child.once('exit', r));
        const kill = (signal: NodeJS.Signals) => {
          try {
            process.kill(child.pid!, signal);
          } catch {
            // already gone
          }
        };
        kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (child.exitCode === null && child.signalCode === null) kill('SIGKILL');
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
