import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { testEvent } from '@imspect/sdk/testing';
import plugin from '../src/index.js';

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };

test('writes each event once, as one JSON line, even when a batch comes again', async (t) => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), '__PLUGIN_NAME__-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const hooks = await plugin.setup({ name: plugin.name, logger: quiet, options: { file: 'out/events.jsonl' }, dataDir, configDir: dataDir, hostVersion: '0.0.0' });
  const first = testEvent({ id: '1', text: 'hello' });
  const second = testEvent({ id: '2', direction: 'incoming', text: 'hi there' });
  await hooks.write([first]);
  await hooks.write([first, second]); // a retried batch
  const lines = (await readFile(path.join(dataDir, 'out/events.jsonl'), 'utf8')).trim().split('\n');
  assert.deepEqual(
    lines.map((line) => JSON.parse(line).text),
    ['hello', 'hi there'],
  );
});
