import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface RunningNgircd {
  /** The address it listens on. */
  host: string;
  port: number;
  /** The TLS ports, when started with `tls`. */
  tlsPorts: number[];
  name: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts a private ngircd on loopback (foreground, own config), stopped by its PID. */
export async function startNgircd(
  executable: string,
  options: {
    tls?: { certFile: string; keyFile: string; ports?: number };
    /** Loopback address to listen on (default 127.0.0.1): two servers on two addresses are two IRC networks to imspect. */
    host?: string;
    /** Network name announced in `005` (`NETWORK=`). */
    network?: string;
  } = {},
): Promise<RunningNgircd> {
  const host = options.host ?? '127.0.0.1';
  const dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-ngircd-'));
  const port = await freePort();
  const tlsPorts: number[] = [];
  for (let i = 0; i < (options.tls ? (options.tls.ports ?? 1) : 0); i++) tlsPorts.push(await freePort());
  const name = 'irc.imspect.test';
  const config = path.join(dir, 'ngircd.conf');
  await writeFile(
    config,
    [
      '[Global]',
      `Name = ${name}`,
      'Info = imspect test server',
      'AdminInfo1 = imspect tests',
      'AdminInfo2 = loopback',
      'AdminEMail = tests@imspect.invalid',
      `Listen = ${host}`,
      ...(options.network ? [`Network = ${options.network}`] : []),
      `Ports = ${port}`,
      'MotdPhrase = imspect test',
      '[Limits]',
      'MaxConnectionsIP = 0',
      'MaxJoins = 0',
      'MaxNickLength = 30',
      '[Options]',
      'PAM = no',
      'Ident = no',
      'DNS = no',
      ...(options.tls ? ['[SSL]', `CertFile = ${options.tls.certFile}`, `KeyFile = ${options.tls.keyFile}`, `Ports = ${tlsPorts.join(', ')}`] : []),
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(executable, ['-n', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`ngircd exited (${child.exitCode}):\n${output}`);
    if ((await canConnect(port, host)) && (await Promise.all(tlsPorts.map((p) => canConnect(p, host)))).every(Boolean)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`ngircd did not listen on ${port} within 10 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host,
    port,
    tlsPorts,
    name,
    async stop() {
      if (child.exitCode === null && child.pid) {
        const exited = new Promise((r) => child.once('exit', r));
        process.kill(child.pid, 'SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (child.exitCode === null) process.kill(child.pid, 'SIGKILL');
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
