/**
 * `imspect replay` runs the same filters as live traffic: a real IRC capture replayed with the bad-word, ACL and
 * policy filters configured gives filtered events with their categories and masked delivered text, and a policy
 * that would disconnect a client does not cut the replayed connection short.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NGIRCD_CAPTURE } from '../support/captures.js';
import { CLI } from '../support/imspect-process.js';

const execFileAsync = promisify(execFile);
const CAPTURE = NGIRCD_CAPTURE;

interface Event {
  localId: string;
  remoteId: string;
  direction: string;
  type: string;
  subtype?: string;
  text?: string;
  deliveredText?: string;
  filtered: boolean;
  categories: string[];
}

async function replayEvents(cwd: string): Promise<{ events: Event[] }> {
  const { stdout } = await execFileAsync(process.execPath, [CLI, 'replay', CAPTURE, '--json'], { cwd, maxBuffer: 64 * 1024 * 1024, timeout: 60_000 });
  const events = stdout
    .split('\n')
    .filter((line) => line.startsWith('{"id"'))
    .map((line) => JSON.parse(line) as Event);
  return { events };
}

describe('policy in imspect replay', () => {
  let plain: string;
  let withPolicy: string;

  beforeAll(async () => {
    plain = await mkdtemp(path.join(os.tmpdir(), 'imspect-policy-replay-'));
    withPolicy = await mkdtemp(path.join(os.tmpdir(), 'imspect-policy-replay-'));
    await writeFile(path.join(withPolicy, 'words.txt'), 'hello\n');
    await writeFile(path.join(withPolicy, 'acl.txt'), 'deny alice #test\n');
    await writeFile(
      path.join(withPolicy, 'imspect.config.json'),
      JSON.stringify({
        plugins: {
          'filter-badwords': { options: { file: 'words.txt' } },
          'filter-acl': { options: { file: 'acl.txt' } },
          'filter-policy': { options: { users: { bob: { protocols: ['jabber'] } } } },
        },
        log: { format: 'json' },
      }),
    );
  });

  afterAll(async () => {
    await rm(plain, { recursive: true, force: true });
    await rm(withPolicy, { recursive: true, force: true });
  });

  it('marks blocked events with their categories, masks delivered text, and replays every event', async () => {
    const before = await replayEvents(plain);
    const after = await replayEvents(withPolicy);
    expect(after.events.length).toBeGreaterThan(5);
    expect(after.events.map((e) => [e.localId, e.type, e.text])).toEqual(before.events.map((e) => [e.localId, e.type, e.text]));
    expect(before.events.every((e) => !e.filtered)).toBe(true);

    // Events about the connection itself (IRC on port 16667, not its own) judge no frame: filters do not see them.
    const bob = after.events.filter((e) => e.localId === 'bob' && e.subtype !== 'circumvention');
    expect(bob.length).toBeGreaterThan(1);
    expect(bob.every((e) => e.filtered && e.categories.includes('policy protocol'))).toBe(true);

    const greeting = after.events.find((e) => e.localId === 'alice' && e.direction === 'incoming' && e.text === 'hello alice from bob');
    expect(greeting).toMatchObject({ filtered: false, categories: ['1 badwords'], deliveredText: '***** alice from bob' });
    const aliceInChannel = after.events.filter((e) => e.localId === 'alice' && e.remoteId === '#test' && e.type === 'message');
    expect(aliceInChannel.length).toBeGreaterThan(0);
    expect(aliceInChannel.every((e) => e.filtered && e.categories.includes('acl'))).toBe(true);
  });
});
