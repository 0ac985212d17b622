// Runs on the build (dist): `npm test` compiles first, and Node runs this file as it is (type stripping).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ContentHooks, PluginContext } from '@imspect/sdk';
import { testEvent } from '@imspect/sdk/testing';
import plugin from '../dist/index.js';

const context = { name: plugin.name, options: { shortcuts: { brb: 'be right back' } } } as PluginContext<{ shortcuts: Record<string, string> }>;

test('expands shortcuts in messages', async () => {
  const { transform }: ContentHooks = await plugin.setup(context);
  assert.equal(await transform(testEvent({ text: 'brb, phone' })), 'be right back, phone');
});

test('leaves other text and other events alone', async () => {
  const { transform }: ContentHooks = await plugin.setup(context);
  assert.equal(await transform(testEvent({ text: 'a brbx is not a shortcut' })), undefined);
  assert.equal(await transform(testEvent({ type: 'login', text: undefined })), undefined);
});
