import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testEvent } from '@imspect/sdk/testing';
import plugin from '../src/index.js';

test('expands shortcuts in messages', async () => {
  const { transform } = await plugin.setup({ name: plugin.name, options: { shortcuts: { brb: 'be right back' } } });
  assert.equal(await transform(testEvent({ text: 'brb, phone' })), 'be right back, phone');
});

test('leaves other text and other events alone', async () => {
  const { transform } = await plugin.setup({ name: plugin.name, options: { shortcuts: { brb: 'be right back' } } });
  assert.equal(await transform(testEvent({ text: 'a brbx is not a shortcut' })), undefined);
  assert.equal(await transform(testEvent({ type: 'login', text: undefined })), undefined);
});
