// Runs on the build (dist): `npm test` compiles first, and Node runs this file as it is (type stripping).
import assert from 'node:assert/strict';
import os from 'node:os';
import { test } from 'node:test';
import type { FilterHooks, PluginContext, PluginLogger } from '@imspect/sdk';
import { testEvent } from '@imspect/sdk/testing';
import plugin from '../dist/index.js';

const quiet: PluginLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };
/** What imspect hands setup(): here with the options a test chooses. */
const contextWith = <Options>(options: Options): PluginContext<Options> => ({
  name: plugin.name,
  logger: quiet,
  options,
  hostVersion: '0.1.0',
  dataDir: os.tmpdir(),
  configDir: os.tmpdir(),
});
const context = contextWith({ words: ['confidential'], reply: 'not sent' });

test('blocks a message naming a listed word, whatever its case, and tells the sender', async () => {
  const { check }: FilterHooks = await plugin.setup(context);
  const verdict = await check(testEvent({ text: 'the CONFIDENTIAL plan' }));
  assert.equal(verdict.action, 'block');
  assert.equal(verdict.respond, 'not sent');
});

test('passes other messages and events that are not messages', async () => {
  const { check }: FilterHooks = await plugin.setup(context);
  assert.equal((await check(testEvent({ text: 'lunch at noon?' }))).action, 'pass');
  assert.equal((await check(testEvent({ type: 'login', text: undefined }))).action, 'pass');
});
