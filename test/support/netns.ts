/**
 * Network namespaces the tests create themselves: a client, a gateway and a server joined by veth pairs, with
 * addresses from 198.18.0.0/15 and 2001:2::/48 (benchmarking ranges), so no traffic ever leaves the machine.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { findExecutable } from './e2e.js';

const ip = findExecutable('ip');

/** Why namespaces cannot be used here, or undefined when they can. */
export function netnsMissing(extra: string[] = []): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root';
  if (!ip) return 'ip (iproute2) not found';
  for (const tool of extra) if (!findExecutable(tool)) return `${tool} not found`;
  const probe = `imsp-probe-${process.pid}`;
  const added = spawnSync(ip, ['netns', 'add', probe], { encoding: 'utf8' });
  if (added.status !== 0) return `cannot create a network namespace: ${added.stderr.trim()}`;
  spawnSync(ip, ['netns', 'del', probe]);
  return undefined;
}

/** Runs a command inside namespace `ns`, throwing with its output when it fails. */
export function nsRun(ns: string, command: string, args: string[], input?: string): string {
  try {
    return execFileSync(ip!, ['netns', 'exec', ns, command, ...args], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...(input !== undefined ? { input } : {}) });
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(`[${ns}] ${command} ${args.join(' ')} failed: ${e.stderr || e.stdout || e.message}`);
  }
}

/** Like {@link nsRun} but returns the exit status and output instead of throwing. */
export function nsTry(ns: string, command: string, args: string[], env?: NodeJS.ProcessEnv): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(ip!, ['netns', 'exec', ns, command, ...args], { encoding: 'utf8', ...(env ? { env } : {}) });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Starts a long-running process in `ns` (`ip netns exec` execs the command, so the child's pid is the command's). */
export function nsSpawn(ns: string, command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  return spawn(ip!, ['netns', 'exec', ns, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...options });
}

export interface GatewayTopology {
  client: string;
  gateway: string;
  server: string;
  addr: {
    client4: string;
    gatewayLan4: string;
    server4: string;
    client6: string;
    gatewayLan6: string;
    server6: string;
  };
  destroy(): void;
}

/**
 * client (198.18.1.2, 2001:2:0:1::2) -- gateway (198.18.1.1 | 198.18.2.1, 2001:2:0:1::1 | 2001:2:0:2::1) --
 * server (198.18.2.2, 2001:2:0:2::2). Forwarding is enabled in the gateway namespace only.
 */
export function createGatewayTopology(tag: string): GatewayTopology {
  const base = `imsp${process.pid % 100000}${tag}`;
  const client = `${base}-c`;
  const gateway = `${base}-g`;
  const server = `${base}-s`;
  const names = [client, gateway, server];
  const destroy = () => {
    for (const ns of names) spawnSync(ip!, ['netns', 'del', ns]);
  };
  const run = (args: string[]) => execFileSync(ip!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    for (const ns of names) run(['netns', 'add', ns]);
    // veth pairs are created inside the namespaces: nothing appears on the host, even for a moment.
    run(['-n', client, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'lan0', 'netns', gateway]);
    run(['-n', server, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'wan0', 'netns', gateway]);
    const setup: Array<[string, string[]]> = [
      [client, ['addr', 'add', '198.18.1.2/24', 'dev', 'eth0']],
      [client, ['-6', 'addr', 'add', '2001:2:0:1::2/64', 'dev', 'eth0', 'nodad']],
      [gateway, ['addr', 'add', '198.18.1.1/24', 'dev', 'lan0']],
      [gateway, ['-6', 'addr', 'add', '2001:2:0:1::1/64', 'dev', 'lan0', 'nodad']],
      [gateway, ['addr', 'add', '198.18.2.1/24', 'dev', 'wan0']],
      [gateway, ['-6', 'addr', 'add', '2001:2:0:2::1/64', 'dev', 'wan0', 'nodad']],
      [server, ['addr', 'add', '198.18.2.2/24', 'dev', 'eth0']],
      [server, ['-6', 'addr', 'add', '2001:2:0:2::2/64', 'dev', 'eth0', 'nodad']],
    ];
    for (const [ns, args] of setup) run(['-n', ns, ...args]);
    for (const [ns, dev] of [
      [client, 'eth0'],
      [server, 'eth0'],
      [gateway, 'lan0'],
      [gateway, 'wan0'],
    ] as const)
      run(['-n', ns, 'link', 'set', dev, 'up']);
    for (const ns of names) run(['-n', ns, 'link', 'set', 'lo', 'up']);
    run(['-n', client, 'route', 'add', 'default', 'via', '198.18.1.1']);
    run(['-n', client, '-6', 'route', 'add', 'default', 'via', '2001:2:0:1::1']);
    run(['-n', server, 'route', 'add', 'default', 'via', '198.18.2.1']);
    run(['-n', server, '-6', 'route', 'add', 'default', 'via', '2001:2:0:2::1']);
    // The kernel reports a veth's carrier (IFF_RUNNING) a moment after `link set up`, and until then the interface
    // is missing from os.networkInterfaces(): a process started before that would not know its own LAN address.
    const deadline = Date.now() + 10_000;
    for (const [ns, dev] of [
      [client, 'eth0'],
      [server, 'eth0'],
      [gateway, 'lan0'],
      [gateway, 'wan0'],
    ] as const) {
      while (!/\bLOWER_UP\b.*\bstate UP\b/.test(execFileSync(ip!, ['-n', ns, '-o', 'link', 'show', 'dev', dev], { encoding: 'utf8' }))) {
        if (Date.now() > deadline) throw new Error(`${ns} ${dev}: no carrier after 10 s`);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      }
    }
    nsRun(gateway, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
    nsRun(gateway, 'sysctl', ['-q', '-w', 'net.ipv6.conf.all.forwarding=1']);
  } catch (error) {
    destroy();
    throw error;
  }
  return {
    client,
    gateway,
    server,
    addr: {
      client4: '198.18.1.2',
      gatewayLan4: '198.18.1.1',
      server4: '198.18.2.2',
      client6: '2001:2:0:1::2',
      gatewayLan6: '2001:2:0:1::1',
      server6: '2001:2:0:2::2',
    },
    destroy,
  };
}

/** A process started in a namespace, with what it printed so far. */
export interface NsProcess {
  child: ChildProcess;
  out: () => string;
  err: () => string;
}

/** Starts `command` in `ns` and collects its output. */
export function nsStart(ns: string, command: string, args: string[]): NsProcess {
  const child = nsSpawn(ns, command, args);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return { child, out: () => out, err: () => err };
}

/** Waits until `check` holds; fails with the process's output when it exits first or the time is up. */
export async function waitForProcess(what: string, check: () => boolean, proc: NsProcess, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (proc.child.exitCode !== null) throw new Error(`${what}: process exited with ${proc.child.exitCode}\nstdout:\n${proc.out()}\nstderr:\n${proc.err()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\nstdout:\n${proc.out()}\nstderr:\n${proc.err()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** SIGTERM, then SIGKILL after 10 s; resolves once the process has exited. */
export async function stopProcess(proc: NsProcess | undefined): Promise<void> {
  if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null || !proc.child.pid) return;
  const exited = new Promise((r) => proc.child.once('exit', r));
  process.kill(proc.child.pid, 'SIGTERM');
  const timer = setTimeout(() => proc.child.pid && process.kill(proc.child.pid, 'SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
