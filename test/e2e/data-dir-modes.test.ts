/**
 * Who can read the conversations: `imspect start` with CSV and SQLite loggers, the journal, the monitoring notice
 * and TLS interception, driven through a real conversation so that every kind of file exists; then no file or
 * folder of the data folder is open to other users, even when imspect was started with umask 000, and an older
 * data folder (0755 folders, 0644 files) is closed at start.
 */
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../support/cli-run.js';
import { describeWithService, findExecutable } from '../support/e2e.js';
import { startImspect } from '../support/imspect-process.js';
import { startNgircd, type RunningNgircd } from '../support/ngircd.js';
import { chatThroughImspect, missingKinds, openToOthers, privateDataConfig, socksAddress, walkDataDir } from '../support/private-data.js';
import { makeServerCerts, type ServerCerts } from '../support/tls-certs.js';

const ngircdPath = findExecutable('ngircd');

describeWithService('data folder modes (imspect start with every kind of file)', ngircdPath ? undefined : 'ngircd is not installed (apt-get install ngircd)', () => {
  let work: string;
  let certs: ServerCerts;
  let ircd: RunningNgircd;

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'imspect-modes-'));
    certs = await makeServerCerts(path.join(work, 'certs'), 'localhost');
    ircd = await startNgircd(ngircdPath!, { tls: { certFile: certs.valid.certFile, keyFile: certs.valid.keyFile } });
  }, 60_000);

  afterAll(async () => {
    await ircd?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** ca init, start, a conversation, a walk while running, stop, a walk after; returns both walks. */
  async function runOnce(dir: string) {
    await writeFile(path.join(dir, 'imspect.config.json'), JSON.stringify(privateDataConfig({ tlsPort: ircd.tlsPorts[0]!, upstreamCa: certs.caFile })));
    const dataDir = path.join(dir, 'data');
    const init = await runCli(['ca', 'init'], dir);
    expect(init.code, init.stderr).toBe(0);
    const imspectCa = await readFile(path.join(dataDir, 'ca/imspect-ca.crt'), 'utf8');
    const proxy = await startImspect([], { cwd: dir });
    let running;
    try {
      await chatThroughImspect(socksAddress(proxy.stdout()), { plain: ircd.port, tls: ircd.tlsPorts[0]! }, imspectCa, dataDir);
      running = await walkDataDir(dataDir);
    } finally {
      expect(await proxy.stop(), proxy.stderr()).toBe(0);
    }
    return { running, stopped: await walkDataDir(dataDir), stdout: proxy.stdout() + proxy.stderr() };
  }

  it('started with umask 000, it leaves nothing open to others: journal, logs, archive and its -wal/-shm, leaf cache, state', async () => {
    const dir = await mkdtemp(path.join(work, 'fresh-'));
    // The child processes inherit the most careless umask there is: only imspect's own care protects the files.
    const umask = process.umask(0o000);
    try {
      const { running, stopped } = await runOnce(dir);
      expect(missingKinds(running)).toEqual([]);
      expect(openToOthers(running)).toEqual([]);
      expect(openToOthers(stopped)).toEqual([]);
      // The conversations really are in the files walked.
      const csv = running.find((e) => /^logs\/irc\/[^/]+\/alice\/bob\/.+\.csv$/.test(e.path))!; // irc/{network}/{localId}/{remoteId}
      expect(await readFile(path.join(dir, 'data', csv.path), 'utf8')).toContain('a private word over tls');
    } finally {
      process.umask(umask);
    }
  });

  it('closes an older data folder (0755 folders, 0644 files) at start, without following links out of it', async () => {
    const dir = await mkdtemp(path.join(work, 'old-'));
    const dataDir = path.join(dir, 'data');
    const oldDay = path.join(dataDir, 'logs/irc/carol/dave/2020-01-01.csv');
    await mkdir(path.dirname(oldDay), { recursive: true });
    await writeFile(oldDay, 'an old conversation\n');
    await mkdir(path.join(dataDir, 'journal'));
    const outside = path.join(dir, 'not-imspects.txt');
    await writeFile(outside, 'someone else’s file\n');
    await symlink(outside, path.join(dataDir, 'a-link'));
    const umask = process.umask(0o022);
    try {
      // What an older imspect (or a copy made by hand) left behind.
      for (const folder of ['', 'logs', 'logs/irc', 'logs/irc/carol', 'logs/irc/carol/dave', 'journal']) await chmod(path.join(dataDir, folder), 0o755);
      for (const file of [oldDay, outside]) await chmod(file, 0o644);
      expect(openToOthers(await walkDataDir(dataDir)).length).toBeGreaterThan(0);
      const { running, stopped, stdout } = await runOnce(dir);
      expect(missingKinds(running)).toEqual([]);
      expect(openToOthers(running)).toEqual([]);
      expect(openToOthers(stopped)).toEqual([]);
      expect(stdout).toMatch(/files and folders in \S+ could be read by other users: no longer/);
    } finally {
      process.umask(umask);
    }
    expect(await readFile(oldDay, 'utf8')).toBe('an old conversation\n');
    // The link's target is not imspect's: left as it was.
    expect((await stat(outside)).mode & 0o777).toBe(0o644);
  });
});
