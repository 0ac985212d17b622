/**
 * `jabber` names the `xmpp` protocol wherever a person names a protocol: the configuration (a plugin section,
 * `ports`), `imspect replay --port` and `imspect logs search|export --protocol`. What is stored says `xmpp`.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CAPTURES } from '../../packages/plugin-irc/test/capture-expectations.js';
import { runCli } from '../support/cli-run.js';
import { describeWithService } from '../support/e2e.js';

const CAPTURE = path.join(CAPTURES, 'prosody-xmpp.pcap');
const missing = existsSync(CAPTURE) ? undefined : `the capture is missing: ${CAPTURE}`;

// The capture lives in shared/ beside the repository: skipped without it, a failure on CI (IMSPECT_REQUIRE_E2E=1).
describeWithService('jabber as another name for xmpp', missing, () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-jabber-alias-'));
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('config sections and ports, replay --port and logs --protocol accept jabber; the archive says xmpp', async () => {
    // The server in the capture listens on 15222, a port no plugin declares: named by the alias in `ports`.
    await writeFile(path.join(dir, 'imspect.config.json'), JSON.stringify({ dataDir: 'data', ports: { '15222': 'jabber' }, plugins: { jabber: { enabled: true } } }));
    const check = await runCli(['config', 'check', '--json'], dir);
    expect(check.code, check.stderr).toBe(0);
    const replayed = await runCli(['replay', CAPTURE, '--to-loggers'], dir);
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(replayed.stdout).toMatch(/events written to the loggers/);

    const search = async (protocol: string) => {
      const result = await runCli(['logs', 'search', '--protocol', protocol, '--json'], dir);
      expect(result.code, result.stderr).toBe(0);
      return JSON.parse(result.stdout) as { count: number; messages: Array<{ protocol: string; text: string | null }> };
    };
    const byAlias = await search('jabber');
    const byName = await search('xmpp');
    expect(byAlias.count).toBeGreaterThan(0);
    expect(byAlias.messages.every((m) => m.protocol === 'xmpp')).toBe(true);
    expect(byAlias.messages).toEqual(byName.messages);
    expect(byAlias.messages.map((m) => m.text)).toContain('hi bob');
    expect((await search('irc')).count).toBe(0);

    const exported = path.join(dir, 'out.jsonl');
    const exportRun = await runCli(['logs', 'export', '--format', 'jsonl', '--protocol', 'Jabber', '--output', exported], dir);
    expect(exportRun.code, exportRun.stderr).toBe(0);
    expect((await readFile(exported, 'utf8')).trim().split('\n')).toHaveLength(byName.count);
  }, 120_000);

  it('replay --port PORT=jabber maps the port to the xmpp plugin', async () => {
    await writeFile(path.join(dir, 'plain.json'), JSON.stringify({ dataDir: 'data-plain' }));
    const run = await runCli(['replay', CAPTURE, '--json', '--port', '15222=jabber', '--config', path.join(dir, 'plain.json')], dir);
    expect(run.code, run.stderr).toBe(0);
    const { summary } = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { summary: { connectionsByProtocol: Record<string, number> } };
    expect(summary.connectionsByProtocol).toEqual({ xmpp: 10 });
  }, 120_000);

  it('a section under each name is refused, naming both', async () => {
    const file = path.join(dir, 'both.json');
    await writeFile(file, JSON.stringify({ plugins: { jabber: {}, xmpp: { enabled: false } } }));
    const result = await runCli(['config', 'check', '--config', file], dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('plugins.jabber: "jabber" is another name for the xmpp plugin, which has its own section: keep one (plugins.xmpp)');
  });
});
