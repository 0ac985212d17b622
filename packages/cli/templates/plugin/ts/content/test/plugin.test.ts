// Runs on the build (dist): `npm test` compiles first, and Node runs this file as it is (type stripping).
import assert from 'node:assert/strict';
import os from 'node:os';
import { test } from 'node:test';
import type { ContentHooks, PluginContext, PluginLogger } from '@imspect/sdk';
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
const context = contextWith({ shortcuts: { brb: 'be right back' } });

test('expands shortcuts in messages', async () => {
  const { transform }: ContentHooks = await plugin.setup(context);
  assert.equal(await transform(testEvent({ text: 'brb, phone' })), 'be right back, phone');
});

test('leaves other text and other events alone', async () => {
  const { transform }: ContentHooks = await plugin.setup(context);
  assert.equal(await transform(testEvent({ text: 'a brbx is not a shortcut' })), undefined);
  assert.equal(await transform(testEvent({ type: 'login', text: undefined })), undefined);
});
