/**
 * Started as root with `user: nobody` and a CA: the key is read before the drop and stays root's (mode 0600 in a
 * root-owned folder nobody cannot write), even when an older version had handed it to nobody; the unprivileged
 * process still intercepts TLS (a leaf is minted and cached in a folder it owns), and nothing in the data folder
 * is open to other users.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../support/cli-run.js';
import { describeWithService, findExecutable } from '../support/e2e.js';
import { startImspect } from '../support/imspect-process.js';
import { startNgircd, type RunningNgircd } from '../support/ngircd.js';
import { chatThroughImspect, missingKinds, openToOthers, privateDataConfig, socksAddress, walkDataDir } from '../support/private-data.js';
import { makeServerCerts, type ServerCerts } from '../support/tls-certs.js';
import { privilegeDropMissing, procIds } from '../support/proc-status.js';

const ngircdPath = findExecutable('ngircd');
const missing = privilegeDropMissing();

describeWithService('the CA key after dropping root', missing, () => {
  let work: string;
  let certs: ServerCerts;
  let ircd: RunningNgircd;
  const nobody = execFileSync('getent', ['passwd', 'nobody'], { encoding: 'utf8' }).split(':');
  const uid = Number(nobody[2]);
  const gid = Number(nobody[3]);

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'imspect-priv-ca-'));
    // The user imspect drops to must be able to reach its data folder.
    await chmod(work, 0o755);
    certs = await makeServerCerts(path.join(work, 'certs'), 'localhost');
    ircd = await startNgircd(ngircdPath!, { tls: { certFile: certs.valid.certFile, keyFile: certs.valid.keyFile } });
  }, 60_000);

  afterAll(async () => {
    await ircd?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** Runs `command` as nobody; its exit status and standard error. */
  const asNobody = (command: string, args: string[]) => spawnSync(command, args, { uid, gid, encoding: 'utf8', timeout: 10_000 });

  it('keeps the key root-owned 0600 where nobody cannot read or replace it, and still intercepts', async () => {
    const dir = path.join(work, 'imspect');
    await mkdir(dir, { mode: 0o755 });
    await writeFile(path.join(dir, 'imspect.config.json'), JSON.stringify(privateDataConfig({ tlsPort: ircd.tlsPorts[0]!, upstreamCa: certs.caFile, extra: { user: 'nobody' } })));
    const dataDir = path.join(dir, 'data');
    const init = await runCli(['ca', 'init'], dir);
    expect(init.code, init.stderr).toBe(0);
    const key = path.join(dataDir, 'ca/imspect-ca.key');
    const caFolder = path.dirname(key);
    const imspectCa = await readFile(path.join(caFolder, 'imspect-ca.crt'), 'utf8');
    // What an older version left: the whole data folder, CA included, handed to nobody.
    for (const entry of [dataDir, caFolder, key, path.join(caFolder, 'imspect-ca.crt')]) await chown(entry, uid, gid);

    const proxy = await startImspect([], { cwd: dir });
    try {
      const pid = proxy.child.pid!;
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      expect(procIds(status, 'Uid')).toEqual(Array(4).fill(String(uid)));
      expect(procIds(status, 'Gid')).toEqual(Array(4).fill(String(gid)));

      const keyInfo = await stat(key);
      expect([keyInfo.uid, keyInfo.gid, keyInfo.mode & 0o7777]).toEqual([0, 0, 0o600]);
      const folderInfo = await stat(caFolder);
      expect([folderInfo.uid, folderInfo.gid, folderInfo.mode & 0o022]).toEqual([0, 0, 0]);
      // The process holds no descriptor on the key (it was read and closed before the drop).
      const open = await Promise.all((await readdir(`/proc/${pid}/fd`)).map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
      expect(open).not.toContain(key);
      // With the dropped process's rights: the key cannot be read, nor another put in its place.
      const read = asNobody('cat', [key]);
      expect(read.status).not.toBe(0);
      expect(read.stderr).toContain('Permission denied');
      const replace = asNobody('cp', ['/dev/null', path.join(caFolder, 'replacement.key')]);
      expect(replace.status).not.toBe(0);
      expect(replace.stderr).toContain('Permission denied');
      expect(asNobody('mv', [caFolder, `${caFolder}.moved`]).status).not.toBe(0);

      // Interception still works after the drop: the leaf is minted and cached by nobody.
      await chatThroughImspect(socksAddress(proxy.stdout()), { plain: ircd.port, tls: ircd.tlsPorts[0]! }, imspectCa, dataDir);
      const entries = await walkDataDir(dataDir);
      expect(missingKinds(entries)).toEqual([]);
      expect(openToOthers(entries)).toEqual([]);
      const leaf = entries.find((e) => /^tls-cache\/[0-9a-f]+\/localhost\.pem$/.test(e.path))!;
      expect([leaf.uid, leaf.mode]).toEqual([uid, 0o600]);
      // Everything but the CA and the data folder itself is nobody's: the logs, the archive, the journal.
      const notNobodys = entries.filter((e) => e.uid !== uid && !e.path.startsWith('ca') && e.path !== '.').map((e) => e.path);
      expect(notNobodys).toEqual([]);
      const top = entries.find((e) => e.path === '.')!;
      expect([top.uid, top.gid, top.mode]).toEqual([0, gid, 0o1770]);
      expect(proxy.stdout() + proxy.stderr()).not.toMatch(/the CA key is readable by|may replace the CA key/);
      expect(proxy.stdout() + proxy.stderr()).toContain("the CA files were nobody's (an older imspect handed them over): root's again");
    } finally {
      expect(await proxy.stop(), proxy.stderr()).toBe(0);
    }
    expect(openToOthers(await walkDataDir(dataDir))).toEqual([]);
  });

  it("protects a CA key that lies directly in dataDir too: the data folder stays root's, sticky, writable by the group", async () => {
    const dir = path.join(work, 'flat');
    await mkdir(dir, { mode: 0o755 });
    const config = privateDataConfig({ tlsPort: ircd.tlsPorts[0]!, upstreamCa: certs.caFile, extra: { user: 'nobody' } });
    config['tls'] = { ...(config['tls'] as object), ca: { cert: 'imspect-ca.crt', key: 'imspect-ca.key' } };
    await writeFile(path.join(dir, 'imspect.config.json'), JSON.stringify(config));
    const init = await runCli(['ca', 'init'], dir);
    expect(init.code, init.stderr).toBe(0);
    const dataDir = path.join(dir, 'data');
    const key = path.join(dataDir, 'imspect-ca.key');
    const proxy = await startImspect([], { cwd: dir });
    try {
      const keyInfo = await stat(key);
      expect([keyInfo.uid, keyInfo.gid, keyInfo.mode & 0o7777]).toEqual([0, 0, 0o600]);
      const dataInfo = await stat(dataDir);
      expect([dataInfo.uid, dataInfo.gid, dataInfo.mode & 0o7777]).toEqual([0, gid, 0o1770]);
      expect(asNobody('cat', [key]).stderr).toContain('Permission denied');
      // nobody may write in the folder (its logs) but not take the key's name.
      expect(asNobody('mv', [key, `${key}.old`]).status).not.toBe(0);
      expect(asNobody('rm', ['-f', key]).status).not.toBe(0);
      expect(asNobody('cp', ['/dev/null', key]).status).not.toBe(0);
      expect(asNobody('touch', [path.join(dataDir, 'written-by-nobody')]).status).toBe(0);
      expect(proxy.stdout() + proxy.stderr()).not.toMatch(/the CA key is readable by|may replace the CA key/);
    } finally {
      expect(await proxy.stop()).toBe(0);
    }
    expect((await stat(key)).uid).toBe(0);
  });
});
