/**
 * The console as `imspect start` runs it and as an administrator sets it up: `imspect console user
 * add|list|passwd|remove`, a console whose port is taken is a clear start-up error, HTTPS with a certificate
 * minted from imspect's CA (Secure cookies), and sessions that end when their user's password changes or the
 * user is removed.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli-run.js';
import { CLI, startImspect } from '../support/imspect-process.js';

function cli(args: string[], cwd: string, stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(stdin ?? '');
  });
}

async function writeConfig(dir: string, consoleSection: Record<string, unknown>): Promise<void> {
  await writeFile(
    path.join(dir, 'imspect.config.json'),
    JSON.stringify({ dataDir: 'data', listeners: [{ type: 'socks5', host: '127.0.0.1', port: 0 }], console: { enabled: true, host: '127.0.0.1', port: 0, ...consoleSection } }),
  );
}

describe('imspect console user', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-console-cli-'));
    await writeConfig(dir, {});
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('adds, lists, changes the password of and removes users; passwords come from standard input, never a flag', async () => {
    expect((await cli(['console', 'user', 'list'], dir)).stdout).toContain('No console users');
    const added = await cli(['console', 'user', 'add', 'ada', '--role', 'admin', '--password-stdin'], dir, 'first password 1\n');
    expect(added).toMatchObject({ code: 0 });
    expect(added.stdout).toContain('console user ada added (admin)');
    expect((await cli(['console', 'user', 'add', 'ada', '--role', 'auditor', '--password-stdin'], dir, 'another password\n')).stderr).toMatch(/exists already/);
    expect((await cli(['console', 'user', 'add', 'bea', '--role', 'auditor', '--password-stdin'], dir, 'short\n')).stderr).toMatch(/at least 10 characters/);
    const noTerminal = await cli(['console', 'user', 'add', 'bea', '--role', 'auditor'], dir);
    expect(noTerminal.code).toBe(1);
    expect(noTerminal.stderr).toMatch(/--password-stdin/);
    await cli(['console', 'user', 'add', 'bea', '--role', 'auditor', '--password-stdin'], dir, 'auditor password 1\r\n');
    const listed = JSON.parse((await cli(['console', 'user', 'list', '--json'], dir)).stdout) as { users: Array<{ name: string; role: string }> };
    expect(listed.users.map((u) => [u.name, u.role])).toEqual([
      ['ada', 'admin'],
      ['bea', 'auditor'],
    ]);
    expect(JSON.stringify(listed)).not.toContain('argon2');
    expect((await cli(['console', 'user', 'passwd', 'bea', '--password-stdin'], dir, 'auditor password 2\n')).stdout).toContain('password of console user bea changed');
    expect((await cli(['console', 'user', 'remove', 'ada'], dir)).stdout).toContain('console user ada removed');
    expect((await cli(['console', 'user', 'remove', 'ada'], dir)).stderr).toMatch(/no console user "ada"/);
    const file = await readFile(path.join(dir, 'data', 'console-users.json'), 'utf8');
    expect(file).not.toContain('auditor password');
    expect(file).toContain('"bea"');
    expect(file).not.toContain('"ada"');
  });
});

describe('imspect start with the console', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-console-start-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('stops with a clear error when the console cannot listen', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      await writeConfig(dir, { port });
      const result = await runCli(['start', ...(process.getuid?.() === 0 ? ['--allow-root'] : [])], dir, 'utf8', 30_000);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`imspect: console: cannot listen on 127.0.0.1:${port}: the port is in use`);
    } finally {
      blocker.close();
    }
    // HTTPS with a minted certificate but no CA: a configuration problem.
    await writeConfig(dir, { tls: {} });
    const noCa = await runCli(['start', ...(process.getuid?.() === 0 ? ['--allow-root'] : [])], dir, 'utf8', 30_000);
    expect(noCa.code).toBe(2);
    expect(noCa.stderr).toMatch(/console\.tls: .*there is none \(imspect ca init\)/);
  });

  it("serves HTTPS with a certificate minted from imspect's CA; cookies are Secure; a password change ends the session", async () => {
    expect((await runCli(['ca', 'init'], dir)).code).toBe(0);
    await writeConfig(dir, { tls: { name: '127.0.0.1' } });
    await cli(['console', 'user', 'add', 'ada', '--role', 'admin', '--password-stdin'], dir, 'first password 1\n');
    const proxy = await startImspect([], { cwd: dir });
    try {
      const url = new URL(/console: +(\S+)/.exec(proxy.stdout())![1]!);
      expect(url.protocol).toBe('https:');
      const ca = await readFile(path.join(dir, 'data', 'ca', 'imspect-ca.crt'), 'utf8');
      const request = (method: string, pathname: string, body?: string, cookie?: string) =>
        new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
          const req = https.request(
            { host: url.hostname, port: url.port, path: pathname, method, ca, headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(cookie ? { cookie } : {}) } },
            (res) => {
              let text = '';
              res.on('data', (d: Buffer) => (text += d.toString()));
              res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
            },
          );
          req.on('error', reject);
          req.end(body);
        });
      // The certificate verifies against imspect's CA for the name asked for (Node checks it: `ca` given, no override).
      const login = await request('POST', '/api/login', JSON.stringify({ name: 'ada', password: 'first password 1' }));
      expect(login.status).toBe(200);
      const cookies = login.headers['set-cookie'] as string[];
      const session = cookies.find((c) => c.startsWith('imspect_console='))!;
      expect(session).toMatch(/; HttpOnly/);
      expect(session).toMatch(/; Secure/);
      expect(session).toMatch(/; SameSite=Strict/);
      expect(session).toMatch(/; Max-Age=\d+/);
      expect(login.headers['strict-transport-security']).toMatch(/max-age=/);
      const cookie = cookies.map((c) => c.split(';')[0]).join('; ');
      expect((await request('GET', '/api/dashboard', undefined, cookie)).status).toBe(200);
      // The CA certificate clients install, for download.
      const caDownload = await request('GET', '/api/ca.crt', undefined, cookie);
      expect(caDownload.status).toBe(200);
      expect(caDownload.body).toBe(ca);
      await cli(['console', 'user', 'passwd', 'ada', '--password-stdin'], dir, 'second password 2\n');
      expect((await request('GET', '/api/dashboard', undefined, cookie)).status).toBe(401);
    } finally {
      await proxy.stop();
    }
  });
});
