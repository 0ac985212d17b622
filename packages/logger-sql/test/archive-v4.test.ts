/**
 * An SQLite archive written by the previous version (migrations 0001 to 0004, `data` a `key=value` string;
 * test/fixtures/archive-v4.sqlite, made by test/fixtures/make-archive-v4.mjs at commit 617285d) opens, migrates
 * to typed data, and is searched and exported with nothing lost.
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { testEvent } from '@imspect/sdk/testing';
import { resolveTarget } from '../dist/index.js';
import { SqlArchive } from '../dist/archive.js';

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'archive-v4.sqlite');
const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function copyOfFixture(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'imspect-logger-sql-v4-'));
  dirs.push(dir);
  const file = path.join(dir, 'archive.sqlite');
  await copyFile(FIXTURE, file);
  return file;
}

function columns(file: string, sql: string): Array<Record<string, unknown>> {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return db.prepare(sql).all() as Array<Record<string, unknown>>;
  } finally {
    db.close();
  }
}

describe('an archive written before event data was typed', () => {
  it('the fixture is what that version wrote: four migrations, data as key=value strings', () => {
    expect(columns(FIXTURE, 'SELECT name FROM imspect_migration ORDER BY name').map((r) => r['name'])).toEqual([
      '0001-messages',
      '0002-full-text',
      '0003-message-key',
      '0004-network',
    ]);
    expect(columns(FIXTURE, "SELECT data FROM messages WHERE event_id LIKE '%01'")[0]!['data']).toBe('client=MSNMSGR version=8.5.1302 protocol-version=MSNP15');
  });

  it('migrates, and search and export give every row with its data as pairs and its other columns unchanged', async () => {
    const file = await copyOfFixture();
    const before = columns(file, 'SELECT event_id, event_data, text, devices, network, file_name, file_size FROM messages ORDER BY id');
    const archive = new SqlArchive(resolveTarget({ url: `sqlite:${file}` }, path.dirname(file)));
    try {
      await archive.migrate();
      const all = await archive.search({ limit: 0 });
      expect(all.map((m) => m.data)).toEqual([
        { client: 'MSNMSGR', version: '8.5.1302', 'protocol-version': 'MSNP15' },
        { from: 'bob', statusmsg: '@' },
        { address: '192.0.2.7:5000', token: '12' },
        { device: 'phone one' },
        { participants: 'bob@example.com,carol@example.com', groupchat: '1' },
        { group: 'Friends & Family', odd: '%zz', pct: '100%' },
        null,
      ]);
      expect(all[3]!.devices).toEqual(['phone one']);
      expect(all[2]).toMatchObject({ fileName: 'notes 1.txt', fileSize: 1234, eventData: 'notes 1.txt 1234', subtype: 'dcc-send' });
      expect((await archive.search({ text: 'every device', limit: 0 })).map((m) => m.eventId.slice(-2))).toEqual(['04']);
      expect((await archive.search({ network: 'irc.example.net', limit: 0 })).map((m) => m.eventId.slice(-2))).toEqual(['02', '03']);
      // A new event, then an export (oldest first, a page at a time) across old and new rows.
      await archive.insert([testEvent({ id: '01900000-0000-7000-8000-000000000099', at: '2026-12-01T11:00:00.000Z', text: 'typed', data: { port: 5000, groupchat: true } })]);
      const exported: unknown[] = [];
      for await (const page of archive.iterate({}, 3)) exported.push(...page.map((m) => [m.eventId.slice(-2), m.data]));
      expect(exported).toHaveLength(8);
      expect(exported[7]).toEqual(['99', { port: 5000, groupchat: true }]);
    } finally {
      await archive.close();
    }
    const after = columns(file, 'SELECT event_id, event_data, text, devices, network, file_name, file_size FROM messages ORDER BY id');
    expect(after.slice(0, 7)).toEqual(before);
    expect(columns(file, "SELECT data FROM messages WHERE event_id LIKE '%06'")[0]!['data']).toBe('{"group":"Friends & Family","odd":"%zz","pct":"100%"}');
    expect(columns(file, "SELECT event_data FROM messages WHERE event_id LIKE '%99'")[0]!['event_data']).toBe('port=5000 groupchat=1');
  });
});
